// Periodic MTA-STS cache refresh; see mta_sts_refresher.h.
#include "relay/mta_sts/mta_sts_refresher.h"

#include <algorithm>

#include "common/log.h"
#include "relay/mta_sts/mta_sts_cache.h"
#include "relay/mta_sts/mta_sts_provider.h"

namespace tlsrelay {

MtaStsRefresher::MtaStsRefresher(uv_loop_t* loop, MtaStsProvider* provider, std::string cache_directory,
                                 std::chrono::milliseconds interval)
    : loop_(loop), provider_(provider), cache_directory_(std::move(cache_directory)), interval_(interval) {}

MtaStsRefresher::~MtaStsRefresher() {
  stop();
}

std::chrono::milliseconds MtaStsRefresher::intervalFor(std::chrono::seconds refresh_before) {
  auto quarter = std::chrono::duration_cast<std::chrono::milliseconds>(refresh_before) / 4;
  return std::clamp<std::chrono::milliseconds>(quarter, std::chrono::minutes(1), std::chrono::hours(1));
}

void MtaStsRefresher::start() {
  if (timer_open_ || provider_ == nullptr) return;
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  timer_open_ = true;
  auto ms = static_cast<uint64_t>(interval_.count());
  uv_timer_start(
      &timer_, [](uv_timer_t* t) { static_cast<MtaStsRefresher*>(t->data)->runPass(); }, ms, ms);
}

void MtaStsRefresher::stop() {
  stopping_ = true;
  if (!timer_open_) return;
  timer_open_ = false;
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

void MtaStsRefresher::runPass() {
  if (busy_) return;  // the previous pass is still fetching
  busy_ = true;
  work_.data = this;
  uv_queue_work(
      loop_, &work_,
      [](uv_work_t* w) {
        // Blocking: DNS and HTTPS on the thread pool.
        auto* self = static_cast<MtaStsRefresher*>(w->data);
        StsCache cache(self->cache_directory_);
        for (const auto& entry : cache.list()) {
          if (self->stopping_) break;
          self->provider_->lookup(entry.domain);
        }
        ++self->passes_;
      },
      [](uv_work_t* w, int) { static_cast<MtaStsRefresher*>(w->data)->busy_ = false; });
}

}  // namespace tlsrelay
