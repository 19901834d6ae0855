// Per-destination queues and connection accounting; see destination_queues.h.
//
// Each destination is in exactly one place: nowhere (no items, or no free
// connection slot: release() brings it back), the timeline (keyed by its
// earliest ready time), or the ring (ready, waiting its round-robin turn).
// Ring entries carry a ticket so an entry made stale by remove() or by being
// re-placed is skipped instead of searched for.
#include "relay/queue/destination_queues.h"

#include <algorithm>
#include <unordered_map>

#include "common/ascii.h"

namespace tlsrelay {

std::string destinationKey(std::string_view recipient_domain, std::string_view smarthost) {
  std::string_view source = smarthost.empty() ? recipient_domain : smarthost;
  std::string key = lowerAscii(source);
  // "Example.COM." and "example.com" are one destination (one set of connections).
  while (!key.empty() && key.back() == '.') key.pop_back();
  return key;
}

TlsClass tlsClassOf(bool requiretls, bool tls_required_no) {
  if (requiretls) return TlsClass::RequireTls;
  return tls_required_no ? TlsClass::TlsRequiredNo : TlsClass::Default;
}

std::string destinationKey(std::string_view recipient_domain, TlsClass tls_class,
                           std::string_view smarthost) {
  std::string key = destinationKey(recipient_domain, smarthost);
  // The separator is a space, which no domain, address literal or host[:port]
  // contains, so a suffixed key never equals another destination's key.
  switch (tls_class) {
    case TlsClass::Default:
      break;
    case TlsClass::RequireTls:
      key += " requiretls";
      break;
    case TlsClass::TlsRequiredNo:
      key += " tls-required-no";
      break;
  }
  return key;
}

DestinationQueues::DestinationQueues() : DestinationQueues(Limits{}) {}

DestinationQueues::DestinationQueues(Limits limits) : limits_(limits) {
  if (limits_.max_connections_per_destination == 0) limits_.max_connections_per_destination = 1;
  if (limits_.max_messages_per_batch == 0) limits_.max_messages_per_batch = 1;
}

void DestinationQueues::setConnectionLimit(const std::string& destination, uint32_t max_connections) {
  if (max_connections == 0) {
    limit_overrides_.erase(destination);
  } else {
    limit_overrides_[destination] = max_connections;
  }
  auto it = dests_.find(destination);
  if (it != dests_.end()) reschedule(it->first, it->second);
}

uint32_t DestinationQueues::limitOf(const std::string& name) const {
  // A destination leaving backoff is probed by one connection, not a storm;
  // the hold stays on record until a usable session lifts it (hold(name, 0)).
  if (!holds_.empty() && holds_.count(name) != 0) return 1;
  auto it = limit_overrides_.find(name);
  return it != limit_overrides_.end() ? it->second : limits_.max_connections_per_destination;
}

void DestinationQueues::unschedule(Destination& d, const std::string& name) {
  if (d.place == Place::Timeline) timeline_.erase({d.timeline_key, name});
  d.place = Place::None;  // a ring entry, if any, is now stale (its ticket no longer matches)
}

void DestinationQueues::reschedule(const std::string& name, Destination& d) {
  if (d.items.empty() || d.active >= limitOf(name)) {
    unschedule(d, name);
    return;
  }
  if (d.place == Place::Ring) return;  // already waiting its turn
  int64_t earliest = std::max(d.items.begin()->first, heldUntil(name));
  if (d.place == Place::Timeline) {
    if (d.timeline_key == earliest) return;
    timeline_.erase({d.timeline_key, name});
  }
  timeline_.insert({earliest, name});
  d.place = Place::Timeline;
  d.timeline_key = earliest;
}

void DestinationQueues::eraseIfIdle(const std::string& name) {
  auto it = dests_.find(name);
  if (it == dests_.end()) return;
  if (!it->second.items.empty() || it->second.active > 0) return;
  unschedule(it->second, name);
  dests_.erase(it);
}

std::optional<WorkItem> DestinationQueues::takeNextReady(const std::string& destination, int64_t now) {
  auto it = dests_.find(destination);
  if (it == dests_.end()) return std::nullopt;
  Destination& d = it->second;
  if (d.items.empty() || d.items.begin()->first > now) return std::nullopt;
  auto first = d.items.begin();
  WorkItem w{std::move(first->second.queue_id), destination, std::move(first->second.recipients),
             first->first};
  d.items.erase(first);
  --queued_items_;
  reschedule(it->first, d);
  return w;
}

void DestinationQueues::add(WorkItem item) {
  if (item.recipients.empty()) return;
  auto [it, inserted] = dests_.try_emplace(item.destination);
  Destination& d = it->second;
  d.items.emplace(item.ready_at, QueuedItem{std::move(item.queue_id), std::move(item.recipients)});
  ++queued_items_;
  reschedule(it->first, d);
}

void DestinationQueues::hold(const std::string& destination, int64_t until) {
  if (until <= 0) {
    if (holds_.erase(destination) == 0) return;
  } else {
    holds_[destination] = until;
  }
  auto it = dests_.find(destination);
  if (it == dests_.end()) return;
  // A ring entry would hand it out at once: back to the timeline at the hold's end.
  unschedule(it->second, it->first);
  reschedule(it->first, it->second);
}

int64_t DestinationQueues::heldUntil(const std::string& destination) const {
  auto it = holds_.find(destination);
  return it == holds_.end() ? 0 : it->second;
}

void DestinationQueues::defer(WorkItem item, int64_t next_time) {
  item.ready_at = next_time;
  add(std::move(item));
}

std::optional<Batch> DestinationQueues::takeReady(int64_t now) {
  // Destinations that became ready join the back of the ring, earliest first.
  while (!timeline_.empty() && timeline_.begin()->first <= now) {
    std::string name = timeline_.begin()->second;
    timeline_.erase(timeline_.begin());
    Destination& d = dests_.at(name);
    d.place = Place::Ring;
    d.ring_ticket = ++next_ticket_;
    ring_.emplace_back(std::move(name), d.ring_ticket);
  }

  while (!ring_.empty()) {
    auto [name, ticket] = std::move(ring_.front());
    ring_.pop_front();
    auto it = dests_.find(name);
    if (it == dests_.end()) continue;
    Destination& d = it->second;
    if (d.place != Place::Ring || d.ring_ticket != ticket) continue;  // stale entry
    d.place = Place::None;
    if (d.items.empty() || d.active >= limitOf(name) || d.items.begin()->first > now ||
        heldUntil(name) > now) {
      reschedule(it->first, d);
      eraseIfIdle(name);
      continue;
    }

    Batch batch;
    batch.destination = name;
    std::unordered_map<std::string, size_t> index_of;  // queue id -> position in batch.items
    auto item = d.items.begin();
    while (item != d.items.end() && item->first <= now) {
      auto found = index_of.find(item->second.queue_id);
      if (found == index_of.end()) {
        if (batch.items.size() >= limits_.max_messages_per_batch) break;
        index_of.emplace(item->second.queue_id, batch.items.size());
        batch.items.push_back(WorkItem{std::move(item->second.queue_id), name,
                                       std::move(item->second.recipients), item->first});
      } else {
        auto& merged = batch.items[found->second].recipients;
        merged.insert(merged.end(), item->second.recipients.begin(), item->second.recipients.end());
        std::sort(merged.begin(), merged.end());
        merged.erase(std::unique(merged.begin(), merged.end()), merged.end());
      }
      item = d.items.erase(item);
      --queued_items_;
    }
    ++d.active;
    // Back in the timeline; if more items are ready it rejoins the ring behind
    // every destination already waiting — that is the round-robin.
    reschedule(it->first, d);
    return batch;
  }
  return std::nullopt;
}

void DestinationQueues::release(const std::string& destination) {
  auto it = dests_.find(destination);
  if (it == dests_.end()) return;
  if (it->second.active > 0) --it->second.active;
  reschedule(it->first, it->second);
  eraseIfIdle(destination);
}

std::optional<int64_t> DestinationQueues::nextWakeup() const {
  std::optional<int64_t> earliest;
  if (!timeline_.empty()) earliest = timeline_.begin()->first;
  for (const auto& [name, ticket] : ring_) {
    auto it = dests_.find(name);
    if (it == dests_.end()) continue;
    const Destination& d = it->second;
    if (d.place != Place::Ring || d.ring_ticket != ticket || d.items.empty()) continue;
    int64_t t = d.items.begin()->first;
    if (!earliest || t < *earliest) earliest = t;
  }
  return earliest;
}

uint32_t DestinationQueues::activeConnections(const std::string& destination) const {
  auto it = dests_.find(destination);
  return it == dests_.end() ? 0 : it->second.active;
}

size_t DestinationQueues::remove(std::string_view queue_id) {
  size_t removed = 0;
  std::vector<std::string> touched;
  for (auto& [name, d] : dests_) {
    bool changed = false;
    for (auto item = d.items.begin(); item != d.items.end();) {
      if (item->second.queue_id == queue_id) {
        item = d.items.erase(item);
        ++removed;
        changed = true;
      } else {
        ++item;
      }
    }
    if (changed) touched.push_back(name);
  }
  queued_items_ -= removed;
  for (const auto& name : touched) {
    auto it = dests_.find(name);
    reschedule(it->first, it->second);
    eraseIfIdle(name);
  }
  return removed;
}

size_t DestinationQueues::readyNow(std::string_view queue_id, int64_t now) {
  size_t changed = 0;
  for (auto& [name, d] : dests_) {
    std::vector<decltype(d.items)::node_type> moved;
    for (auto item = d.items.begin(); item != d.items.end();) {
      if (item->second.queue_id == queue_id && item->first > now) {
        auto next = std::next(item);
        moved.push_back(d.items.extract(item));
        item = next;
      } else {
        ++item;
      }
    }
    for (auto& node : moved) {
      node.key() = now;
      d.items.insert(std::move(node));
      ++changed;
    }
    if (!moved.empty()) reschedule(name, d);
  }
  return changed;
}

std::vector<WorkItem> DestinationQueues::list() const {
  std::vector<const std::string*> names;
  names.reserve(dests_.size());
  for (const auto& [name, d] : dests_) names.push_back(&name);
  std::sort(names.begin(), names.end(), [](const std::string* a, const std::string* b) { return *a < *b; });
  std::vector<WorkItem> out;
  out.reserve(queued_items_);
  for (const std::string* name : names) {
    for (const auto& [ready_at, item] : dests_.at(*name).items) {
      out.push_back(WorkItem{item.queue_id, *name, item.recipients, ready_at});
    }
  }
  return out;
}

}  // namespace tlsrelay
