// Keeps cached MTA-STS policies fresh without waiting for mail (RFC 8461 §5.1:
// senders should refresh policies before they expire, so a domain that is
// mailed rarely still has a current policy and an attacker who blocks the
// fetch at the moment of delivery gains nothing). Every `interval` it looks up
// each cached domain through the provider on the thread pool; the provider
// decides whether that lookup refetches (TXT id changed, or expiry within
// refresh_before) and keeps the old policy when a refresh fails.
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <string>

namespace tlsrelay {

class MtaStsProvider;

class MtaStsRefresher {
 public:
  MtaStsRefresher(uv_loop_t* loop, MtaStsProvider* provider, std::string cache_directory,
                  std::chrono::milliseconds interval);
  ~MtaStsRefresher();
  MtaStsRefresher(const MtaStsRefresher&) = delete;
  MtaStsRefresher& operator=(const MtaStsRefresher&) = delete;

  void start();
  // Stops the timer and asks a running pass to end after its current domain;
  // the object must outlive that pass (see busy()).
  void stop();
  bool busy() const { return busy_; }  // a pass is running on the thread pool
  uint64_t passes() const { return passes_; }

  // How often the daemon runs a pass for a given refresh_before: a quarter of
  // it, between one minute and one hour.
  static std::chrono::milliseconds intervalFor(std::chrono::seconds refresh_before);

 private:
  void runPass();

  uv_loop_t* loop_;
  MtaStsProvider* provider_;
  std::string cache_directory_;
  std::chrono::milliseconds interval_;
  uv_timer_t timer_{};
  uv_work_t work_{};
  bool busy_ = false;
  bool timer_open_ = false;
  std::atomic<uint64_t> passes_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace tlsrelay
