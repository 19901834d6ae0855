// The one place that decides what a remote reply or a local failure means for
// a recipient: delivered, retry later, or fail permanently (bounce) — and the
// enhanced status code that goes into the accounting log and the DSN.
// Postfix keeps this in smtp_trouble.c; we keep it here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tlsrelay {

struct SmtpReply;

enum class RecipientVerdict { Delivered, Retry, Fail };

struct RecipientOutcome {
  RecipientVerdict verdict = RecipientVerdict::Retry;
  std::string status;    // enhanced status code, e.g. "2.0.0", "4.4.1", "5.1.1"
  std::string response;  // text for logs / DSN diagnostic
};

// A reply to RCPT, MAIL or the end of DATA. RFC 5321 §4.2.1: the first digit
// decides: 2 delivered, 4 transient, 5 permanent.
RecipientOutcome outcomeFromReply(const SmtpReply& reply);

// A failure with no usable reply (connect refused, timeout, TLS failure, policy
// refusal): always transient; `status` defaults to 4.4.1 (no answer from host).
RecipientOutcome transientFailure(const std::string& reason, const std::string& status = "4.4.1");

// Permanent local failures (null MX, domain does not exist, expiry).
RecipientOutcome permanentFailure(const std::string& reason, const std::string& status);

// The end of a recipient's lifetime: `last` (a transient outcome) becomes a
// failure reported as 4.4.7 (delivery time expired) with the last error. For a
// REQUIRETLS message whose last failure was a TLS one (4.7.x: no STARTTLS, no
// REQUIRETLS after it, a certificate that did not verify) the failure is
// 5.7.10 instead, saying why: the sender asked for TLS and no hop could give it.
RecipientOutcome expiryFailure(const RecipientOutcome& last, int64_t lifetime_seconds, bool requiretls);

}  // namespace tlsrelay
