// The hand-off of delivery events from the loop thread to the observers
// (reporting/observer_queue.h): every event arrives, in the order posted, at
// every observer, on the worker thread and never the producer's; flush() and
// shutdown deliver what was queued; a stuck observer never blocks post() (the
// queue has no bound: it grows, and that is logged). Waits use condition
// variables and joins, never sleeps.
#include "reporting/observer_queue.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace tlsrelay {
namespace {

// One record shared by every event, as delivery shares it (delivery_events.h).
std::shared_ptr<const SessionRecord> session() {
  static const auto record = [] {
    auto s = std::make_shared<SessionRecord>();
    s->session_id = "S1";
    s->destination = "example.com";
    return std::shared_ptr<const SessionRecord>(s);
  }();
  return record;
}

RecipientAttempt attempt(int n) {
  RecipientAttempt a;
  a.queue_id = "A" + std::to_string(n);
  a.recipient = "r" + std::to_string(n) + "@example.com";
  a.session = session();
  return a;
}

SessionEvent event(int n, SessionEvent::Kind kind = SessionEvent::Kind::Recipient) {
  SessionEvent e;
  e.kind = kind;
  e.queue_id = "S" + std::to_string(n);
  e.session = session();
  return e;
}

// Records what it was handed and on which thread. If gated, the first call
// blocks until open() (so the test can hold the worker inside an observer).
class RecordingObserver : public DeliveryObserver {
 public:
  explicit RecordingObserver(bool gated = false, bool batch_ends = false)
      : gate_open_(!gated), batch_ends_(batch_ends) {}

  void onAttempt(const RecipientAttempt& a) override { record("attempt " + a.queue_id); }
  void onSession(const SessionEvent& e) override { record("session " + e.queue_id); }
  void onBatchEnd() override {
    if (batch_ends_) record("end");
  }

  void waitUntilEntered() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return entered_; });
  }
  void open() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      gate_open_ = true;
    }
    changed_.notify_all();
  }
  std::vector<std::string> received() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return received_;
  }
  std::set<std::thread::id> threads() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return threads_;
  }

 private:
  void record(std::string what) {
    std::unique_lock<std::mutex> lock(mutex_);
    entered_ = true;
    changed_.notify_all();
    changed_.wait(lock, [this] { return gate_open_; });
    received_.push_back(std::move(what));
    threads_.insert(std::this_thread::get_id());
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool gate_open_;
  const bool batch_ends_;
  bool entered_ = false;
  std::vector<std::string> received_;
  std::set<std::thread::id> threads_;
};

// What an observer must have seen after posting `n` alternating events.
std::vector<std::string> alternating(int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i)
    v.push_back(i % 2 == 0 ? "attempt A" + std::to_string(i) : "session S" + std::to_string(i));
  return v;
}
void postAlternating(ObserverQueue& queue, int from, int to) {
  for (int i = from; i < to; ++i) {
    if (i % 2 == 0)
      queue.post(attempt(i));
    else
      queue.post(event(i));
  }
}

TEST(ObserverQueue, DeliversEveryEventInOrderOnAWorkerThread) {
  RecordingObserver observer;
  ObserverQueue queue({&observer});
  postAlternating(queue, 0, 5000);
  queue.flush();
  EXPECT_EQ(observer.received(), alternating(5000));
  ASSERT_EQ(observer.threads().size(), 1u);  // one worker
  EXPECT_NE(*observer.threads().begin(), std::this_thread::get_id());
  EXPECT_EQ(queue.delivered(), 5000u);
  EXPECT_EQ(queue.backlog(), 0u);
}

TEST(ObserverQueue, EveryObserverSeesEveryEventInTheSameOrder) {
  RecordingObserver first, second;
  ObserverQueue queue({&first, &second});
  postAlternating(queue, 0, 300);
  queue.flush();
  EXPECT_EQ(first.received(), alternating(300));
  EXPECT_EQ(second.received(), alternating(300));
  EXPECT_EQ(queue.delivered(), 300u);  // counts events, not observer calls
}

// The loop thread is not special: whichever thread posts, the observers are
// called on the worker, in each producer's order.
TEST(ObserverQueue, EventsFromAnotherProducerThreadKeepTheirOrder) {
  RecordingObserver observer;
  ObserverQueue queue({&observer});
  std::thread producer([&] { postAlternating(queue, 0, 1000); });
  const std::thread::id producer_id = producer.get_id();
  producer.join();
  queue.flush();
  EXPECT_EQ(observer.received(), alternating(1000));
  ASSERT_EQ(observer.threads().size(), 1u);
  EXPECT_NE(*observer.threads().begin(), producer_id);
  EXPECT_NE(*observer.threads().begin(), std::this_thread::get_id());
}

// flush() waits for events the worker has already taken, not only for the
// queue to be empty: once the gate opens, the worker takes all the queued
// events in one go and flush() must still wait until each was delivered.
TEST(ObserverQueue, FlushWaitsForEventsTheWorkerIsStillDelivering) {
  RecordingObserver observer(/*gated=*/true);
  ObserverQueue queue({&observer});
  queue.post(attempt(0));
  observer.waitUntilEntered();
  postAlternating(queue, 1, 2000);
  EXPECT_EQ(queue.backlog(), 2000u);
  EXPECT_EQ(queue.delivered(), 0u);
  observer.open();
  queue.flush();
  EXPECT_EQ(queue.delivered(), 2000u);
  EXPECT_EQ(queue.backlog(), 0u);
  EXPECT_EQ(observer.received(), alternating(2000));
}

// Shutdown with events still queued behind a busy observer: the destructor
// delivers them all before the worker stops.
TEST(ObserverQueue, DestructionDeliversEverythingStillQueued) {
  RecordingObserver observer(/*gated=*/true);
  auto queue = std::make_unique<ObserverQueue>(std::vector<DeliveryObserver*>{&observer});
  queue->post(attempt(0));
  observer.waitUntilEntered();
  postAlternating(*queue, 1, 500);
  std::thread shutdown([&] { queue.reset(); });  // blocks in the join until the observer is free
  observer.open();
  shutdown.join();
  EXPECT_EQ(observer.received(), alternating(500));
}

TEST(ObserverQueue, StopDeliversWhatWasQueuedAndMayBeCalledAgain) {
  RecordingObserver observer;
  ObserverQueue queue({&observer});
  postAlternating(queue, 0, 100);
  queue.stop();
  EXPECT_EQ(observer.received(), alternating(100));
  EXPECT_EQ(queue.delivered(), 100u);
  queue.stop();   // and once more by the destructor
  queue.flush();  // nothing left to wait for: returns
  EXPECT_EQ(queue.backlog(), 0u);
}

TEST(ObserverQueue, WithoutObserversNothingIsQueued) {
  ObserverQueue queue({});
  queue.post(attempt(1));
  queue.post(event(2));
  queue.flush();
  EXPECT_EQ(queue.backlog(), 0u);
  EXPECT_EQ(queue.delivered(), 0u);
}

// The header: a slow observer never delays delivery, it only lets the queue
// grow, which is logged. So there is no bound: with the worker stuck inside an
// observer, 100000 posts all return, every event is kept, and one warning
// says how many are waiting (the next one only at twice as many).
TEST(ObserverQueue, AStuckObserverNeverBlocksPostAndTheGrowingQueueIsLogged) {
  constexpr int kQueued = 100000;  // the first warning threshold (observer_queue.cc)
  RecordingObserver observer(/*gated=*/true);
  ObserverQueue queue({&observer});
  queue.post(attempt(0));
  observer.waitUntilEntered();  // the worker holds event 0; the rest stays queued

  testing::internal::CaptureStderr();
  postAlternating(queue, 1, kQueued);
  const std::string below = testing::internal::GetCapturedStderr();
  testing::internal::CaptureStderr();
  postAlternating(queue, kQueued, kQueued + 1);
  postAlternating(queue, kQueued + 1, 2 * kQueued - 1);
  const std::string log = testing::internal::GetCapturedStderr();

  EXPECT_EQ(below, "");  // 99999 waiting: not yet worth a warning
  EXPECT_EQ(queue.backlog(), size_t{2 * kQueued - 1});
  EXPECT_EQ(queue.delivered(), 0u);
  size_t warnings = 0;
  for (size_t at = log.find("falling behind"); at != std::string::npos;
       at = log.find("falling behind", at + 1))
    ++warnings;
  EXPECT_EQ(warnings, 1u) << log;  // at 100000 waiting; the next at 200000
  EXPECT_NE(log.find("\"queued_events\":\"100000\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"level\":\"warn\""), std::string::npos) << log;

  observer.open();
  queue.flush();
  EXPECT_EQ(queue.delivered(), uint64_t{2 * kQueued - 1});
  const std::vector<std::string> received = observer.received();
  ASSERT_EQ(received.size(), size_t{2 * kQueued - 1});
  EXPECT_EQ(received.front(), "attempt A0");
  EXPECT_EQ(received[kQueued], "attempt A" + std::to_string(kQueued));
  EXPECT_EQ(received.back(), "attempt A" + std::to_string(2 * kQueued - 2));
}

TEST(ObserverQueue, BatchEndFollowsEachBatchSoAStoreCommitsOncePerBatch) {
  // Held in its first event, so the hundred posted meanwhile are one batch.
  RecordingObserver observer(/*gated=*/true, /*batch_ends=*/true);
  ObserverQueue queue({&observer});
  queue.post(event(0));
  observer.waitUntilEntered();
  for (int i = 1; i <= 100; ++i) queue.post(event(i));
  observer.open();
  queue.flush();
  std::vector<std::string> expected = {"session S0", "end"};
  for (int i = 1; i <= 100; ++i) expected.push_back("session S" + std::to_string(i));
  expected.push_back("end");
  EXPECT_EQ(observer.received(), expected)
      << "one batch end after the first event, one after the hundred that waited";
}

}  // namespace
}  // namespace tlsrelay
