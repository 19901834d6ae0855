#include "reporting/report_schedule.h"

#include "common/stable_hash.h"
#include "common/time_format.h"

namespace tlsrelay {

int64_t reportDueAt(const std::string& day, const std::string& policy_domain, int64_t send_after,
                    int64_t send_window) {
  auto start = parseUtcDay(day);
  if (!start) return -1;
  const int64_t next_midnight = *start + 86400;
  const int64_t spread =
      send_window > 0 ? static_cast<int64_t>(fnv1a64(policy_domain) % uint64_t(send_window)) : 0;
  return next_midnight + send_after + spread;
}

std::vector<std::string> reportableDays(int64_t now) {
  return {utcDay(now - 86400), utcDay(now - 2 * 86400), utcDay(now - 3 * 86400)};
}

}  // namespace tlsrelay
