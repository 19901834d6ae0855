// See host_port.h.
#include "common/host_port.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "common/cidr.h"

namespace tlsrelay {
namespace {

// Errors do not quote the text: the callers do, each in its own way.
Result<HostPort> splitHostPort(std::string_view text, uint16_t default_port, bool allow_port_zero) {
  HostPort hp;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return makeError("missing ']'");
    hp.host = std::string(text.substr(1, close - 1));
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return makeError("junk after ']'");
      port_text = rest.substr(1);
      if (port_text.empty()) return makeError("empty port");
    }
  } else {
    auto colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') == colon) {
      hp.host = std::string(text.substr(0, colon));
      port_text = text.substr(colon + 1);
      if (port_text.empty()) return makeError("empty port");
    } else {
      hp.host = std::string(text);  // bare host, or a bare IPv6 literal
    }
  }
  if (hp.host.empty()) return makeError("empty host");
  hp.port = default_port;
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc{} || ptr != port_text.data() + port_text.size() || (value == 0 && !allow_port_zero) ||
        value > 65535)
      return makeError("bad port");
    hp.port = static_cast<uint16_t>(value);
  }
  return hp;
}

}  // namespace

Result<HostPort> parseHostPort(std::string_view text, uint16_t default_port) {
  auto hp = splitHostPort(text, default_port, false);
  if (!hp) return makeError(hp.error().message + " in '" + std::string(text) + "'");
  return hp;
}

Result<HostPort> parseListenAddress(std::string_view text, bool allow_port_zero) {
  // The same reading as splitHostPort: several colons without brackets are
  // a bare IPv6 literal, which has no port.
  const bool bracketed = !text.empty() && text.front() == '[';
  const size_t colon = text.find(':');
  const bool has_port = bracketed ? text.find("]:") != std::string_view::npos
                                  : colon != std::string_view::npos && colon == text.rfind(':');
  auto hp = splitHostPort(text, 0, allow_port_zero);
  if (!hp) return hp.error();
  if (!has_port) return makeError("a port is required");
  if (!IpAddress::parse(hp->host)) return makeError("the host must be an IP literal");
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
