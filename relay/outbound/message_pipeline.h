// Runs the message stages (message/stage.h) for one message bound to one next
// hop, just before transmission: each stage in order, over every recipient
// group the previous stages made; blocking stages on the libuv thread pool.
// Results of Content- and Recipients-scope stages are kept per queued message,
// so a message that goes to several destinations or is retried on another hop
// is transformed once; the queue manager calls forget() when it drops the
// message's data. With no stages configured, run() costs one allocation.
#pragma once

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "message/stage.h"
#include "relay/outbound/delivery_attempt.h"

namespace tlsrelay {

class MessagePipeline {
 public:
  MessagePipeline(uv_loop_t* loop, std::vector<std::shared_ptr<MessageStage>> stages);
  ~MessagePipeline();
  MessagePipeline(const MessagePipeline&) = delete;
  MessagePipeline& operator=(const MessagePipeline&) = delete;

  // The prepared message at once when no stage had to leave the loop thread;
  // otherwise nullopt, and `done` runs later on the loop thread (unless the
  // pipeline is destroyed first).
  std::optional<PreparedMessage> run(const JobMessage& message, const JobTarget& hop,
                                     std::function<void(PreparedMessage)> done);

  // Drops the kept results for a message (its data left memory, or it left the queue).
  void forget(const std::string& queue_id);

  size_t stageRuns() const { return stage_runs_; }  // process() calls so far
  size_t reused() const { return reused_; }         // results taken from the cache instead
  bool empty() const { return stages_.empty(); }

 private:
  struct Run;
  struct CacheKey {
    std::string queue_id;
    size_t stage = 0;
    const std::string* input = nullptr;  // identity of the input bytes (held alive by the entry)
    std::vector<size_t> recipients;      // empty for Content-scope stages
    bool operator<(const CacheKey& o) const {
      return std::tie(queue_id, stage, input, recipients) <
             std::tie(o.queue_id, o.stage, o.input, o.recipients);
    }
  };
  struct CacheEntry {
    std::shared_ptr<const std::string> input;  // keeps `CacheKey::input` valid
    StageResult result;
  };

  bool advance(const std::shared_ptr<Run>& run);  // false: waiting for the thread pool
  std::optional<CacheKey> keyFor(const Run& run, size_t stage, const StageGroup& group) const;
  PreparedMessage finish(Run& run) const;

  uv_loop_t* loop_;
  std::vector<std::shared_ptr<MessageStage>> stages_;
  std::map<CacheKey, CacheEntry> cache_;
  std::shared_ptr<bool> alive_;
  size_t stage_runs_ = 0;
  size_t reused_ = 0;
};

}  // namespace tlsrelay
