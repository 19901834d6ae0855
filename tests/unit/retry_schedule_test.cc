// Retry schedule: backoff growth and cap, jitter bounds, expiry and delay notices.
#include "relay/queue/retry_schedule.h"

#include <gtest/gtest.h>

#include <limits>

namespace tlsrelay {
namespace {

using std::chrono::seconds;

TEST(RetrySchedule, ExponentialBackoffWithCap) {
  RetryPolicy p;  // 300 s, ×2, cap 4 h
  EXPECT_EQ(retryDelay(p, 0), seconds{0});
  EXPECT_EQ(retryDelay(p, 1), seconds{300});
  EXPECT_EQ(retryDelay(p, 2), seconds{600});
  EXPECT_EQ(retryDelay(p, 3), seconds{1200});
  EXPECT_EQ(retryDelay(p, 6), seconds{9600});
  EXPECT_EQ(retryDelay(p, 7), seconds{14400});  // 19200 capped
  EXPECT_EQ(retryDelay(p, 1000), seconds{14400});
  EXPECT_EQ(retryDelay(p, std::numeric_limits<uint32_t>::max()), seconds{14400});
}

TEST(RetrySchedule, TableOfPolicies) {
  struct Row {
    RetryPolicy policy;
    uint32_t attempts;
    int64_t expected;
  };
  RetryPolicy fast{seconds{1}, 3.0, seconds{20}};
  RetryPolicy flat{seconds{60}, 1.0, seconds{3600}};
  RetryPolicy shrinking{seconds{60}, 0.5, seconds{3600}};  // a multiplier < 1 is treated as 1
  RetryPolicy zero_initial{seconds{0}, 2.0, seconds{3600}};
  const Row rows[] = {
      {fast, 1, 1},   {fast, 2, 3},       {fast, 3, 9},         {fast, 4, 20},        {flat, 1, 60},
      {flat, 50, 60}, {shrinking, 5, 60}, {zero_initial, 1, 1}, {zero_initial, 3, 4},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(retryDelay(r.policy, r.attempts).count(), r.expected)
        << "initial=" << r.policy.initial.count() << " mult=" << r.policy.multiplier << " n=" << r.attempts;
  }
}

TEST(RetrySchedule, JitterStaysWithinBoundsAndCap) {
  RetryPolicy p;
  p.jitter = 0.1;
  EXPECT_EQ(retryDelay(p, 2, [] { return 0.0; }), seconds{540});
  EXPECT_EQ(retryDelay(p, 2, [] { return 0.5; }), seconds{600});
  EXPECT_EQ(retryDelay(p, 2, [] { return 0.999999; }), seconds{660});
  // Out-of-range randomness is clamped, never produces a negative delay.
  EXPECT_EQ(retryDelay(p, 2, [] { return -5.0; }), seconds{540});
  EXPECT_EQ(retryDelay(p, 2, [] { return 7.0; }), seconds{660});
  // Jitter never pushes past the cap.
  EXPECT_EQ(retryDelay(p, 30, [] { return 0.999; }), seconds{14400});
  EXPECT_LT(retryDelay(p, 30, [] { return 0.0; }), seconds{14400});
  // No random source: no jitter even when the policy has some.
  EXPECT_EQ(retryDelay(p, 2), seconds{600});
  // A jitter of 1 (±100 %) still gives at least one second.
  p.jitter = 5.0;
  EXPECT_EQ(retryDelay(p, 1, [] { return 0.0; }), seconds{1});
}

TEST(RetrySchedule, ExpiryAtMaxLifetime) {
  RetryPolicy p;  // 5 days
  const int64_t t0 = 1'700'000'000;
  EXPECT_FALSE(expired(p, t0, t0));
  EXPECT_FALSE(expired(p, t0, t0 + 432000 - 1));
  EXPECT_TRUE(expired(p, t0, t0 + 432000));
  EXPECT_TRUE(expired(p, t0, t0 + 10 * 432000));
  p.max_lifetime = seconds{0};  // bounce on the first failure
  EXPECT_TRUE(expired(p, t0, t0));
}

TEST(RetrySchedule, DelayNoticeOnceBetweenThresholdAndExpiry) {
  RetryPolicy p;  // notice at 4 h
  const int64_t t0 = 1'700'000'000;
  EXPECT_FALSE(delayNoticeDue(p, t0, t0 + 14399, false));
  EXPECT_TRUE(delayNoticeDue(p, t0, t0 + 14400, false));
  EXPECT_FALSE(delayNoticeDue(p, t0, t0 + 14400, true));    // already sent
  EXPECT_FALSE(delayNoticeDue(p, t0, t0 + 432000, false));  // expired: bounce instead
  p.delay_notice = seconds{0};
  EXPECT_FALSE(delayNoticeDue(p, t0, t0 + 20000, false));  // disabled
  p.delay_notice = seconds{500000};                        // after lifetime: never
  EXPECT_FALSE(delayNoticeDue(p, t0, t0 + 431999, false));
}

TEST(RetrySchedule, NextAttemptNeverAfterExpiry) {
  RetryPolicy p;
  const int64_t t0 = 1'700'000'000;
  EXPECT_EQ(nextAttemptTime(p, 1, t0, t0 + 10), t0 + 310);
  // 1000 s before expiry, the capped 4 h delay is cut to the expiry time.
  EXPECT_EQ(nextAttemptTime(p, 20, t0, t0 + 431000), t0 + 432000);
  // Already past expiry: now, never in the past.
  EXPECT_EQ(nextAttemptTime(p, 20, t0, t0 + 500000), t0 + 500000);
}

}  // namespace
}  // namespace tlsrelay
