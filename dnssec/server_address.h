// Parsing of resolver addresses from configuration ("127.0.0.1",
// "127.0.53.2:53", "[::1]:5353", "::1"): kept apart from the ldns code so
// check-config can report bad values and tests can cover them without sockets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "dnssec/resolver.h"

namespace tlsrelay::dns {

struct ServerAddress {
  std::string ip;  // numeric IPv4 or IPv6, no brackets
  uint16_t port = 53;
  bool ipv6 = false;
};

Result<ServerAddress> parseServerAddress(std::string_view text);

// At least one server, every server parseable, timeout > 0, 0 <= retries <= 10,
// and in Validate mode a readable trust anchor file with DS or DNSKEY records.
Status validateResolverConfig(const ResolverConfig& config);

}  // namespace tlsrelay::dns
