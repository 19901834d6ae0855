// How each destination's mail went out, by TLS posture: the share of
// sessions authenticated by DANE, by MTA-STS, governed by a policy rule
// (policy file, REQUIRETLS, smarthost), opportunistic TLS, clear text, or
// failed. For the web view's destination page; the TLS reports count the
// same sessions per day, this counts them since the relay started.
// onSession runs on the observer thread, snapshot() on any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "reporting/delivery_events.h"

namespace tlsrelay {

enum class TlsPosture { Dane, MtaSts, Policy, Opportunistic, Plaintext, Failed };
inline constexpr size_t kTlsPostureCount = 6;
const char* toString(TlsPosture p);  // "dane", "mta-sts", "policy", "opportunistic", "plaintext", "failed"

// The posture of one finished session (SessionEvent::Kind::TlsOutcome).
TlsPosture tlsPostureOf(const SessionRecord& session);

struct DestinationPosture {
  std::string domain;                                 // the policy (recipient) domain
  std::array<uint64_t, kTlsPostureCount> sessions{};  // indexed by TlsPosture
  int64_t last_session = 0;                           // unix seconds
  uint64_t total() const;
};

class TlsPostureTally : public DeliveryObserver {
 public:
  // Beyond max_domains the domain seen longest ago is forgotten, so a relay
  // sending to millions of domains keeps a bounded table.
  explicit TlsPostureTally(size_t max_domains = 10000);
  void onSession(const SessionEvent& event) override;
  // Most sessions first (then by name).
  std::vector<DestinationPosture> snapshot() const;

 private:
  const size_t max_domains_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, DestinationPosture> by_domain_;
};

}  // namespace tlsrelay
