// See tls_posture.h.
#include "reporting/tls_posture.h"

#include <algorithm>

namespace tlsrelay {

const char* toString(TlsPosture p) {
  switch (p) {
    case TlsPosture::Dane:
      return "dane";
    case TlsPosture::MtaSts:
      return "mta-sts";
    case TlsPosture::Policy:
      return "policy";
    case TlsPosture::Opportunistic:
      return "opportunistic";
    case TlsPosture::Plaintext:
      return "plaintext";
    case TlsPosture::Failed:
      return "failed";
  }
  return "failed";
}

TlsPosture tlsPostureOf(const SessionRecord& s) {
  if (s.result && *s.result != TlsResultType::Success) return TlsPosture::Failed;
  if (s.protocol.empty()) return s.connected ? TlsPosture::Plaintext : TlsPosture::Failed;
  if (s.verified_by == VerifyMode::Dane) return TlsPosture::Dane;
  if (s.verified_by == VerifyMode::Sts) return TlsPosture::MtaSts;
  // Anything but the built-in default decided this session's TLS: a policy
  // file, REQUIRETLS, require_tls_out or the smarthost settings.
  if (s.policy_source != "default") return TlsPosture::Policy;
  return TlsPosture::Opportunistic;
}

uint64_t DestinationPosture::total() const {
  uint64_t sum = 0;
  for (uint64_t n : sessions) sum += n;
  return sum;
}

TlsPostureTally::TlsPostureTally(size_t max_domains) : max_domains_(std::max<size_t>(1, max_domains)) {}

void TlsPostureTally::onSession(const SessionEvent& event) {
  if (event.kind != SessionEvent::Kind::TlsOutcome || !event.session) return;
  const SessionRecord& s = *event.session;
  // Our own TLS report mails are not counted in reports; not here either.
  if (s.carries_own_reports || s.domain.empty()) return;
  std::lock_guard lock(mutex_);
  auto it = by_domain_.find(s.domain);
  if (it == by_domain_.end()) {
    if (by_domain_.size() >= max_domains_) {
      auto oldest = std::min_element(by_domain_.begin(), by_domain_.end(), [](const auto& a, const auto& b) {
        return a.second.last_session < b.second.last_session;
      });
      by_domain_.erase(oldest);
    }
    it = by_domain_.emplace(s.domain, DestinationPosture{s.domain, {}, 0}).first;
  }
  ++it->second.sessions[static_cast<size_t>(tlsPostureOf(s))];
  it->second.last_session = std::max(it->second.last_session, event.time);
}

std::vector<DestinationPosture> TlsPostureTally::snapshot() const {
  std::vector<DestinationPosture> out;
  {
    std::lock_guard lock(mutex_);
    out.reserve(by_domain_.size());
    for (const auto& [domain, posture] : by_domain_) out.push_back(posture);
  }
  std::sort(out.begin(), out.end(), [](const DestinationPosture& a, const DestinationPosture& b) {
    const uint64_t ta = a.total(), tb = b.total();
    return ta != tb ? ta > tb : a.domain < b.domain;
  });
  return out;
}

}  // namespace tlsrelay
