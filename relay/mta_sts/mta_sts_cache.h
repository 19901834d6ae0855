// The MTA-STS policy cache (RFC 8461 §5.1: senders cache a policy until its
// max_age runs out): one JSON file per policy domain in a directory, written
// atomically (tmp file, fsync, rename, directory fsync) so a policy survives
// restarts and a crash never leaves a half-written entry. A file that does not
// parse is logged and treated as absent; the next put replaces it.
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/mta_sts_policy.h"

namespace tlsrelay {

struct StsCacheEntry {
  std::string domain;      // policy domain, lower case, no trailing dot
  std::string id;          // the TXT id the policy was fetched under
  int64_t fetched_at = 0;  // unix seconds
  int64_t expires_at = 0;  // fetched_at + policy.max_age
  StsPolicy policy;        // parsed from policy.text on load

  bool expired(int64_t now) const { return now >= expires_at; }
  bool operator==(const StsCacheEntry&) const = default;
};

class StsCache {
 public:
  // "" = memory only (nothing persists); the directory is created on first put.
  explicit StsCache(std::string directory);

  const std::string& directory() const { return directory_; }

  // The entry for `domain` (expired ones included: the caller decides), or
  // nullopt when absent, unreadable or corrupt.
  std::optional<StsCacheEntry> get(const std::string& domain) const;
  Status put(const StsCacheEntry& entry);
  // Every readable entry, sorted by domain; corrupt files are skipped (logged).
  std::vector<StsCacheEntry> list() const;
  Status remove(const std::string& domain);  // absent is not an error
  Status clear();

 private:
  std::string directory_;
  // Memory-only mode (directory_ empty).
  mutable std::mutex memory_mutex_;
  std::map<std::string, StsCacheEntry> memory_;
};

// The on-disk form of one entry (exposed for tests and fuzzing).
std::string serializeStsCacheEntry(const StsCacheEntry& entry);
Result<StsCacheEntry> parseStsCacheEntry(const std::string& text);

}  // namespace tlsrelay
