// Resolver address parsing and ResolverConfig validation (see server_address.h).
#include "dnssec/server_address.h"

#include <arpa/inet.h>

#include <charconv>

namespace tlsrelay::dns {

namespace {

bool isIpv4(const std::string& text) {
  in_addr a{};
  return inet_pton(AF_INET, text.c_str(), &a) == 1;
}

bool isIpv6(const std::string& text) {
  in6_addr a{};
  return inet_pton(AF_INET6, text.c_str(), &a) == 1;
}

Result<uint16_t> parsePort(std::string_view text, std::string_view whole) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
    return makeError("invalid port in resolver address '" + std::string(whole) + "'");
  }
  return static_cast<uint16_t>(value);
}

}  // namespace

Result<ServerAddress> parseServerAddress(std::string_view text) {
  if (text.empty() || text.size() > 64) return makeError("invalid resolver address '" + std::string(text) + "'");
  ServerAddress out;
  if (text.front() == '[') {  // "[v6]" or "[v6]:port"
    size_t close = text.find(']');
    if (close == std::string_view::npos) return makeError("missing ']' in resolver address '" + std::string(text) + "'");
    out.ip = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return makeError("invalid resolver address '" + std::string(text) + "'");
      auto port = parsePort(rest.substr(1), text);
      if (!port) return port.error();
      out.port = *port;
    }
    if (!isIpv6(out.ip)) return makeError("not an IPv6 address in resolver address '" + std::string(text) + "'");
    out.ipv6 = true;
    return out;
  }
  size_t colons = 0;
  for (char c : text) colons += (c == ':');
  if (colons > 1) {  // bare IPv6 without port
    out.ip = std::string(text);
    if (!isIpv6(out.ip)) return makeError("not an IP address: resolver address '" + std::string(text) + "'");
    out.ipv6 = true;
    return out;
  }
  size_t colon = text.find(':');
  out.ip = std::string(text.substr(0, colon));
  if (colon != std::string_view::npos) {
    auto port = parsePort(text.substr(colon + 1), text);
    if (!port) return port.error();
    out.port = *port;
  }
  if (!isIpv4(out.ip)) return makeError("not an IPv4 address: resolver address '" + std::string(text) + "'");
  return out;
}

Status validateResolverConfig(const ResolverConfig& config) {
  if (config.servers.empty()) return makeError("no DNS resolver configured");
  for (const auto& server : config.servers) {
    auto parsed = parseServerAddress(server);
    if (!parsed) return parsed.error();
  }
  if (config.timeout.count() <= 0) return makeError("DNS timeout must be positive");
  if (config.retries < 0 || config.retries > 10) return makeError("DNS retries must be between 0 and 10");
  return okStatus();
}

}  // namespace tlsrelay::dns
