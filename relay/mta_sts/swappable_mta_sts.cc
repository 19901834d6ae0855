// See swappable_mta_sts.h.
#include "relay/mta_sts/swappable_mta_sts.h"

namespace tlsrelay {

void SwappableMtaStsProvider::replace(std::shared_ptr<MtaStsProvider> next) {
  std::shared_ptr<MtaStsProvider> old;  // released outside the lock
  std::lock_guard lock(mutex_);
  old = std::move(current_);
  current_ = std::move(next);
}

std::shared_ptr<MtaStsProvider> SwappableMtaStsProvider::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

StsInput SwappableMtaStsProvider::lookup(const std::string& domain, StsTrace* trace) {
  auto provider = current();
  return provider ? provider->lookup(domain, trace) : StsInput{};
}

MtaStsProvider::CacheStats SwappableMtaStsProvider::cacheStats() const {
  auto provider = current();
  return provider ? provider->cacheStats() : CacheStats{};
}

}  // namespace tlsrelay
