// Where delivery and `policy explain` get a domain's MTA-STS state: the
// _mta-sts TXT lookup, the on-disk cache and the HTTPS fetch put together with
// RFC 8461's rules (use the cache until max_age; refetch when the TXT id
// changes; refresh proactively before expiry; a failed fetch with a cached,
// unexpired policy keeps the cache). BLOCKING: call on the thread pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "policy/tls_policy.h"
#include "relay/config/config.h"  // MtaStsConfig

namespace tlsrelay {

namespace dns {
class Resolver;
}

// Step-by-step account of one lookup, for `policy explain`.
struct StsTrace {
  std::string txt;             // the STSv1 TXT record or "" if none
  std::string txt_security;    // "secure"/"insecure"/"bogus"
  std::string txt_outcome;     // "found", "nodata", ...
  std::string cached_id;       // id of the cached policy, "" if none
  int64_t cached_expires = 0;  // unix seconds
  bool fetched = false;        // a fetch was made during this lookup
  std::string fetch_result;    // "ok", or the error
};

class MtaStsProvider {
 public:
  virtual ~MtaStsProvider() = default;
  // Thread-safe, BLOCKING. `trace` (optional) receives the steps taken.
  virtual StsInput lookup(const std::string& domain, StsTrace* trace = nullptr) = 0;
  // Lookups answered by a cached policy without a fetch, and fetches made (for /metrics).
  struct CacheStats {
    uint64_t hits = 0;
    uint64_t fetches = 0;
  };
  virtual CacheStats cacheStats() const { return {}; }
};

class StsFetcher;  // relay/mta_sts_fetcher.h

// The provider with the libcurl fetcher. `config.cache_directory` is as the
// config loader filled it in; "" keeps the cache
// in memory only. `resolver` must outlive the provider; `clock` returns unix
// seconds (null = the system clock). With `enabled` false every lookup is
// NoPolicy.
std::unique_ptr<MtaStsProvider> makeMtaStsProvider(const MtaStsConfig& config, dns::Resolver* resolver,
                                                   std::function<int64_t()> clock);
// Same with an injected fetcher (tests).
std::unique_ptr<MtaStsProvider> makeMtaStsProvider(const MtaStsConfig& config, dns::Resolver* resolver,
                                                   std::function<int64_t()> clock,
                                                   std::unique_ptr<StsFetcher> fetcher);

}  // namespace tlsrelay
