// The outbound SMTP client protocol (RFC 5321, with STARTTLS RFC 3207 and
// PIPELINING RFC 2920) as a sans-I/O state machine: the libuv adapter feeds it
// the server's plaintext bytes, sends what takeOutput() returns, runs the TLS
// handshake and the timers, and reacts to events. The session makes no policy
// decisions beyond the StartTlsMode it is given; failure scope (site / message /
// recipient) is decided by the caller from the replies it reports.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/tls_decision.h"
#include "policy/tls_report.h"
#include "relay/smtp/ehlo_capabilities.h"
#include "relay/smtp/smtp_credentials.h"
#include "relay/smtp/smtp_reply.h"

namespace tlsrelay {

struct OutboundMessage {
  std::string mail_from;  // "" = null sender
  std::vector<std::string> recipients;
  bool body_8bit = false, smtputf8 = false, requiretls = false;
  std::string envid, ret;                   // DSN params, passed on only if peer offers DSN
  std::vector<std::string> notify, orcpt;   // per-recipient, may be empty vectors
  std::shared_ptr<const std::string> data;  // message bytes with CRLF line ends (not stuffed)
};

struct ClientSessionConfig {
  std::string helo_name;
  StartTlsMode starttls = StartTlsMode::Opportunistic;  // policy/tls_decision.h
  bool tls_already = false;  // implicit TLS (not used for MX delivery, but keep possible)
  std::string log_id;        // queue or connection id put on every log line
  // When set, the session authenticates (AUTH PLAIN, else LOGIN) before the
  // first Ready, and only over TLS: in clear it fails without sending them.
  std::shared_ptr<const SmtpCredentials> credentials;
};

class SmtpClientSession {
 public:
  enum class State {
    Greeting,  // waiting for the 220 banner
    Ehlo,
    Helo,
    StartTls,      // STARTTLS sent, waiting for 220
    TlsHandshake,  // adapter is running the handshake
    Auth,          // AUTH sent, exchanging the SASL steps
    Ready,         // idle between messages
    Rset,
    Mail,
    Rcpt,
    Data,     // DATA sent, waiting for 354
    DataEnd,  // payload and "." sent, waiting for the final reply
    Quit,
    Closed,
    Failed,
  };

  enum class EventKind {
    StartTls,     // adapter: run the TLS handshake now, then call tlsEstablished()/tlsFailed()
    Ready,        // connection is idle: call sendMessage() or quit()
    MessageDone,  // result for the current message (see MessageResult)
    Failed,       // connection unusable; the current message (if any) was not accepted
    Closed,       // QUIT exchange finished (or the connection was torn down): close the socket
  };

  struct MessageResult {
    // One per recipient, in order: the RCPT reply. When the whole message failed
    // before RCPT (MAIL refused, or a local check such as SIZE), every entry is
    // that reply. For accepted recipients the final word is in data_reply.
    std::vector<SmtpReply> recipient_replies;
    std::optional<SmtpReply> mail_reply;  // MAIL FROM reply (or local reply) if it failed
    std::optional<SmtpReply> data_reply;  // final reply after "." (absent if no rcpt accepted / DATA refused)
    std::optional<SmtpReply> data_command_reply;  // reply to DATA when it was not 354
    bool accepted(size_t i) const;                // recipient i is delivered (RCPT 2xx and data reply 2xx)
    // The reply that decided recipient i's fate: the data reply (or the refused
    // DATA reply) for RCPT-accepted recipients, else its RCPT/MAIL/local reply.
    const SmtpReply& replyFor(size_t i) const;
  };

  struct Event {
    EventKind kind;
    MessageResult result;            // MessageDone
    std::string reason;              // Failed: human text with the stage and the reply
    std::optional<SmtpReply> reply;  // Failed: the reply that caused it, if any
    // Failed: STARTTLS required but not offered (RFC 8460 starttls-not-supported).
    bool starttls_missing = false;
    // Failed: this connection cannot carry the REQUIRETLS message given to
    // sendMessage() (RFC 8689 §4.2.1): NoStartTls (TLS is not active) or NoExt
    // (the EHLO over TLS lacks REQUIRETLS). The hop failed, not the message:
    // `reply` is a local 450 4.7.10, and the caller tries the next MX and finally
    // retries. Nothing of the message was sent.
    RequireTlsRefusal requiretls_refusal = RequireTlsRefusal::None;
    // Failed: authentication to the next hop failed or was impossible (no TLS,
    // no AUTH offered, no common mechanism, credentials refused). A fault of
    // our configuration or the hop, never of the message.
    bool auth_failed = false;
  };

  // Data-block timeout of RFC 5321 §4.5.3.2.5 (3 minutes per TCP send): for the
  // adapter's writes while a large payload drains.
  static constexpr std::chrono::seconds kDataBlockTimeout{180};

  explicit SmtpClientSession(ClientSessionConfig config);

  void feed(std::string_view bytes);  // plaintext bytes from the server
  std::string takeOutput();           // plaintext bytes to send
  std::optional<Event> nextEvent();

  void tlsEstablished();  // RFC 3207 §4.2: discard server knowledge, EHLO again
  void tlsFailed();       // the session emits Failed (opportunistic: adapter reconnects in clear)
  void sendMessage(const OutboundMessage& message);  // only after Ready
  void quit();                                       // send QUIT; Closed follows
  void timeout();  // the adapter's timer for currentTimeout() fired -> Failed

  // RFC 5321 §4.5.3.2 client timeouts for the current state. Zero means no
  // protocol timer (Ready: idle time is the adapter's connection-reuse policy;
  // Closed/Failed).
  std::chrono::seconds currentTimeout() const;
  const EhloCapabilities& capabilities() const { return capabilities_; }
  bool tlsActive() const { return tls_active_; }
  // The server accepted EHLO or HELO at least once: it is up and speaks SMTP,
  // whatever TLS policy or the transaction make of the session afterwards.
  bool helloAccepted() const { return hello_accepted_; }
  bool authenticated() const { return authenticated_; }
  const char* stateName() const;  // "sending RCPT TO"
  State state() const { return state_; }

 private:
  // What the next reply from the server answers. Kept as a queue because with
  // PIPELINING several commands are outstanding at once (RFC 2920 §3.1).
  enum class Expect { Greeting, Ehlo, Helo, StartTls, Auth, Rset, Mail, Rcpt, Data, DataEnd, Quit };
  struct Pending {
    Expect expect;
    size_t recipient = 0;  // Rcpt: index into the message's recipients
  };
  // Delivery-attempt state, apart from the connection state above.
  struct Transaction {
    OutboundMessage message;
    MessageResult result;
    bool mail_accepted = false;
    bool mail_refused = false;
    size_t recipients_accepted = 0;
    size_t next_rcpt_to_send = 0;  // without PIPELINING
    bool payload_sent = false;     // false when DataEnd answers a lone "." (RFC 2920 §3.1)
  };

  void enterState(State next);
  void send(std::string line);  // appends CRLF
  void expect(Expect e, size_t recipient = 0);
  void onReply(const SmtpReply& reply);
  void onGreeting(const SmtpReply& reply);
  void onEhlo(const SmtpReply& reply);
  void onHelo(const SmtpReply& reply);
  void afterHello();
  void onStartTls(const SmtpReply& reply);
  void startAuth();
  void onAuth(const SmtpReply& reply);
  void failAuth(std::string reason, std::optional<SmtpReply> reply = std::nullopt);
  void onRset(const SmtpReply& reply);
  void onMail(const SmtpReply& reply);
  void onRcpt(const SmtpReply& reply, size_t index);
  void onData(const SmtpReply& reply);
  void onDataEnd(const SmtpReply& reply);
  void sendHello(bool ehlo);
  void beginTransaction();
  void sendMail();
  void sendRcpt(size_t index);
  void sendNextRcptOrData();
  void finishMessage();
  void enterReady();
  void failLocally(const SmtpReply& reply);
  void fail(std::string reason, std::optional<SmtpReply> reply = std::nullopt, bool starttls_missing = false,
            RequireTlsRefusal requiretls_refusal = RequireTlsRefusal::None);
  void setStateFromPending();
  std::string mailCommand() const;
  std::string rcptCommand(size_t index) const;

  ClientSessionConfig config_;
  State state_ = State::Greeting;
  SmtpReplyParser parser_;
  std::string output_;
  std::deque<Event> events_;
  std::deque<Pending> pending_;
  EhloCapabilities capabilities_;
  bool tls_active_ = false;
  bool tried_starttls_ = false;
  bool hello_accepted_ = false;
  bool authenticated_ = false;
  enum class AuthStep { None, PlainResponse, LoginUser, LoginPassword, Done } auth_step_ = AuthStep::None;
  bool needs_rset_ = false;           // a MAIL transaction is open after a failed message
  bool quitting_ = false;             // quit() called: only the QUIT reply matters now
  std::unique_ptr<Transaction> txn_;  // the message in flight, if any
};

const char* toString(SmtpClientSession::State state);

}  // namespace tlsrelay
