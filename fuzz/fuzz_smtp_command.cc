// libFuzzer target for what an SMTP client controls: the command-line parsers
// (relay/smtp_command.h) and a whole SmtpServerSession with dummy completions.
// Oracle beyond "no crash / no sanitizer report": the session must answer
// identically whether the input arrives in one piece or in fuzzer-chosen
// chunks (the PIPELINING and SMTP-smuggling guarantees depend on it).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/base64.h"
#include "common/log.h"
#include "relay/smtp/smtp_command.h"
#include "relay/smtp/smtp_server_session.h"

namespace {

using tlsrelay::SmtpServerSession;

struct Run {
  std::string output;
  std::string messages;
  bool tls_pending = false;
};

// Where the TLS handshake "completes" in the input: bytes before it that follow
// STARTTLS were sent in clear and are discarded, whatever the chunking.
constexpr std::string_view kHandshakeMark = "\xFFTLS";

// Plays the adapter deterministically from the event contents.
void pump(SmtpServerSession& session, Run& run) {
  while (auto event = session.nextEvent()) {
    switch (event->kind) {
      case SmtpServerSession::EventKind::StartTls:
        run.tls_pending = true;
        break;
      case SmtpServerSession::EventKind::Authenticate:
        session.authResult(event->user == "a");
        break;
      case SmtpServerSession::EventKind::MessageReady:
        run.messages += event->message.data;
        run.messages.push_back('\0');
        session.messageStored(event->message.data.size() % 2 == 0, "dummy");
        break;
      case SmtpServerSession::EventKind::Close:
        break;
    }
  }
  run.output += session.takeOutput();
}

Run drive(uint8_t knobs, std::string_view input, size_t chunk) {
  tlsrelay::ServerSessionConfig config;
  config.hostname = "fuzz.test";
  config.max_line_length = 512;
  config.max_message_size = 4096;
  config.max_recipients = 5;
  config.max_errors = (knobs & 64) ? 3 : 50;
  config.tls_available = knobs & 1;
  config.implicit_tls = knobs & 2;
  int counter = 0;
  config.new_queue_id = [&counter] { return "Q" + std::to_string(++counter); };
  config.now = [] { return int64_t{1795442400}; };
  tlsrelay::SourcePolicy source;
  source.relay = knobs & 4;
  source.require_starttls = knobs & 8;
  source.allow_plaintext_auth = knobs & 16;
  source.require_starttls_before_auth = knobs & 32;
  SmtpServerSession session(config, source, "127.0.0.1");
  Run run;
  session.start();
  pump(session, run);
  while (true) {
    size_t mark = input.find(kHandshakeMark);
    std::string_view part = input.substr(0, mark);
    for (size_t pos = 0; pos < part.size(); pos += chunk) {
      session.feed(part.substr(pos, chunk));
      pump(session, run);
    }
    if (mark == std::string_view::npos) break;
    input.remove_prefix(mark + kHandshakeMark.size());
    if (run.tls_pending) {
      run.tls_pending = false;
      if (knobs & 128) {
        session.tlsFailed();
      } else {
        session.tlsEstablished({"TLSv1.3", "TLS_AES_128_GCM_SHA256"});
      }
      pump(session, run);
    }
  }
  if (knobs & 1 && knobs & 64) {
    session.timeout();
    pump(session, run);
  }
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tlsrelay::log::setLevel(tlsrelay::log::Level::Error);  // keep the fuzzer fast and quiet
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t knobs = data[0];
  const size_t chunk = 1 + data[1] % 17;
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  // The pure parsers, line by line.
  size_t start = 0;
  while (start < input.size()) {
    size_t end = input.find('\n', start);
    std::string_view line =
        input.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    auto cmd = tlsrelay::smtp::parseCommandLine(line);
    auto mail = tlsrelay::smtp::parseMailArgument(cmd.argument);
    if (mail.ok()) (void)tlsrelay::smtp::parseEsmtpParams(mail->params);
    auto rcpt = tlsrelay::smtp::parseRcptArgument(cmd.argument);
    if (rcpt.ok()) (void)tlsrelay::smtp::parseEsmtpParams(rcpt->params);
    auto decoded = tlsrelay::base64Decode(line);
    // Non-canonical pad bits are tolerated (RFC 4648 §3.5 MAY), so compare decoded forms.
    if (decoded.ok() && *tlsrelay::base64Decode(tlsrelay::base64Encode(*decoded)) != *decoded)
      __builtin_trap();
    if (tlsrelay::smtp::isValidXtext(line) &&
        tlsrelay::smtp::xtextDecode(tlsrelay::smtp::xtextEncode(line)) != line)
      __builtin_trap();
    if (end == std::string_view::npos) break;
    start = end + 1;
  }

  // The session: whole input vs chunked input must give the same transcript.
  Run whole = drive(knobs, input, input.size() == 0 ? 1 : input.size());
  Run chunked = drive(knobs, input, chunk);
  if (whole.output != chunked.output || whole.messages != chunked.messages) __builtin_trap();
  return 0;
}
