// Backoff bookkeeping; see destination_health.h.
#include "relay/queue/destination_health.h"

#include <algorithm>

namespace tlsrelay {
namespace {

// A table never grows without bound: names whose last failure (and backoff)
// ended longer ago than the maximum backoff, and that were never tried again,
// are forgotten; a recent failure below the threshold is kept.
constexpr size_t kPruneAbove = 10000;

}  // namespace

DestinationHealth::DestinationHealth(BackoffConfig config) : config_(config) {}

void DestinationHealth::failed(std::map<std::string, Entry>& table, const std::string& name,
                               const std::string& error, int64_t now) {
  if (table.size() > kPruneAbove) prune(table, now);
  Entry& e = table[name];
  ++e.failures;
  e.last_failure = now;
  e.last_error = error;
  const int over = e.failures - std::max(1, config_.failures);
  if (over < 0) return;
  // Exponential: initial, 2 × initial, ... up to max.
  int64_t backoff = config_.initial.count();
  for (int i = 0; i < over && backoff < config_.max.count(); ++i) backoff *= 2;
  e.until = now + std::min<int64_t>(backoff, config_.max.count());
}

void DestinationHealth::prune(std::map<std::string, Entry>& table, int64_t now) {
  for (auto it = table.begin(); it != table.end();)
    it = std::max(it->second.until, it->second.last_failure) + config_.max.count() < now ? table.erase(it)
                                                                                         : std::next(it);
}

int64_t DestinationHealth::runEnded(const std::string& destination, bool unreachable, bool connected,
                                    const std::string& error, int64_t now) {
  if (connected) {
    destinations_.erase(destination);
    return 0;
  }
  if (!unreachable) return destinationBackoffUntil(destination, now);
  failed(destinations_, destination, error, now);
  return destinationBackoffUntil(destination, now);
}

void DestinationHealth::hostResult(const std::string& host, bool reachable, const std::string& error,
                                   int64_t now) {
  if (reachable) {
    hosts_.erase(host);
    return;
  }
  failed(hosts_, host, error, now);
}

int64_t DestinationHealth::destinationBackoffUntil(const std::string& destination, int64_t now) const {
  auto it = destinations_.find(destination);
  if (it == destinations_.end() || it->second.until <= now) return 0;
  return it->second.until;
}

std::set<std::string> DestinationHealth::hostsInBackoff(int64_t now) const {
  std::set<std::string> out;
  for (const auto& [host, e] : hosts_)
    if (e.until > now) out.insert(host);
  return out;
}

void DestinationHealth::clear() {
  destinations_.clear();
  hosts_.clear();
}

std::vector<DestinationHealth::State> DestinationHealth::list(int64_t now) const {
  std::vector<State> out;
  for (const auto& [name, e] : destinations_)
    out.push_back({name, false, e.failures, e.until > now ? e.until : 0, e.last_error});
  for (const auto& [name, e] : hosts_)
    out.push_back({name, true, e.failures, e.until > now ? e.until : 0, e.last_error});
  return out;
}

}  // namespace tlsrelay
