// CIDR parsing and matching; see cidr.h.
#include "common/cidr.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace tlsrelay {

IpAddress IpAddress::fromV4Bytes(const void* four_bytes) {
  IpAddress a;
  a.is_v4 = true;
  a.bytes[10] = 0xff;  // ::ffff:a.b.c.d
  a.bytes[11] = 0xff;
  std::memcpy(&a.bytes[12], four_bytes, 4);
  return a;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  std::string s(text);
  if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  IpAddress a;
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) return fromV4Bytes(&v4);
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(a.bytes.data(), &v6, 16);
    static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    a.is_v4 = std::memcmp(a.bytes.data(), mapped_prefix, 12) == 0;
    return a;
  }
  return std::nullopt;
}

std::string IpAddress::toString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_v4) {
    inet_ntop(AF_INET, &bytes[12], buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  }
  return buf;
}

bool IpAddress::isLoopback() const {
  if (is_v4) return bytes[12] == 127;
  for (int i = 0; i < 15; ++i)
    if (bytes[i] != 0) return false;
  return bytes[15] == 1;
}

Result<Cidr> Cidr::parse(std::string_view text) {
  if (text == "0/0") return Cidr{IpAddress{}, 0};
  auto slash = text.find('/');
  auto addr = IpAddress::parse(text.substr(0, slash));
  if (!addr) return makeError("not an IP address: '" + std::string(text.substr(0, slash)) + "'");
  int max_bits = addr->is_v4 ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (ec != std::errc{} || ptr != digits.data() + digits.size() || bits < 0 || bits > max_bits)
      return makeError("bad prefix length in '" + std::string(text) + "'");
  }
  Cidr c{*addr, addr->is_v4 ? bits + 96 : bits};
  // Normalise: clear host bits so toString() shows the network.
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(c.prefix_bits - i * 8, 0, 8);
    c.network.bytes[i] &= static_cast<uint8_t>(0xff << (8 - keep));
  }
  return c;
}

bool Cidr::contains(const IpAddress& address) const {
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(prefix_bits - i * 8, 0, 8);
    if (keep == 0) break;
    uint8_t mask = static_cast<uint8_t>(0xff << (8 - keep));
    if ((address.bytes[i] & mask) != (network.bytes[i] & mask)) return false;
  }
  return true;
}

std::string Cidr::toString() const {
  if (prefix_bits == 0) return "0/0";
  return network.toString() + "/" + std::to_string(network.is_v4 ? prefix_bits - 96 : prefix_bits);
}

bool anyContains(const std::vector<Cidr>& list, const IpAddress& address) {
  for (const auto& c : list)
    if (c.contains(address)) return true;
  return false;
}

}  // namespace tlsrelay
