// The one place that decides what a failure means (Postfix keeps this in
// smtp_trouble.c; we keep it here): which recipients a failure touches (its
// scope), whether it is soft or hard, whether the recipients go on to the next
// MX or back to the queue (the final-server rule), the plaintext fallback, the
// REQUIRETLS precedence, and the enhanced status codes that reach the
// accounting log and the DSN.
//
// Scopes (STYLE.md: Postfix smtp_site_fail / smtp_mesg_fail / smtp_rcpt_fail):
//   Site       the connection or the server as a whole: connect, greeting,
//              EHLO, STARTTLS and the TLS policy checks, timeouts and lost
//              connections outside a transaction, 421 anywhere, a hop that
//              cannot carry a REQUIRETLS message. Every message of the
//              connection is affected. Always soft: a 5xx greeting skips the
//              host (Postfix smtp_skip_5xx_greeting = yes).
//   Message    MAIL FROM, DATA, the reply after the final dot, a connection
//              lost or timed out inside a transaction, local checks of a
//              message against the hop (SIZE, SMTPUTF8).
//   Recipient  RCPT TO.
//
// The final-server rule: a soft failure from a server that is not the last
// one this run will try keeps the recipients for the next server; from the
// final server it defers them (retry queue). A hard (5xx) message or recipient
// failure bounces whichever server said it. "Final" means no later next hop is
// left that the TLS policy allows us to connect to, and no plaintext retry of
// the same host is pending.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "common/enhanced_status.h"

namespace tlsrelay {

struct SmtpReply;

// What the engine does with a recipient at the end of a delivery run.
enum class RecipientVerdict { Delivered, Retry, Fail };

// Where a failure came from; decides how expiry reports it.
enum class FailureCause : uint8_t {
  None,        // delivered
  Reply,       // the remote server said so
  Connection,  // no connection, timeout, lost connection
  Tls,         // TLS policy: STARTTLS missing, handshake or certificate failure, DANE/MTA-STS
  RequireTls,  // the hop cannot carry a REQUIRETLS message (RFC 8689 §4.2.1)
  Dns,         // no usable next hop from DNS
  Local,       // our own problem (spool, configuration, a pipeline stage)
};

struct RecipientOutcome {
  RecipientVerdict verdict = RecipientVerdict::Retry;
  EnhancedStatus status = status::kTransient;
  std::string response;  // text for logs / DSN diagnostic
  FailureCause cause = FailureCause::Reply;
};

enum class FailureScope { Site, Message, Recipient };

// What happens to the recipients a failure touches, within one delivery run.
enum class Disposition {
  Delivered,
  NextHop,  // soft failure, not the final server: try the next server now
  Defer,    // soft failure at the final server: back to the queue
  Bounce,   // hard failure: DSN to the sender
};

// A reply to MAIL, RCPT or the end of DATA. RFC 5321 §4.2.1: the first digit
// decides: 2 delivered, 4 transient, 5 permanent. RFC 3463 §3.1: an enhanced
// code whose class disagrees with the reply is not trusted.
RecipientOutcome outcomeFromReply(const SmtpReply& reply);

// A failure with no usable reply: always transient.
RecipientOutcome transientFailure(std::string reason, EnhancedStatus status = status::kNoAnswer,
                                  FailureCause cause = FailureCause::Connection);
// AUTH to a configured next hop failed or was impossible (no TLS, no AUTH
// offered, credentials refused). Always soft, even after a 535: the fault is
// in our configuration or at the smarthost, never in the message (Postfix:
// smtp_sasl_auth_soft_bounce = yes).
RecipientOutcome authenticationFailure(std::string reason);
// Permanent local decisions (null MX, no such domain, expiry, a stage's refusal).
RecipientOutcome permanentFailure(std::string reason, EnhancedStatus status,
                                  FailureCause cause = FailureCause::Local);

// A site-scope failure as every recipient of the connection sees it: soft
// whatever the server said (a 5xx greeting or EHLO refusal skips the host).
RecipientOutcome siteFailure(RecipientOutcome failure);

// The final-server rule, see above.
Disposition dispose(FailureScope scope, const RecipientOutcome& outcome, bool final_server);

// The failure a run reports for recipients that no hop took. It is the last
// hop's failure, except that for a REQUIRETLS message a hop's TLS refusal beats
// a later hop that merely failed to answer: the sender must learn that TLS was
// the obstacle (RFC 8689 §4.2.1; 5.7.10 at expiry).
template <class Info>
class RunFailure {
 public:
  explicit RunFailure(bool requiretls) : requiretls_(requiretls) {}
  void hopFailed(RecipientOutcome outcome, Info info) {
    bool tls_refusal = outcome.cause == FailureCause::Tls || outcome.cause == FailureCause::RequireTls;
    if (requiretls_ && tls_refusal) tls_refusal_ = std::make_pair(outcome, info);
    last_ = std::make_pair(std::move(outcome), std::move(info));
  }
  bool any() const { return last_.has_value(); }
  const std::pair<RecipientOutcome, Info>& final() const { return tls_refusal_ ? *tls_refusal_ : *last_; }

 private:
  bool requiretls_;
  std::optional<std::pair<RecipientOutcome, Info>> last_;
  std::optional<std::pair<RecipientOutcome, Info>> tls_refusal_;
};

// The end of a recipient's lifetime: `last` (a transient outcome) becomes a
// failure reported as 4.4.7 (delivery time expired) with the last error. For a
// REQUIRETLS message whose last failure was a TLS one (no STARTTLS, no
// REQUIRETLS after it, a certificate that did not verify) it is 5.7.10
// instead, saying why: the sender asked for TLS and no hop could give it.
RecipientOutcome expiryFailure(const RecipientOutcome& last, int64_t lifetime_seconds, bool requiretls);

}  // namespace tlsrelay
