// Retry arithmetic; see retry_schedule.h.
#include "relay/queue/retry_schedule.h"

#include <algorithm>
#include <cmath>

namespace tlsrelay {

std::chrono::seconds retryDelay(const RetryPolicy& policy, uint32_t attempts, const UniformRandom& random) {
  if (attempts == 0) return std::chrono::seconds{0};
  const double cap = static_cast<double>(std::max<int64_t>(policy.max_interval.count(), 1));
  const double initial = static_cast<double>(std::max<int64_t>(policy.initial.count(), 1));
  const double multiplier = policy.multiplier >= 1.0 ? policy.multiplier : 1.0;
  // Computed in floating point and capped, so a large attempt count cannot overflow.
  double delay = initial * std::pow(multiplier, static_cast<double>(attempts - 1));
  if (!std::isfinite(delay) || delay > cap) delay = cap;
  if (random && policy.jitter > 0.0) {
    double r = std::clamp(random(), 0.0, 1.0);
    double j = std::min(policy.jitter, 1.0);
    delay *= 1.0 + j * (2.0 * r - 1.0);
    delay = std::min(delay, cap);
  }
  return std::chrono::seconds{std::max<int64_t>(1, static_cast<int64_t>(std::llround(delay)))};
}

bool expired(const RetryPolicy& policy, int64_t received_at, int64_t now) {
  return now - received_at >= policy.max_lifetime.count();
}

bool delayNoticeDue(const RetryPolicy& policy, int64_t received_at, int64_t now, bool already_notified) {
  if (already_notified || policy.delay_notice.count() <= 0) return false;
  if (expired(policy, received_at, now)) return false;
  return now - received_at >= policy.delay_notice.count();
}

int64_t nextAttemptTime(const RetryPolicy& policy, uint32_t attempts, int64_t received_at, int64_t now,
                        const UniformRandom& random) {
  int64_t next = now + retryDelay(policy, attempts, random).count();
  int64_t expiry = received_at + policy.max_lifetime.count();
  return std::max(now, std::min(next, expiry));
}

}  // namespace tlsrelay
