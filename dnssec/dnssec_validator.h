// Own DNSSEC validation (ResolverConfig::mode == Validate): verifies one DNS
// response against a chain of trust from configured DS/DNSKEY anchors, asking
// for the DS and DNSKEY records on the way through a caller-supplied query
// function (so the same code runs against a recursive resolver with CD set or
// an authoritative server for the whole hierarchy). Validated DNSKEY sets and
// zone-cut findings are cached per zone, so a lookup does not re-walk the
// chain from the root every time. No ldns types in this header.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "dnssec/dns_answer.h"
#include "dnssec/dns_exchange.h"

namespace tlsrelay::dns {

// The validator's own DS/DNSKEY queries. `name` is in presentation form with a trailing dot ("example.test.",
// ".").
using RawQuery = std::function<RawResponse(const std::string& name, uint16_t qtype)>;

struct DnssecVerdict {
  // Secure: every RRset used chains to an anchor (and a negative answer is
  // proven by NSEC/NSEC3). Insecure: provably unsigned (a proven absent DS on
  // the way down). Bogus: anything else.
  Security security = Security::Bogus;
  // The chain could not be fetched (timeout, SERVFAIL): neither verdict holds;
  // the lookup is a temporary failure.
  bool incomplete = false;
  std::string why;  // for Bogus and incomplete
};

class DnssecValidator {
 public:
  // Reads the anchors at once; if that fails, anchorError() says why and every
  // verdict is incomplete. `now_seconds` drives the key cache only (signature
  // validity uses the wall clock, as it must).
  explicit DnssecValidator(const std::string& trust_anchor_file,
                           std::function<int64_t()> now_seconds = nullptr);
  ~DnssecValidator();
  DnssecValidator(const DnssecValidator&) = delete;
  DnssecValidator& operator=(const DnssecValidator&) = delete;

  const std::string& anchorError() const;

  // `response` is the answer to (qname, qtype) as received (DO set; already
  // checked to be a well-formed NOERROR/NXDOMAIN answer for that question).
  // Thread-safe.
  DnssecVerdict validate(std::span<const uint8_t> response, const std::string& qname, uint16_t qtype,
                         const RawQuery& query);

  size_t cachedZoneCount() const;  // zones and cuts currently cached (for tests)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The file exists and holds at least one DS or DNSKEY record, all for one owner.
Status checkTrustAnchorFile(const std::string& path);

}  // namespace tlsrelay::dns
