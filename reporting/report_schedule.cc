#include "reporting/report_schedule.h"

#include <ctime>

#include "reporting/daily_append_file.h"  // utcDay

namespace tlsrelay {
namespace {

uint64_t fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

int64_t reportDueAt(const std::string& day, const std::string& policy_domain, int64_t send_after,
                    int64_t send_window) {
  std::tm tm{};
  if (day.size() != 10 || ::strptime(day.c_str(), "%Y-%m-%d", &tm) == nullptr) return -1;
  const int64_t next_midnight = static_cast<int64_t>(::timegm(&tm)) + 86400;
  const int64_t spread =
      send_window > 0 ? static_cast<int64_t>(fnv1a(policy_domain) % uint64_t(send_window)) : 0;
  return next_midnight + send_after + spread;
}

std::vector<std::string> reportableDays(int64_t now) {
  return {utcDay(now - 86400), utcDay(now - 2 * 86400), utcDay(now - 3 * 86400)};
}

}  // namespace tlsrelay
