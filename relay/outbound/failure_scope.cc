// Failure policy; see failure_scope.h.
#include "relay/outbound/failure_scope.h"

#include "relay/smtp/smtp_reply.h"

namespace tlsrelay {

RecipientOutcome outcomeFromReply(const SmtpReply& reply) {
  RecipientOutcome o;
  o.response = reply.text();
  o.cause = FailureCause::Reply;
  const uint8_t klass = reply.isPositive() ? 2 : reply.isPermanent() ? 5 : 4;
  auto enhanced = EnhancedStatus::parse(reply.enhanced);
  o.status = enhanced && enhanced->klass == klass ? *enhanced : EnhancedStatus{klass, 0, 0};
  switch (klass) {
    case 2:
      o.verdict = RecipientVerdict::Delivered;
      o.cause = FailureCause::None;
      break;
    case 5:
      o.verdict = RecipientVerdict::Fail;
      break;
    default:  // 4xx, and anything that is neither (RFC 5321 §4.2.1: treat as transient)
      o.verdict = RecipientVerdict::Retry;
      break;
  }
  return o;
}

RecipientOutcome transientFailure(std::string reason, EnhancedStatus status, FailureCause cause) {
  return RecipientOutcome{RecipientVerdict::Retry, status.withClass(4), std::move(reason), cause};
}

RecipientOutcome authenticationFailure(std::string reason) {
  return transientFailure(std::move(reason), status::kSystemConfig, FailureCause::Local);
}

RecipientOutcome permanentFailure(std::string reason, EnhancedStatus status, FailureCause cause) {
  return RecipientOutcome{RecipientVerdict::Fail, status.withClass(5), std::move(reason), cause};
}

RecipientOutcome siteFailure(RecipientOutcome failure) {
  if (failure.verdict == RecipientVerdict::Fail || failure.verdict == RecipientVerdict::Delivered) {
    // Postfix smtp_skip_5xx_greeting: a server that refuses the session is
    // skipped, never taken as the verdict on the message.
    failure.verdict = RecipientVerdict::Retry;
    failure.status = failure.status.withClass(4);
  }
  return failure;
}

Disposition dispose(FailureScope scope, const RecipientOutcome& outcome, bool final_server) {
  if (outcome.verdict == RecipientVerdict::Delivered) return Disposition::Delivered;
  if (outcome.verdict == RecipientVerdict::Fail && scope != FailureScope::Site) return Disposition::Bounce;
  return final_server ? Disposition::Defer : Disposition::NextHop;
}

RecipientOutcome expiryFailure(const RecipientOutcome& last, int64_t lifetime_seconds, bool requiretls) {
  const std::string lifetime = std::to_string(lifetime_seconds) + "s";
  if (requiretls && (last.cause == FailureCause::Tls || last.cause == FailureCause::RequireTls)) {
    // RFC 8689 §4.2.1: the message could not go anywhere under REQUIRETLS; RFC
    // 3463 X.7.10 "Encryption needed" tells the sender TLS was the obstacle.
    return permanentFailure(
        "REQUIRETLS: no MX host offered a TLS session with REQUIRETLS before the message "
        "expired after " +
            lifetime + ": " + last.response,
        status::kRequireTlsFailed, last.cause);
  }
  // RFC 3464 status 4.4.7: delivery time expired; reported as a failure.
  RecipientOutcome o{RecipientVerdict::Fail, status::kExpired,
                     "message expired after " + lifetime + "; last error: " + last.response, last.cause};
  return o;
}

}  // namespace tlsrelay
