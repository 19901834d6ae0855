// Outbound SMTP client state machine; see smtp_client_session.h.
#include "relay/smtp/smtp_client_session.h"

#include <algorithm>
#include <utility>

#include "common/base64.h"
#include "common/log.h"
#include "relay/smtp/dot_stuffing.h"

namespace tlsrelay {
namespace {

using std::chrono::seconds;
using State = SmtpClientSession::State;

struct StateInfo {
  const char* name;         // for the from -> to trace
  const char* description;  // for humans: "while sending RCPT TO"
  seconds timeout;          // RFC 5321 §4.5.3.2 client timeouts; 0 = no protocol timer
};

// Indexed by State; keep in enum order.
constexpr StateInfo kStates[] = {
    {"greeting", "receiving the initial greeting", seconds{300}},  // §4.5.3.2.1: 5 minutes
    {"ehlo", "sending EHLO", seconds{300}},
    {"helo", "sending HELO", seconds{300}},
    {"starttls", "sending STARTTLS", seconds{300}},
    {"tls-handshake", "performing the TLS handshake", seconds{300}},
    {"auth", "authenticating", seconds{300}},
    {"ready", "idle between messages", seconds{0}},
    {"rset", "sending RSET", seconds{300}},
    {"mail", "sending MAIL FROM", seconds{300}},        // §4.5.3.2.2: 5 minutes
    {"rcpt", "sending RCPT TO", seconds{300}},          // §4.5.3.2.3: 5 minutes
    {"data", "sending DATA", seconds{120}},             // §4.5.3.2.4: 2 minutes
    {"data-end", "sending end of data", seconds{600}},  // §4.5.3.2.6: 10 minutes
    {"quit", "sending QUIT", seconds{300}},
    {"closed", "closed", seconds{0}},
    {"failed", "failed", seconds{0}},
};
static_assert(sizeof(kStates) / sizeof(kStates[0]) == static_cast<size_t>(State::Failed) + 1,
              "state table out of sync with enum State");

const StateInfo& info(State s) {
  return kStates[static_cast<size_t>(s)];
}

bool hasLineBreakOrNul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

const SmtpReply& emptyReply() {
  static const SmtpReply reply;
  return reply;
}

}  // namespace

const char* toString(SmtpClientSession::State state) {
  return info(state).name;
}

bool SmtpClientSession::MessageResult::accepted(size_t i) const {
  return i < recipient_replies.size() && recipient_replies[i].isPositive() && data_reply &&
         data_reply->isPositive();
}

const SmtpReply& SmtpClientSession::MessageResult::replyFor(size_t i) const {
  if (i >= recipient_replies.size()) return emptyReply();
  if (recipient_replies[i].isPositive()) {
    if (data_reply) return *data_reply;
    if (data_command_reply) return *data_command_reply;
  }
  return recipient_replies[i];
}

SmtpClientSession::SmtpClientSession(ClientSessionConfig config) : config_(std::move(config)) {
  tls_active_ = config_.tls_already;
  expect(Expect::Greeting);
}

const char* SmtpClientSession::stateName() const {
  return info(state_).description;
}

std::chrono::seconds SmtpClientSession::currentTimeout() const {
  return info(state_).timeout;
}

void SmtpClientSession::enterState(State next) {
  if (next == state_) return;
  if (log::enabled(log::Level::Debug))
    log::debug("smtp", std::string(info(state_).name) + " -> " + info(next).name, {{"id", config_.log_id}});
  state_ = next;
}

void SmtpClientSession::send(std::string line) {
  output_ += line;
  output_ += "\r\n";
}

void SmtpClientSession::expect(Expect e, size_t recipient) {
  pending_.push_back(Pending{e, recipient});
}

std::string SmtpClientSession::takeOutput() {
  return std::exchange(output_, std::string());
}

std::optional<SmtpClientSession::Event> SmtpClientSession::nextEvent() {
  if (events_.empty()) return std::nullopt;
  Event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void SmtpClientSession::feed(std::string_view bytes) {
  if (state_ == State::Closed || state_ == State::Failed) return;
  if (state_ == State::TlsHandshake) {
    // RFC 3207 §4.2: nothing received in clear after the STARTTLS reply may be
    // trusted; these bytes belong to no command of ours.
    log::warn("smtp", "discarding plaintext received during the TLS handshake", {{"id", config_.log_id}});
    return;
  }
  parser_.feed(bytes);
  while (state_ != State::Closed && state_ != State::Failed && state_ != State::TlsHandshake) {
    auto reply = parser_.next();
    if (!reply) break;
    onReply(*reply);
  }
  // In TlsHandshake the rest is plaintext after the STARTTLS reply: discarded
  // with the parser in tlsEstablished(), whether it parses or not.
  if (parser_.failed() && state_ != State::Closed && state_ != State::Failed &&
      state_ != State::TlsHandshake) {
    if (quitting_) {
      enterState(State::Closed);
      events_.push_back(Event{EventKind::Closed, {}, {}, {}, false});
      return;
    }
    fail("malformed reply while " + std::string(stateName()) + ": " + parser_.error());
  }
}

void SmtpClientSession::setStateFromPending() {
  if (pending_.empty()) return;
  switch (pending_.front().expect) {
    case Expect::Greeting:
      enterState(State::Greeting);
      break;
    case Expect::Ehlo:
      enterState(State::Ehlo);
      break;
    case Expect::Helo:
      enterState(State::Helo);
      break;
    case Expect::StartTls:
      enterState(State::StartTls);
      break;
    case Expect::Auth:
      enterState(State::Auth);
      break;
    case Expect::Rset:
      enterState(State::Rset);
      break;
    case Expect::Mail:
      enterState(State::Mail);
      break;
    case Expect::Rcpt:
      enterState(State::Rcpt);
      break;
    case Expect::Data:
      enterState(State::Data);
      break;
    case Expect::DataEnd:
      enterState(State::DataEnd);
      break;
    case Expect::Quit:
      enterState(State::Quit);
      break;
  }
}

void SmtpClientSession::onReply(const SmtpReply& reply) {
  if (quitting_) {
    // After quit() only the QUIT reply matters; earlier pipelined replies are dropped.
    Expect answered = pending_.empty() ? Expect::Quit : pending_.front().expect;
    if (!pending_.empty()) pending_.pop_front();
    if (answered == Expect::Quit || reply.code == 421 || pending_.empty()) {
      pending_.clear();
      enterState(State::Closed);
      events_.push_back(Event{EventKind::Closed, {}, {}, {}, false});
    }
    return;
  }
  if (reply.code == 421) {
    // RFC 5321 §3.8: 421 means the server is shutting the transmission channel.
    fail("server is closing the connection while " + std::string(stateName()) + ": " + reply.text(), reply);
    return;
  }
  if (pending_.empty()) {
    fail("unexpected reply while " + std::string(stateName()) + ": " + reply.text(), reply);
    return;
  }
  Pending answered = pending_.front();
  pending_.pop_front();
  bool needs_transaction = answered.expect == Expect::Mail || answered.expect == Expect::Rcpt ||
                           answered.expect == Expect::Data || answered.expect == Expect::DataEnd;
  if (needs_transaction && !txn_) {  // impossible by construction; never dereference null
    fail("internal error: reply to a transaction that does not exist", reply);
    return;
  }
  switch (answered.expect) {
    case Expect::Greeting:
      onGreeting(reply);
      break;
    case Expect::Ehlo:
      onEhlo(reply);
      break;
    case Expect::Helo:
      onHelo(reply);
      break;
    case Expect::StartTls:
      onStartTls(reply);
      break;
    case Expect::Auth:
      onAuth(reply);
      break;
    case Expect::Rset:
      onRset(reply);
      break;
    case Expect::Mail:
      onMail(reply);
      break;
    case Expect::Rcpt:
      onRcpt(reply, answered.recipient);
      break;
    case Expect::Data:
      onData(reply);
      break;
    case Expect::DataEnd:
      onDataEnd(reply);
      break;
    case Expect::Quit:
      break;  // handled above (quitting_)
  }
  if (state_ != State::Closed && state_ != State::Failed && state_ != State::TlsHandshake &&
      state_ != State::Ready) {
    setStateFromPending();
  }
}

void SmtpClientSession::onGreeting(const SmtpReply& reply) {
  if (!reply.isPositive()) {
    fail("server refused the connection in its greeting: " + reply.text(), reply);
    return;
  }
  sendHello(true);
}

void SmtpClientSession::sendHello(bool ehlo) {
  send((ehlo ? "EHLO " : "HELO ") + config_.helo_name);
  expect(ehlo ? Expect::Ehlo : Expect::Helo);
  enterState(ehlo ? State::Ehlo : State::Helo);
}

void SmtpClientSession::onEhlo(const SmtpReply& reply) {
  if (reply.isPositive()) {
    capabilities_ = EhloCapabilities::parse(reply);
    afterHello();
  } else if (reply.isPermanent()) {
    // RFC 5321 §3.2: a server that does not support EHLO answers 500/502; fall back to HELO.
    capabilities_ = EhloCapabilities{};
    sendHello(false);
  } else {
    fail("server refused EHLO: " + reply.text(), reply);
  }
}

void SmtpClientSession::onHelo(const SmtpReply& reply) {
  if (!reply.isPositive()) {
    fail("server refused HELO: " + reply.text(), reply);
    return;
  }
  capabilities_ = EhloCapabilities{};  // HELO: no extensions at all
  afterHello();
}

void SmtpClientSession::afterHello() {
  hello_accepted_ = true;
  if (!tls_active_ && config_.starttls != StartTlsMode::Never && capabilities_.starttls && !tried_starttls_) {
    tried_starttls_ = true;
    send("STARTTLS");  // RFC 2920 §3.1: STARTTLS ends a group; nothing is pipelined after it
    expect(Expect::StartTls);
    enterState(State::StartTls);
    return;
  }
  if (!tls_active_ && config_.starttls == StartTlsMode::Required) {
    // Required: never send the message in clear; the caller defers it.
    fail("STARTTLS is required but the server did not offer it", std::nullopt, /*starttls_missing=*/true);
    return;
  }
  if (config_.credentials && !authenticated_) {
    startAuth();
    return;
  }
  enterReady();
}

// RFC 4954. Credentials go only over TLS: Postfix's smtp_sasl_tls_security_options
// allow plaintext mechanisms in clear by default; ours never does.
void SmtpClientSession::startAuth() {
  if (!tls_active_) {
    failAuth("refusing to send AUTH credentials without TLS");
    return;
  }
  const auto& offered = capabilities_.auth;
  auto has = [&](std::string_view m) {
    return std::find(offered.begin(), offered.end(), m) != offered.end();
  };
  if (offered.empty()) {
    failAuth("the server does not offer AUTH");
    return;
  }
  const SmtpCredentials& c = *config_.credentials;
  if (has("PLAIN")) {
    // RFC 4616: authzid NUL authcid NUL passwd, sent as the initial response.
    std::string plain;
    plain.reserve(c.username.size() + c.password.size() + 2);
    plain += '\0';
    plain += c.username;
    plain += '\0';
    plain += c.password;
    send("AUTH PLAIN " + base64Encode(plain));
    auth_step_ = AuthStep::PlainResponse;
  } else if (has("LOGIN")) {
    send("AUTH LOGIN");
    auth_step_ = AuthStep::LoginUser;
  } else {
    std::string list;
    for (const auto& m : offered) list += (list.empty() ? "" : " ") + m;
    failAuth("no common AUTH mechanism (the server offers " + list + "; we speak PLAIN and LOGIN)");
    return;
  }
  expect(Expect::Auth);
  enterState(State::Auth);
}

void SmtpClientSession::onAuth(const SmtpReply& reply) {
  if (reply.code == 235) {
    authenticated_ = true;
    auth_step_ = AuthStep::Done;
    enterReady();
    return;
  }
  if (reply.code == 334) {
    const SmtpCredentials& c = *config_.credentials;
    switch (auth_step_) {
      case AuthStep::LoginUser:  // the server's prompt is "Username:"; its wording is not relied on
        send(base64Encode(c.username));
        auth_step_ = AuthStep::LoginPassword;
        expect(Expect::Auth);
        return;
      case AuthStep::LoginPassword:
        send(base64Encode(c.password));
        auth_step_ = AuthStep::Done;
        expect(Expect::Auth);
        return;
      default:
        break;
    }
    send("*");  // RFC 4954 §4: cancel an exchange we cannot continue
    expect(Expect::Auth);
    auth_step_ = AuthStep::None;
    return;
  }
  if (auth_step_ == AuthStep::None) {  // the reply to our "*"
    failAuth("the server asked for more AUTH steps than the mechanism has", reply);
    return;
  }
  failAuth("the server refused AUTH: " + reply.text(), reply);
}

void SmtpClientSession::failAuth(std::string reason, std::optional<SmtpReply> reply) {
  // Also when it is decided on the EHLO reply: the stage that failed is AUTH.
  if (reason.find(" while ") == std::string::npos) reason += " (while authenticating)";
  fail(std::move(reason), std::move(reply));
  events_.back().auth_failed = true;
}

void SmtpClientSession::onStartTls(const SmtpReply& reply) {
  if (reply.isPositive()) {
    enterState(State::TlsHandshake);
    events_.push_back(Event{EventKind::StartTls, {}, {}, {}, false});
    return;
  }
  if (config_.starttls == StartTlsMode::Required) {
    fail("server refused STARTTLS, which is required: " + reply.text(), reply);
    return;
  }
  log::info("smtp", "server refused STARTTLS; continuing in clear (opportunistic)",
            {{"id", config_.log_id}, {"reply", reply.text()}});
  enterReady();
}

void SmtpClientSession::tlsEstablished() {
  if (state_ != State::TlsHandshake) {
    fail(std::string("TLS established while ") + stateName() + " (adapter bug)");
    return;
  }
  tls_active_ = true;
  // RFC 3207 §4.2: the client MUST discard any knowledge obtained from the server
  // before TLS, and MUST NOT use bytes received in clear after the 220 (injection).
  if (parser_.hasPendingData()) {
    log::warn("smtp", "discarding plaintext the server sent after its STARTTLS reply",
              {{"id", config_.log_id}});
  }
  parser_ = SmtpReplyParser{};
  capabilities_ = EhloCapabilities{};
  sendHello(true);  // RFC 3207 §4.2: the client SHOULD send EHLO as the first command after TLS
}

void SmtpClientSession::tlsFailed() {
  if (state_ == State::Closed || state_ == State::Failed) return;
  fail("TLS handshake failed");
}

void SmtpClientSession::enterReady() {
  enterState(State::Ready);
  events_.push_back(Event{EventKind::Ready, {}, {}, {}, false});
}

void SmtpClientSession::sendMessage(const OutboundMessage& message) {
  if (state_ != State::Ready || txn_) {
    log::error("smtp", std::string("sendMessage while ") + stateName() + " (adapter bug)",
               {{"id", config_.log_id}});
    Event done{EventKind::MessageDone, {}, {}, {}, false};
    SmtpReply local = SmtpReply::local(451, "4.3.0", std::string("client session not ready: ") + stateName());
    done.result.mail_reply = local;
    done.result.recipient_replies.assign(message.recipients.size(), local);
    events_.push_back(std::move(done));
    return;
  }
  txn_ = std::make_unique<Transaction>();
  txn_->message = message;
  txn_->result.recipient_replies.resize(message.recipients.size());
  const OutboundMessage& m = txn_->message;

  if (m.recipients.empty()) {
    finishMessage();
    return;
  }
  if (!m.data) {
    failLocally(SmtpReply::local(451, "4.3.0", "no message data to send (local error)"));
    return;
  }
  bool bad_chars = hasLineBreakOrNul(m.mail_from) || hasLineBreakOrNul(m.envid) || hasLineBreakOrNul(m.ret);
  for (const auto& list : {&m.recipients, &m.notify, &m.orcpt}) {
    for (const auto& s : *list) bad_chars = bad_chars || hasLineBreakOrNul(s);
  }
  if (bad_chars) {
    // Guards against command injection through envelope values.
    failLocally(SmtpReply::local(501, "5.5.4", "envelope contains a line break or NUL (local error)"));
    return;
  }
  if (m.requiretls && !(tls_active_ && capabilities_.requiretls)) {
    // RFC 8689 §4.2.1: a REQUIRETLS message MUST NOT go in clear or to a server
    // that does not offer REQUIRETLS over TLS. That is a property of this hop,
    // not of the message: fail the connection so the caller tries the next MX
    // and retries later. Checked before the permanent checks below, so a hop
    // we may not use anyway never bounces the message.
    bool tls = tls_active_;
    std::string why = tls ? "the server does not offer REQUIRETLS over TLS" : "TLS is not active";
    fail("cannot send a REQUIRETLS message while " + why,
         SmtpReply::local(450, "4.7.10", "REQUIRETLS message not sent: " + why), false,
         tls ? RequireTlsRefusal::NoExt : RequireTlsRefusal::NoStartTls);
    return;
  }
  if (m.smtputf8 && !capabilities_.smtputf8) {
    // RFC 6531 §3.2: an SMTPUTF8 message cannot go to a server that does not offer it.
    failLocally(SmtpReply::local(550, "5.6.7", "SMTPUTF8 is required but the next hop does not offer it"));
    return;
  }
  if (capabilities_.size_known && capabilities_.max_size > 0 && m.data->size() > capabilities_.max_size) {
    // RFC 1870 §6: the client should not send a message larger than the declared SIZE.
    failLocally(SmtpReply::local(552, "5.3.4",
                                 "message size " + std::to_string(m.data->size()) +
                                     " exceeds the next hop's limit of " +
                                     std::to_string(capabilities_.max_size)));
    return;
  }
  beginTransaction();
}

void SmtpClientSession::failLocally(const SmtpReply& reply) {
  txn_->result.mail_reply = reply;
  txn_->result.recipient_replies.assign(txn_->message.recipients.size(), reply);
  log::info("smtp", "message not sent: " + reply.text(), {{"id", config_.log_id}});
  finishMessage();
}

void SmtpClientSession::beginTransaction() {
  if (needs_rset_) {
    // The previous transaction stayed open (MAIL accepted, no data sent).
    needs_rset_ = false;
    send("RSET");
    expect(Expect::Rset);
    if (!capabilities_.pipelining) {
      setStateFromPending();
      return;
    }
  }
  sendMail();
  if (capabilities_.pipelining) {
    // RFC 2920 §3.1: MAIL, RCPT and DATA may be sent as one group; DATA is last.
    for (size_t i = 0; i < txn_->message.recipients.size(); ++i) sendRcpt(i);
    send("DATA");
    expect(Expect::Data);
    txn_->next_rcpt_to_send = txn_->message.recipients.size();
  }
  setStateFromPending();
}

std::string SmtpClientSession::mailCommand() const {
  const OutboundMessage& m = txn_->message;
  std::string cmd = "MAIL FROM:<" + m.mail_from + ">";
  if (m.body_8bit && capabilities_.eightbitmime) cmd += " BODY=8BITMIME";          // RFC 6152
  if (m.smtputf8 && capabilities_.smtputf8) cmd += " SMTPUTF8";                    // RFC 6531
  if (capabilities_.size_known) cmd += " SIZE=" + std::to_string(m.data->size());  // RFC 1870
  if (m.requiretls) cmd += " REQUIRETLS";                                          // RFC 8689
  if (capabilities_.dsn) {                                                         // RFC 3461 §4.3, §4.4
    if (!m.ret.empty()) cmd += " RET=" + m.ret;
    if (!m.envid.empty()) cmd += " ENVID=" + m.envid;
  }
  return cmd;
}

std::string SmtpClientSession::rcptCommand(size_t index) const {
  const OutboundMessage& m = txn_->message;
  std::string cmd = "RCPT TO:<" + m.recipients[index] + ">";
  if (capabilities_.dsn) {  // RFC 3461 §4.1, §4.2
    if (index < m.notify.size() && !m.notify[index].empty()) cmd += " NOTIFY=" + m.notify[index];
    if (index < m.orcpt.size() && !m.orcpt[index].empty()) cmd += " ORCPT=" + m.orcpt[index];
  }
  return cmd;
}

void SmtpClientSession::sendMail() {
  send(mailCommand());
  expect(Expect::Mail);
}

void SmtpClientSession::sendRcpt(size_t index) {
  send(rcptCommand(index));
  expect(Expect::Rcpt, index);
}

void SmtpClientSession::sendNextRcptOrData() {
  Transaction& t = *txn_;
  if (t.next_rcpt_to_send < t.message.recipients.size()) {
    sendRcpt(t.next_rcpt_to_send++);
  } else if (t.recipients_accepted > 0) {
    send("DATA");
    expect(Expect::Data);
  } else {
    needs_rset_ = true;  // MAIL was accepted; the transaction is still open
    finishMessage();
  }
}

void SmtpClientSession::onRset(const SmtpReply& reply) {
  if (!reply.isPositive()) {
    fail("server refused RSET: " + reply.text(), reply);
    return;
  }
  if (txn_ && !capabilities_.pipelining) sendMail();
}

void SmtpClientSession::onMail(const SmtpReply& reply) {
  Transaction& t = *txn_;
  if (reply.isPositive()) {
    t.mail_accepted = true;
    if (!capabilities_.pipelining) sendNextRcptOrData();
    return;
  }
  if (!reply.isTransient() && !reply.isPermanent()) {
    fail("unexpected reply to MAIL FROM: " + reply.text(), reply);
    return;
  }
  // A refused MAIL fails every recipient of the message with that reply.
  t.mail_refused = true;
  t.result.mail_reply = reply;
  t.result.recipient_replies.assign(t.message.recipients.size(), reply);
  if (!capabilities_.pipelining) finishMessage();
  // Pipelined: the RCPT and DATA replies still arrive and are consumed below.
}

void SmtpClientSession::onRcpt(const SmtpReply& reply, size_t index) {
  Transaction& t = *txn_;
  if (t.mail_refused) return;  // answers to a transaction that never started
  if (!reply.isPositive() && !reply.isTransient() && !reply.isPermanent()) {
    fail("unexpected reply to RCPT TO: " + reply.text(), reply);
    return;
  }
  t.result.recipient_replies[index] = reply;
  if (reply.isPositive()) ++t.recipients_accepted;
  if (!capabilities_.pipelining) sendNextRcptOrData();
}

void SmtpClientSession::onData(const SmtpReply& reply) {
  Transaction& t = *txn_;
  if (reply.isIntermediate()) {
    if (!t.mail_refused && t.recipients_accepted > 0) {
      appendDotStuffed(*t.message.data, output_);
      t.payload_sent = true;
    } else {
      // RFC 2920 §3.1: DATA accepted although no recipient was: the client
      // SHOULD send a single dot to end the (empty) transaction.
      send(".");
    }
    expect(Expect::DataEnd);
    return;
  }
  if (reply.isPositive()) {
    fail("unexpected positive reply to DATA: " + reply.text(), reply);
    return;
  }
  if (t.recipients_accepted > 0) t.result.data_command_reply = reply;
  needs_rset_ = t.mail_accepted;  // the MAIL transaction is still open
  finishMessage();
}

void SmtpClientSession::onDataEnd(const SmtpReply& reply) {
  Transaction& t = *txn_;
  if (reply.isIntermediate()) {
    fail("unexpected reply after end of data: " + reply.text(), reply);
    return;
  }
  if (t.payload_sent) t.result.data_reply = reply;
  needs_rset_ = false;  // RFC 5321 §4.1.1.4: the end of data closes the transaction either way
  finishMessage();
}

void SmtpClientSession::finishMessage() {
  Event done{EventKind::MessageDone, {}, {}, {}, false};
  done.result = std::move(txn_->result);
  txn_.reset();
  events_.push_back(std::move(done));
  enterReady();
}

void SmtpClientSession::quit() {
  if (state_ == State::Closed || state_ == State::Failed || quitting_) return;
  quitting_ = true;
  txn_.reset();
  if (state_ == State::TlsHandshake) {
    // Nothing can be sent in clear now and the TLS session does not exist yet.
    enterState(State::Closed);
    events_.push_back(Event{EventKind::Closed, {}, {}, {}, false});
    return;
  }
  send("QUIT");
  expect(Expect::Quit);
  enterState(State::Quit);
}

void SmtpClientSession::timeout() {
  if (state_ == State::Closed || state_ == State::Failed) return;
  if (quitting_) {
    enterState(State::Closed);
    events_.push_back(Event{EventKind::Closed, {}, {}, {}, false});
    return;
  }
  fail(std::string("timeout while ") + stateName());
}

void SmtpClientSession::fail(std::string reason, std::optional<SmtpReply> reply, bool starttls_missing,
                             RequireTlsRefusal requiretls_refusal) {
  // Every reason names the stage, so logs and DSNs say where it went wrong.
  if (reason.find(" while ") == std::string::npos) reason += std::string(" (while ") + stateName() + ")";
  log::info("smtp", "connection failed: " + reason, {{"id", config_.log_id}, {"state", info(state_).name}});
  pending_.clear();
  txn_.reset();
  enterState(State::Failed);
  Event e{EventKind::Failed, {}, std::move(reason), std::move(reply), starttls_missing};
  e.requiretls_refusal = requiretls_refusal;
  events_.push_back(std::move(e));
}

}  // namespace tlsrelay
