// One delivery run to one destination as a sans-I/O core: it walks the next
// hops the resolution found, decides TLS per hop (policy/tls_policy.h), drives
// one SmtpClientSession per connection, checks what each connection showed
// against the policy (classifyAttempt), reuses a connection for further
// messages, and turns every reply into per-recipient outcomes through
// failure_scope.h. It owns no socket, no timer and no thread: the libuv
// adapter (delivery_job.cc) feeds it events — connected, bytes, TLS done,
// timeout, closed, a message supplied, a message prepared — and carries out
// the actions it returns, in order. Every rule is therefore a unit test with
// scripted events (tests/unit/delivery_attempt_test.cc).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "message/envelope.h"
#include "policy/domain_policy.h"
#include "policy/tls_decision.h"
#include "policy/tls_policy.h"
#include "relay/outbound/failure_scope.h"
#include "relay/outbound/next_hops.h"
#include "relay/smtp/smtp_client_session.h"
#include "relay/tls/tls_engine.h"  // PeerVerification
#include "reporting/delivery_events.h"

namespace tlsrelay {

// Some recipients of one spooled message, carried by one run.
struct JobMessage {
  std::shared_ptr<Envelope> envelope;
  std::shared_ptr<const std::string> data;  // the spooled bytes
  std::vector<size_t> recipients;           // indexes into envelope->recipients to deliver now
};

struct RecipientResult {
  size_t index = 0;  // into envelope->recipients
  RecipientOutcome outcome;
};

// What the message pipeline made of a message for one hop: one or more bodies,
// each for a group of its recipients, and the recipients a stage refused.
struct PreparedMessage {
  struct Body {
    std::vector<size_t> recipients;
    std::shared_ptr<const std::string> data;
  };
  std::vector<Body> bodies;
  std::vector<RecipientResult> refused;
};

struct AttemptSettings {
  std::string helo_name;
  int max_messages_per_connection = 100;  // 0 = unlimited
  std::chrono::seconds connect_timeout{30};
  // How long an idle connection waits for the next message to its destination
  // (Postfix: smtp_connection_cache_time_limit, 2 s).
  std::chrono::seconds idle_time{2};
  std::function<std::string()> new_session_id;
};

// Everything known before the first connection.
struct AttemptPlan {
  std::string destination;  // the queue key
  std::string domain;       // the recipient (policy) domain
  NextHops hops;
  MessageTlsFlags flags;  // shared by every message of the run (the queue key splits by TLS class)
  DomainPolicy policy;    // PolicySet::match(domain)
  // Next hops ("ip:port") that failed at the connection level recently: tried
  // after every healthy hop (relay/queue/destination_health.h).
  std::set<std::string> hosts_in_backoff;
};

// What the TLS handshake gave (the adapter reads it off the engine).
struct TlsOutcomeInput {
  bool ok = false;
  std::string error;  // when !ok
  std::string protocol, cipher;
  PeerVerification verification;
};

class DeliveryAttempt {
 public:
  // --- actions for the adapter -------------------------------------------
  struct Connect {
    std::string ip;
    uint16_t port = 25;
    std::string mx_host;
    std::chrono::seconds timeout{30};
  };
  struct Send {
    std::string bytes;  // plaintext; the adapter encrypts once TLS is up
  };
  struct StartTls {
    TlsDecision decision;  // what to verify: PKIX host name, DANE records, nothing
    std::string mx_host;
  };
  struct SetTimer {
    std::chrono::seconds after{0};  // 0 = no timer
  };
  struct Close {};  // flush, then close gracefully
  struct Abort {};  // close now
  // Connection reuse: ask the engine for the next ready message to this
  // destination; answer with supplyMessage(). `may_wait`: the connection can
  // stay open for a message that is not ready yet.
  struct NeedMessage {
    bool may_wait = false;
  };
  struct StopWaiting {};  // the connection no longer waits: drop the pending wake-up
  // Run the message pipeline for this hop; answer with prepared().
  struct Prepare {
    JobMessage message;
    JobTarget hop;
  };
  // Outcomes for some recipients of a message. `final`: this run is done with
  // them (delivered, deferred to the queue or bounced); otherwise they go on
  // to the next hop and this is only a record of the hop that failed.
  struct Outcome {
    JobMessage message;
    std::vector<RecipientResult> results;
    std::shared_ptr<const SessionRecord> session;
    bool final = true;
  };
  // A connection to a next hop ended: did it get as far as a usable SMTP
  // session (greeting and EHLO)? Feeds destination health.
  struct HostHealth {
    std::string host;  // "ip:port"
    bool reachable = false;
    std::string error;
  };
  struct Event {
    SessionEvent event;
  };
  // The run is over. `unreachable`: connections were attempted and none of
  // them reached a usable SMTP session.
  struct Finished {
    bool unreachable = false;
    bool connected = false;  // at least one connection reached a usable session
    std::string last_error;
  };
  using Action = std::variant<Connect, Send, StartTls, SetTimer, Close, Abort, NeedMessage, StopWaiting,
                              Prepare, Outcome, HostHealth, Event, Finished>;

  DeliveryAttempt(AttemptSettings settings, AttemptPlan plan, std::vector<JobMessage> messages,
                  std::function<int64_t()> clock);
  ~DeliveryAttempt();
  DeliveryAttempt(const DeliveryAttempt&) = delete;
  DeliveryAttempt& operator=(const DeliveryAttempt&) = delete;

  // --- events from the adapter -------------------------------------------
  void start();
  void connected(bool ok, const std::string& error = {}, const std::string& local_ip = {});
  void received(std::string_view plaintext);
  void tlsDone(const TlsOutcomeInput& tls);
  // The adapter could not set up TLS as asked (no client context, DANE
  // records the library refused): a local fault, never a reason for clear text.
  void tlsUnavailable(const std::string& why);
  void timedOut();
  void closed();
  // Answer to NeedMessage (or a later wake-up while waiting): a message, or
  // none. With none and `waiting` true the connection idles for idle_time.
  void supplyMessage(std::optional<JobMessage> message, bool waiting = false);
  void prepared(PreparedMessage result);

  std::optional<Action> next();
  bool finished() const { return state_ == State::Done; }

  // For logs and tests.
  enum class State {
    Idle,        // no connection; about to pick a hop
    Connecting,  // Connect issued
    Session,     // SMTP conversation before the first Ready (greeting, EHLO, STARTTLS, TLS)
    Preparing,   // Prepare issued
    Sending,     // a transaction is on the wire
    Asking,      // NeedMessage issued
    Waiting,     // idle connection waiting for a message
    Quitting,    // QUIT sent / close requested
    Done,
  };
  State state() const { return state_; }
  const std::string& sessionId() const { return record_.session_id; }

 private:
  struct InFlight {
    JobMessage message;
    std::deque<PreparedMessage::Body> bodies;  // still to send
    std::vector<RecipientResult> results;      // final here
    std::vector<size_t> kept;                  // soft failures kept for the next hop
    std::vector<RecipientResult> kept_results;
    bool on_wire = false;  // a body was handed to the session
  };

  void emit(Action action);
  void emitEvent(SessionEvent::Kind kind, std::string queue_id = {}, std::string recipient = {},
                 EnhancedStatus status = status::kTransient, std::string response = {}, size_t accepted = 0);
  void nextHop(bool same_hop = false);
  bool finalHop() const;
  void skipHop(const JobTarget& target, const TlsDecision& decision);
  void beginConnection(size_t index, bool clear_text_retry);
  void pumpSession();
  bool checkpointAfterEhlo();
  void recordVerdict(const AttemptVerdict& v);
  void publishTlsRecord();
  void sendNextOrAsk();
  void sendBody();
  void messageDone(const SmtpClientSession::MessageResult& result);
  void finishInFlight();
  void failAll(const RecipientOutcome& outcome, std::shared_ptr<const SessionRecord> session);
  void finish();
  std::shared_ptr<const SessionRecord> frozenRecord();

  AttemptSettings settings_;
  AttemptPlan plan_;
  std::function<int64_t()> clock_;
  std::deque<JobMessage> pending_;  // for the current hop, not yet started
  std::deque<JobMessage> kept_;     // soft failures kept for the next hop
  std::deque<Action> actions_;
  State state_ = State::Idle;

  // The hop walk.
  std::vector<JobTarget> targets_;
  std::vector<TlsDecision> decisions_;
  size_t next_target_ = 0;
  bool clear_text_retry_pending_ = false;  // opportunistic TLS failed: same host once more in clear
  RunFailure<std::shared_ptr<const SessionRecord>> run_failure_;
  bool attempted_connection_ = false;
  bool reached_session_ = false;

  // The current connection.
  std::unique_ptr<SmtpClientSession> session_;
  size_t target_index_ = 0;
  JobTarget target_;
  TlsDecision decision_;
  bool clear_text_retry_ = false;  // this connection is the retry in clear after a TLS failure
  SessionRecord record_;           // mutable until published
  // The messages the attempt was made for are all our own TLS reports.
  bool own_reports_only_ = true;
  std::shared_ptr<const SessionRecord> published_;
  AttemptObservation handshake_seen_;
  bool ehlo_checked_ = false;
  bool tls_failed_ = false;
  std::optional<RecipientOutcome> failure_;  // why the connection is ending, when it failed
  std::optional<InFlight> current_;
  int messages_on_connection_ = 0;
};

}  // namespace tlsrelay
