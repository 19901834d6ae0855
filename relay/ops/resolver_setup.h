// The relay's resolver and MTA-STS provider as the configuration describes
// them, built in one place for the daemon and for CLI commands that resolve
// (`policy explain`), so both see the same DNS and the same policy cache.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "common/result.h"
#include "dnssec/resolver.h"
#include "relay/config/config.h"
#include "relay/mta_sts/mta_sts_provider.h"

namespace tlsrelay {

// Caching ldns resolver over [dns] resolvers (or /etc/resolv.conf), in the
// configured DNSSEC mode.
Result<std::unique_ptr<dns::Resolver>> makeConfiguredResolver(const DnsConfig& config,
                                                              std::function<int64_t()> clock);

// Null when [mta_sts] enabled = false. `resolver` must outlive the provider.
std::unique_ptr<MtaStsProvider> makeConfiguredMtaSts(const MtaStsConfig& config, dns::Resolver* resolver,
                                                     std::function<int64_t()> clock);

}  // namespace tlsrelay
