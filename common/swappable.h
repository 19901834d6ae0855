// An object that can be replaced while other threads use it (what SIGHUP does
// to the resolver and the MTA-STS provider): current() hands out a reference
// that keeps the object alive for as long as the caller holds it, so work in
// flight finishes on the object it began with. Thread-safe.
#pragma once

#include <memory>
#include <mutex>

namespace tlsrelay {

template <class T>
class Swappable {
 public:
  explicit Swappable(std::shared_ptr<T> initial) : current_(std::move(initial)) {}

  std::shared_ptr<T> current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }

  // Later current() calls get `next`; the old object goes with its last user.
  void replace(std::shared_ptr<T> next) {
    std::shared_ptr<T> old;  // released outside the lock
    std::lock_guard lock(mutex_);
    old = std::move(current_);
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<T> current_;
};

}  // namespace tlsrelay
