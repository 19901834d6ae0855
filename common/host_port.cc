// See host_port.h.
#include "common/host_port.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace tlsrelay {

Result<HostPort> parseHostPort(std::string_view text, uint16_t default_port) {
  HostPort hp;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return makeError("missing ']' in '" + std::string(text) + "'");
    hp.host = std::string(text.substr(1, close - 1));
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return makeError("junk after ']' in '" + std::string(text) + "'");
      port_text = rest.substr(1);
      if (port_text.empty()) return makeError("empty port in '" + std::string(text) + "'");
    }
  } else {
    auto colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') == colon) {
      hp.host = std::string(text.substr(0, colon));
      port_text = text.substr(colon + 1);
      if (port_text.empty()) return makeError("empty port in '" + std::string(text) + "'");
    } else {
      hp.host = std::string(text);  // bare host, or a bare IPv6 literal
    }
  }
  if (hp.host.empty()) return makeError("empty host in '" + std::string(text) + "'");
  hp.port = default_port;
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc{} || ptr != port_text.data() + port_text.size() || value == 0 || value > 65535)
      return makeError("bad port in '" + std::string(text) + "'");
    hp.port = static_cast<uint16_t>(value);
  }
  return hp;
}

std::string joinHostPort(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<sockaddr_storage> toSockaddr(const std::string& ip, uint16_t port) {
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return ss;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return ss;
  }
  return makeError("not an IP address: '" + ip + "'");
}

}  // namespace tlsrelay
