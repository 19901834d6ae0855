// One delivery run to one destination: resolve the next hops (MX or smarthost),
// walk them in order, speak SMTP over one connection (reused for several
// messages), and report each recipient's outcome upward. It decides nothing
// about retries or bounces: the DeliveryEngine does, from the outcomes.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "dnssec/dns_answer.h"
#include "message/envelope.h"
#include "policy/tls_decision.h"
#include "policy/tls_policy.h"
#include "relay/outbound/failure_scope.h"
#include "relay/outbound/next_hops.h"
#include "reporting/delivery_attempt.h"

namespace tlsrelay {

class TlsContext;
class PolicySet;
class MtaStsProvider;
struct RelayConfig;
namespace dns {
class Resolver;
}

struct JobMessage {
  std::shared_ptr<Envelope> envelope;
  std::shared_ptr<const std::string> data;  // loaded by the job when null
  std::vector<size_t> recipients;           // indexes into envelope->recipients to deliver now
};

// What the attempt looked like on the wire, for the accounting log and TLS reports.
struct AttemptInfo {
  std::string mx_host, ip;
  AttemptTls tls;
};

// Returns the TLS client context for a decision (cached by the engine).
using ClientTlsProvider = std::function<std::shared_ptr<TlsContext>(const TlsDecision&)>;

struct JobContext {
  uv_loop_t* loop = nullptr;
  std::shared_ptr<const RelayConfig> config;
  std::shared_ptr<const PolicySet> policies;
  ClientTlsProvider client_tls;
  dns::Resolver* resolver = nullptr;  // thread-safe; called on the thread pool
  MtaStsProvider* mta_sts = nullptr;  // thread-safe, blocking; null = MTA-STS off
  // Reads a recovered message's data (BLOCKING: called on the thread pool).
  std::function<Result<std::string>(const std::string& queue_id)> load_data;
};

class DeliveryJob {
 public:
  struct Callbacks {
    // Outcomes for some recipients of one message (called once per message per attempt).
    std::function<void(JobMessage&, const std::vector<std::pair<size_t, RecipientOutcome>>&,
                       const AttemptInfo&)>
        results;
    // Connection reuse: the next message for this destination, if any is ready.
    std::function<std::optional<JobMessage>()> next_message;
    // The connection is idle and may be kept open: `wake` receives the next
    // message for this destination, or nullopt meaning "quit now". Returns a
    // token for cancel_idle (when the connection goes away or its idle time ends).
    std::function<uint64_t(std::function<void(std::optional<JobMessage>)> wake)> idle;
    std::function<void(uint64_t token)> cancel_idle;
    // A next hop failed and the run goes on with another: the attempt is
    // accounted for, but no recipient state changes.
    std::function<void(const JobMessage&, const RecipientOutcome&, const AttemptInfo&)> hop_failed;
    // The job is over; it deletes itself right after this returns.
    std::function<void()> finished;
  };

  // `domain` is the recipient domain (policy domain); `destination` the queue key.
  static void start(JobContext context, std::string domain, std::vector<JobMessage> messages,
                    Callbacks callbacks);

 private:
  friend class OutboundConnection;
  DeliveryJob(JobContext context, std::string domain, std::vector<JobMessage> messages, Callbacks callbacks);
  void resolve();
  void onResolved();
  void tryNextTarget();
  void connectionDone();  // the current connection is gone; continue with the next target or finish
  void failAll(const RecipientOutcome& outcome, const AttemptInfo& info);
  void finish();
  TlsDecision decideTls(const JobTarget& target) const;
  void skipTarget(const JobTarget& target, const TlsDecision& decision);

  JobContext ctx_;
  std::string domain_;
  std::vector<JobMessage> pending_;  // messages not yet finished on any connection
  Callbacks callbacks_;

  // Resolution result.
  std::vector<JobTarget> targets_;
  StsInput sts_;           // the domain's MTA-STS state
  MessageTlsFlags flags_;  // shared by every message of the job (the queue key splits by TLS class)
  std::optional<RecipientOutcome> terminal_;
  std::string terminal_result_type_;  // "dnssec-invalid" when bogus DNS left no hop  // null MX, no such
                                      // domain, DNS failure
  size_t next_target_ = 0;
  bool retry_without_tls_ = false;  // opportunistic TLS failed on this target: once more in clear
  RecipientOutcome last_failure_ = transientFailure("no delivery attempt was made");
  AttemptInfo last_info_;
  std::optional<std::pair<RecipientOutcome, AttemptInfo>> requiretls_failure_;  // last TLS refusal of a hop
  int messages_sent_ = 0;
};

}  // namespace tlsrelay
