// The durable spool: where an accepted message lives until every recipient
// is final. The SMTP server answers 250 only after store() returned ok, which
// means the message file and the queue directory entry are on disk.
//
// Layout under SpoolOptions::directory:
//   queue/<id>.msg     one file per message: header, envelope, data, then
//                      appended state records (relay/queue/spool_format.h)
//   tmp/<id>.msg       a message being written; renamed into queue/ once
//                      fsynced. Never acknowledged, so recover() deletes it.
//   quarantine/        files recover() could not read, kept for a human.
//
// Crash cases (why each step is ordered as it is):
//   - during the write or before rename: only a tmp file exists; the client got
//     no 250 and retries; recover() deletes the tmp file.
//   - after rename, before the directory fsync: the file may or may not
//     survive; it was never acknowledged, and if it survives it is complete
//     (fdatasync came before rename), so at worst it is delivered once more.
//   - during a state update (an append): the record is torn; recover() drops
//     it and truncates the file, so the previous state holds. The update was
//     never acknowledged, so the scheduler re-tries that recipient
//     (at-least-once, only when the crash falls between a remote 250 and our
//     state write).
//
// Blocking calls: run them on worker threads, never on the event loop. All
// methods are thread-safe, except that recover() must run alone (at start,
// before stores begin), because it deletes tmp/ and truncates torn tails.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "message/envelope.h"

namespace tlsrelay {

struct SpoolOptions {
  std::string directory;
  bool fsync = true;  // false only for tests/bench comparisons
};

struct SpooledMessage {
  Envelope envelope;
};

// Counters for measuring group commit.
struct SpoolStats {
  uint64_t messages_stored = 0;
  uint64_t state_updates = 0;
  uint64_t file_syncs = 0;             // fdatasync calls on message files
  uint64_t directory_syncs = 0;        // fsync calls on queue/ actually issued
  uint64_t directory_syncs_saved = 0;  // batches whose rename rode on another batch's fsync
};

class Spool {
 public:
  // Creates <dir>, <dir>/queue, <dir>/tmp and <dir>/quarantine as needed.
  static Result<std::unique_ptr<Spool>> open(const SpoolOptions& options);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Group commit: writes every message of the batch (header + envelope + data)
  // to tmp files, fdatasyncs them (concurrently, up to 8 at once, so the file
  // system merges their journal commits), renames them into queue/ and fsyncs the
  // directory once for the batch (concurrent batches from other threads share
  // that fsync too). Returns one Status per message, in order; ok means
  // durable. Each envelope's queue_id names the file and must be new.
  std::vector<Status> storeBatch(const std::vector<std::pair<const Envelope*, std::string_view>>& messages);
  Status store(const Envelope& envelope, std::string_view data);  // batch of one

  // Durable state change: appends the whole envelope as a state record to the
  // message file and fdatasyncs it. After ok, a restart sees this envelope.
  Status updateEnvelope(const Envelope& envelope);
  std::vector<Status> updateBatch(const std::vector<const Envelope*>& envelopes);

  // The message bytes, checksum verified.
  Result<std::string> readData(const std::string& queue_id) const;
  // The current envelope (last state record applied; size = data length).
  Result<Envelope> readEnvelope(const std::string& queue_id) const;
  // Deletes the message; call after every recipient is final.
  Status remove(const std::string& queue_id);

  // Startup recovery: returns every intact message's current envelope, oldest
  // first, including messages whose recipients are all final (a crash may
  // have hit between the last update and remove(): the caller removes them,
  // sending a DSN first if one is still owed). Moves unreadable files to
  // quarantine/ with a warn log naming the file and the reason; deletes tmp
  // files; truncates torn state records. Never throws.
  struct Recovery {
    std::vector<Envelope> messages;
    size_t quarantined = 0;
    size_t tmp_removed = 0;
  };
  Recovery recover();

  std::vector<std::string> listQueueIds() const;  // sorted, oldest first
  const std::string& directory() const { return options_.directory; }
  SpoolStats stats() const;

 private:
  Spool(SpoolOptions options, int root_fd, int queue_fd, int tmp_fd, int quarantine_fd);

  // fsyncs queue/ so every rename this thread finished is durable; concurrent
  // callers share one fsync (leader/follower).
  Status syncQueueDirectory();
  bool quarantine(const std::string& name, const std::string& reason);

  SpoolOptions options_;
  int root_fd_;
  int queue_fd_;
  int tmp_fd_;
  int quarantine_fd_;

  // Serialises read-check-append of state records per message (striped by
  // queue id): two appends racing at the same offset would corrupt the file.
  std::mutex& appendLock(const std::string& queue_id);
  std::array<std::mutex, 64> append_locks_;

  std::mutex sync_mutex_;
  std::condition_variable sync_done_;
  bool sync_running_ = false;
  uint64_t renames_ticket_ = 0;  // bumped by each caller after its renames
  uint64_t synced_through_ = 0;  // tickets covered by a successful fsync
  uint64_t failed_through_ = 0;  // tickets covered by a failed fsync

  std::atomic<uint64_t> messages_stored_{0};
  std::atomic<uint64_t> state_updates_{0};
  std::atomic<uint64_t> file_syncs_{0};
  std::atomic<uint64_t> directory_syncs_{0};
  std::atomic<uint64_t> directory_syncs_saved_{0};
};

}  // namespace tlsrelay
