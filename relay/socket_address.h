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

// `default_port` is used when the text has no port.
Result<HostPort> parseHostPort(std::string_view text, uint16_t default_port);
Result<sockaddr_storage> toSockaddr(const std::string& ip, uint16_t port);

}  // namespace tlsrelay
