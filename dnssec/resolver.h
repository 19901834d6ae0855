// The DNS lookup seam: a Resolver interface (MX, addresses, TXT, TLSA) that callers
// depend on, so delivery code can be tested with fakes, and the factory for the
// real ldns-backed implementation. All lookups BLOCK: never call them on the
// event-loop thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dnssec/dns_answer.h"

namespace tlsrelay::dns {

enum class DnssecMode { TrustAd, Validate };

// "trust-ad" / "validate" (the [dns] dnssec setting), or nullopt.
std::optional<DnssecMode> parseDnssecMode(std::string_view text);
const char* toString(DnssecMode mode);

struct ResolverConfig {
  // Recursive resolvers, tried in order: "127.0.53.2:53", "[::1]:5353",
  // "127.0.0.1" (port 53 by default).
  std::vector<std::string> servers;
  // Budget for one lookup across all servers and retries: a lookup returns
  // (TempFail at worst) within about this time, even if no server answers.
  std::chrono::milliseconds timeout{5000};
  // Extra rounds over the server list after the first.
  int retries = 2;
  // Where Security comes from.
  //  TrustAd: Secure iff the AD bit is set on the answer from the configured
  //    resolver (which must validate and be reached over a trusted path, e.g.
  //    loopback). SERVFAIL (what a validating resolver returns for a bogus
  //    answer) becomes TempFail with the reason in `why`.
  //  Validate: queries carry DO+CD and the chain from `trust_anchor_file` down
  //    to each answer is verified here (Secure / Insecure / Bogus); works
  //    against a recursive resolver or an authoritative server for the whole
  //    hierarchy.
  DnssecMode mode = DnssecMode::TrustAd;
  // DS and/or DNSKEY RRs (zone-file syntax) for the root; used by Validate.
  std::string trust_anchor_file;
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  virtual MxAnswer lookupMx(const std::string& domain) = 0;  // BLOCKING
  virtual AddressAnswer lookupAddresses(
      const std::string& host) = 0;                          // A then AAAA merged (v4 first), BLOCKING
  virtual TxtAnswer lookupTxt(const std::string& name) = 0;  // BLOCKING
  // `name` is the full owner, e.g. "_25._tcp.mx1.example.test". BLOCKING.
  virtual TlsaAnswer lookupTlsa(const std::string& name) = 0;
};

// Thread-safe: the returned object may be used from several threads at once
// (each lookup uses its own ldns_resolver). Invalid server strings do not fail
// here: every lookup then returns TempFail naming them (validate configuration
// up front with validateResolverConfig() from dnssec/server_address.h); in
// Validate mode an unreadable trust anchor file does the same.
std::unique_ptr<Resolver> makeLdnsResolver(const ResolverConfig& config);

}  // namespace tlsrelay::dns
