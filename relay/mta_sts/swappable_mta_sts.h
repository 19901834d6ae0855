// The MTA-STS provider the daemon hands to delivery, whose settings can change
// while the relay runs (SIGHUP with a new [mta_sts]): each lookup uses the
// provider current when it starts, which lives until its last lookup ends.
// No provider ([mta_sts] enabled = false): every lookup is "no policy".
// Thread-safe.
#pragma once

#include <memory>

#include "common/swappable.h"
#include "relay/mta_sts/mta_sts_provider.h"

namespace tlsrelay {

class SwappableMtaStsProvider final : public MtaStsProvider {
 public:
  explicit SwappableMtaStsProvider(std::shared_ptr<MtaStsProvider> initial) : provider_(std::move(initial)) {}

  // null: MTA-STS off from now on.
  void replace(std::shared_ptr<MtaStsProvider> next) { provider_.replace(std::move(next)); }
  bool enabled() const { return provider_.current() != nullptr; }

  StsInput lookup(const std::string& domain, StsTrace* trace = nullptr) override;
  // The current provider's counts (they start again from zero after a replacement).
  CacheStats cacheStats() const override;

 private:
  Swappable<MtaStsProvider> provider_;
};

}  // namespace tlsrelay
