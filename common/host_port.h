// "127.0.0.1:25" / "[::1]:25" / "mail.example.com:587" parsing, and IP + port
// to sockaddr conversion for libuv.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace tlsrelay {

struct HostPort {
  std::string host;  // IP literal (without brackets) or host name
  uint16_t port = 0;
};

// "host", "host:port", "[v6]" or "[v6]:port"; a bare IPv6 literal without
// brackets is a host without port. `default_port` (0 = none) is used when the
// text has no port.
Result<HostPort> parseHostPort(std::string_view text, uint16_t default_port);
// Where something listens: an IP literal and a port, "0.0.0.0:25" or
// "[::1]:8025". Errors say "a port is required" or "the host must be an IP
// literal"; an explicit port 0 ("any free port") only with allow_port_zero.
Result<HostPort> parseListenAddress(std::string_view text, bool allow_port_zero = false);
// "ip:port" for IPv4 and names, "[ip]:port" for IPv6: the one spelling the
// rest of the relay sees.
std::string joinHostPort(const std::string& host, uint16_t port);
Result<sockaddr_storage> toSockaddr(const std::string& ip, uint16_t port);

}  // namespace tlsrelay
