// See failure_scope.h.
#include "relay/outbound/failure_scope.h"

#include "relay/smtp/smtp_reply.h"

namespace tlsrelay {

RecipientOutcome outcomeFromReply(const SmtpReply& reply) {
  RecipientOutcome o;
  o.response = reply.text();
  int klass = reply.code / 100;
  if (klass == 2) {
    o.verdict = RecipientVerdict::Delivered;
    o.status = reply.enhanced.empty() ? "2.0.0" : reply.enhanced;
  } else if (klass == 5) {
    o.verdict = RecipientVerdict::Fail;
    // RFC 3463: the class digit of an enhanced code must agree with the reply.
    o.status = (!reply.enhanced.empty() && reply.enhanced[0] == '5') ? reply.enhanced : "5.0.0";
  } else {
    o.verdict = RecipientVerdict::Retry;
    o.status = (!reply.enhanced.empty() && reply.enhanced[0] == '4') ? reply.enhanced : "4.0.0";
  }
  return o;
}

RecipientOutcome transientFailure(const std::string& reason, const std::string& status) {
  return RecipientOutcome{RecipientVerdict::Retry, status, reason};
}

RecipientOutcome permanentFailure(const std::string& reason, const std::string& status) {
  return RecipientOutcome{RecipientVerdict::Fail, status, reason};
}

RecipientOutcome expiryFailure(const RecipientOutcome& last, int64_t lifetime_seconds, bool requiretls) {
  const std::string lifetime = std::to_string(lifetime_seconds) + "s";
  if (requiretls && last.status.rfind("4.7.", 0) == 0) {
    // RFC 8689 §4.2.1: the message could not go anywhere under REQUIRETLS; RFC
    // 3463 X.7.10 "Encryption needed" tells the sender TLS was the obstacle.
    return permanentFailure(
        "REQUIRETLS: no MX host offered a TLS session with REQUIRETLS before the message "
        "expired after " +
            lifetime + ": " + last.response,
        "5.7.10");
  }
  // RFC 3464 status 4.4.7: delivery time expired; reported as a failure.
  return permanentFailure("message expired after " + lifetime + "; last error: " + last.response, "4.4.7");
}

}  // namespace tlsrelay
