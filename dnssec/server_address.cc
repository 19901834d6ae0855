// Resolver address parsing and ResolverConfig validation (see server_address.h).
#include "dnssec/server_address.h"

#include "common/cidr.h"
#include "common/host_port.h"
#include "dnssec/dnssec_validator.h"

namespace tlsrelay::dns {

Result<ServerAddress> parseServerAddress(std::string_view text) {
  if (text.empty() || text.size() > 64)
    return makeError("invalid resolver address '" + std::string(text) + "'");
  auto hp = parseHostPort(text, 53);
  if (!hp.ok()) return makeError("resolver address: " + hp.error().message);
  auto ip = IpAddress::parse(hp->host);
  if (!ip) return makeError("not an IP address: resolver address '" + std::string(text) + "'");
  ServerAddress out;
  out.ip = hp->host;
  out.port = hp->port;
  out.ipv6 = !ip->is_v4;
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
  if (config.mode == DnssecMode::Validate) {
    if (config.trust_anchor_file.empty()) return makeError("dnssec = validate needs a trust_anchor_file");
    auto anchors = checkTrustAnchorFile(config.trust_anchor_file);
    if (!anchors.ok()) return anchors;
  }
  return okStatus();
}

}  // namespace tlsrelay::dns
