// See swappable_mta_sts.h.
#include "relay/mta_sts/swappable_mta_sts.h"

namespace tlsrelay {

StsInput SwappableMtaStsProvider::lookup(const std::string& domain, StsTrace* trace) {
  auto provider = provider_.current();
  return provider ? provider->lookup(domain, trace) : StsInput{};
}

MtaStsProvider::CacheStats SwappableMtaStsProvider::cacheStats() const {
  auto provider = provider_.current();
  return provider ? provider->cacheStats() : CacheStats{};
}

}  // namespace tlsrelay
