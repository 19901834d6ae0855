// libFuzzer target: untrusted server bytes through the reply parser, the EHLO
// capability parser and the whole client session (which must never crash,
// loop, or send message data before a 354).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/log.h"
#include "relay/smtp/ehlo_capabilities.h"
#include "relay/smtp/smtp_client_session.h"
#include "relay/smtp/smtp_reply.h"

using namespace tlsrelay;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  log::setLevel(log::Level::Error);  // session failures are expected here; keep stderr quiet
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // First byte picks the chunk size so split points are explored too.
  size_t chunk = static_cast<size_t>(data[0] % 17) + 1;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  SmtpReplyParser parser;
  for (size_t i = 0; i < input.size(); i += chunk) {
    parser.feed(input.substr(i, chunk));
    while (auto reply = parser.next()) {
      if (reply->code < 200 || reply->code > 599) __builtin_trap();
      if (reply->lines.empty() || reply->lines.size() > SmtpReplyParser::kMaxLinesPerReply) __builtin_trap();
      (void)reply->text();
      (void)EhloCapabilities::parse(*reply);
    }
  }

  ClientSessionConfig config;
  config.helo_name = "fuzz.example.test";
  config.starttls = (data[0] & 0x80) ? StartTlsMode::Required : StartTlsMode::Opportunistic;
  SmtpClientSession session(config);
  OutboundMessage message;
  message.mail_from = "a@example.test";
  message.recipients = {"b@example.test", "c@example.test"};
  message.data = std::make_shared<const std::string>("Subject: x\r\n\r\nSECRET-BODY\r\n");
  bool sent_message = false;
  for (size_t i = 0; i < input.size(); i += chunk) {
    session.feed(input.substr(i, chunk));
    while (auto event = session.nextEvent()) {
      if (event->kind == SmtpClientSession::EventKind::StartTls) session.tlsEstablished();
      if (event->kind == SmtpClientSession::EventKind::Ready) {
        if (!sent_message) {
          session.sendMessage(message);
          sent_message = true;
        } else {
          session.quit();
        }
      }
    }
    // The body may only leave after some 3xx reply (the 354 to DATA) arrived.
    std::string out = session.takeOutput();
    if (out.find("SECRET-BODY") != std::string::npos) {
      std::string_view seen = input.substr(0, i + chunk);
      if (seen.substr(0, 1) != "3" && seen.find("\n3") == std::string_view::npos) __builtin_trap();
    }
  }
  return 0;
}
