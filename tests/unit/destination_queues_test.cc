// Destination queues: concurrency limits, round-robin fairness, batching,
// wakeup times, defer/expire, removal and listing.
#include "relay/queue/destination_queues.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "relay/queue/retry_schedule.h"

namespace tlsrelay {
namespace {

constexpr int64_t T0 = 1'800'000'000;

WorkItem item(std::string id, std::string dest, int64_t ready_at, std::vector<uint32_t> rcpts = {0}) {
  return WorkItem{std::move(id), std::move(dest), std::move(rcpts), ready_at};
}

TEST(DestinationKey, LowercasesAndPrefersSmarthost) {
  EXPECT_EQ(destinationKey("Example.COM"), "example.com");
  EXPECT_EQ(destinationKey("example.com."), "example.com");
  EXPECT_EQ(destinationKey("example.com", "Relay.Internal"), "relay.internal");
  EXPECT_EQ(destinationKey("[127.0.0.1]"), "[127.0.0.1]");
  EXPECT_EQ(destinationKey(""), "");
}

TEST(DestinationKey, TlsClassSplitsTheQueue) {
  EXPECT_EQ(tlsClassOf(false, false), TlsClass::Default);
  EXPECT_EQ(tlsClassOf(true, false), TlsClass::RequireTls);
  EXPECT_EQ(tlsClassOf(false, true), TlsClass::TlsRequiredNo);
  EXPECT_EQ(tlsClassOf(true, true), TlsClass::RequireTls);  // RFC 8689: REQUIRETLS wins

  EXPECT_EQ(destinationKey("Example.COM.", TlsClass::Default), "example.com");
  EXPECT_EQ(destinationKey("Example.COM.", TlsClass::RequireTls), "example.com requiretls");
  EXPECT_EQ(destinationKey("Example.COM.", TlsClass::TlsRequiredNo), "example.com tls-required-no");
  EXPECT_EQ(destinationKey("example.com", TlsClass::RequireTls, "Relay.Internal:587"),
            "relay.internal:587 requiretls");
  EXPECT_EQ(destinationKey("example.com", TlsClass::Default, "Relay.Internal"),
            destinationKey("example.com", "Relay.Internal"));
}

// Messages of different TLS classes for one domain never share a connection:
// each class is its own destination with its own batches and slots.
TEST(DestinationQueues, TlsClassesNeverShareABatch) {
  DestinationQueues::Limits limits;
  limits.max_connections_per_destination = 1;
  DestinationQueues q(limits);
  const std::string plain = destinationKey("example.com", TlsClass::Default);
  const std::string strict = destinationKey("example.com", TlsClass::RequireTls);
  const std::string relaxed = destinationKey("example.com", TlsClass::TlsRequiredNo);
  q.add(item("P1", plain, T0));
  q.add(item("R1", strict, T0));
  q.add(item("N1", relaxed, T0));
  q.add(item("P2", plain, T0));
  std::map<std::string, std::vector<std::string>> batches;
  while (auto b = q.takeReady(T0)) {
    for (const auto& i : b->items) {
      EXPECT_EQ(i.destination, b->destination);
      batches[b->destination].push_back(i.queue_id);
    }
  }
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[plain], (std::vector<std::string>{"P1", "P2"}));
  EXPECT_EQ(batches[strict], std::vector<std::string>{"R1"});
  EXPECT_EQ(batches[relaxed], std::vector<std::string>{"N1"});
  // Connection reuse stays inside the class too.
  q.add(item("R2", strict, T0));
  EXPECT_FALSE(q.takeNextReady(plain, T0).has_value());
  auto next = q.takeNextReady(strict, T0);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->queue_id, "R2");
}

TEST(DestinationQueues, EmptyHasNothing) {
  DestinationQueues q;
  EXPECT_EQ(q.size(), 0u);
  EXPECT_FALSE(q.nextWakeup().has_value());
  EXPECT_FALSE(q.takeReady(T0).has_value());
  q.release("nowhere.example");  // harmless
  EXPECT_EQ(q.remove("nope"), 0u);
}

TEST(DestinationQueues, ItemWithoutRecipientsIsIgnored) {
  DestinationQueues q;
  q.add(item("Q1", "a.example", T0, {}));
  EXPECT_EQ(q.size(), 0u);
  EXPECT_FALSE(q.takeReady(T0).has_value());
}

TEST(DestinationQueues, NotHandedOutBeforeReadyTime) {
  DestinationQueues q;
  q.add(item("Q1", "a.example", T0 + 100));
  EXPECT_EQ(q.nextWakeup(), T0 + 100);
  EXPECT_FALSE(q.takeReady(T0 + 99).has_value());
  auto b = q.takeReady(T0 + 100);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->destination, "a.example");
  ASSERT_EQ(b->items.size(), 1u);
  EXPECT_EQ(b->items[0].queue_id, "Q1");
  EXPECT_EQ(b->items[0].destination, "a.example");
  EXPECT_EQ(b->items[0].ready_at, T0 + 100);
  EXPECT_EQ(q.size(), 0u);
}

TEST(DestinationQueues, ConcurrencyLimitRespected) {
  DestinationQueues q({/*max_connections_per_destination=*/2, /*max_messages_per_batch=*/1});
  for (int i = 0; i < 5; ++i) q.add(item("Q" + std::to_string(i), "busy.example", T0));
  auto b1 = q.takeReady(T0);
  auto b2 = q.takeReady(T0);
  ASSERT_TRUE(b1 && b2);
  EXPECT_EQ(q.activeConnections("busy.example"), 2u);
  EXPECT_FALSE(q.takeReady(T0).has_value()) << "third connection beyond the limit";
  // A saturated destination gives no wakeup (release() is what wakes it), so an
  // event loop does not spin on work it may not start.
  EXPECT_FALSE(q.nextWakeup().has_value());
  EXPECT_EQ(q.size(), 3u);

  q.release("busy.example");
  EXPECT_EQ(q.activeConnections("busy.example"), 1u);
  EXPECT_EQ(q.nextWakeup(), T0);
  auto b3 = q.takeReady(T0);
  ASSERT_TRUE(b3.has_value());
  EXPECT_EQ(b3->items[0].queue_id, "Q2");  // FIFO among equal ready times
  EXPECT_FALSE(q.takeReady(T0).has_value());
  q.release("busy.example");
  q.release("busy.example");
  q.release("busy.example");  // one too many: stays at zero, no underflow
  EXPECT_EQ(q.activeConnections("busy.example"), 0u);
  EXPECT_TRUE(q.takeReady(T0).has_value());
  EXPECT_TRUE(q.takeReady(T0).has_value());
  EXPECT_FALSE(q.takeReady(T0).has_value());
  EXPECT_EQ(q.size(), 0u);
}

TEST(DestinationQueues, PerDestinationLimitOverride) {
  DestinationQueues q({4, 1});
  q.setConnectionLimit("slow.example", 1);
  for (int i = 0; i < 3; ++i) q.add(item("S" + std::to_string(i), "slow.example", T0));
  EXPECT_TRUE(q.takeReady(T0).has_value());
  EXPECT_FALSE(q.takeReady(T0).has_value());
  q.setConnectionLimit("slow.example", 0);  // back to the default of 4
  EXPECT_TRUE(q.takeReady(T0).has_value());
  EXPECT_TRUE(q.takeReady(T0).has_value());
}

TEST(DestinationQueues, RoundRobinAcrossDestinations) {
  DestinationQueues q({100, 1});
  // A big destination queued first must not starve the small ones.
  for (int i = 0; i < 10; ++i) q.add(item("A" + std::to_string(i), "a.example", T0));
  q.add(item("B0", "b.example", T0 + 1));
  q.add(item("B1", "b.example", T0 + 1));
  q.add(item("C0", "c.example", T0 + 2));
  std::vector<std::string> order;
  while (auto b = q.takeReady(T0 + 10)) order.push_back(b->destination);
  ASSERT_EQ(order.size(), 13u);
  std::vector<std::string> first_six(order.begin(), order.begin() + 6);
  EXPECT_EQ(first_six, (std::vector<std::string>{"a.example", "b.example", "c.example", "a.example",
                                                 "b.example", "a.example"}));
  for (size_t i = 6; i < order.size(); ++i) EXPECT_EQ(order[i], "a.example");
}

TEST(DestinationQueues, BatchCarriesReadyMessagesUpToCapAndMergesQueueIds) {
  DestinationQueues q({4, 3});
  q.add(item("Q1", "d.example", T0, {0}));
  q.add(item("Q2", "d.example", T0, {1}));
  q.add(item("Q1", "d.example", T0 + 1, {2, 0}));  // same message, more recipients
  q.add(item("Q3", "d.example", T0 + 2, {0}));
  q.add(item("Q4", "d.example", T0 + 3, {0}));
  q.add(item("Q5", "d.example", T0 + 1000, {0}));  // not ready yet
  auto b = q.takeReady(T0 + 10);
  ASSERT_TRUE(b.has_value());
  ASSERT_EQ(b->items.size(), 3u);
  EXPECT_EQ(b->items[0].queue_id, "Q1");
  EXPECT_EQ(b->items[0].recipients, (std::vector<uint32_t>{0, 2}));
  EXPECT_EQ(b->items[1].queue_id, "Q2");
  EXPECT_EQ(b->items[2].queue_id, "Q3");
  // Q4 was beyond the cap: a second connection may take it now.
  auto b2 = q.takeReady(T0 + 10);
  ASSERT_TRUE(b2.has_value());
  ASSERT_EQ(b2->items.size(), 1u);
  EXPECT_EQ(b2->items[0].queue_id, "Q4");
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.nextWakeup(), T0 + 1000);
  EXPECT_FALSE(q.takeReady(T0 + 999).has_value());
}

TEST(DestinationQueues, NextWakeupIsEarliestAcrossDestinations) {
  DestinationQueues q;
  q.add(item("Q1", "a.example", T0 + 500));
  q.add(item("Q2", "b.example", T0 + 200));
  q.add(item("Q3", "a.example", T0 + 100));
  EXPECT_EQ(q.nextWakeup(), T0 + 100);
  auto b = q.takeReady(T0 + 150);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->destination, "a.example");
  EXPECT_EQ(q.nextWakeup(), T0 + 200);
  q.release("a.example");
  EXPECT_EQ(q.nextWakeup(), T0 + 200);
  // Ready but not yet taken: the wakeup lies in the past, meaning "now".
  EXPECT_FALSE(q.takeReady(T0 + 199).has_value());
  EXPECT_EQ(q.nextWakeup(), T0 + 200);
}

TEST(DestinationQueues, DeferThenExpireWithRetrySchedule) {
  RetryPolicy policy;
  policy.max_lifetime = std::chrono::seconds{3600};
  DestinationQueues q({1, 10});
  const int64_t received = T0;
  q.add(item("Q1", "flaky.example", received, {0, 1}));
  int64_t now = received;
  uint32_t attempts = 0;
  int tries = 0;
  bool bounced = false;
  while (true) {
    auto wake = q.nextWakeup();
    ASSERT_TRUE(wake.has_value());
    now = std::max(now, *wake);
    auto b = q.takeReady(now);
    ASSERT_TRUE(b.has_value());
    ++tries;
    ++attempts;  // every attempt fails with a 4xx
    q.release(b->destination);
    if (expired(policy, received, now)) {
      bounced = true;
      break;
    }
    for (auto& w : b->items) q.defer(std::move(w), nextAttemptTime(policy, attempts, received, now));
    ASSERT_LT(tries, 100);
  }
  EXPECT_TRUE(bounced);
  // Attempts at 0, 300, 900, 2100 and the last one at the expiry time 3600.
  EXPECT_EQ(tries, 5);
  EXPECT_EQ(now, received + 3600);
  EXPECT_EQ(q.size(), 0u);
  EXPECT_FALSE(q.nextWakeup().has_value());
  EXPECT_EQ(q.destinationCount(), 0u) << "idle destinations are forgotten";
}

TEST(DestinationQueues, RemoveAndReadyNowAndList) {
  DestinationQueues q({4, 10});
  q.add(item("Q1", "a.example", T0 + 100, {0}));
  q.add(item("Q1", "b.example", T0 + 900, {1}));
  q.add(item("Q2", "a.example", T0 + 50, {0}));
  auto all = q.list();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].destination, "a.example");
  EXPECT_EQ(all[0].queue_id, "Q2");
  EXPECT_EQ(all[1].queue_id, "Q1");
  EXPECT_EQ(all[2].destination, "b.example");
  EXPECT_EQ(all[2].recipients, (std::vector<uint32_t>{1}));

  EXPECT_EQ(q.readyNow("Q1", T0), 2u);
  EXPECT_EQ(q.nextWakeup(), T0);
  EXPECT_EQ(q.remove("Q1"), 2u);
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.nextWakeup(), T0 + 50);
  auto b = q.takeReady(T0 + 1000);
  ASSERT_TRUE(b.has_value());
  ASSERT_EQ(b->items.size(), 1u);
  EXPECT_EQ(b->items[0].queue_id, "Q2");
  EXPECT_FALSE(q.takeReady(T0 + 1000).has_value());
}

TEST(DestinationQueues, RemoveWhileWaitingInRingLeavesNoGhost) {
  DestinationQueues q({1, 1});
  q.add(item("A1", "a.example", T0));
  q.add(item("B1", "b.example", T0));
  q.add(item("B2", "b.example", T0));
  auto first = q.takeReady(T0);  // puts both destinations in the ring, serves a.example
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->destination, "a.example");
  // b.example waits in the ring; deleting its messages must leave no ghost entry.
  EXPECT_EQ(q.remove("B1") + q.remove("B2"), 2u);
  EXPECT_FALSE(q.takeReady(T0).has_value());
  EXPECT_FALSE(q.nextWakeup().has_value());
  q.release("a.example");
  EXPECT_EQ(q.destinationCount(), 0u);
  // And the destination works normally afterwards.
  q.add(item("B3", "b.example", T0));
  auto again = q.takeReady(T0);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->items[0].queue_id, "B3");
}

// Random operations against a simple model: items are never lost or
// duplicated and the limit is never exceeded.
TEST(DestinationQueues, RandomisedAgainstModel) {
  std::mt19937 rng(12345);
  DestinationQueues q({2, 3});
  std::map<std::string, uint32_t> active;
  std::vector<Batch> in_flight;
  size_t added = 0, finished = 0;
  int64_t now = T0;
  for (int step = 0; step < 5000; ++step) {
    int op = static_cast<int>(rng() % 4);
    std::string dest = "d" + std::to_string(rng() % 5) + ".example";
    if (op == 0) {
      q.add(item("Q" + std::to_string(added++), dest, now + static_cast<int64_t>(rng() % 50)));
    } else if (op == 1) {
      if (auto b = q.takeReady(now)) {
        ASSERT_LE(++active[b->destination], 2u);
        for (const auto& w : b->items) ASSERT_LE(w.ready_at, now);
        ASSERT_LE(b->items.size(), 3u);
        in_flight.push_back(std::move(*b));
      }
    } else if (op == 2 && !in_flight.empty()) {
      size_t i = rng() % in_flight.size();
      Batch b = std::move(in_flight[i]);
      in_flight.erase(in_flight.begin() + static_cast<long>(i));
      for (auto& w : b.items) {
        if (rng() % 2) {
          q.defer(std::move(w), now + 10);
        } else {
          ++finished;
        }
      }
      --active[b.destination];
      q.release(b.destination);
    } else {
      now += 5;
    }
    size_t flying = 0;
    for (const auto& b : in_flight) flying += b.items.size();
    ASSERT_EQ(q.size() + flying + finished, added) << "step " << step;
    ASSERT_EQ(q.list().size(), q.size());
  }
}

TEST(DestinationQueues, TakeNextReadyFeedsAnOpenConnectionWithoutANewSlot) {
  DestinationQueues::Limits limits;
  limits.max_connections_per_destination = 1;
  DestinationQueues q(limits);
  q.add(item("Q1", "a.example", T0));
  auto b = q.takeReady(T0);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(q.activeConnections("a.example"), 1u);

  // Arrives while the connection is open: reuse hands it over, no new slot.
  q.add(item("Q2", "a.example", T0 + 1));
  q.add(item("Q3", "a.example", T0 + 50));
  q.add(item("Q9", "b.example", T0));
  EXPECT_FALSE(q.takeNextReady("a.example", T0).has_value());  // Q2 not ready yet
  auto next = q.takeNextReady("a.example", T0 + 1);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->queue_id, "Q2");
  EXPECT_EQ(next->destination, "a.example");
  EXPECT_EQ(q.activeConnections("a.example"), 1u);
  EXPECT_FALSE(q.takeNextReady("a.example", T0 + 1).has_value());  // Q3 later
  EXPECT_FALSE(q.takeNextReady("c.example", T0 + 1).has_value());  // unknown destination
  EXPECT_EQ(q.size(), 2u);

  q.release("a.example");
  auto later = q.takeReady(T0 + 50);
  ASSERT_TRUE(later.has_value());
  // b.example was ready first, so round-robin serves it; a.example follows.
  std::vector<std::string> seen{later->destination};
  auto last = q.takeReady(T0 + 50);
  ASSERT_TRUE(last.has_value());
  seen.push_back(last->destination);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"a.example", "b.example"}));
  EXPECT_EQ(q.size(), 0u);
}

}  // namespace
}  // namespace tlsrelay
