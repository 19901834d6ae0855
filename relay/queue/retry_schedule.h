// When to try a deferred message again, when to give up, and when to tell the
// sender it is late. Pure functions of the policy, the attempt count and the
// times given: the clock and the randomness are the caller's.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace tlsrelay {

struct RetryPolicy {
  std::chrono::seconds initial{300};          // delay after the first failed attempt
  double multiplier = 2.0;                    // each further failure multiplies the delay
  std::chrono::seconds max_interval{14400};   // the delay never grows past this
  std::chrono::seconds max_lifetime{432000};  // age at which a message is bounced (5 days)
  std::chrono::seconds delay_notice{14400};   // age at which a delay DSN is sent; 0 = never
  double jitter = 0.1;                        // ± fraction of the delay, applied only with a random source
};

// Returns a uniform double in [0, 1); injected so tests are deterministic.
using UniformRandom = std::function<double()>;

// Delay before the next attempt after `attempts` failed attempts:
// initial × multiplier^(attempts−1), capped at max_interval; 0 when attempts is
// 0 (never tried). With `random`, the delay is spread by ±jitter so messages
// deferred together do not all come back in the same second; still capped,
// and at least one second.
std::chrono::seconds retryDelay(const RetryPolicy& policy, uint32_t attempts,
                                const UniformRandom& random = {});

// True when a message received at `received_at` is too old to try again.
bool expired(const RetryPolicy& policy, int64_t received_at, int64_t now);

// True when a delay notice should be sent now: not sent yet, notices enabled,
// the message is at least delay_notice old, and not yet expired (an expired
// message gets a bounce instead).
bool delayNoticeDue(const RetryPolicy& policy, int64_t received_at, int64_t now, bool already_notified);

// Unix time of the next attempt: now + retryDelay, but never later than the
// expiry time, so the last attempt (and the bounce after it) is not late by up
// to a whole max_interval.
int64_t nextAttemptTime(const RetryPolicy& policy, uint32_t attempts, int64_t received_at, int64_t now,
                        const UniformRandom& random = {});

}  // namespace tlsrelay
