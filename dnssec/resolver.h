// The DNS lookup seam: a Resolver interface (MX, addresses, TXT) that callers
// depend on, so delivery code can be tested with fakes, and the factory for the
// real ldns-backed implementation. All lookups BLOCK: never call them on the
// event-loop thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dnssec/dns_answer.h"

namespace tlsrelay::dns {

struct ResolverConfig {
  // Recursive resolvers, tried in order: "127.0.53.2:53", "[::1]:5353",
  // "127.0.0.1" (port 53 by default).
  std::vector<std::string> servers;
  // Budget for one lookup across all servers and retries: a lookup returns
  // (TempFail at worst) within about this time, even if no server answers.
  std::chrono::milliseconds timeout{5000};
  // Extra rounds over the server list after the first.
  int retries = 2;
  // Security::Secure iff the AD bit is set on the answer from the configured
  // resolver (which must be trusted and reached over a trusted path, e.g.
  // loopback). SERVFAIL (which is what a validating resolver returns for a
  // bogus answer) becomes TempFail with the reason in `why`. When false, every
  // answer is Insecure until own validation exists.
  bool trust_ad = true;
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  virtual MxAnswer lookupMx(const std::string& domain) = 0;  // BLOCKING
  virtual AddressAnswer lookupAddresses(
      const std::string& host) = 0;                          // A then AAAA merged (v4 first), BLOCKING
  virtual TxtAnswer lookupTxt(const std::string& name) = 0;  // BLOCKING
};

// Thread-safe: the returned object may be used from several threads at once
// (each lookup uses its own ldns_resolver). Invalid server strings do not fail
// here: every lookup then returns TempFail naming them (validate configuration
// up front with validateResolverConfig() from dnssec/server_address.h).
std::unique_ptr<Resolver> makeLdnsResolver(const ResolverConfig& config);

}  // namespace tlsrelay::dns
