// See delivery_metrics.h.
#include "reporting/delivery_metrics.h"

namespace tlsrelay {

DeliveryMetrics::DeliveryMetrics()
    : attempts_(
          "tlsrelay_delivery_attempts_total",
          "Recipient delivery attempts by result (a deferral on one MX counts even when the next delivers)",
          {"result"}),
      connections_("tlsrelay_outbound_connections_total", "Outbound SMTP connections established", {}),
      tls_sessions_(
          "tlsrelay_tls_sessions_total",
          "Outbound sessions by RFC 8460 result type, how the peer was verified and the TLS protocol "
          "(the sessions TLS reports count; result_type none: clear text no policy asked to avoid)",
          {"result_type", "verification", "protocol"}),
      handshake_failures_("tlsrelay_tls_handshake_failures_total",
                          "Outbound TLS handshakes that failed, by RFC 8460 result type", {"result_type"}) {
  // Present from the first scrape, so rate() has a starting point.
  for (const char* r : {"delivered", "deferred", "bounced"}) attempts_.add({r}, 0);
  connections_.add({}, 0);
}

void DeliveryMetrics::onAttempt(const RecipientAttempt& attempt) {
  attempts_.add({toString(attempt.result)});
}

void DeliveryMetrics::onSession(const SessionEvent& event) {
  if (event.kind == SessionEvent::Kind::Connected) {
    connections_.add({});
    return;
  }
  if (event.kind != SessionEvent::Kind::TlsOutcome || !event.session) return;
  const SessionRecord& s = *event.session;
  const char* type = s.result ? toString(*s.result) : "none";
  tls_sessions_.add({type, toString(s.verified_by), s.protocol.empty() ? "plaintext" : s.protocol});
  // Connected, a failure, and no protocol agreed: the handshake itself failed
  // (not STARTTLS missing, not a certificate rejected after the handshake).
  if (s.connected && s.result && *s.result != TlsResultType::Success &&
      *s.result != TlsResultType::StartTlsNotSupported && s.protocol.empty())
    handshake_failures_.add({type});
}

std::vector<MetricFamily> DeliveryMetrics::families() const {
  return {attempts_.snapshot(), connections_.snapshot(), tls_sessions_.snapshot(),
          handshake_failures_.snapshot()};
}

}  // namespace tlsrelay
