// check-config's warning for a relay network that contains this machine's
// default gateway. Behind Docker or podman NAT (published ports, the
// userland proxy, slirp4netns) connections from outside arrive from the
// gateway address, so a `relay = true` [[source]] covering it (say
// 172.16.0.0/12 "for the other containers") lets the whole Internet relay.
// The /proc/net/route parser and the check are pure; one function reads the file.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/cidr.h"
#include "relay/config/source_rules.h"

namespace tlsrelay {

struct DefaultRoute {
  std::string interface;  // "eth0"
  IpAddress gateway;
};

// The IPv4 default routes (destination and mask 0, flags RTF_UP|RTF_GATEWAY)
// of /proc/net/route text. Lines that do not parse are skipped.
std::vector<DefaultRoute> parseDefaultRoutes(std::string_view proc_net_route);

// One warning per (rule, gateway) where the rule a connection from the gateway
// would match (first match wins, as in the relay) has relay = true.
std::vector<std::string> gatewayRelayWarnings(const std::vector<SourceRule>& sources,
                                              const std::vector<DefaultRoute>& routes);

// gatewayRelayWarnings() for the routes in `route_file`; none when it cannot be read.
std::vector<std::string> gatewayRelayWarningsForHost(const std::vector<SourceRule>& sources,
                                                     const std::string& route_file = "/proc/net/route");

}  // namespace tlsrelay
