// `tlsrelay sts cache list|clear`; see mta_sts_cli.h.
#include "relay/mta_sts/mta_sts_cli.h"

#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/time_format.h"
#include "policy/domain_policy.h"
#include "relay/mta_sts/mta_sts_cache.h"

namespace tlsrelay {
namespace {

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out.empty() ? "-" : out;
}

}  // namespace

int runStsCacheList(const MtaStsConfig& config, bool json) {
  StsCache cache(config.cache_directory);
  const auto entries = cache.list();
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : entries) {
      out.push_back({{"domain", e.domain},
                     {"id", e.id},
                     {"mode", toString(e.policy.mode)},
                     {"max_age", e.policy.max_age},
                     {"fetched_at", iso8601Utc(e.fetched_at)},
                     {"expires_at", iso8601Utc(e.expires_at)},
                     {"expired", e.expired(now)},
                     {"mx", e.policy.mx}});
    }
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  if (entries.empty()) {
    std::cout << "no cached MTA-STS policies in " << cache.directory() << "\n";
    return 0;
  }
  std::cout << "domain  id  mode  expires  mx\n";
  for (const auto& e : entries) {
    std::cout << e.domain << "  " << e.id << "  " << toString(e.policy.mode) << "  "
              << iso8601Utc(e.expires_at) << (e.expired(now) ? " (expired)" : "") << "  "
              << joined(e.policy.mx) << "\n";
  }
  return 0;
}

int runStsCacheClear(const MtaStsConfig& config, const std::string& domain_in) {
  StsCache cache(config.cache_directory);
  const std::string domain = normalizeDomain(domain_in);
  Status st = domain.empty() ? cache.clear() : cache.remove(domain);
  if (!st.ok()) {
    std::cerr << st.error().message << "\n";
    return 1;
  }
  if (domain.empty()) {
    std::cout << "cleared every cached MTA-STS policy in " << cache.directory() << "\n";
  } else {
    std::cout << "cleared the cached MTA-STS policy of " << domain << " (if any)\n";
  }
  return 0;
}

}  // namespace tlsrelay
