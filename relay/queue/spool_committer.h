// Group commit on the event loop: messages submitted while a batch is being
// written and fsynced wait and go together in the next batch, so concurrent
// sessions share fsyncs. The blocking Spool calls run on the libuv thread pool;
// completions run on the loop thread.
#pragma once

#include <uv.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "message/envelope.h"

namespace tlsrelay {

class Spool;

class SpoolCommitter {
 public:
  using StoreDone = std::function<void(const Status&)>;

  SpoolCommitter(uv_loop_t* loop, Spool* spool, size_t max_batch = 64);
  ~SpoolCommitter();

  // The envelope and data must stay alive until `done` runs (callers hold them
  // in shared_ptrs captured by `done`).
  void store(std::shared_ptr<const Envelope> envelope, std::shared_ptr<const std::string> data,
             StoreDone done);
  // Persists recipient-state changes with the same batching.
  void update(std::shared_ptr<const Envelope> envelope, StoreDone done);

  size_t inFlight() const { return in_flight_; }
  size_t batches() const { return batches_; }
  size_t items() const { return items_; }

 private:
  struct Item {
    bool is_update = false;
    std::shared_ptr<const Envelope> envelope;
    std::shared_ptr<const std::string> data;
    StoreDone done;
    Status status = okStatus();
  };
  struct Batch;
  void maybeStartBatch();

  uv_loop_t* loop_;
  Spool* spool_;
  size_t max_batch_;
  std::deque<Item> waiting_;
  size_t in_flight_ = 0;  // batches currently on the thread pool
  size_t max_in_flight_ = 2;
  size_t batches_ = 0;
  size_t items_ = 0;
};

}  // namespace tlsrelay
