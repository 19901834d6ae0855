// See gateway_relay_check.h.
#include "relay/ops/gateway_relay_check.h"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <sstream>

#include "common/file_read.h"

namespace tlsrelay {
namespace {

constexpr unsigned kRtfUp = 0x1;       // <linux/route.h> RTF_UP
constexpr unsigned kRtfGateway = 0x2;  // RTF_GATEWAY

bool parseHex(const std::string& text, uint32_t& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
  return ec == std::errc{} && ptr == text.data() + text.size() && !text.empty();
}

}  // namespace

std::vector<DefaultRoute> parseDefaultRoutes(std::string_view text) {
  std::vector<DefaultRoute> out;
  std::istringstream lines{std::string(text)};
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    // Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT
    std::string iface, destination, gateway, flags, refcnt, use, metric, mask;
    if (!(fields >> iface >> destination >> gateway >> flags >> refcnt >> use >> metric >> mask)) continue;
    uint32_t dst = 0, gw = 0, fl = 0, msk = 0;
    if (!parseHex(destination, dst) || !parseHex(gateway, gw) || !parseHex(flags, fl) || !parseHex(mask, msk))
      continue;  // the header line, or junk
    if (dst != 0 || msk != 0 || gw == 0 || (fl & (kRtfUp | kRtfGateway)) != (kRtfUp | kRtfGateway)) continue;
    // The kernel prints the network-order address as a host-order number
    // (%08X of a __be32): its bytes in memory are the address.
    out.push_back({iface, IpAddress::fromV4Bytes(&gw)});
  }
  return out;
}

std::vector<std::string> gatewayRelayWarnings(const std::vector<SourceRule>& sources,
                                              const std::vector<DefaultRoute>& routes) {
  std::vector<std::string> out;
  for (const auto& route : routes) {
    const SourceRule& rule = matchSource(sources, route.gateway);
    if (!rule.relay) continue;  // a deny rule wins first, or the built-in 0/0
    std::string warning =
        "[[source]] " + rule.cidr.toString() + " has relay = true and contains " + route.gateway.toString() +
        ", this machine's default gateway (" + route.interface +
        "): behind Docker or podman NAT every client from outside arrives from the gateway "
        "address, so anybody who can reach a published port may relay through this rule "
        "(an open relay); list the client networks instead, or publish the port without NAT";
    bool seen = false;
    for (const auto& w : out) seen = seen || w == warning;
    if (!seen) out.push_back(std::move(warning));
  }
  return out;
}

std::vector<std::string> gatewayRelayWarningsForHost(const std::vector<SourceRule>& sources,
                                                     const std::string& route_file) {
  auto text = readWholeFile(route_file, 1 << 20);
  if (!text.ok()) return {};
  return gatewayRelayWarnings(sources, parseDefaultRoutes(*text));
}

}  // namespace tlsrelay
