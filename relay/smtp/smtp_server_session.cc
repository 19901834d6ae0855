// The inbound SMTP server state machine; see smtp_server_session.h. Command
// handlers live here, the DATA stream in smtp_server_data_reader.cc, and the
// pure command/address parsing in smtp_command.cc.
#include "relay/smtp/smtp_server_session.h"

#include <algorithm>
#include <ctime>
#include <iterator>
#include <set>

#include "common/ascii.h"
#include "common/cidr.h"
#include "common/log.h"
#include "common/time_format.h"
#include "common/wildcard.h"
#include "message/address.h"
#include "relay/smtp/smtp_command.h"

namespace tlsrelay {
namespace {

constexpr std::string_view kStage = "smtpd";
// Input kept while a completion is awaited (a client may pipeline the next
// transaction's commands after the end of data, RFC 2920 §3.1, never megabytes).
constexpr size_t kMaxPendingInput = 1024 * 1024;

struct StateInfo {
  const char* name;
  std::chrono::seconds timeout;
};

// Indexed by SmtpServerSession::State. RFC 5321 §4.5.3.2.7: at least 5 minutes
// awaiting a command; §4.5.3.2.5: 3 minutes per data block; §4.5.3.2.6: the
// client waits 10 minutes for the reply to the end of data, so storing may too.
constexpr StateInfo kStates[] = {
    {"connected", std::chrono::seconds(300)},
    {"awaiting HELO/EHLO", std::chrono::seconds(300)},
    {"ready", std::chrono::seconds(300)},
    {"after MAIL", std::chrono::seconds(300)},
    {"after RCPT", std::chrono::seconds(300)},
    {"receiving DATA", std::chrono::seconds(180)},
    {"awaiting AUTH PLAIN response", std::chrono::seconds(300)},
    {"awaiting AUTH LOGIN username", std::chrono::seconds(300)},
    {"awaiting AUTH LOGIN password", std::chrono::seconds(300)},
    {"TLS handshake", std::chrono::seconds(300)},
    {"checking credentials", std::chrono::seconds(300)},
    {"storing message", std::chrono::seconds(600)},
    {"closed", std::chrono::seconds(0)},
};
static_assert(std::size(kStates) == static_cast<size_t>(SmtpServerSession::State::Closed) + 1,
              "one row per state");

std::string upperCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Printable text for a reply or header: no controls, no CR/LF injection.
std::string sanitize(std::string_view text, size_t max_length) {
  std::string out;
  for (unsigned char c : text.substr(0, max_length)) {
    out.push_back(c >= 33 && c <= 126 && c != '(' && c != ')' && c != '\\' && c != ';' ? static_cast<char>(c)
                                                                                       : '?');
  }
  return out;
}

// "local+requiretls@domain" (PRODUCT.md): returns "local@domain", or "" when
// the tag is absent. Only unquoted local parts carry the tag.
std::string stripRequireTlsTag(const std::string& address) {
  static constexpr std::string_view kTag = "+requiretls";
  size_t at = address.rfind('@');
  if (at == std::string::npos || at <= kTag.size() || address.front() == '"') return "";
  std::string_view local(address.data(), at);
  if (upperCopy(local.substr(local.size() - kTag.size())) != upperCopy(kTag)) return "";
  return std::string(local.substr(0, local.size() - kTag.size())) + address.substr(at);
}

bool isDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// RFC 3461 §4.1: NOTIFY = "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ).
bool validNotify(const std::string& value) {
  std::string upper = upperCopy(value);
  if (upper == "NEVER") return true;
  std::set<std::string> seen;
  size_t start = 0;
  while (true) {
    size_t comma = upper.find(',', start);
    std::string item = upper.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item != "SUCCESS" && item != "FAILURE" && item != "DELAY") return false;
    if (!seen.insert(item).second) return false;
    if (comma == std::string::npos) return true;
    start = comma + 1;
  }
}

// RFC 3461 §4.2: ORCPT = addr-type ";" xtext, addr-type an atom.
bool validOrcpt(const std::string& value) {
  size_t semi = value.find(';');
  if (semi == std::string::npos || semi == 0 || semi + 1 >= value.size()) return false;
  for (size_t i = 0; i < semi; ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (!std::isalnum(c) && c != '-') return false;
  }
  return smtp::isValidXtext(std::string_view(value).substr(semi + 1));
}

}  // namespace

SmtpServerSession::SmtpServerSession(ServerSessionConfig config, SourcePolicy source, std::string client_ip)
    : config_(std::move(config)), source_(source), client_ip_(std::move(client_ip)) {
  if (config_.max_errors < 1) config_.max_errors = 1;
  if (config_.max_line_length < 512) config_.max_line_length = 512;  // RFC 5321 §4.5.3.1.4
  tls_active_ = config_.implicit_tls;
}

const char* SmtpServerSession::stateName(State state) {
  return kStates[static_cast<size_t>(state)].name;
}

std::chrono::seconds SmtpServerSession::currentTimeout() const {
  return kStates[static_cast<size_t>(state_)].timeout;
}

bool SmtpServerSession::closed() const {
  return state_ == State::Closed;
}
bool SmtpServerSession::tlsActive() const {
  return tls_active_;
}

void SmtpServerSession::enterState(State next) {
  if (next == state_) return;
  if (log::enabled(log::Level::Debug))
    log::debug(kStage, "state",
               {{"session", config_.session_id},
                {"client", client_ip_},
                {"from", stateName(state_)},
                {"to", stateName(next)}});
  state_ = next;
}

void SmtpServerSession::start(std::optional<TlsInfo> implicit_tls_info) {
  if (state_ != State::Connected) return;
  if (implicit_tls_info) {
    tls_active_ = true;
    tls_info_ = *implicit_tls_info;
  }
  reply("220 " + config_.hostname + " ESMTP tlsrelay");
  enterState(State::AwaitHelo);
  processInput();  // a client that spoke before the banner is answered in order
}

void SmtpServerSession::feed(std::string_view bytes) {
  if (state_ == State::Closed) return;
  // RFC 3207 §4.2 / CVE-2011-0411: nothing sent in clear after STARTTLS counts.
  if (state_ == State::WaitTls) return;
  if (waitingForCompletion() || state_ == State::Connected) {
    size_t room = kMaxPendingInput > input_.size() ? kMaxPendingInput - input_.size() : 0;
    if (bytes.size() > room) {
      closeWith("421 4.7.0 " + config_.hostname + " Error: too much pipelined input");
      return;
    }
  }
  input_.append(bytes);
  processInput();
}

std::string SmtpServerSession::takeOutput() {
  return std::exchange(output_, std::string());
}

std::optional<SmtpServerSession::Event> SmtpServerSession::nextEvent() {
  if (events_.empty()) return std::nullopt;
  Event event = std::move(events_.front());
  events_.pop_front();
  return event;
}

bool SmtpServerSession::waitingForCompletion() const {
  return state_ == State::WaitTls || state_ == State::WaitAuth || state_ == State::WaitStore;
}

void SmtpServerSession::processInput() {
  size_t pos = 0;
  while (pos < input_.size() && state_ != State::Connected && state_ != State::Closed &&
         !waitingForCompletion()) {
    std::string_view rest = std::string_view(input_).substr(pos);
    if (state_ == State::Data) {
      pos += data_reader_.consume(rest);
      if (data_reader_.finished()) finishData();
      continue;
    }
    size_t nl = rest.find('\n');
    if (discarding_long_line_) {
      if (nl == std::string_view::npos) {
        pos = input_.size();
        break;
      }
      pos += nl + 1;
      discarding_long_line_ = false;
      continue;
    }
    bool in_auth = state_ == State::AuthPlainResponse || state_ == State::AuthLoginUser ||
                   state_ == State::AuthLoginPassword;
    // RFC 5321 §4.5.3.1.4 / §4.5.3.1.10: "500 Line too long"; bounded buffering.
    std::string too_long =
        in_auth ? "500 5.5.6 Authentication exchange line is too long" : "500 5.5.2 Error: line too long";
    if (nl == std::string_view::npos) {
      if (rest.size() >= config_.max_line_length) {
        pos = input_.size();
        discarding_long_line_ = true;
        if (in_auth) enterState(State::Ready);
        replyError(too_long);
      }
      break;
    }
    std::string line(rest.substr(0, nl));
    pos += nl + 1;
    if (line.size() + 1 > config_.max_line_length) {
      if (in_auth) enterState(State::Ready);
      replyError(too_long);
      continue;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    handleLine(line);
    if (state_ == State::WaitTls || state_ == State::Closed) pos = input_.size();  // discard the rest
  }
  input_.erase(0, std::min(pos, input_.size()));  // closing may have emptied the buffer
}

void SmtpServerSession::handleLine(std::string_view line) {
  switch (state_) {
    case State::AuthPlainResponse:
    case State::AuthLoginUser:
    case State::AuthLoginPassword:
      handleAuthResponse(line);
      return;
    default:
      handleCommand(line);
  }
}

void SmtpServerSession::handleCommand(std::string_view line) {
  smtp::Command cmd = smtp::parseCommandLine(line);
  if (cmd.verb != smtp::Verb::Auth) {  // AUTH lines may carry credentials: never logged
    if (log::enabled(log::Level::Debug))
      log::debug(kStage, "command",
                 {{"session", config_.session_id}, {"client", client_ip_}, {"verb", cmd.verb_text}});
  }
  if (line.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos) {
    replyError("501 5.5.2 Error: control characters in command");
    return;
  }
  const std::string& arg = cmd.argument;
  switch (cmd.verb) {
    case smtp::Verb::Helo:
      return onHelo(false, arg);
    case smtp::Verb::Ehlo:
      return onHelo(true, arg);
    case smtp::Verb::Mail:
      return onMail(arg);
    case smtp::Verb::Rcpt:
      return onRcpt(arg);
    case smtp::Verb::Data:
      return onData(arg);
    case smtp::Verb::StartTls:
      return onStartTls(arg);
    case smtp::Verb::Auth:
      return onAuth(arg);
    case smtp::Verb::Rset:
      if (!arg.empty()) return replyError("501 5.5.4 Syntax: RSET");
      resetTransaction();
      if (state_ != State::AwaitHelo) enterState(State::Ready);
      return reply("250 2.0.0 Ok");
    case smtp::Verb::Noop:
      return reply("250 2.0.0 Ok");
    case smtp::Verb::Quit:
      return closeWith("221 2.0.0 Bye");
    case smtp::Verb::Vrfy:
      if (arg.empty()) return replyError("501 5.5.4 Syntax: VRFY address");
      // RFC 5321 §3.5.3: 252 when we will not verify (no address harvesting).
      return reply("252 2.5.2 VRFY is disabled; send the message and delivery will be attempted");
    case smtp::Verb::Expn:
      return reply("502 5.5.1 Error: EXPN is not supported");
    case smtp::Verb::Help:
      return reply("214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS AUTH");
    case smtp::Verb::Unknown:
      break;
  }
  // Cross-protocol requests (a browser or proxy aimed at us): hang up at once.
  if (cmd.verb_text == "GET" || cmd.verb_text == "POST" || cmd.verb_text == "CONNECT" ||
      cmd.verb_text == "HEAD" || cmd.verb_text == "PUT") {
    return closeWith("421 4.7.0 " + config_.hostname + " Error: HTTP requests are not SMTP");
  }
  replyError("500 5.5.2 Error: command not recognized");
}

void SmtpServerSession::onHelo(bool extended, const std::string& argument) {
  std::string name = argument.substr(0, argument.find(' '));
  if (name.empty())
    return replyError(extended ? "501 5.5.4 Syntax: EHLO hostname" : "501 5.5.4 Syntax: HELO hostname");
  // RFC 5321 §4.1.4: EHLO in the middle of a transaction resets it.
  resetTransaction();
  helo_ = sanitize(name, 255);
  esmtp_ = extended;
  enterState(State::Ready);
  if (!extended) return reply("250 " + config_.hostname);
  std::string text = "250-" + config_.hostname + "\r\n";
  text += "250-PIPELINING\r\n";
  text += "250-SIZE " + std::to_string(config_.max_message_size) + "\r\n";
  if (config_.tls_available && source_.allow_starttls && !tls_active_) text += "250-STARTTLS\r\n";
  if (authAllowedNow()) text += "250-AUTH PLAIN LOGIN\r\n";
  if (tls_active_) text += "250-REQUIRETLS\r\n";  // RFC 8689 §4: only over TLS
  text += "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250 SMTPUTF8";
  reply(text);
}

void SmtpServerSession::onMail(const std::string& argument) {
  if (state_ == State::AwaitHelo) return replyError("503 5.5.1 Error: send HELO/EHLO first");
  if (inTransaction()) return replyError("503 5.5.1 Error: nested MAIL command");
  if (source_.require_starttls && !tls_active_)
    return replyError("530 5.7.0 Must issue a STARTTLS command first");
  auto path = smtp::parseMailArgument(argument);
  if (!path.ok())
    return replyError("501 5.1.7 Bad sender address syntax: " + sanitize(path.error().message, 100));
  auto params = smtp::parseEsmtpParams(path->params);
  if (!params.ok())
    return replyError("501 5.5.4 Bad parameter syntax: " + sanitize(params.error().message, 100));
  if (!params->empty() && !esmtp_) return replyError("555 5.5.4 Parameters need EHLO");

  Envelope envelope;
  std::set<std::string> seen;
  for (const smtp::EsmtpParam& p : *params) {
    if (!seen.insert(p.keyword).second) return replyError("501 5.5.4 Duplicate parameter " + p.keyword);
    const std::string value = upperCopy(p.value);
    if (p.keyword == "SIZE") {  // RFC 1870 §6
      if (!isDigits(p.value) || p.value.size() > 20) return replyError("501 5.5.4 Bad SIZE value");
      uint64_t declared = 0;
      bool too_big = false;
      for (char digit : p.value) {
        declared = declared * 10 + static_cast<uint64_t>(digit - '0');
        if (declared > config_.max_message_size) too_big = true;  // also stops overflow mattering
        if (too_big) break;
      }
      if (too_big) return reply("552 5.3.4 Message size exceeds fixed maximum message size");
    } else if (p.keyword == "BODY") {  // RFC 6152 §2
      if (value == "8BITMIME") {
        envelope.flags.body_8bit = true;
      } else if (value != "7BIT") {
        return replyError("501 5.5.4 Unsupported BODY value");
      }
    } else if (p.keyword == "SMTPUTF8") {  // RFC 6531 §3.4
      if (p.has_value) return replyError("501 5.5.4 SMTPUTF8 takes no value");
      envelope.flags.smtputf8 = true;
    } else if (p.keyword == "RET") {  // RFC 3461 §4.3
      if (value != "FULL" && value != "HDRS") return replyError("501 5.5.4 Bad RET value");
      envelope.ret = value;
    } else if (p.keyword == "ENVID") {  // RFC 3461 §4.4: xtext, at most 100 characters
      if (!p.has_value || p.value.size() > 100 || !smtp::isValidXtext(p.value))
        return replyError("501 5.5.4 Bad ENVID value");
      envelope.envid = p.value;  // kept xtext-encoded, as it is relayed
    } else if (p.keyword == "AUTH") {
      // RFC 4954 §5: we do not trust other servers' AUTH= claims; ignored.
    } else if (p.keyword == "REQUIRETLS") {
      if (p.has_value) return replyError("501 5.5.4 REQUIRETLS takes no value");
      // RFC 8689 §4: REQUIRETLS is only valid on a session protected by TLS.
      if (!tls_active_) return replyError("530 5.7.10 REQUIRETLS needs a TLS-protected session");
      envelope.flags.requiretls = true;
    } else {
      return replyError("555 5.5.4 Unsupported parameter " + sanitize(p.keyword, 40));
    }
  }
  // RFC 6531 §3.4: UTF-8 addresses only in an SMTPUTF8 transaction.
  if (path->non_ascii && !envelope.flags.smtputf8) return reply("553 5.6.7 Non-ASCII address needs SMTPUTF8");
  envelope.mail_from = path->address;
  envelope_ = std::move(envelope);
  enterState(State::InMail);
  reply("250 2.1.0 Ok");
}

// [server] / [[source]] allowed_sender_domains: a relay for an application's
// own domains does not pass mail from anybody else's (boky/postfix
// ALLOWED_SENDER_DOMAINS). Checked at RCPT, where it is known whether the
// transaction relays at all.
bool SmtpServerSession::senderDomainAllowed() const {
  const auto& allowed = source_.allowed_sender_domains;
  if (allowed.empty() || envelope_.mail_from.empty()) return true;
  size_t at = envelope_.mail_from.rfind('@');
  if (at == std::string::npos) return false;
  std::string_view domain = std::string_view(envelope_.mail_from).substr(at + 1);
  return std::any_of(allowed.begin(), allowed.end(),
                     [&](const std::string& pattern) { return wildcardMatch(pattern, domain); });
}

void SmtpServerSession::onRcpt(const std::string& argument) {
  if (!inTransaction()) return replyError("503 5.5.1 Error: need MAIL command");
  auto path = smtp::parseRcptArgument(argument);
  if (!path.ok())
    return replyError("501 5.1.3 Bad recipient address syntax: " + sanitize(path.error().message, 100));
  auto params = smtp::parseEsmtpParams(path->params);
  if (!params.ok())
    return replyError("501 5.5.4 Bad parameter syntax: " + sanitize(params.error().message, 100));
  if (!params->empty() && !esmtp_) return replyError("555 5.5.4 Parameters need EHLO");

  Recipient recipient;
  std::set<std::string> seen;
  for (const smtp::EsmtpParam& p : *params) {
    if (!seen.insert(p.keyword).second) return replyError("501 5.5.4 Duplicate parameter " + p.keyword);
    if (p.keyword == "NOTIFY") {  // RFC 3461 §4.1
      if (!p.has_value || !validNotify(p.value)) return replyError("501 5.5.4 Bad NOTIFY value");
      recipient.notify = upperCopy(p.value);
    } else if (p.keyword == "ORCPT") {  // RFC 3461 §4.2
      if (!p.has_value || !validOrcpt(p.value)) return replyError("501 5.5.4 Bad ORCPT value");
      recipient.orcpt = p.value;
    } else {
      return replyError("555 5.5.4 Unsupported parameter " + sanitize(p.keyword, 40));
    }
  }
  if (path->address.find('@') == std::string::npos) {
    return reply("550 5.1.1 <" + path->address + ">: this relay has no local mailboxes");
  }
  if (path->non_ascii && !envelope_.flags.smtputf8)
    return reply("553 5.6.7 Non-ASCII address needs SMTPUTF8");
  // Reports for us are read here, from anyone; they are alone in their
  // transaction so a message is either read or relayed, never both.
  // RFC 5321 §4.5.3.1.10: 452 makes the client send the rest separately.
  const bool for_reports =
      !config_.local_report_address.empty() && equalsIgnoreCase(path->address, config_.local_report_address);
  if (for_reports != local_report_ && !envelope_.recipients.empty())
    return reply(
        "452 4.5.3 <" + config_.local_report_address +
        "> takes TLS reports only in a transaction of its own; send the other recipients separately");
  // Never an open relay: only trusted sources or authenticated users may relay.
  if (!for_reports && !source_.relay && !authenticated_) return replyError("554 5.7.1 Relay access denied");
  if (!for_reports && !senderDomainAllowed())
    return reply("553 5.7.1 <" + sanitize(envelope_.mail_from, 100) +
                 ">: sender domain not allowed to relay through this server");
  local_report_ = for_reports;
  if (!config_.accept_address_literals && isAddressLiteral(path->address)) {
    return reply("550 5.1.2 <" + sanitize(path->address, 100) +
                 ">: this relay does not deliver to address literals");
  }
  if (envelope_.recipients.size() >= config_.max_recipients) {
    return reply("452 4.5.3 Error: too many recipients");  // RFC 5321 §4.5.3.1.10
  }
  recipient.address = path->address;
  std::string stripped = stripRequireTlsTag(recipient.address);
  if (!stripped.empty()) {
    recipient.address = stripped;
    envelope_.flags.requiretls = true;
  }
  bool duplicate = std::any_of(envelope_.recipients.begin(), envelope_.recipients.end(),
                               [&](const Recipient& r) { return r.address == recipient.address; });
  if (!duplicate) envelope_.recipients.push_back(std::move(recipient));  // one delivery per address
  enterState(State::InRcpt);
  reply("250 2.1.5 Ok");
}

void SmtpServerSession::onData(const std::string& argument) {
  if (!argument.empty()) return replyError("501 5.5.4 Syntax: DATA");
  if (!inTransaction()) return replyError("503 5.5.1 Error: need MAIL command");
  if (state_ != State::InRcpt) return replyError("503 5.5.1 Error: need RCPT command");
  // DATA lines: RFC 5321 §4.5.3.1.6 requires at least 1000 octets with CRLF.
  data_reader_.begin(std::max<size_t>(config_.max_line_length, 1000), config_.max_message_size);
  enterState(State::Data);
  reply("354 End data with <CR><LF>.<CR><LF>");
}

void SmtpServerSession::finishData() {
  using Rejection = smtp::DataReader::Rejection;
  switch (data_reader_.rejection()) {
    case Rejection::BareLineEnd:
      resetTransaction();
      enterState(State::Ready);
      log::info(kStage, "message rejected: bare CR or LF",
                {{"session", config_.session_id}, {"client", client_ip_}});
      return replyError("550 5.6.11 Message rejected: bare CR or LF in message content");
    case Rejection::LineTooLong:
      resetTransaction();
      enterState(State::Ready);
      return reply("550 5.6.0 Message rejected: a line is longer than " +
                   std::to_string(std::max<size_t>(config_.max_line_length, 1000)) + " bytes");
    case Rejection::TooBig:
      resetTransaction();
      enterState(State::Ready);
      return reply("552 5.3.4 Message size exceeds fixed maximum message size");
    case Rejection::None:
      break;
  }
  if (config_.max_received_headers > 0 && data_reader_.receivedCount() >= config_.max_received_headers) {
    resetTransaction();
    enterState(State::Ready);
    log::info(kStage, "message rejected: mail loop",
              {{"session", config_.session_id},
               {"client", client_ip_},
               {"received", std::to_string(data_reader_.receivedCount())}});
    return reply("554 5.4.6 Too many hops: " + std::to_string(data_reader_.receivedCount()) +
                 " Received header fields, possible mail loop");
  }
  envelope_.queue_id = config_.new_queue_id ? config_.new_queue_id() : std::to_string(nowSeconds());
  envelope_.received_at = nowSeconds();
  envelope_.client_ip = client_ip_;
  envelope_.helo = helo_;
  envelope_.auth_user = auth_user_;
  // RFC 8689: kept even beside REQUIRETLS (which makes it ignored); the TLS policy applies that.
  envelope_.flags.tls_required_no = data_reader_.tlsRequiredNo();
  ReceivedMessage message;
  message.data = receivedHeader() + data_reader_.takeData();
  message.envelope = std::move(envelope_);
  message.envelope.size = message.data.size();
  message.local_report = local_report_;
  pending_queue_id_ = message.envelope.queue_id;
  resetTransaction();
  enterState(State::WaitStore);
  Event event{EventKind::MessageReady, {}, {}, std::move(message)};
  emit(std::move(event));
}

void SmtpServerSession::messageStored(bool ok, const std::string& detail) {
  if (state_ != State::WaitStore) return;
  enterState(State::Ready);
  if (ok) {
    // RFC 5321 §4.1.1.4 / PRODUCT.md: 250 only once the message is durable.
    reply("250 2.0.0 Ok: queued as " + pending_queue_id_);
  } else {
    log::warn(kStage, "message not stored",
              {{"session", config_.session_id},
               {"client", client_ip_},
               {"id", pending_queue_id_},
               {"detail", detail}});
    reply("451 4.3.0 Error: message could not be stored, try again later");
  }
  pending_queue_id_.clear();
  processInput();
}

void SmtpServerSession::onStartTls(const std::string& argument) {
  if (!argument.empty()) return replyError("501 5.5.4 Syntax: STARTTLS");
  if (tls_active_) return replyError("503 5.5.1 Error: TLS already active");
  if (!config_.tls_available || !source_.allow_starttls)
    return replyError("502 5.5.1 Error: command not supported");
  if (state_ == State::AwaitHelo) return replyError("503 5.5.1 Error: send EHLO first");
  if (inTransaction()) return replyError("503 5.5.1 Error: MAIL transaction in progress");
  reply("220 2.0.0 Ready to start TLS");
  // RFC 3207 §4.2 (CVE-2011-0411): whatever the client pipelined after
  // STARTTLS was sent in clear and must not be executed; processInput()
  // discards the rest of the buffer once we are in WaitTls.
  enterState(State::WaitTls);
  emit(Event{EventKind::StartTls, {}, {}, {}});
}

void SmtpServerSession::tlsEstablished(const TlsInfo& info) {
  if (state_ != State::WaitTls) return;
  tls_active_ = true;
  tls_info_ = info;
  // RFC 3207 §4.2: the server MUST discard any knowledge obtained from the
  // client (EHLO argument, authentication) before the handshake.
  helo_.clear();
  esmtp_ = false;
  authenticated_ = false;
  auth_user_.clear();
  resetTransaction();
  input_.clear();
  discarding_long_line_ = false;
  enterState(State::AwaitHelo);
}

void SmtpServerSession::tlsFailed() {
  if (state_ == State::Closed) return;
  input_.clear();
  enterState(State::Closed);
  emit(Event{EventKind::Close, {}, {}, {}});
}

void SmtpServerSession::timeout() {
  if (state_ == State::Closed) return;
  closeWith("421 4.4.2 " + config_.hostname + " Error: timeout exceeded");
}

void SmtpServerSession::reply(std::string_view text) {
  output_.append(text);
  output_.append("\r\n");
}

void SmtpServerSession::replyError(std::string_view text) {
  reply(text);
  if (++errors_ >= config_.max_errors) closeWith("421 4.7.0 " + config_.hostname + " Error: too many errors");
}

void SmtpServerSession::closeWith(std::string_view text) {
  if (state_ == State::Closed) return;
  reply(text);
  input_.clear();
  enterState(State::Closed);
  emit(Event{EventKind::Close, {}, {}, {}});
}

void SmtpServerSession::emit(Event event) {
  events_.push_back(std::move(event));
}

void SmtpServerSession::resetTransaction() {
  envelope_ = Envelope{};
  local_report_ = false;
  if (state_ == State::InMail || state_ == State::InRcpt) enterState(State::Ready);
}

bool SmtpServerSession::inTransaction() const {
  return state_ == State::InMail || state_ == State::InRcpt;
}

bool SmtpServerSession::authAllowedNow() const {
  if (tls_active_) return true;
  return source_.allow_plaintext_auth && !source_.require_starttls_before_auth;
}

int64_t SmtpServerSession::nowSeconds() const {
  return config_.now ? config_.now() : static_cast<int64_t>(std::time(nullptr));
}

std::string SmtpServerSession::receivedHeader() const {
  // RFC 5321 §4.4 time stamp; protocol names from RFC 3848 and RFC 6531 §3.7.3.
  std::string with = envelope_.flags.smtputf8 ? "UTF8SMTP" : (esmtp_ ? "ESMTP" : "SMTP");
  if (esmtp_ && tls_active_) with += "S";
  if (esmtp_ && authenticated_) with += "A";
  std::string literal = "[unknown]";
  if (auto ip = IpAddress::parse(client_ip_))
    literal = ip->is_v4 ? "[" + ip->toString() + "]" : "[IPv6:" + ip->toString() + "]";
  std::string h =
      "Received: from " + (helo_.empty() ? std::string("unknown") : helo_) + " (" + literal + ")\r\n";
  if (tls_active_ && !tls_info_.protocol.empty()) {
    h += "\t(using " + sanitize(tls_info_.protocol, 40) + " with cipher " + sanitize(tls_info_.cipher, 100) +
         ")\r\n";
  }
  h += "\tby " + config_.hostname + " (tlsrelay) with " + with + " id " + envelope_.queue_id;
  if (envelope_.recipients.size() == 1)
    h += "\r\n\tfor <" + sanitize(envelope_.recipients.front().address, 512) + ">";
  h += "; " + rfc5322Date(nowSeconds()) + "\r\n";
  return h;
}

}  // namespace tlsrelay
