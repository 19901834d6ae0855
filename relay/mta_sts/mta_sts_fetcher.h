// The HTTPS half of MTA-STS (RFC 8461 §3.3): GET
// https://mta-sts.<domain>/.well-known/mta-sts.txt with PKIX verification, the
// policy host's addresses from OUR resolver (never libcurl's), no redirects,
// a 64 KiB cap and timeouts. The only file that includes libcurl. BLOCKING.
#pragma once

#include <memory>
#include <string>

#include "relay/mta_sts/mta_sts_provider.h"  // MtaStsConfig

namespace tlsrelay {

namespace dns {
class Resolver;
}

struct StsFetchResult {
  enum class Kind {
    Ok,          // `body` holds the policy text (not yet parsed)
    FetchError,  // DNS, connect, timeout, TLS handshake, HTTP status, redirect, content type, oversize
    WebPkiError  // the policy host's certificate failed PKIX verification
  };
  Kind kind = Kind::FetchError;
  std::string body;
  std::string error;  // human text for logs and reports; never a secret

  static StsFetchResult ok(std::string body) { return {Kind::Ok, std::move(body), ""}; }
  static StsFetchResult fetchError(std::string why) { return {Kind::FetchError, "", std::move(why)}; }
  static StsFetchResult webPkiError(std::string why) { return {Kind::WebPkiError, "", std::move(why)}; }
};

// The seam the provider depends on, so its rules are testable without HTTPS.
class StsFetcher {
 public:
  virtual ~StsFetcher() = default;
  // `domain`: the policy domain (lower case); the host is "mta-sts." + domain.
  // Thread-safe, BLOCKING.
  virtual StsFetchResult fetch(const std::string& domain) = 0;
};

// libcurl-backed fetcher. `resolver` must outlive it.
std::unique_ptr<StsFetcher> makeCurlStsFetcher(const MtaStsConfig& config, dns::Resolver* resolver);

}  // namespace tlsrelay
