// The MTA-STS provider the daemon hands to delivery, whose settings can change
// while the relay runs (SIGHUP with a new [mta_sts]): each lookup uses the
// provider current when it starts, which lives until its last lookup ends.
// No provider ([mta_sts] enabled = false): every lookup is "no policy".
// Thread-safe.
#pragma once

#include <memory>
#include <mutex>

#include "relay/mta_sts/mta_sts_provider.h"

namespace tlsrelay {

class SwappableMtaStsProvider final : public MtaStsProvider {
 public:
  explicit SwappableMtaStsProvider(std::shared_ptr<MtaStsProvider> initial) : current_(std::move(initial)) {}

  void replace(std::shared_ptr<MtaStsProvider> next);  // null: MTA-STS off from now on
  bool enabled() const { return current() != nullptr; }

  StsInput lookup(const std::string& domain, StsTrace* trace = nullptr) override;
  // The current provider's counts (they start again from zero after a replacement).
  CacheStats cacheStats() const override;

 private:
  std::shared_ptr<MtaStsProvider> current() const;
  mutable std::mutex mutex_;
  std::shared_ptr<MtaStsProvider> current_;
};

}  // namespace tlsrelay
