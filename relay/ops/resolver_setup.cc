// Resolver and MTA-STS provider from the configuration; see resolver_setup.h.
#include "relay/ops/resolver_setup.h"

#include "dnssec/caching_resolver.h"
#include "dnssec/server_address.h"

namespace tlsrelay {

Result<std::unique_ptr<dns::Resolver>> makeConfiguredResolver(const DnsConfig& config,
                                                              std::function<int64_t()> clock) {
  dns::ResolverConfig rcfg;
  if (!config.resolvers.empty()) {
    rcfg.servers = config.resolvers;
  } else {
    auto servers = readResolvConf();
    if (!servers.ok() || servers->empty())
      return makeError("no resolvers configured and none in /etc/resolv.conf");
    rcfg.servers = servers.value();
  }
  auto mode = dns::parseDnssecMode(config.dnssec);
  if (!mode) return makeError("unknown dnssec mode '" + config.dnssec + "'");
  rcfg.mode = *mode;
  rcfg.trust_anchor_file = config.trust_anchor_file;
  // A bad server or an unreadable trust anchor stops startup rather than
  // failing every lookup later.
  if (auto valid = dns::validateResolverConfig(rcfg); !valid.ok()) return valid.error();
  std::unique_ptr<dns::Resolver> resolver =
      std::make_unique<dns::CachingResolver>(dns::makeLdnsResolver(rcfg), std::move(clock));
  return resolver;
}

std::unique_ptr<MtaStsProvider> makeConfiguredMtaSts(const MtaStsConfig& config, dns::Resolver* resolver,
                                                     std::function<int64_t()> clock) {
  if (!config.enabled) return nullptr;
  return makeMtaStsProvider(config, resolver, std::move(clock));
}

}  // namespace tlsrelay
