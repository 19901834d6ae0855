// Delivery events leave the event loop here: the loop thread posts attempts
// and session events (a move into a queue under a mutex), and one worker
// thread hands them to every observer in order. A slow observer — a disk
// write, later a database — therefore never delays delivery; it only lets the
// queue grow, which is logged. flush() waits until everything posted so far
// has been delivered (shutdown, tests).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <variant>
#include <vector>

#include "reporting/delivery_events.h"

namespace tlsrelay {

class ObserverQueue {
 public:
  // Observers must outlive the queue (or the queue's stop()).
  explicit ObserverQueue(std::vector<DeliveryObserver*> observers);
  ~ObserverQueue();  // delivers what is queued, then stops the worker
  ObserverQueue(const ObserverQueue&) = delete;
  ObserverQueue& operator=(const ObserverQueue&) = delete;

  void post(RecipientAttempt attempt);
  void post(SessionEvent event);
  void flush();
  void stop();

  size_t backlog() const;  // events posted, not yet delivered
  uint64_t delivered() const;

 private:
  using Item = std::variant<RecipientAttempt, SessionEvent>;
  void push(Item item);
  void run();

  std::vector<DeliveryObserver*> observers_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::deque<Item> queue_;
  size_t in_hand_ = 0;  // taken by the worker, not yet delivered
  uint64_t delivered_ = 0;
  size_t warn_at_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace tlsrelay
