#include "reporting/tls_session_counter.h"

#include <nlohmann/json.hpp>
#include <vector>

#include "common/log.h"
#include "common/time_format.h"
#include "reporting/report_store.h"

namespace tlsrelay {
namespace {

// A store failure (disk full, a locked database) keeps the counts in memory
// for the next batch; past this many distinct rows the oldest are dropped,
// so a dead store cannot exhaust memory.
constexpr size_t kMaxPendingRows = 200000;

std::string encodedKey(const SessionCountKey& k) {
  nlohmann::json j = {k.day,
                      k.policy_domain,
                      static_cast<int>(k.policy_type),
                      k.policy_strings,
                      k.mx_host,
                      static_cast<int>(k.result_type),
                      k.sending_ip,
                      k.receiving_mx_hostname,
                      k.receiving_ip,
                      k.failure_reason_code};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::optional<SessionCountKey> sessionCountKey(const SessionRecord& s, int64_t time) {
  if (!s.result || s.carries_own_reports) return std::nullopt;
  static const ReportPolicy kNoPolicy;
  const ReportPolicy& p = s.policy ? *s.policy : kNoPolicy;
  SessionCountKey k;
  k.day = utcDay(time);
  // RFC 8460 §4.4: policy-domain is the domain the policy is for, also when
  // none was found: the recipient domain.
  k.policy_domain = p.domain.empty() ? s.domain : p.domain;
  k.policy_type = p.type;
  k.policy_strings = p.strings;
  k.mx_host = p.mx_host;
  k.result_type = *s.result;
  if (isFailure(*s.result)) {
    // §4.3: failure details identify the session; successes are only counted.
    k.sending_ip = s.sending_ip;
    k.receiving_mx_hostname = s.mx_host;
    k.receiving_ip = s.ip;
    k.failure_reason_code = s.failure_reason;
  }
  return k;
}

TlsSessionCounter::TlsSessionCounter(ReportStore* store) : store_(store) {}

void TlsSessionCounter::onSession(const SessionEvent& event) {
  if (event.kind != SessionEvent::Kind::TlsOutcome || !event.session) return;
  auto key = sessionCountKey(*event.session, event.time);
  if (!key) return;
  std::lock_guard<std::mutex> lock(mutex_);
  std::string encoded = encodedKey(*key);
  auto it = pending_.find(encoded);
  if (it == pending_.end()) {
    if (pending_.size() >= kMaxPendingRows) {
      log::error("reporting", "TLS report counts dropped: the store has been failing",
                 {{"rows", std::to_string(pending_.size())}});
      pending_.erase(pending_.begin());
    }
    it = pending_.emplace(std::move(encoded), SessionCount{std::move(*key), 0}).first;
  }
  it->second.sessions += 1;
}

void TlsSessionCounter::onBatchEnd() {
  // onSession and onBatchEnd both run on the observer thread, so nothing is
  // added to pending_ while the store writes; the mutex only serves the
  // accessors.
  std::vector<SessionCount> batch;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (pending_.empty()) return;
    batch.reserve(pending_.size());
    for (const auto& [_, row] : pending_) batch.push_back(row);
  }
  Status st = store_->addSessionCounts(batch);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!st.ok()) {
    if (!warned_)
      log::error("reporting", "TLS report store write failed; counts kept for the next try",
                 {{"error", st.error().message}});
    warned_ = true;
    return;
  }
  if (warned_) log::info("reporting", "TLS report store writes again", {});
  warned_ = false;
  for (const SessionCount& row : batch) counted_ += row.sessions;
  pending_.clear();
}

uint64_t TlsSessionCounter::sessionsCounted() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counted_;
}

size_t TlsSessionCounter::pendingRows() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pending_.size();
}

}  // namespace tlsrelay
