// `tlsrelay policy explain DOMAIN [--json]`: resolves a destination the way
// delivery does and prints every step — MX set with DNSSEC status, addresses,
// TLSA records, MTA-STS TXT and policy (cached or fetched), the policy file
// that matched — and the resulting decision per next hop for a normal and for
// a REQUIRETLS message. Uses the configured resolvers and the shared MTA-STS
// cache, so it shows what the daemon would do now.
#pragma once

#include <string>

#include "relay/config/config.h"

namespace tlsrelay {

int runPolicyExplain(const RelayConfig& config, const std::string& domain, bool json);

}  // namespace tlsrelay
