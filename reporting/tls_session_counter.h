// Turns session events into the TLS report store's counters: every session
// whose TLS record is final adds one to its (day, policy, MX, result) row —
// successes and failures alike, because RFC 8460 §4.3 reports sessions. Runs
// on the observer thread, so the store's writes never touch the event loop,
// and commits once per batch the observer queue hands over. Sessions made
// only for our own reports are left out (no report loops).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "reporting/delivery_events.h"
#include "reporting/session_count.h"

namespace tlsrelay {

class ReportStore;

// The row a session adds to; nullopt when it has nothing to report.
std::optional<SessionCountKey> sessionCountKey(const SessionRecord& session, int64_t time);

class TlsSessionCounter : public DeliveryObserver {
 public:
  explicit TlsSessionCounter(ReportStore* store);  // the store outlives the counter
  void onSession(const SessionEvent& event) override;
  void onBatchEnd() override;

  uint64_t sessionsCounted() const;  // committed to the store
  size_t pendingRows() const;        // waiting for a commit (the store failed)

 private:
  ReportStore* store_;
  std::map<std::string, SessionCount> pending_;  // by encoded key: one row per key per batch
  mutable std::mutex mutex_;                     // for the two accessors; the observer thread does the rest
  uint64_t counted_ = 0;
  bool warned_ = false;
};

}  // namespace tlsrelay
