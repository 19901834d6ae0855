// DestinationQueues::hold() (relay/queue/destination_queues.h), the queue side
// of destination backoff: a held destination yields no work before `until`,
// whatever its items' ready times say, including items added, deferred or
// made ready now during the hold, and even when it was already waiting its
// round-robin turn; other destinations are unaffected; the wakeup time is the
// hold's end, not the items' past ready time; hold(d, 0) lifts it at once;
// after the hold ends the destination gets one connection at a time (the
// probe), whatever its limit, until the hold is lifted; a new hold replaces
// the old one; heldUntil() reports it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "relay/queue/destination_queues.h"

namespace tlsrelay {
namespace {

constexpr int64_t T0 = 1'800'000'000;

WorkItem item(std::string id, std::string dest, int64_t ready_at, std::vector<uint32_t> rcpts = {0}) {
  return WorkItem{std::move(id), std::move(dest), std::move(rcpts), ready_at};
}

std::vector<std::string> ids(const Batch& b) {
  std::vector<std::string> out;
  for (const auto& i : b.items) out.push_back(i.queue_id);
  return out;
}

TEST(DestinationQueuesHold, HeldDestinationYieldsNoWorkUntilTheHoldEnds) {
  DestinationQueues q;
  q.add(item("M1", "down.example", T0));
  q.add(item("M2", "down.example", T0 + 10));
  q.hold("down.example", T0 + 100);
  EXPECT_FALSE(q.takeReady(T0));
  EXPECT_FALSE(q.takeReady(T0 + 10));
  EXPECT_FALSE(q.takeReady(T0 + 99));
  EXPECT_EQ(q.size(), 2u);  // still queued, nothing lost
  EXPECT_EQ(q.activeConnections("down.example"), 0u);

  auto b = q.takeReady(T0 + 100);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->destination, "down.example");
  EXPECT_EQ(ids(*b), (std::vector<std::string>{"M1", "M2"}));
  EXPECT_EQ(q.size(), 0u);
}

TEST(DestinationQueuesHold, HeldUntilReportsTheHold) {
  DestinationQueues q;
  EXPECT_EQ(q.heldUntil("down.example"), 0);
  q.hold("down.example", T0 + 100);
  EXPECT_EQ(q.heldUntil("down.example"), T0 + 100);
  EXPECT_EQ(q.heldUntil("other.example"), 0);
  q.hold("down.example", 0);
  EXPECT_EQ(q.heldUntil("down.example"), 0);
  q.hold("never-held.example", 0);  // lifting a hold that is not there is harmless
  EXPECT_EQ(q.heldUntil("never-held.example"), 0);
}

TEST(DestinationQueuesHold, OtherDestinationsAreUnaffected) {
  DestinationQueues q;
  q.add(item("D1", "down.example", T0));
  q.add(item("U1", "up.example", T0));
  q.add(item("V1", "also-up.example", T0));
  q.hold("down.example", T0 + 100);
  std::vector<std::string> got;
  while (auto b = q.takeReady(T0)) got.push_back(b->destination);
  EXPECT_EQ(got, (std::vector<std::string>{"also-up.example", "up.example"}));
  EXPECT_EQ(q.activeConnections("up.example"), 1u);
  EXPECT_EQ(q.activeConnections("down.example"), 0u);
  EXPECT_EQ(q.heldUntil("up.example"), 0);
  EXPECT_EQ(q.size(), 1u);
}

TEST(DestinationQueuesHold, HoldOfZeroLiftsItAtOnce) {
  DestinationQueues q;
  q.add(item("M1", "down.example", T0));
  q.hold("down.example", T0 + 100);
  ASSERT_FALSE(q.takeReady(T0));
  q.hold("down.example", 0);
  auto b = q.takeReady(T0);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(ids(*b), std::vector<std::string>{"M1"});
}

TEST(DestinationQueuesHold, LiftingTheHoldDoesNotMakeFutureItemsReady) {
  DestinationQueues q;
  q.add(item("M1", "down.example", T0 + 50));
  q.hold("down.example", T0 + 100);
  q.hold("down.example", 0);
  EXPECT_FALSE(q.takeReady(T0));
  ASSERT_TRUE(q.nextWakeup().has_value());
  EXPECT_EQ(*q.nextWakeup(), T0 + 50);
  EXPECT_TRUE(q.takeReady(T0 + 50));
}

// The hold does not make items ready early: the later of the two wins.
TEST(DestinationQueuesHold, ItemsReadyAfterTheHoldEndsWaitForTheirOwnTime) {
  DestinationQueues q;
  q.add(item("M1", "down.example", T0 + 200));
  q.hold("down.example", T0 + 100);
  EXPECT_FALSE(q.takeReady(T0 + 100));
  EXPECT_FALSE(q.takeReady(T0 + 199));
  ASSERT_TRUE(q.nextWakeup().has_value());
  EXPECT_EQ(*q.nextWakeup(), T0 + 200);
  EXPECT_TRUE(q.takeReady(T0 + 200));
}

// The caller arms its timer from nextWakeup(): for a held destination it must
// be the hold's end, not the items' (past) ready time, or the timer would fire
// at once and keep firing until the hold ends.
TEST(DestinationQueuesHold, NextWakeupIsTheEndOfTheHold) {
  DestinationQueues q;
  q.add(item("M1", "down.example", T0));
  q.hold("down.example", T0 + 100);
  ASSERT_TRUE(q.nextWakeup().has_value());
  EXPECT_EQ(*q.nextWakeup(), T0 + 100);

  q.add(item("U1", "up.example", T0 + 30));
  EXPECT_EQ(*q.nextWakeup(), T0 + 30);  // the earliest across destinations
  ASSERT_TRUE(q.takeReady(T0 + 30));
  EXPECT_EQ(*q.nextWakeup(), T0 + 100);

  q.hold("down.example", T0 + 500);  // extended
  EXPECT_EQ(*q.nextWakeup(), T0 + 500);
  q.hold("down.example", 0);
  EXPECT_EQ(*q.nextWakeup(), T0);  // lifted: work is ready now (a time in the past)
}

// "Holds back every item of destination": items that arrive during the hold
// (new messages, deferred retries) are held too, and so are a held
// destination's items that `queue flush` made ready now.
TEST(DestinationQueuesHold, ItemsAddedDeferredOrFlushedDuringTheHoldAreHeldToo) {
  DestinationQueues q;
  q.hold("down.example", T0 + 100);  // before the destination has any item
  q.add(item("M1", "down.example", T0));
  q.defer(item("M2", "down.example", T0), T0 + 5);
  q.add(item("M3", "down.example", T0 + 500));
  EXPECT_EQ(q.readyNow("M3", T0 + 10), 1u);
  EXPECT_FALSE(q.takeReady(T0 + 10));
  EXPECT_FALSE(q.takeReady(T0 + 99));
  EXPECT_EQ(q.size(), 3u);
  auto b = q.takeReady(T0 + 100);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(ids(*b), (std::vector<std::string>{"M1", "M2", "M3"}));
}

// The hold stays on record when the destination runs out of items.
TEST(DestinationQueuesHold, HoldSurvivesTheDestinationEmptying) {
  DestinationQueues q;
  q.add(item("M1", "down.example", T0));
  q.hold("down.example", T0 + 100);
  EXPECT_EQ(q.remove("M1"), 1u);
  EXPECT_EQ(q.destinationCount(), 0u);
  EXPECT_EQ(q.heldUntil("down.example"), T0 + 100);
  q.add(item("M2", "down.example", T0 + 1));
  EXPECT_FALSE(q.takeReady(T0 + 50));
  EXPECT_TRUE(q.takeReady(T0 + 100));
}

// A destination already ready and waiting its round-robin turn when it is held
// must not get that turn.
TEST(DestinationQueuesHold, HoldTakesADestinationOutOfItsRoundRobinTurn) {
  DestinationQueues::Limits limits;
  limits.max_messages_per_batch = 1;
  DestinationQueues q(limits);
  q.add(item("A1", "a.example", T0));
  q.add(item("A2", "a.example", T0));
  q.add(item("B1", "b.example", T0));
  auto first = q.takeReady(T0);  // both become ready; a.example goes first, b.example waits its turn
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->destination, "a.example");

  q.hold("b.example", T0 + 60);
  auto second = q.takeReady(T0);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->destination, "a.example");
  EXPECT_EQ(ids(*second), std::vector<std::string>{"A2"});
  EXPECT_FALSE(q.takeReady(T0));
  EXPECT_FALSE(q.takeReady(T0 + 59));
  auto third = q.takeReady(T0 + 60);
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->destination, "b.example");
}

TEST(DestinationQueuesHold, ANewHoldReplacesTheOldOne) {
  DestinationQueues q;
  q.add(item("M1", "down.example", T0));
  q.hold("down.example", T0 + 100);
  q.hold("down.example", T0 + 300);  // the probe failed: a longer backoff
  EXPECT_EQ(q.heldUntil("down.example"), T0 + 300);
  EXPECT_FALSE(q.takeReady(T0 + 100));
  EXPECT_FALSE(q.takeReady(T0 + 299));
  EXPECT_TRUE(q.takeReady(T0 + 300));

  q.add(item("M2", "down.example", T0));
  q.hold("down.example", T0 + 1000);
  q.hold("down.example", T0 + 400);  // shorter: it replaces too
  EXPECT_EQ(q.heldUntil("down.example"), T0 + 400);
  q.release("down.example");
  EXPECT_FALSE(q.takeReady(T0 + 399));
  EXPECT_TRUE(q.takeReady(T0 + 400));
}

// "one connection at a time after it (the probe) until the hold is lifted":
// with 4 allowed and 2 already open when the hold starts, no connection opens
// after the hold ends until both have closed; then one, and only one, at a
// time, also with a per-destination override; lifting the hold restores the limit.
TEST(DestinationQueuesHold, AfterTheHoldOneConnectionAtATimeUntilLifted) {
  DestinationQueues::Limits limits;
  limits.max_connections_per_destination = 4;
  limits.max_messages_per_batch = 1;
  DestinationQueues q(limits);
  for (int i = 0; i < 8; ++i) q.add(item("M" + std::to_string(i), "down.example", T0));
  ASSERT_TRUE(q.takeReady(T0));
  ASSERT_TRUE(q.takeReady(T0));
  ASSERT_EQ(q.activeConnections("down.example"), 2u);

  q.hold("down.example", T0 + 60);
  EXPECT_FALSE(q.takeReady(T0 + 60));  // two still open
  q.release("down.example");
  EXPECT_FALSE(q.takeReady(T0 + 60));  // one still open
  q.release("down.example");
  ASSERT_TRUE(q.takeReady(T0 + 60));  // the probe
  EXPECT_FALSE(q.takeReady(T0 + 60));
  EXPECT_EQ(q.activeConnections("down.example"), 1u);

  // The probe connection may carry more of the queue without a new slot.
  auto next = q.takeNextReady("down.example", T0 + 61);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(q.activeConnections("down.example"), 1u);

  q.setConnectionLimit("down.example", 3);
  EXPECT_FALSE(q.takeReady(T0 + 61));  // the override does not widen a probe

  q.release("down.example");  // the probe ended without lifting the hold
  ASSERT_TRUE(q.takeReady(T0 + 62));
  EXPECT_FALSE(q.takeReady(T0 + 62));

  q.hold("down.example", 0);  // a usable session
  int more = 0;
  while (q.takeReady(T0 + 63)) ++more;
  EXPECT_EQ(more, 2);  // up to the override of 3
  EXPECT_EQ(q.activeConnections("down.example"), 3u);
}

}  // namespace
}  // namespace tlsrelay
