// What delivery reports upward, as events (STYLE.md 17: reporting consumes
// delivery events and never steers delivery): one SessionRecord per outbound
// session (one connection to one next hop, or a hop the TLS policy ruled out
// before connecting — RFC 8460 counts these), session events as the
// conversation goes (connect, TLS outcome, transaction begin / recipient /
// commit / rollback, close), and one RecipientAttempt per recipient per hop.
// Records are immutable once published and shared by pointer, so the TLS
// report fields flow from the policy engine to every observer without copies.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/enhanced_status.h"
#include "policy/tls_decision.h"
#include "policy/tls_report.h"

namespace tlsrelay {

enum class AttemptResult { Delivered, Deferred, Bounced };

const char* toString(AttemptResult r);

// One outbound session and how TLS went on it.
struct SessionRecord {
  std::string session_id;   // "" when no session was started (no next hop, or TLS policy skipped it)
  std::string destination;  // the queue key
  std::string domain;       // the recipient (policy) domain
  std::string mx_host;      // receiving-mx-hostname; "" when no next hop was known
  std::string ip;           // receiving-ip
  uint16_t port = 25;
  std::string sending_ip;  // our end of the connection (RFC 8460 sending-mta-ip); "" when not connected
  bool connected = false;
  // Every message the session was for is one of our own TLS reports: its
  // outcome is not counted in the next reports (no report loops).
  bool carries_own_reports = false;  // false: the policy skipped the hop, or the connection failed

  // The policy the session was governed by (never null once published).
  std::shared_ptr<const ReportPolicy> policy;
  std::string policy_source = "default";  // which rule decided TLS: "default", "policy.d/x.toml", "dane", ...
  std::optional<TlsResultType> result;    // none: nothing to report (clear text, no policy wanted TLS)
  std::string failure_reason;             // human text when result is a failure
  RequireTlsRefusal requiretls_refusal = RequireTlsRefusal::None;
  std::string protocol;                       // "TLSv1.3"; "" when clear text
  std::string cipher;                         // "TLS_AES_256_GCM_SHA384"
  VerifyMode verified_by = VerifyMode::None;  // how the peer was authenticated; None = not at all
};

// One recipient's outcome on one hop (final or not: a failed MX is a deferred
// row even when a later one delivers).
struct RecipientAttempt {
  int64_t time = 0;  // unix seconds when the attempt finished
  std::string queue_id;
  std::string sender;
  std::string recipient;
  AttemptResult result = AttemptResult::Deferred;
  EnhancedStatus status = status::kTransient;
  std::string response;                          // remote reply text or local reason
  std::shared_ptr<const SessionRecord> session;  // never null
};

struct SessionEvent {
  enum class Kind {
    Connected,         // TCP connection up (session: who)
    TlsOutcome,        // the session's TLS record is final (also for skipped hops)
    TransactionBegin,  // MAIL FROM about to be sent for queue_id
    Recipient,         // RCPT result for `recipient`: `status`, `response`
    Commit,            // the server accepted the message (final reply 2xx) for `accepted` recipients
    Rollback,          // the transaction ended without acceptance: `response` says why
    Closed,            // the session is over: `response` says how
  };
  Kind kind = Kind::Connected;
  int64_t time = 0;
  std::shared_ptr<const SessionRecord> session;  // never null
  std::string queue_id;
  std::string recipient;
  EnhancedStatus status = status::kTransient;
  std::string response;
  size_t accepted = 0;
};

const char* toString(SessionEvent::Kind kind);

class DeliveryObserver {
 public:
  virtual ~DeliveryObserver() = default;
  virtual void onAttempt(const RecipientAttempt& attempt) { (void)attempt; }
  virtual void onSession(const SessionEvent& event) { (void)event; }
  // After each batch the observer thread took from the queue: where a store
  // commits what the batch added (one transaction per batch, however large).
  virtual void onBatchEnd() {}
};

}  // namespace tlsrelay
