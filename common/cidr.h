// IPv4/IPv6 addresses and CIDR prefixes, used by per-source rules (inbound) and
// per-destination-IP TLS rules (outbound). Pure value types, no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace tlsrelay {

// IPv4 addresses are held as IPv4-mapped IPv6 (::ffff:a.b.c.d) so that one
// comparison routine covers both families.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool is_v4 = false;

  static std::optional<IpAddress> parse(std::string_view text);
  // An IPv4 address from its four bytes in network order.
  static IpAddress fromV4Bytes(const void* four_bytes);
  std::string toString() const;
  bool isLoopback() const;
  bool operator==(const IpAddress&) const = default;
};

struct Cidr {
  IpAddress network;
  int prefix_bits = 0;  // counted on the 128-bit mapped form

  // Accepts "192.0.2.0/24", "2001:db8::/32", a bare address (host route), and
  // the PowerMTA-style "0/0" meaning every address of both families.
  static Result<Cidr> parse(std::string_view text);
  bool contains(const IpAddress& address) const;
  std::string toString() const;
};

bool anyContains(const std::vector<Cidr>& list, const IpAddress& address);

}  // namespace tlsrelay
