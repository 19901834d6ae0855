// MX resolution as a pure function: from an MX answer to the ordered list of
// hosts to try (RFC 5321 §5.1) or a verdict (null MX, no such domain, try
// later, bogus). No I/O, randomness injected, so every rule is a table test.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dnssec/dns_answer.h"

namespace tlsrelay::dns {

struct MxTarget {
  std::string host;
  uint16_t preference = 0;
  Security mx_security = Security::Insecure;  // of the MX answer (or of the implicit MX)
};

struct MxPlan {
  enum class Kind { Hosts, NullMx, NoSuchDomain, TempFail, Bogus } kind = Kind::TempFail;
  std::vector<MxTarget> hosts;  // sorted by preference; equal preferences shuffled
  std::string why;
};

const char* toString(MxPlan::Kind kind);

// `domain` is the recipient domain (normalized here); `random` returns uniformly
// distributed 32-bit values and is only used to shuffle equal preferences.
MxPlan planMx(const std::string& domain, const MxAnswer& mx, std::function<uint32_t()> random);

}  // namespace tlsrelay::dns
