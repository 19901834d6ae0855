// Destination and host health (relay/queue/destination_health.h) with the time
// passed in: failures below the configured threshold do not back off; the
// threshold-th consecutive failure backs the destination off for `initial`
// seconds from that failure, each further failure doubles it up to `max`;
// the backoff ends when its time has passed; a connected run clears the
// record, a run that tried no connection changes nothing; hosts are tracked
// apart from destinations and recover on one reachable connection; clear()
// forgets everything; list() shows every record with its failure count, end
// of backoff and last error; the tables forget long-dead names.
#include "relay/queue/destination_health.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace tlsrelay {
namespace {

using namespace std::chrono_literals;

constexpr int64_t T0 = 1'800'000'000;

// Three failed runs before the backoff starts; 60 s, doubling, at most 300 s.
BackoffConfig config() {
  BackoffConfig c;
  c.failures = 3;
  c.initial = 60s;
  c.max = 300s;
  return c;
}

std::optional<DestinationHealth::State> find(const std::vector<DestinationHealth::State>& states,
                                             const std::string& name, bool host) {
  for (const auto& s : states)
    if (s.name == name && s.host == host) return s;
  return std::nullopt;
}

// A run that tried connections and reached no usable session.
int64_t unreachable(DestinationHealth& h, const std::string& d, int64_t now,
                    const std::string& error = "connection refused") {
  return h.runEnded(d, /*unreachable=*/true, /*connected=*/false, error, now);
}

TEST(DestinationHealth, FailuresBelowTheThresholdDoNotBackOff) {
  DestinationHealth h(config());
  EXPECT_EQ(unreachable(h, "down.example", T0), 0);
  EXPECT_EQ(unreachable(h, "down.example", T0 + 10), 0);
  EXPECT_EQ(h.destinationBackoffUntil("down.example", T0 + 10), 0);

  auto states = h.list(T0 + 10);
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].name, "down.example");
  EXPECT_FALSE(states[0].host);
  EXPECT_EQ(states[0].failures, 2);
  EXPECT_EQ(states[0].until, 0);  // below the threshold
  EXPECT_EQ(states[0].last_error, "connection refused");
}

TEST(DestinationHealth, ReachingTheThresholdBacksOffForTheInitialTimeFromThatFailure) {
  DestinationHealth h(config());
  unreachable(h, "down.example", T0);
  unreachable(h, "down.example", T0 + 10);
  EXPECT_EQ(unreachable(h, "down.example", T0 + 20), T0 + 20 + 60);
  EXPECT_EQ(h.destinationBackoffUntil("down.example", T0 + 20), T0 + 80);
  EXPECT_EQ(h.destinationBackoffUntil("down.example", T0 + 79), T0 + 80);

  auto state = find(h.list(T0 + 20), "down.example", false);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->failures, 3);
  EXPECT_EQ(state->until, T0 + 80);
}

TEST(DestinationHealth, TimePassingEndsTheBackoffButKeepsTheFailureCount) {
  DestinationHealth h(config());
  for (int i = 0; i < 3; ++i) unreachable(h, "down.example", T0);
  EXPECT_EQ(h.destinationBackoffUntil("down.example", T0 + 59), T0 + 60);
  EXPECT_EQ(h.destinationBackoffUntil("down.example", T0 + 60), 0);  // ended: the probe may run
  EXPECT_EQ(h.destinationBackoffUntil("down.example", T0 + 1000), 0);

  auto state = find(h.list(T0 + 60), "down.example", false);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->failures, 3);
  EXPECT_EQ(state->until, 0);
}

// Each failed probe after a backoff doubles it (60, 120, 240), and the
// configured maximum (300) caps it however many failures follow.
TEST(DestinationHealth, BackoffDoublesWithConsecutiveFailuresAndIsCappedByTheMaximum) {
  DestinationHealth h(config());
  unreachable(h, "down.example", T0);
  unreachable(h, "down.example", T0);
  int64_t now = T0;
  const std::vector<int64_t> expected = {60, 120, 240, 300, 300, 300};
  for (size_t i = 0; i < expected.size(); ++i) {
    const int64_t until = unreachable(h, "down.example", now);
    EXPECT_EQ(until, now + expected[i]) << "failure " << i + 3;
    EXPECT_EQ(h.destinationBackoffUntil("down.example", now), now + expected[i]);
    auto state = find(h.list(now), "down.example", false);
    ASSERT_TRUE(state.has_value());
    EXPECT_EQ(state->failures, static_cast<int>(i) + 3);
    EXPECT_EQ(state->until, now + expected[i]);
    now = until;  // the probe when the backoff ends fails again
  }
}

// A maximum that is not a power-of-two multiple of the initial backoff still caps it.
TEST(DestinationHealth, MaximumCapsEvenBetweenDoublings) {
  BackoffConfig c;
  c.failures = 1;
  c.initial = 100s;
  c.max = 250s;
  DestinationHealth h(c);
  EXPECT_EQ(unreachable(h, "d.example", T0), T0 + 100);
  EXPECT_EQ(unreachable(h, "d.example", T0 + 100), T0 + 100 + 200);
  EXPECT_EQ(unreachable(h, "d.example", T0 + 300), T0 + 300 + 250);
  EXPECT_EQ(unreachable(h, "d.example", T0 + 550), T0 + 550 + 250);
}

TEST(DestinationHealth, DefaultConfigBacksOffAfterTheFirstFailure) {
  DestinationHealth h;  // BackoffConfig{}: 1 failure, 60 s, at most 1800 s
  EXPECT_EQ(unreachable(h, "d.example", T0), T0 + 60);
  EXPECT_EQ(unreachable(h, "d.example", T0 + 60), T0 + 60 + 120);
}

TEST(DestinationHealth, ConfigureAppliesToLaterFailures) {
  DestinationHealth h(config());
  BackoffConfig c;
  c.failures = 1;
  c.initial = 10s;
  c.max = 15s;
  h.configure(c);
  EXPECT_EQ(unreachable(h, "d.example", T0), T0 + 10);
  EXPECT_EQ(unreachable(h, "d.example", T0 + 10), T0 + 10 + 15);
}

TEST(DestinationHealth, ConnectedRunClearsTheBackoffAndTheFailureCount) {
  DestinationHealth h(config());
  for (int i = 0; i < 4; ++i) unreachable(h, "down.example", T0);
  ASSERT_EQ(h.destinationBackoffUntil("down.example", T0), T0 + 120);

  EXPECT_EQ(h.runEnded("down.example", /*unreachable=*/false, /*connected=*/true, "", T0 + 120), 0);
  EXPECT_EQ(h.destinationBackoffUntil("down.example", T0 + 120), 0);
  EXPECT_TRUE(h.list(T0 + 120).empty());

  // Counting starts again from zero: two more failures stay below the threshold.
  EXPECT_EQ(unreachable(h, "down.example", T0 + 130), 0);
  EXPECT_EQ(unreachable(h, "down.example", T0 + 140), 0);
  EXPECT_EQ(unreachable(h, "down.example", T0 + 150), T0 + 150 + 60);
}

// "connected" wins when a run reports both: at least one session was usable.
TEST(DestinationHealth, ARunThatConnectedAnywhereCountsAsHealthy) {
  DestinationHealth h(config());
  for (int i = 0; i < 3; ++i) unreachable(h, "d.example", T0);
  EXPECT_EQ(h.runEnded("d.example", /*unreachable=*/true, /*connected=*/true, "partly", T0), 0);
  EXPECT_TRUE(h.list(T0).empty());
}

TEST(DestinationHealth, RunThatTriedNoConnectionChangesNothing) {
  DestinationHealth h(config());
  // Unknown destination: nothing is recorded.
  EXPECT_EQ(h.runEnded("fresh.example", false, false, "DNS lookup failed", T0), 0);
  EXPECT_TRUE(h.list(T0).empty());

  // Below the threshold: the count and the last error stay as they were.
  unreachable(h, "down.example", T0, "first error");
  unreachable(h, "down.example", T0 + 1, "second error");
  EXPECT_EQ(h.runEnded("down.example", false, false, "DNS lookup failed", T0 + 2), 0);
  auto state = find(h.list(T0 + 2), "down.example", false);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->failures, 2);
  EXPECT_EQ(state->last_error, "second error");
  // ... and the next failure is still the third.
  EXPECT_EQ(unreachable(h, "down.example", T0 + 3), T0 + 3 + 60);

  // In backoff: the run returns the current end and leaves it alone.
  EXPECT_EQ(h.runEnded("down.example", false, false, "TLS policy", T0 + 4), T0 + 63);
  state = find(h.list(T0 + 4), "down.example", false);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->failures, 3);
  EXPECT_EQ(state->until, T0 + 63);
  EXPECT_EQ(state->last_error, "connection refused");
}

TEST(DestinationHealth, DestinationsAreIndependent) {
  DestinationHealth h(config());
  for (int i = 0; i < 3; ++i) unreachable(h, "down.example", T0);
  unreachable(h, "other.example", T0);
  EXPECT_EQ(h.destinationBackoffUntil("down.example", T0), T0 + 60);
  EXPECT_EQ(h.destinationBackoffUntil("other.example", T0), 0);
  EXPECT_EQ(h.destinationBackoffUntil("never.example", T0), 0);
  h.runEnded("other.example", false, true, "", T0);
  EXPECT_EQ(h.destinationBackoffUntil("down.example", T0), T0 + 60);
}

TEST(DestinationHealth, HostsReachTheirBackoffAtTheThresholdAndRecoverOnOneReachableConnection) {
  DestinationHealth h(config());
  h.hostResult("192.0.2.1:25", false, "timeout", T0);
  h.hostResult("192.0.2.1:25", false, "timeout", T0);
  h.hostResult("192.0.2.2:25", false, "timeout", T0);
  EXPECT_TRUE(h.hostsInBackoff(T0).empty());  // below the threshold

  h.hostResult("192.0.2.1:25", false, "timeout", T0 + 5);
  EXPECT_EQ(h.hostsInBackoff(T0 + 5), std::set<std::string>{"192.0.2.1:25"});
  EXPECT_EQ(h.hostsInBackoff(T0 + 64), std::set<std::string>{"192.0.2.1:25"});
  EXPECT_TRUE(h.hostsInBackoff(T0 + 65).empty());  // 60 s from the failure at T0 + 5

  h.hostResult("192.0.2.1:25", false, "timeout", T0 + 65);  // failed probe: doubled
  h.hostResult("192.0.2.2:25", false, "timeout", T0 + 65);
  h.hostResult("192.0.2.2:25", false, "timeout", T0 + 65);
  EXPECT_EQ(h.hostsInBackoff(T0 + 65), (std::set<std::string>{"192.0.2.1:25", "192.0.2.2:25"}));
  EXPECT_EQ(h.hostsInBackoff(T0 + 125), std::set<std::string>{"192.0.2.1:25"});  // .2 ended at +125
  EXPECT_EQ(h.hostsInBackoff(T0 + 184), std::set<std::string>{"192.0.2.1:25"});
  EXPECT_TRUE(h.hostsInBackoff(T0 + 185).empty());

  h.hostResult("192.0.2.1:25", true, "", T0 + 70);  // recovered
  EXPECT_EQ(h.hostsInBackoff(T0 + 70), std::set<std::string>{"192.0.2.2:25"});
  EXPECT_FALSE(find(h.list(T0 + 70), "192.0.2.1:25", true).has_value());
  // One more failure after recovery counts from one again.
  h.hostResult("192.0.2.1:25", false, "timeout", T0 + 71);
  EXPECT_EQ(h.hostsInBackoff(T0 + 71), std::set<std::string>{"192.0.2.2:25"});
}

TEST(DestinationHealth, HostsAndDestinationsAreSeparateRecords) {
  DestinationHealth h(config());
  for (int i = 0; i < 3; ++i) h.hostResult("mx.example:25", false, "timeout", T0);
  EXPECT_EQ(h.destinationBackoffUntil("mx.example:25", T0), 0);
  for (int i = 0; i < 3; ++i) unreachable(h, "example.com", T0);
  EXPECT_EQ(h.hostsInBackoff(T0), std::set<std::string>{"mx.example:25"});
  // A connected run clears the destination, not its hosts.
  h.runEnded("example.com", false, true, "", T0);
  EXPECT_EQ(h.hostsInBackoff(T0), std::set<std::string>{"mx.example:25"});
  // A reachable host clears the host, not the destination.
  for (int i = 0; i < 3; ++i) unreachable(h, "example.com", T0);
  h.hostResult("mx.example:25", true, "", T0);
  EXPECT_EQ(h.destinationBackoffUntil("example.com", T0), T0 + 60);
  EXPECT_TRUE(h.hostsInBackoff(T0).empty());
}

TEST(DestinationHealth, ClearForgetsEveryDestinationAndHost) {
  DestinationHealth h(config());
  for (int i = 0; i < 3; ++i) {
    unreachable(h, "down.example", T0);
    h.hostResult("192.0.2.1:25", false, "timeout", T0);
  }
  unreachable(h, "flaky.example", T0);
  ASSERT_EQ(h.list(T0).size(), 3u);
  h.clear();
  EXPECT_TRUE(h.list(T0).empty());
  EXPECT_EQ(h.destinationBackoffUntil("down.example", T0), 0);
  EXPECT_TRUE(h.hostsInBackoff(T0).empty());
  // Counting starts again.
  EXPECT_EQ(unreachable(h, "down.example", T0), 0);
}

TEST(DestinationHealth, ListShowsEveryRecordWithItsFailuresBackoffAndLastError) {
  DestinationHealth h(config());
  unreachable(h, "a.example", T0, "no route");
  for (int i = 0; i < 3; ++i) unreachable(h, "b.example", T0 + 1, "error " + std::to_string(i));
  for (int i = 0; i < 4; ++i) h.hostResult("192.0.2.9:25", false, "greeting timeout", T0 + 2);
  h.hostResult("[2001:db8::1]:25", false, "refused", T0 + 3);

  auto states = h.list(T0 + 3);
  ASSERT_EQ(states.size(), 4u);
  auto a = find(states, "a.example", false);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->failures, 1);
  EXPECT_EQ(a->until, 0);
  EXPECT_EQ(a->last_error, "no route");

  auto b = find(states, "b.example", false);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->failures, 3);
  EXPECT_EQ(b->until, T0 + 1 + 60);
  EXPECT_EQ(b->last_error, "error 2");  // the latest

  auto host = find(states, "192.0.2.9:25", true);
  ASSERT_TRUE(host.has_value());
  EXPECT_EQ(host->failures, 4);
  EXPECT_EQ(host->until, T0 + 2 + 120);
  EXPECT_EQ(host->last_error, "greeting timeout");

  auto v6 = find(states, "[2001:db8::1]:25", true);
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->failures, 1);
  EXPECT_EQ(v6->until, 0);
  EXPECT_EQ(v6->last_error, "refused");

  EXPECT_FALSE(find(states, "b.example", true).has_value());  // no host flag on a destination

  // After the backoffs end the records stay, with until 0.
  for (const auto& s : h.list(T0 + 2 + 120)) EXPECT_EQ(s.until, 0) << s.name;
}

// The .cc promises the tables never grow without bound: once a table is past
// 10000 names, a failure forgets the names whose last failure and backoff ended
// longer ago than the maximum backoff, and keeps the recent ones.
TEST(DestinationHealth, LongDeadNamesAreForgottenWhenTheTableIsLarge) {
  DestinationHealth h(config());
  for (int i = 0; i <= 10000; ++i) h.hostResult("old" + std::to_string(i) + ":25", false, "timeout", T0);
  const int64_t later = T0 + 300 + 1;  // more than max after the old failures
  h.hostResult("recent:25", false, "timeout", later - 1);
  ASSERT_EQ(h.list(later).size(), 10002u);
  h.hostResult("new:25", false, "timeout", later);
  auto states = h.list(later);
  EXPECT_EQ(states.size(), 2u);
  EXPECT_TRUE(find(states, "recent:25", true).has_value());
  EXPECT_TRUE(find(states, "new:25", true).has_value());
}

}  // namespace
}  // namespace tlsrelay
