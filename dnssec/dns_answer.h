// A DNS answer as a value: the records, the lookup outcome (found, provably
// absent, temporary failure), the DNSSEC status and the TTL. A failed lookup or
// a bogus answer never turns into "no records" silently: callers see the outcome.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tlsrelay::dns {

enum class Outcome {
  Found,     // records present
  NoData,    // name exists, no records of this type (NOERROR, empty answer)
  NxDomain,  // name does not exist
  TempFail,  // SERVFAIL, timeout, network error: try again later
};

enum class Security {
  Secure,    // validated chain (AD bit from a trusted resolver, or own validation)
  Insecure,  // provably unsigned, or not checked
  Bogus,     // validation failed: never use for delivery
};

const char* toString(Outcome o);
const char* toString(Security s);

// A TLSA record (RFC 6698 §2.1): usage, selector, matching type and the raw
// (not hex) certificate association data.
struct TlsaRecord {
  uint8_t usage = 0;
  uint8_t selector = 0;
  uint8_t matching_type = 0;
  std::string data;
  bool operator==(const TlsaRecord&) const = default;
};

struct MxRecord {
  uint16_t preference = 0;
  std::string host;  // lower case, no trailing dot; "" for the RFC 7505 null MX "."
};

template <class Record>
struct Answer {
  Outcome outcome = Outcome::TempFail;
  Security security = Security::Insecure;
  std::vector<Record> records;
  uint32_t ttl = 0;  // seconds the answer may be cached
  std::string why;   // for TempFail/Bogus: a human-readable reason
};

using MxAnswer = Answer<MxRecord>;
using AddressAnswer = Answer<std::string>;  // textual IPv4/IPv6 addresses
using TxtAnswer = Answer<std::string>;      // each TXT RR's strings concatenated
using TlsaAnswer = Answer<TlsaRecord>;

}  // namespace tlsrelay::dns
