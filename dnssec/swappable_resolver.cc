// See swappable_resolver.h.
#include "dnssec/swappable_resolver.h"

namespace tlsrelay::dns {

void SwappableResolver::replace(std::shared_ptr<Resolver> next) {
  std::shared_ptr<Resolver> old;  // released outside the lock
  std::lock_guard lock(mutex_);
  old = std::move(current_);
  current_ = std::move(next);
}

std::shared_ptr<Resolver> SwappableResolver::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

}  // namespace tlsrelay::dns
