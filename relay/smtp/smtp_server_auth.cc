// SMTP AUTH (RFC 4954) for the server session: PLAIN (RFC 4616) and LOGIN,
// with or without an initial response. The session only decodes the SASL
// exchange; the adapter checks the password (Authenticate event) and answers
// with authResult(). Kept apart from the command handlers because it is the
// one place that touches credentials: nothing here is ever logged.
#include <algorithm>

#include "common/base64.h"
#include "common/log.h"
#include "relay/smtp/smtp_command.h"
#include "relay/smtp/smtp_server_session.h"

namespace tlsrelay {
namespace {

constexpr std::string_view kUsernameChallenge = "334 VXNlcm5hbWU6";  // base64("Username:")
constexpr std::string_view kPasswordChallenge = "334 UGFzc3dvcmQ6";  // base64("Password:")

// RFC 4954 §4: "=" is an empty initial response.
Result<std::string> decodeResponse(std::string_view text) {
  if (text == "=") return std::string();
  return base64Decode(text);
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

void SmtpServerSession::onAuth(const std::string& argument) {
  if (authenticated_) return replyError("503 5.5.1 Error: already authenticated");  // RFC 4954 §4
  if (state_ == State::AwaitHelo || !esmtp_) return replyError("503 5.5.1 Error: send EHLO first");
  if (inTransaction()) return replyError("503 5.5.1 Error: MAIL transaction in progress");  // RFC 4954 §4
  if (!authAllowedNow()) {
    return replyError(
        "538 5.7.11 Encryption required for requested authentication mechanism");  // RFC 4954 §6
  }
  size_t space = argument.find(' ');
  std::string mechanism = upper(argument.substr(0, space));
  std::string initial = space == std::string::npos ? "" : argument.substr(space + 1);
  bool has_initial = space != std::string::npos && !initial.empty();
  if (mechanism.empty()) return replyError("501 5.5.4 Syntax: AUTH mechanism");
  if (mechanism != "PLAIN" && mechanism != "LOGIN") {
    return replyError("504 5.5.4 Unrecognized authentication type");
  }
  if (mechanism == "PLAIN") {
    if (!has_initial) {
      enterState(State::AuthPlainResponse);
      return reply("334 ");  // RFC 4954 §4: empty challenge
    }
    return finishPlainResponse(initial);
  }
  if (!has_initial) {
    enterState(State::AuthLoginUser);
    return reply(kUsernameChallenge);
  }
  auto user = decodeResponse(initial);
  if (!user.ok()) return replyError("501 5.5.2 Error: cannot decode AUTH response");
  auth_login_user_ = std::move(user.value());
  enterState(State::AuthLoginPassword);
  reply(kPasswordChallenge);
}

void SmtpServerSession::handleAuthResponse(std::string_view line) {
  State step = state_;
  enterState(State::Ready);  // every exit below but the LOGIN username step ends the exchange
  if (line == "*") {
    auth_login_user_.clear();
    return replyError("501 5.7.0 Authentication cancelled");  // RFC 4954 §4: MUST reject with 501
  }
  auto decoded = decodeResponse(line);
  if (!decoded.ok()) {
    auth_login_user_.clear();
    return replyError("501 5.5.2 Error: cannot decode AUTH response");
  }
  switch (step) {
    case State::AuthPlainResponse:
      return finishPlainResponse(line);
    case State::AuthLoginUser:
      auth_login_user_ = std::move(decoded.value());
      enterState(State::AuthLoginPassword);
      return reply(kPasswordChallenge);
    case State::AuthLoginPassword: {
      std::string user = std::exchange(auth_login_user_, std::string());
      return requestAuthentication(std::move(user), std::move(decoded.value()));
    }
    default:
      return;
  }
}

void SmtpServerSession::finishPlainResponse(std::string_view base64) {
  auto decoded = decodeResponse(base64);
  if (!decoded.ok()) return replyError("501 5.5.2 Error: cannot decode AUTH response");
  // RFC 4616 §2: message = [authzid] NUL authcid NUL passwd
  const std::string& text = decoded.value();
  size_t first = text.find('\0');
  size_t second = first == std::string::npos ? std::string::npos : text.find('\0', first + 1);
  if (second == std::string::npos || text.find('\0', second + 1) != std::string::npos) {
    return replyError("501 5.5.2 Error: malformed PLAIN response");
  }
  std::string authzid = text.substr(0, first);
  std::string authcid = text.substr(first + 1, second - first - 1);
  std::string password = text.substr(second + 1);
  // Acting for another identity is not supported: only authzid == authcid.
  if (!authzid.empty() && authzid != authcid) return replyError("535 5.7.8 Error: authentication failed");
  requestAuthentication(std::move(authcid), std::move(password));
}

void SmtpServerSession::requestAuthentication(std::string user, std::string password) {
  if (user.empty() || password.empty()) return replyError("535 5.7.8 Error: authentication failed");
  pending_auth_user_ = user;
  enterState(State::WaitAuth);
  emit(Event{EventKind::Authenticate, std::move(user), std::move(password), {}});
}

void SmtpServerSession::authResult(bool ok) {
  if (state_ != State::WaitAuth) return;
  enterState(State::Ready);
  std::string user = std::exchange(pending_auth_user_, std::string());
  if (ok) {
    authenticated_ = true;
    auth_user_ = user;
    log::info("smtpd", "authenticated", {{"client", client_ip_}, {"user", user}});
    reply("235 2.7.0 Authentication successful");
  } else {
    log::info("smtpd", "authentication failed", {{"client", client_ip_}, {"user", user}});
    replyError("535 5.7.8 Error: authentication failed");
  }
  processInput();
}

}  // namespace tlsrelay
