// Observer dispatch off the loop thread; see observer_queue.h.
#include "reporting/observer_queue.h"

#include "common/log.h"

namespace tlsrelay {
namespace {

constexpr size_t kFirstWarning = 100000;  // events waiting before the first warning (doubles after each)

}  // namespace

ObserverQueue::ObserverQueue(std::vector<DeliveryObserver*> observers)
    : observers_(std::move(observers)), warn_at_(kFirstWarning) {
  worker_ = std::thread([this] { run(); });
}

ObserverQueue::~ObserverQueue() {
  stop();
}

void ObserverQueue::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && !worker_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (worker_.joinable()) worker_.join();
}

void ObserverQueue::post(RecipientAttempt attempt) {
  push(Item(std::move(attempt)));
}

void ObserverQueue::post(SessionEvent event) {
  push(Item(std::move(event)));
}

void ObserverQueue::push(Item item) {
  if (observers_.empty()) return;
  size_t waiting;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && !worker_.joinable()) return;
    queue_.push_back(std::move(item));
    waiting = queue_.size();
    if (waiting >= warn_at_)
      warn_at_ *= 2;
    else
      waiting = 0;
  }
  wake_.notify_one();
  if (waiting)
    log::warn("reporting", "delivery observers are falling behind",
              {{"queued_events", std::to_string(waiting)}});
}

void ObserverQueue::flush() {
  std::unique_lock<std::mutex> lock(mutex_);
  drained_.wait(lock, [this] { return (queue_.empty() && in_hand_ == 0) || !worker_.joinable(); });
}

size_t ObserverQueue::backlog() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size() + in_hand_;
}

uint64_t ObserverQueue::delivered() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return delivered_;
}

void ObserverQueue::run() {
  std::deque<Item> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      in_hand_ = 0;
      drained_.notify_all();
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is delivered
      batch.swap(queue_);
      in_hand_ = batch.size();
    }
    for (const Item& item : batch) {
      for (DeliveryObserver* o : observers_) {
        if (const auto* a = std::get_if<RecipientAttempt>(&item))
          o->onAttempt(*a);
        else
          o->onSession(std::get<SessionEvent>(item));
      }
    }
    for (DeliveryObserver* o : observers_) o->onBatchEnd();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      delivered_ += batch.size();
    }
    batch.clear();
  }
}

}  // namespace tlsrelay
