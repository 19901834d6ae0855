// The scheduler's state: one queue of work per destination (a recipient
// domain, or the smarthost), each item ready at a time, and how many
// connections each destination has open. It decides which destination gets
// the next connection (round-robin among those with ready work and a free
// connection slot) and what that connection carries; it does no I/O and reads
// no clock — the caller passes `now` and arms its timer from nextWakeup().
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tlsrelay {

// Some recipients of one spooled message, bound for one destination.
struct WorkItem {
  std::string queue_id;
  std::string destination;           // a queue key, see destinationKey(); not a domain
  std::vector<uint32_t> recipients;  // indexes into Envelope::recipients
  int64_t ready_at = 0;              // unix seconds; not handed out before this
};

// What one connection to `destination` should carry. Items are in ready order;
// items of the same queue id are merged into one.
struct Batch {
  std::string destination;
  std::vector<WorkItem> items;
};

// The queue key of a recipient domain: the smarthost when one is configured
// (all mail shares its connections), else the domain lower-cased without a
// trailing dot.
std::string destinationKey(std::string_view recipient_domain, std::string_view smarthost = {});

// A delivery run decides TLS once per next hop for every message it carries,
// so messages whose TLS needs differ (RFC 8689) must never share a run or a
// connection. REQUIRETLS wins over "TLS-Required: No" (RFC 8689: the header
// field is ignored when REQUIRETLS is given).
enum class TlsClass { Default, RequireTls, TlsRequiredNo };
TlsClass tlsClassOf(bool requiretls, bool tls_required_no);

// The queue key of a recipient domain for messages of one TLS class:
// destinationKey() alone for Default, with " requiretls" or " tls-required-no"
// appended otherwise. The key is only a queue name: never use it as a domain.
std::string destinationKey(std::string_view recipient_domain, TlsClass tls_class,
                           std::string_view smarthost = {});

class DestinationQueues {
 public:
  struct Limits {
    uint32_t max_connections_per_destination = 4;
    size_t max_messages_per_batch = 50;  // messages one connection carries before it is handed back
  };

  DestinationQueues();
  explicit DestinationQueues(Limits limits);

  // Overrides the connection limit of one destination (0 = use the default).
  void setConnectionLimit(const std::string& destination, uint32_t max_connections);

  // Queues an item at item.ready_at. Items with no recipients are ignored.
  void add(WorkItem item);
  // Holds back every item of `destination` until `until` (unix seconds; 0
  // lifts the hold): a destination in backoff (destination_health.h) gets no
  // new connection before then, whatever its items' ready times say, and one
  // connection at a time after it (the probe) until the hold is lifted.
  void hold(const std::string& destination, int64_t until);
  int64_t heldUntil(const std::string& destination) const;

  // Queues an item again after a failed attempt, ready at `next_time`.
  void defer(WorkItem item, int64_t next_time);

  // The next destination that has items ready at `now` and a free connection
  // slot, chosen round-robin; its ready items (up to max_messages_per_batch
  // messages) leave the queue and its active connection count goes up by one.
  // The caller must call release() when that connection ends, and add() or
  // defer() any item it did not finish.
  std::optional<Batch> takeReady(int64_t now);
  // A connection to `destination` ended.
  void release(const std::string& destination);
  // Connection reuse: for a connection to `destination` that takeReady() already
  // counted, the earliest item ready at `now`, if any. The active count stays.
  std::optional<WorkItem> takeNextReady(const std::string& destination, int64_t now);

  // Earliest ready time of any destination with a free connection slot, or
  // nullopt when there is none (nothing queued, or all busy destinations will
  // be woken by release()). It may lie in the past: then work is ready now.
  std::optional<int64_t> nextWakeup() const;

  size_t size() const { return queued_items_; }  // queued items; excludes handed-out batches
  uint32_t activeConnections(const std::string& destination) const;
  size_t destinationCount() const { return dests_.size(); }

  // Removes every queued item of `queue_id` (queue delete / bounce); returns how
  // many were removed. Items already handed out in a Batch are the caller's.
  size_t remove(std::string_view queue_id);
  // Makes every queued item of `queue_id` ready at `now` (queue flush); returns
  // how many were changed.
  size_t readyNow(std::string_view queue_id, int64_t now);

  // Every queued item, by destination then ready time (queue list).
  std::vector<WorkItem> list() const;

 private:
  struct QueuedItem {
    std::string queue_id;
    std::vector<uint32_t> recipients;
  };
  enum class Place : uint8_t { None, Timeline, Ring };
  struct Destination {
    std::multimap<int64_t, QueuedItem> items;  // by ready time; FIFO among equal times
    uint32_t active = 0;                       // connections handed out, not yet released
    Place place = Place::None;
    int64_t timeline_key = 0;  // valid when place == Timeline
    uint64_t ring_ticket = 0;  // valid when place == Ring
  };

  uint32_t limitOf(const std::string& name) const;
  // Puts a destination where it belongs after its items or active count changed.
  void reschedule(const std::string& name, Destination& d);
  void unschedule(Destination& d, const std::string& name);
  void eraseIfIdle(const std::string& name);

  Limits limits_;
  std::unordered_map<std::string, uint32_t> limit_overrides_;
  std::unordered_map<std::string, int64_t> holds_;
  std::unordered_map<std::string, Destination> dests_;
  // Destinations with a free slot whose earliest item is not known to be ready,
  // keyed by that earliest ready time.
  std::set<std::pair<int64_t, std::string>> timeline_;
  // Destinations with a free slot and ready items, in round-robin order, with
  // their ticket; an entry whose ticket no longer matches is stale and skipped.
  std::deque<std::pair<std::string, uint64_t>> ring_;
  uint64_t next_ticket_ = 0;
  size_t queued_items_ = 0;
};

}  // namespace tlsrelay
