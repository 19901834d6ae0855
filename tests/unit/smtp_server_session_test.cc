// Scripted dialogues against the sans-I/O SMTP server session: bytes in,
// replies and events out, no sockets. Completions (TLS, password check,
// spool) are played by the Harness below.
#include "relay/smtp/smtp_server_session.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "common/base64.h"
#include "relay/smtp/smtp_command.h"
#include "relay/smtp/smtp_server_data_reader.h"

namespace tlsrelay {
namespace {

using Kind = SmtpServerSession::EventKind;

struct Harness {
  ServerSessionConfig config;
  SourcePolicy source;
  std::string client_ip = "127.0.0.1";
  std::unique_ptr<SmtpServerSession> session;
  std::vector<ReceivedMessage> messages;
  std::vector<std::pair<std::string, std::string>> auth_requests;
  int starttls_events = 0;
  int close_events = 0;
  bool store_ok = true;
  int queue_counter = 0;

  Harness() {
    config.hostname = "relay.test";
    config.new_queue_id = [this] { return "Q" + std::to_string(++queue_counter); };
    config.now = [] { return int64_t{1795442400}; };  // Mon, 23 Nov 2026 14:00:00 UTC
    source.relay = true;
  }

  SmtpServerSession& start() {
    session = std::make_unique<SmtpServerSession>(config, source, client_ip);
    session->start();
    pump();
    return *session;
  }

  // Plays the adapter: answers every event at once except StartTls.
  void pump() {
    while (auto event = session->nextEvent()) {
      switch (event->kind) {
        case Kind::MessageReady:
          messages.push_back(std::move(event->message));
          session->messageStored(store_ok, store_ok ? "" : "disk full");
          break;
        case Kind::Authenticate:
          auth_requests.emplace_back(event->user, event->password);
          session->authResult(event->user == "alice" && event->password == "secret");
          break;
        case Kind::StartTls:
          ++starttls_events;
          break;
        case Kind::Close:
          ++close_events;
          break;
      }
    }
  }

  std::string send(std::string_view bytes) {
    session->feed(bytes);
    pump();
    return session->takeOutput();
  }
};

const char* kBanner = "220 relay.test ESMTP tlsrelay\r\n";

TEST(SmtpServerSession, FullTransaction) {
  Harness h;
  h.start();
  EXPECT_EQ(h.session->takeOutput(), kBanner);
  std::string ehlo = h.send("EHLO client.test\r\n");
  EXPECT_EQ(ehlo.substr(0, 20), "250-relay.test\r\n250-");
  for (const char* ext :
       {"PIPELINING", "SIZE 52428800", "8BITMIME", "ENHANCEDSTATUSCODES", "DSN", "SMTPUTF8"}) {
    EXPECT_NE(ehlo.find(ext), std::string::npos) << ext;
  }
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos);  // no certificate configured
  EXPECT_EQ(ehlo.find("REQUIRETLS"), std::string::npos);
  EXPECT_EQ(ehlo.find("AUTH"), std::string::npos);
  EXPECT_EQ(h.send("MAIL FROM:<sender@example.com> SIZE=100 BODY=8BITMIME RET=HDRS ENVID=abc+2B1\r\n"),
            "250 2.1.0 Ok\r\n");
  EXPECT_EQ(h.send("RCPT TO:<rcpt@example.org> NOTIFY=FAILURE,DELAY ORCPT=rfc822;rcpt@example.org\r\n"),
            "250 2.1.5 Ok\r\n");
  EXPECT_EQ(h.send("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(h.session->currentTimeout(), std::chrono::seconds(180));
  EXPECT_EQ(h.send("Subject: hi\r\n\r\nbody\r\n.\r\n"), "250 2.0.0 Ok: queued as Q1\r\n");
  ASSERT_EQ(h.messages.size(), 1u);
  const ReceivedMessage& m = h.messages[0];
  EXPECT_EQ(m.envelope.queue_id, "Q1");
  EXPECT_EQ(m.envelope.mail_from, "sender@example.com");
  ASSERT_EQ(m.envelope.recipients.size(), 1u);
  EXPECT_EQ(m.envelope.recipients[0].address, "rcpt@example.org");
  EXPECT_EQ(m.envelope.recipients[0].notify, "FAILURE,DELAY");
  EXPECT_EQ(m.envelope.recipients[0].orcpt, "rfc822;rcpt@example.org");
  EXPECT_TRUE(m.envelope.flags.body_8bit);
  EXPECT_FALSE(m.envelope.flags.requiretls);
  EXPECT_EQ(m.envelope.ret, "HDRS");
  EXPECT_EQ(m.envelope.envid, "abc+2B1");
  EXPECT_EQ(m.envelope.helo, "client.test");
  EXPECT_EQ(m.envelope.client_ip, "127.0.0.1");
  EXPECT_EQ(m.envelope.received_at, 1795442400);
  EXPECT_EQ(m.envelope.size, m.data.size());
  const std::string expected_header =
      "Received: from client.test ([127.0.0.1])\r\n"
      "\tby relay.test (tlsrelay) with ESMTP id Q1\r\n"
      "\tfor <rcpt@example.org>; Mon, 23 Nov 2026 14:00:00 +0000\r\n";
  EXPECT_EQ(m.data, expected_header + "Subject: hi\r\n\r\nbody\r\n");
  EXPECT_EQ(h.session->currentTimeout(), std::chrono::seconds(300));
  EXPECT_EQ(h.send("QUIT\r\n"), "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(h.session->closed());
  EXPECT_EQ(h.close_events, 1);
  EXPECT_EQ(h.send("NOOP\r\n"), "");  // nothing after close
}

// One pipelined script exercising most states; used by the chunking tests.
const std::string kPipelinedScript =
    "EHLO client.test\r\n"
    "MAIL FROM:<a@example.com>\r\n"
    "RCPT TO:<b@example.org>\r\n"
    "RCPT TO:<c@example.org>\r\n"
    "DATA\r\n"
    "Subject: one\r\n"
    "..leading dot\r\n"
    "\r\n"
    ".\r\n"
    "NOOP\r\n"
    "FOO bar\r\n"
    "RSET\r\n"
    "MAIL FROM:<>\r\n"
    "RCPT TO:<x+requiretls@example.net>\r\n"
    "DATA\r\n"
    "bare\nLF\r\n"
    "\n.\r\n"
    "still data\r\n"
    ".\r\n"
    "MAIL FROM:<a@example.com>\r\n"
    "RCPT TO:<d@example.org>\r\n"
    "DATA\r\n"
    "second\r\n"
    ".\r\n"
    "VRFY someone\r\n"
    "QUIT\r\n";

struct Transcript {
  std::string output;
  std::vector<std::string> data;
  int closes = 0;
};

Transcript runChunks(const std::vector<std::string_view>& chunks) {
  Harness h;
  h.start();
  Transcript t;
  t.output = h.session->takeOutput();
  for (std::string_view chunk : chunks) t.output += h.send(chunk);
  for (const auto& m : h.messages) t.data.push_back(m.data);
  t.closes = h.close_events;
  return t;
}

TEST(SmtpServerSession, PipelinedInOneChunk) {
  Transcript t = runChunks({kPipelinedScript});
  EXPECT_EQ(t.output,
            std::string(kBanner) +
                "250-relay.test\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n"
                "250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250 SMTPUTF8\r\n"
                "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
                "250 2.0.0 Ok: queued as Q1\r\n"
                "250 2.0.0 Ok\r\n500 5.5.2 Error: command not recognized\r\n250 2.0.0 Ok\r\n"
                "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
                "550 5.6.11 Message rejected: bare CR or LF in message content\r\n"
                "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
                "250 2.0.0 Ok: queued as Q2\r\n"
                "252 2.5.2 VRFY is disabled; send the message and delivery will be attempted\r\n"
                "221 2.0.0 Bye\r\n");
  ASSERT_EQ(t.data.size(), 2u);
  EXPECT_NE(t.data[0].find("+0000\r\nSubject: one\r\n.leading dot\r\n\r\n"), std::string::npos) << t.data[0];
  EXPECT_EQ(t.data[0].find("\tfor <"), std::string::npos);  // two recipients: no for clause
  EXPECT_EQ(t.data[0].substr(t.data[0].size() - 4), "\r\n\r\n");
  EXPECT_NE(t.data[1].find("\r\nsecond\r\n"), std::string::npos);
  EXPECT_EQ(t.closes, 1);
}

TEST(SmtpServerSession, SameResultSplitAtEveryByteBoundary) {
  const Transcript whole = runChunks({kPipelinedScript});
  std::string_view script = kPipelinedScript;
  for (size_t cut = 1; cut < script.size(); ++cut) {
    Transcript split = runChunks({script.substr(0, cut), script.substr(cut)});
    ASSERT_EQ(split.output, whole.output) << "cut at " << cut;
    ASSERT_EQ(split.data, whole.data) << "cut at " << cut;
    ASSERT_EQ(split.closes, whole.closes);
  }
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < script.size(); ++i) bytes.push_back(script.substr(i, 1));
  Transcript byte_by_byte = runChunks(bytes);
  EXPECT_EQ(byte_by_byte.output, whole.output);
  EXPECT_EQ(byte_by_byte.data, whole.data);
}

TEST(SmtpServerSession, InputBeforeBannerIsAnsweredAfterIt) {
  Harness h;
  h.session = std::make_unique<SmtpServerSession>(h.config, h.source, h.client_ip);
  h.session->feed("NOOP\r\n");
  EXPECT_EQ(h.session->takeOutput(), "");
  h.session->start();
  EXPECT_EQ(h.session->takeOutput(), std::string(kBanner) + "250 2.0.0 Ok\r\n");
}

TEST(SmtpServerSession, MalformedCommands) {
  Harness h;
  h.config.max_errors = 100;
  h.start();
  h.session->takeOutput();
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c>\r\n"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  EXPECT_EQ(h.send("EHLO\r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
  EXPECT_EQ(h.send("XYZZY\r\n"), "500 5.5.2 Error: command not recognized\r\n");
  EXPECT_EQ(h.send("\r\n"), "500 5.5.2 Error: command not recognized\r\n");
  h.send("EHLO c\r\n");
  EXPECT_EQ(h.send("RCPT TO:<a@b.c>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(h.send("DATA\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(h.send("MAIL FROM:a@b.c\r\n").substr(0, 10), "501 5.1.7 ");
  EXPECT_EQ(h.send("MAIL FROM:<a@@b.c>\r\n").substr(0, 10), "501 5.1.7 ");
  EXPECT_EQ(h.send("MAIL TO:<a@b.c>\r\n").substr(0, 10), "501 5.1.7 ");
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c> FOO=1\r\n"), "555 5.5.4 Unsupported parameter FOO\r\n");
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c> SIZE=abc\r\n"), "501 5.5.4 Bad SIZE value\r\n");
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c> BODY=BINARYMIME\r\n"), "501 5.5.4 Unsupported BODY value\r\n");
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c> RET=ALL\r\n"), "501 5.5.4 Bad RET value\r\n");
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c> ENVID=a+zz\r\n"), "501 5.5.4 Bad ENVID value\r\n");
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c> SIZE=1 SIZE=2\r\n"), "501 5.5.4 Duplicate parameter SIZE\r\n");
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c> SMTPUTF8=yes\r\n"), "501 5.5.4 SMTPUTF8 takes no value\r\n");
  EXPECT_EQ(h.send("MAIL FROM:<j\xC3\xB6rg@b.c>\r\n"), "553 5.6.7 Non-ASCII address needs SMTPUTF8\r\n");
  EXPECT_EQ(h.send("MAIL FROM:<j\xC3\xB6rg@b.c> SMTPUTF8 AUTH=<>\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c>\r\n"), "503 5.5.1 Error: nested MAIL command\r\n");
  EXPECT_EQ(h.send("DATA\r\n"), "503 5.5.1 Error: need RCPT command\r\n");
  EXPECT_EQ(h.send("RCPT TO:<>\r\n").substr(0, 10), "501 5.1.3 ");
  EXPECT_EQ(h.send("RCPT TO:<no-domain>\r\n").substr(0, 10), "501 5.1.3 ");
  EXPECT_EQ(h.send("RCPT TO:<postmaster>\r\n").substr(0, 10), "550 5.1.1 ");
  EXPECT_EQ(h.send("RCPT TO:<a@b.c> BOGUS\r\n"), "555 5.5.4 Unsupported parameter BOGUS\r\n");
  EXPECT_EQ(h.send("RCPT TO:<a@b.c> NOTIFY=NEVER,SUCCESS\r\n"), "501 5.5.4 Bad NOTIFY value\r\n");
  EXPECT_EQ(h.send("RCPT TO:<a@b.c> NOTIFY=DELAY,DELAY\r\n"), "501 5.5.4 Bad NOTIFY value\r\n");
  EXPECT_EQ(h.send("RCPT TO:<a@b.c> ORCPT=rfc822\r\n"), "501 5.5.4 Bad ORCPT value\r\n");
  EXPECT_EQ(h.send("RCPT TO:<\xC3\xBC@b.c>\r\n"), "250 2.1.5 Ok\r\n");  // SMTPUTF8 transaction
  EXPECT_EQ(h.send("RCPT TO:<a@b.c>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(h.send("DATA now\r\n"), "501 5.5.4 Syntax: DATA\r\n");
  EXPECT_EQ(h.send("RSET x\r\n"), "501 5.5.4 Syntax: RSET\r\n");
  EXPECT_EQ(h.send(std::string_view("NOOP \0x\r\n", 9)),
            "501 5.5.2 Error: control characters in command\r\n");
  EXPECT_EQ(h.send("NOOP\rMAIL FROM:<a@b.c>\r\n"), "501 5.5.2 Error: control characters in command\r\n");
  EXPECT_EQ(h.send("EXPN list\r\n"), "502 5.5.1 Error: EXPN is not supported\r\n");
  EXPECT_EQ(h.send("HELP\r\n").substr(0, 10), "214 2.0.0 ");
  EXPECT_EQ(h.send("RSET\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(h.send("HELO old.client\r\n"), "250 relay.test\r\n");
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c> SIZE=10\r\n"), "555 5.5.4 Parameters need EHLO\r\n");
  EXPECT_FALSE(h.session->closed());
}

TEST(SmtpServerSession, BareLfCommandLinesAreAccepted) {
  Harness h;
  h.start();
  h.session->takeOutput();
  EXPECT_EQ(h.send("EHLO c\nNOOP\n").substr(0, 16), "250-relay.test\r\n");
}

TEST(SmtpServerSession, HttpRequestIsDisconnected) {
  Harness h;
  h.start();
  h.session->takeOutput();
  EXPECT_EQ(h.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            "421 4.7.0 relay.test Error: HTTP requests are not SMTP\r\n");
  EXPECT_TRUE(h.session->closed());
}

TEST(SmtpServerSession, OversizedCommandLine) {
  Harness h;
  h.config.max_line_length = 600;
  h.start();
  h.session->takeOutput();
  std::string long_line = "NOOP " + std::string(700, 'x') + "\r\n";
  EXPECT_EQ(h.send(long_line + "NOOP\r\n"), "500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n");
  // Arriving in pieces without a line end: reported once, then discarded to LF.
  EXPECT_EQ(h.send(std::string(400, 'y')), "");
  EXPECT_EQ(h.send(std::string(400, 'y')), "500 5.5.2 Error: line too long\r\n");
  EXPECT_EQ(h.send(std::string(100000, 'y')), "");
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c>\r\nNOOP\r\n"),
            "250 2.0.0 Ok\r\n");  // the MAIL was part of the long line
  // Exactly at the limit (CRLF included) is fine.
  std::string at_limit = "NOOP " + std::string(600 - 7, 'z') + "\r\n";
  ASSERT_EQ(at_limit.size(), 600u);
  EXPECT_EQ(h.send(at_limit), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(h.send("NOOP " + std::string(600 - 6, 'z') + "\r\n"), "500 5.5.2 Error: line too long\r\n");
}

struct Session : Harness {
  Session() {
    start();
    session->takeOutput();
    send("EHLO c\r\n");
  }
};

TEST(SmtpServerSession, OversizedMessageBySizeParameter) {
  Session h;
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c> SIZE=52428801\r\n"),
            "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c> SIZE=99999999999999999999\r\n"),
            "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c> SIZE=000000000000000000001\r\n"), "501 5.5.4 Bad SIZE value\r\n");
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c> SIZE=00000000000000000001\r\n"), "250 2.1.0 Ok\r\n");
  h.send("RSET\r\n");
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c> SIZE=52428800\r\n"), "250 2.1.0 Ok\r\n");
}

TEST(SmtpServerSession, TooManyErrorsInsideDataAndLongLines) {
  Harness h;
  h.config.max_errors = 1;
  h.config.max_line_length = 512;
  h.start();
  h.session->takeOutput();
  EXPECT_EQ(h.send(std::string(600, 'x') + "\r\nNOOP\r\n"),
            "500 5.5.2 Error: line too long\r\n421 4.7.0 relay.test Error: too many errors\r\n");
  EXPECT_TRUE(h.session->closed());
  Harness b;
  b.config.max_errors = 1;
  b.start();
  b.session->takeOutput();
  b.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
  EXPECT_EQ(b.send("x\ny\r\n.\r\nNOOP\r\n"),
            "550 5.6.11 Message rejected: bare CR or LF in message content\r\n"
            "421 4.7.0 relay.test Error: too many errors\r\n");
  EXPECT_TRUE(b.session->closed());
  EXPECT_EQ(b.close_events, 1);
}

TEST(SmtpServerSession, OversizedMessageWhileStreaming) {
  Harness h;
  h.config.max_message_size = 1000;
  h.start();
  h.session->takeOutput();
  h.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\n");
  EXPECT_EQ(h.send("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  std::string line = std::string(98, 'a') + "\r\n";
  for (int i = 0; i < 10; ++i) EXPECT_EQ(h.send(line), "");  // exactly 1000 bytes: fits
  EXPECT_EQ(h.send(".\r\n"), "250 2.0.0 Ok: queued as Q1\r\n");
  h.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
  for (int i = 0; i < 11; ++i) EXPECT_EQ(h.send(line), "");
  EXPECT_EQ(h.send(".\r\n"), "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
  EXPECT_EQ(h.messages.size(), 1u);
  EXPECT_EQ(h.send("NOOP\r\n"), "250 2.0.0 Ok\r\n");  // back in command mode
}

TEST(SmtpServerSession, OverlongDataLineRejectsMessage) {
  Session h;
  h.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
  std::string ok_line = std::string(4094, 'a') + "\r\n";  // max_line_length 4096 incl. CRLF
  std::string long_line = std::string(4095, 'a') + "\r\n";
  EXPECT_EQ(h.send(ok_line + ".\r\n"), "250 2.0.0 Ok: queued as Q1\r\n");
  h.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
  EXPECT_EQ(h.send(long_line + "after\r\n.\r\n"),
            "550 5.6.0 Message rejected: a line is longer than 4096 bytes\r\n");
  EXPECT_EQ(h.messages.size(), 1u);
}

TEST(SmtpServerSession, DotUnstuffing) {
  Session h;
  h.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
  EXPECT_EQ(h.send("..\r\n...x\r\n.y\r\nz.\r\n. \r\n.\r\n"), "250 2.0.0 Ok: queued as Q1\r\n");
  ASSERT_EQ(h.messages.size(), 1u);
  const std::string& d = h.messages[0].data;
  std::string body = d.substr(d.find("+0000\r\n") + 7);
  EXPECT_EQ(body, ".\r\n..x\r\ny\r\nz.\r\n \r\n");
}

TEST(SmtpServerSession, EmptyMessage) {
  Session h;
  h.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
  EXPECT_EQ(h.send(".\r\n"), "250 2.0.0 Ok: queued as Q1\r\n");
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_EQ(h.messages[0].data.substr(h.messages[0].data.size() - 7), "+0000\r\n");
}

// SMTP smuggling: every odd line end is refused and never ends the data.
TEST(SmtpServerSession, BareLineEndsInData) {
  const char* bodies[] = {
      "a\nb\r\n.\r\n",                       // bare LF
      "a\rb\r\n.\r\n",                       // bare CR
      "a\r\r\n.\r\n",                        // CR CR LF
      "a\r\n.\nMAIL FROM:<x@y.z>\r\n.\r\n",  // CRLF . LF does not end data
      "a\n.\r\nMAIL FROM:<x@y.z>\r\n.\r\n",  // LF . CRLF does not end data
      "a\n.\nMAIL FROM:<x@y.z>\r\n.\r\n",    // LF . LF does not end data
      "a\r.\r\nMAIL FROM:<x@y.z>\r\n.\r\n",  // CR . CRLF does not end data
      "trailing CR\r",                       // CR followed by the CRLF.CRLF below
  };
  for (const char* body : bodies) {
    Session h;
    h.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
    std::string input = body;
    if (input.back() == '\r') input += "\r\n.\r\n";
    EXPECT_EQ(h.send(input + "NOOP\r\n"),
              "550 5.6.11 Message rejected: bare CR or LF in message content\r\n250 2.0.0 Ok\r\n")
        << body;
    EXPECT_TRUE(h.messages.empty()) << body;
  }
}

TEST(SmtpServerSession, StartTlsInjectionIsDiscarded) {
  Harness h;
  h.config.tls_available = true;
  h.start();
  h.session->takeOutput();
  std::string ehlo = h.send("EHLO c\r\n");
  EXPECT_NE(ehlo.find("250-STARTTLS\r\n"), std::string::npos);
  EXPECT_EQ(h.send("STARTTLS\r\nMAIL FROM:<a@b.c>\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_EQ(h.starttls_events, 1);
  EXPECT_FALSE(h.session->tlsActive());
  EXPECT_EQ(h.send("RCPT TO:<d@e.f>\r\n"), "");  // plaintext during the handshake: ignored
  h.session->tlsEstablished({"TLSv1.3", "TLS_AES_256_GCM_SHA384"});
  EXPECT_TRUE(h.session->tlsActive());
  EXPECT_EQ(h.session->takeOutput(), "");
  // The injected MAIL was not executed, and the EHLO is forgotten.
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c>\r\n"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  std::string ehlo2 = h.send("EHLO c\r\n");
  EXPECT_EQ(ehlo2.find("STARTTLS"), std::string::npos);
  EXPECT_NE(ehlo2.find("250-REQUIRETLS\r\n"), std::string::npos);
  EXPECT_NE(ehlo2.find("250-AUTH PLAIN LOGIN\r\n"), std::string::npos);
  EXPECT_EQ(h.send("STARTTLS\r\n"), "503 5.5.1 Error: TLS already active\r\n");
  h.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nhi\r\n.\r\n");
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_NE(h.messages[0].data.find("(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"
                                    "\tby relay.test (tlsrelay) with ESMTPS id Q1"),
            std::string::npos)
      << h.messages[0].data;
}

TEST(SmtpServerSession, StartTlsRules) {
  Harness h;
  h.start();
  h.session->takeOutput();
  h.send("EHLO c\r\n");
  EXPECT_EQ(h.send("STARTTLS\r\n"), "502 5.5.1 Error: command not supported\r\n");
  Harness t;
  t.config.tls_available = true;
  t.start();
  t.session->takeOutput();
  EXPECT_EQ(t.send("STARTTLS\r\n"), "503 5.5.1 Error: send EHLO first\r\n");
  t.send("EHLO c\r\n");
  EXPECT_EQ(t.send("STARTTLS now\r\n"), "501 5.5.4 Syntax: STARTTLS\r\n");
  t.send("MAIL FROM:<a@b.c>\r\n");
  EXPECT_EQ(t.send("STARTTLS\r\n"), "503 5.5.1 Error: MAIL transaction in progress\r\n");
  t.send("RSET\r\n");
  EXPECT_EQ(t.send("STARTTLS\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_EQ(t.session->currentTimeout(), std::chrono::seconds(300));
  t.session->tlsFailed();
  t.pump();
  EXPECT_TRUE(t.session->closed());
  EXPECT_EQ(t.close_events, 1);
}

TEST(SmtpServerSession, RequireStartTls) {
  Harness h;
  h.config.tls_available = true;
  h.source.require_starttls = true;
  h.start();
  h.session->takeOutput();
  h.send("EHLO c\r\n");
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c>\r\n"), "530 5.7.0 Must issue a STARTTLS command first\r\n");
  h.send("STARTTLS\r\n");
  h.session->tlsEstablished({"TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384"});
  h.send("EHLO c\r\n");
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c>\r\n"), "250 2.1.0 Ok\r\n");
}

TEST(SmtpServerSession, ImplicitTls) {
  Harness h;
  h.config.implicit_tls = true;
  h.config.tls_available = true;
  h.session = std::make_unique<SmtpServerSession>(h.config, h.source, "::1");
  EXPECT_TRUE(h.session->tlsActive());
  h.session->start(TlsInfo{"TLSv1.3", "TLS_AES_128_GCM_SHA256"});
  EXPECT_EQ(h.session->takeOutput(), kBanner);
  std::string ehlo = h.send("EHLO c\r\n");
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos);
  EXPECT_NE(ehlo.find("REQUIRETLS"), std::string::npos);
  h.send("MAIL FROM:<a@b.c> REQUIRETLS\r\nRCPT TO:<d@e.f>\r\nDATA\r\nx\r\n.\r\n");
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_TRUE(h.messages[0].envelope.flags.requiretls);
  EXPECT_EQ(h.messages[0].data.rfind("Received: from c ([IPv6:::1])\r\n\t(using TLSv1.3", 0), 0u)
      << h.messages[0].data;
}

TEST(SmtpServerSession, RelayRefusedForUntrustedUnauthenticatedSource) {
  Harness h;
  h.source.relay = false;
  h.start();
  h.session->takeOutput();
  h.send("EHLO c\r\n");
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c>\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(h.send("RCPT TO:<victim@example.org>\r\n"), "554 5.7.1 Relay access denied\r\n");
  EXPECT_EQ(h.send("DATA\r\n"), "503 5.5.1 Error: need RCPT command\r\n");
  EXPECT_TRUE(h.messages.empty());
}

TEST(SmtpServerSession, TheReportAddressTakesMailFromAnyoneAloneAndNeverForTheSpool) {
  Harness h;
  h.source.relay = false;  // an outside reporter, not allowed to relay
  h.config.local_report_address = "tlsrpt@relay.test";
  h.start();
  h.session->takeOutput();
  h.send("EHLO reporter.example\r\n");
  EXPECT_EQ(h.send("MAIL FROM:<noreply@reporter.example>\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(h.send("RCPT TO:<TLSRPT@relay.test>\r\n"), "250 2.1.5 Ok\r\n") << "matched without case";
  // Anything else in the same transaction: sent separately, so a message is
  // either read here or relayed, never both (and never relayed for a stranger).
  EXPECT_EQ(h.send("RCPT TO:<victim@example.org>\r\n").rfind("452 4.5.3 <tlsrpt@relay.test>", 0), 0u);
  EXPECT_EQ(h.send("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(h.send("Subject: Report\r\n\r\nbody\r\n.\r\n"), "250 2.0.0 Ok: queued as Q1\r\n");
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_TRUE(h.messages[0].local_report);
  ASSERT_EQ(h.messages[0].envelope.recipients.size(), 1u);
  // The next transaction starts clean: relaying is refused again.
  EXPECT_EQ(h.send("MAIL FROM:<noreply@reporter.example>\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(h.send("RCPT TO:<victim@example.org>\r\n"), "554 5.7.1 Relay access denied\r\n");
}

TEST(SmtpServerSession, ARelayTransactionCannotAddTheReportAddress) {
  Harness h;
  h.config.local_report_address = "tlsrpt@relay.test";
  h.start();
  h.session->takeOutput();
  h.send("EHLO c\r\n");
  h.send("MAIL FROM:<a@b.c>\r\n");
  EXPECT_EQ(h.send("RCPT TO:<bob@example.org>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(h.send("RCPT TO:<tlsrpt@relay.test>\r\n").rfind("452 4.5.3 ", 0), 0u);
  h.send("DATA\r\n");
  h.send("Subject: x\r\n\r\nbody\r\n.\r\n");
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_FALSE(h.messages[0].local_report);
  EXPECT_EQ(h.messages[0].envelope.recipients.size(), 1u);
}

TEST(SmtpServerSession, AuthPlainOverTlsThenRelay) {
  Harness h;
  h.source.relay = false;
  h.config.implicit_tls = true;
  h.start();
  h.session->takeOutput();
  h.send("EHLO c\r\n");
  std::string bad = base64Encode(std::string("\0alice\0wrong", 12));
  EXPECT_EQ(h.send("AUTH PLAIN " + bad + "\r\n"), "535 5.7.8 Error: authentication failed\r\n");
  std::string good = base64Encode(std::string("\0alice\0secret", 13));
  EXPECT_EQ(h.send("AUTH PLAIN " + good + "\r\n"), "235 2.7.0 Authentication successful\r\n");
  ASSERT_EQ(h.auth_requests.size(), 2u);
  EXPECT_EQ(h.auth_requests[1], std::make_pair(std::string("alice"), std::string("secret")));
  EXPECT_EQ(h.send("AUTH PLAIN " + good + "\r\n"), "503 5.5.1 Error: already authenticated\r\n");
  h.send("MAIL FROM:<a@b.c>\r\n");
  EXPECT_EQ(h.send("RCPT TO:<d@e.f>\r\n"), "250 2.1.5 Ok\r\n");
  h.send("DATA\r\nx\r\n.\r\n");
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_EQ(h.messages[0].envelope.auth_user, "alice");
  EXPECT_NE(h.messages[0].data.find("with ESMTPSA id Q1"), std::string::npos);
}

TEST(SmtpServerSession, AuthPlainWithChallengeAndCancel) {
  Harness h;
  h.config.implicit_tls = true;
  h.start();
  h.session->takeOutput();
  h.send("EHLO c\r\n");
  EXPECT_EQ(h.send("AUTH PLAIN\r\n"), "334 \r\n");
  EXPECT_EQ(h.send("*\r\n"), "501 5.7.0 Authentication cancelled\r\n");
  EXPECT_EQ(h.send("AUTH PLAIN\r\n"), "334 \r\n");
  EXPECT_EQ(h.send("not base64!\r\n"), "501 5.5.2 Error: cannot decode AUTH response\r\n");
  EXPECT_EQ(h.send("AUTH PLAIN\r\n"), "334 \r\n");
  EXPECT_EQ(h.send(base64Encode("no nul bytes") + "\r\n"), "501 5.5.2 Error: malformed PLAIN response\r\n");
  EXPECT_EQ(h.send("AUTH PLAIN\r\n"), "334 \r\n");
  EXPECT_EQ(h.send(base64Encode(std::string("bob\0alice\0secret", 16)) + "\r\n"),
            "535 5.7.8 Error: authentication failed\r\n");  // acting as another user
  EXPECT_EQ(h.send("AUTH PLAIN\r\n"), "334 \r\n");
  EXPECT_EQ(h.send(base64Encode(std::string("alice\0alice\0secret", 18)) + "\r\n"),
            "235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(h.send("AUTH CRAM-MD5\r\n"), "503 5.5.1 Error: already authenticated\r\n");
}

TEST(SmtpServerSession, AuthLogin) {
  Harness h;
  h.config.implicit_tls = true;
  h.start();
  h.session->takeOutput();
  h.send("EHLO c\r\n");
  EXPECT_EQ(h.send("AUTH XOAUTH2\r\n"), "504 5.5.4 Unrecognized authentication type\r\n");
  EXPECT_EQ(h.send("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(h.send(base64Encode("alice") + "\r\n"), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(h.send("*\r\n"), "501 5.7.0 Authentication cancelled\r\n");
  EXPECT_EQ(h.send("AUTH LOGIN " + base64Encode("alice") + "\r\n"), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(h.send(base64Encode("secret") + "\r\n"), "235 2.7.0 Authentication successful\r\n");
  ASSERT_EQ(h.auth_requests.size(), 1u);
  EXPECT_EQ(h.auth_requests[0].first, "alice");
}

TEST(SmtpServerSession, AuthPipelinedCredentialsWaitForResult) {
  Harness h;
  h.config.implicit_tls = true;
  h.source.relay = false;
  h.start();
  h.session->takeOutput();
  // A pipelining client sending everything at once: each step waits its turn.
  std::string out = h.send("EHLO c\r\nAUTH LOGIN\r\n" + base64Encode("alice") + "\r\n" +
                           base64Encode("secret") + "\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\n");
  EXPECT_NE(out.find("334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 2.7.0 Authentication successful\r\n"
                     "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"),
            std::string::npos)
      << out;
}

TEST(SmtpServerSession, AuthRefusedOverPlaintext) {
  Harness h;  // require_starttls_before_auth defaults to true
  h.config.tls_available = true;
  h.source.allow_plaintext_auth = true;
  h.start();
  h.session->takeOutput();
  std::string ehlo = h.send("EHLO c\r\n");
  EXPECT_EQ(ehlo.find("AUTH"), std::string::npos);
  EXPECT_EQ(h.send("AUTH PLAIN " + base64Encode(std::string("\0alice\0secret", 13)) + "\r\n"),
            "538 5.7.11 Encryption required for requested authentication mechanism\r\n");
  EXPECT_TRUE(h.auth_requests.empty());  // the password never reached the checker

  Harness p;  // plaintext AUTH explicitly allowed for this source
  p.source.allow_plaintext_auth = true;
  p.source.require_starttls_before_auth = false;
  p.start();
  p.session->takeOutput();
  EXPECT_NE(p.send("EHLO c\r\n").find("250-AUTH PLAIN LOGIN\r\n"), std::string::npos);
  EXPECT_EQ(p.send("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");

  Harness q;  // AUTH needs EHLO, and is refused inside a transaction
  q.config.implicit_tls = true;
  q.start();
  q.session->takeOutput();
  EXPECT_EQ(q.send("AUTH LOGIN\r\n"), "503 5.5.1 Error: send EHLO first\r\n");
  q.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\n");
  EXPECT_EQ(q.send("AUTH LOGIN\r\n"), "503 5.5.1 Error: MAIL transaction in progress\r\n");
}

TEST(SmtpServerSession, RequireTlsOnlyOverTls) {
  Session h;
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c> REQUIRETLS\r\n"),
            "530 5.7.10 REQUIRETLS needs a TLS-protected session\r\n");
  Harness t;
  t.config.implicit_tls = true;
  t.start();
  t.session->takeOutput();
  t.send("EHLO c\r\n");
  EXPECT_EQ(t.send("MAIL FROM:<a@b.c> REQUIRETLS=yes\r\n"), "501 5.5.4 REQUIRETLS takes no value\r\n");
  EXPECT_EQ(t.send("MAIL FROM:<a@b.c> REQUIRETLS\r\n"), "250 2.1.0 Ok\r\n");
}

TEST(SmtpServerSession, RequireTlsRecipientTagIsStripped) {
  Session h;
  h.send("MAIL FROM:<a@b.c>\r\n");
  EXPECT_EQ(h.send("RCPT TO:<User+RequireTLS@example.org>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(h.send("RCPT TO:<other@example.org>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(h.send("RCPT TO:<other+requiretls@example.org>\r\n"),
            "250 2.1.5 Ok\r\n");                                                   // duplicate once stripped
  EXPECT_EQ(h.send("RCPT TO:<+requiretls@example.org>\r\n"), "250 2.1.5 Ok\r\n");  // nothing left: kept as is
  h.send("DATA\r\nx\r\n.\r\n");
  ASSERT_EQ(h.messages.size(), 1u);
  const Envelope& e = h.messages[0].envelope;
  EXPECT_TRUE(e.flags.requiretls);
  ASSERT_EQ(e.recipients.size(), 3u);
  EXPECT_EQ(e.recipients[0].address, "User@example.org");
  EXPECT_EQ(e.recipients[1].address, "other@example.org");
  EXPECT_EQ(e.recipients[2].address, "+requiretls@example.org");

  Session plain;
  plain.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<user+other@example.org>\r\nDATA\r\nx\r\n.\r\n");
  ASSERT_EQ(plain.messages.size(), 1u);
  EXPECT_FALSE(plain.messages[0].envelope.flags.requiretls);
  EXPECT_EQ(plain.messages[0].envelope.recipients[0].address, "user+other@example.org");
}

// RFC 8689 §3: "TLS-Required: No" in the header section, however it arrives.
TEST(SmtpServerSession, TlsRequiredNoHeaderIsDetected) {
  struct Case {
    const char* name;
    std::string content;  // message content up to (not including) the end marker
    bool expected;
  };
  const Case cases[] = {
      {"plain", "From: a@b.c\r\nTLS-Required: No\r\nSubject: s\r\n\r\nbody\r\n", true},
      {"case and whitespace", "tls-required:  \t nO \t\r\n\r\nbody\r\n", true},
      {"no space", "TLS-Required:No\r\n\r\n", true},
      {"space before colon (obsolete syntax)", "TLS-Required : No\r\n\r\n", true},
      {"folded", "Subject: s\r\nTLS-Required:\r\n No\r\nFrom: a@b.c\r\n\r\nbody\r\n", true},
      {"folded twice", "TLS-Required:\r\n\t\r\n  No  \r\n\r\n", true},
      {"last field, no body", "Subject: s\r\nTLS-Required: No\r\n", true},
      {"yes", "TLS-Required: Yes\r\n\r\n", false},
      {"no plus text", "TLS-Required: No thanks\r\n\r\n", false},
      {"folded into another word", "TLS-Required: No\r\n pe\r\n\r\n", false},
      {"empty value", "TLS-Required:\r\n\r\n", false},
      {"in the body only", "Subject: s\r\n\r\nTLS-Required: No\r\n", false},
      {"after a non-field line", "Subject: s\r\nnot a header\r\nTLS-Required: No\r\n\r\n", false},
      {"contradicting fields", "TLS-Required: No\r\nTLS-Required: Yes\r\n\r\n", false},
      {"other field name", "X-TLS-Required: No\r\nTLS-Required-Not: No\r\n\r\n", false},
      {"dot-stuffed line", "Subject: s\r\n..TLS-Required: No\r\n\r\n", false},
      {"long whitespace",
       "TLS-Required:" + std::string(300, ' ') + "No" + std::string(300, '\t') + "\r\n\r\n", true},
      {"long value", "TLS-Required: No" + std::string(300, 'o') + "\r\n\r\n", false},
  };
  for (const Case& c : cases) {
    const std::string input = c.content + ".\r\n";
    // Whole, and split at every byte boundary (packets and reads fall anywhere).
    for (size_t cut = 0; cut < input.size(); ++cut) {
      Session h;
      h.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
      if (cut > 0) h.send(input.substr(0, cut));
      EXPECT_EQ(h.send(input.substr(cut)), "250 2.0.0 Ok: queued as Q1\r\n") << c.name;
      ASSERT_EQ(h.messages.size(), 1u) << c.name;
      ASSERT_EQ(h.messages[0].envelope.flags.tls_required_no, c.expected) << c.name << " cut at " << cut;
      EXPECT_FALSE(h.messages[0].envelope.flags.requiretls) << c.name;
    }
  }
}

TEST(SmtpServerSession, TlsRequiredNoIsPerMessageAndKeptBesideRequireTls) {
  Harness t;
  t.config.implicit_tls = true;
  t.start();
  t.session->takeOutput();
  t.send("EHLO c\r\n");
  t.send("MAIL FROM:<a@b.c> REQUIRETLS\r\nRCPT TO:<d@e.f>\r\nDATA\r\nTLS-Required: No\r\n\r\nx\r\n.\r\n");
  t.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nSubject: next\r\n\r\nx\r\n.\r\n");
  ASSERT_EQ(t.messages.size(), 2u);
  // Both stored: the TLS policy, not the receiver, lets REQUIRETLS win (RFC 8689).
  EXPECT_TRUE(t.messages[0].envelope.flags.requiretls);
  EXPECT_TRUE(t.messages[0].envelope.flags.tls_required_no);
  // The next transaction starts clean.
  EXPECT_FALSE(t.messages[1].envelope.flags.requiretls);
  EXPECT_FALSE(t.messages[1].envelope.flags.tls_required_no);
}

TEST(SmtpServerSession, TlsRequiredNoInRejectedMessageIsNotKept) {
  Session h;
  h.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
  EXPECT_EQ(h.send("TLS-Required: No\n\r\n.\r\n"),
            "550 5.6.11 Message rejected: bare CR or LF in message content\r\n");
  h.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nSubject: s\r\n\r\n.\r\n");
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_FALSE(h.messages[0].envelope.flags.tls_required_no);
}

TEST(SmtpServerSession, TooManyRecipients) {
  Harness h;
  h.config.max_recipients = 2;
  h.start();
  h.session->takeOutput();
  h.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\n");
  EXPECT_EQ(h.send("RCPT TO:<1@e.f>\r\nRCPT TO:<2@e.f>\r\nRCPT TO:<3@e.f>\r\n"),
            "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n452 4.5.3 Error: too many recipients\r\n");
}

TEST(SmtpServerSession, AddressLiteralRefusedAtRcptWhenNotAllowed) {
  Harness h;
  h.config.accept_address_literals = false;
  h.start();
  h.session->takeOutput();
  h.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\n");
  EXPECT_EQ(h.send("RCPT TO:<bob@[192.0.2.9]>\r\n"),
            "550 5.1.2 <bob@[192.0.2.9]>: this relay does not deliver to address literals\r\n");
  EXPECT_EQ(h.send("RCPT TO:<bob@example.test>\r\n"), "250 2.1.5 Ok\r\n");
  // Only the domain decides: a quoted local part may contain "@[".
  EXPECT_EQ(h.send("RCPT TO:<\"bob@[x\"@example.test>\r\n"), "250 2.1.5 Ok\r\n");
}

TEST(SmtpServerSession, AddressLiteralAcceptedWhenAllowed) {
  Harness h;  // accept_address_literals defaults to true: RFC 5321 §4.1.3 delivery
  h.start();
  h.session->takeOutput();
  h.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\n");
  EXPECT_EQ(h.send("RCPT TO:<bob@[192.0.2.9]>\r\n"), "250 2.1.5 Ok\r\n");
}

TEST(SmtpServerSession, MailLoopRefusedAtHopLimit) {
  Harness h;
  h.config.max_received_headers = 3;
  h.start();
  h.session->takeOutput();
  h.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
  std::string looping;
  for (int i = 0; i < 3; ++i) looping += "Received: from hop" + std::to_string(i) + "\r\n\tby x; date\r\n";
  EXPECT_EQ(h.send(looping + "Subject: x\r\n\r\nbody\r\n.\r\n"),
            "554 5.4.6 Too many hops: 3 Received header fields, possible mail loop\r\n");
  EXPECT_TRUE(h.messages.empty());

  // One below the limit is taken; Received in the body does not count.
  h.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
  EXPECT_EQ(h.send("Received: from a\r\nReceived: from b\r\n\r\nReceived: body\r\n.\r\n"),
            "250 2.0.0 Ok: queued as Q1\r\n");
  EXPECT_EQ(h.messages.size(), 1u);
}

TEST(SmtpServerSession, TooManyErrorsCloses) {
  Harness h;
  h.config.max_errors = 3;
  h.start();
  h.session->takeOutput();
  EXPECT_EQ(h.send("A\r\nB\r\nC\r\nNOOP\r\n"),
            "500 5.5.2 Error: command not recognized\r\n500 5.5.2 Error: command not recognized\r\n"
            "500 5.5.2 Error: command not recognized\r\n421 4.7.0 relay.test Error: too many errors\r\n");
  EXPECT_TRUE(h.session->closed());
  EXPECT_EQ(h.close_events, 1);
}

TEST(SmtpServerSession, RelayDenialsCountAsErrors) {
  Harness h;
  h.config.max_errors = 2;
  h.source.relay = false;
  h.start();
  h.session->takeOutput();
  h.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\n");
  EXPECT_EQ(h.send("RCPT TO:<1@e.f>\r\nRCPT TO:<2@e.f>\r\n"),
            "554 5.7.1 Relay access denied\r\n554 5.7.1 Relay access denied\r\n"
            "421 4.7.0 relay.test Error: too many errors\r\n");
  EXPECT_TRUE(h.session->closed());
}

TEST(SmtpServerSession, Vrfy) {
  Session h;
  EXPECT_EQ(h.send("VRFY postmaster\r\n"),
            "252 2.5.2 VRFY is disabled; send the message and delivery will be attempted\r\n");
  EXPECT_EQ(h.send("VRFY\r\n"), "501 5.5.4 Syntax: VRFY address\r\n");
}

TEST(SmtpServerSession, StorageFailureIsTemporary) {
  Session h;
  h.store_ok = false;
  EXPECT_EQ(h.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(h.send("x\r\n.\r\nMAIL FROM:<a@b.c>\r\n"),
            "451 4.3.0 Error: message could not be stored, try again later\r\n250 2.1.0 Ok\r\n");
}

TEST(SmtpServerSession, NothingHappensWhileWaitingForStorage) {
  Harness h;
  h.start();
  h.session->takeOutput();
  h.session->feed("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nx\r\n.\r\nNOOP\r\nQUIT\r\n");
  auto event = h.session->nextEvent();
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->kind, Kind::MessageReady);
  EXPECT_FALSE(h.session->nextEvent().has_value());
  EXPECT_EQ(h.session->state(), SmtpServerSession::State::WaitStore);
  EXPECT_EQ(h.session->currentTimeout(), std::chrono::seconds(600));
  std::string before = h.session->takeOutput();
  EXPECT_EQ(before.substr(before.size() - 37), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(before.find("250 2.0.0 Ok:"), std::string::npos);
  h.session->messageStored(true, "");
  EXPECT_EQ(h.session->takeOutput(), "250 2.0.0 Ok: queued as Q1\r\n250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n");
  EXPECT_TRUE(h.session->closed());
}

TEST(SmtpServerSession, Timeout) {
  Session h;
  h.session->timeout();
  h.pump();
  EXPECT_EQ(h.session->takeOutput(), "421 4.4.2 relay.test Error: timeout exceeded\r\n");
  EXPECT_TRUE(h.session->closed());
  EXPECT_EQ(h.close_events, 1);
  EXPECT_EQ(h.session->currentTimeout(), std::chrono::seconds(0));
}

// The DATA reader alone: result and bytes consumed never depend on chunking.
TEST(SmtpDataReader, ChunkInvariantOnTrickyInputs) {
  using smtp::DataReader;
  struct Case {
    std::string input;
    bool finished;
    DataReader::Rejection rejection;
    std::string data;
    size_t consumed;
  };
  const Case cases[] = {
      {"a\r\n.\r\nTAIL", true, DataReader::Rejection::None, "a\r\n", 6},
      {".\r\n", true, DataReader::Rejection::None, "", 3},
      {"..\r\n.\r\n", true, DataReader::Rejection::None, ".\r\n", 7},
      {"a\n.\n", false, DataReader::Rejection::BareLineEnd, "", 5},
      {"a\n.\r\n.\r\n", true, DataReader::Rejection::BareLineEnd, "", 8},
      {"a\r\r\n.\r\n", true, DataReader::Rejection::BareLineEnd, "", 7},
      {"a\r", false, DataReader::Rejection::None, "", 2},
      {std::string(30, 'x') + "\r\n.\r\n", true, DataReader::Rejection::LineTooLong, "", 35},
      {std::string(18, 'x') + "\r\n" + std::string(18, 'y') + "\r\n.\r\n", true,
       DataReader::Rejection::TooBig, "", 43},
  };
  for (const Case& c : cases) {
    for (size_t chunk = 1; chunk <= c.input.size(); ++chunk) {
      DataReader reader;
      reader.begin(/*max_line_length=*/20, /*max_size=*/30);
      size_t consumed = 0;
      for (size_t pos = 0; pos < c.input.size() && !reader.finished(); pos += chunk) {
        std::string_view piece = std::string_view(c.input).substr(pos, chunk);
        size_t used = reader.consume(piece);
        consumed += used;
        if (reader.finished()) {
          EXPECT_LE(used, piece.size());
        } else {
          EXPECT_EQ(used, piece.size());
        }
      }
      EXPECT_EQ(reader.finished(), c.finished) << c.input << " chunk " << chunk;
      EXPECT_EQ(reader.rejection(), c.rejection) << c.input << " chunk " << chunk;
      std::string data = reader.takeData();
      if (c.finished) {
        EXPECT_EQ(consumed, c.consumed) << c.input << " chunk " << chunk;
        EXPECT_EQ(data, c.data) << c.input << " chunk " << chunk;
      }
    }
  }
}

// The scanner alone: lines in (with or without CRLF), verdict out.
TEST(HeaderWatch, LinesInVerdictOut) {
  using smtp::HeaderWatch;
  {
    HeaderWatch s;
    s.onLine("TLS-Required:");
    s.onLine("\tNo");
    EXPECT_FALSE(s.tlsRequiredNo());  // the field may still be folded further
    s.onLine("");
    EXPECT_TRUE(s.tlsRequiredNo());
    s.onLine("TLS-Required: Yes");  // body: ignored
    s.onEnd();
    EXPECT_TRUE(s.tlsRequiredNo());
  }
  {
    HeaderWatch s;
    s.onLine(" folded without a field\r\n");  // nothing to continue: ignored
    s.onLine("TLS-Required: NO\r\n");
    s.onEnd();
    EXPECT_TRUE(s.tlsRequiredNo());
  }
  {
    HeaderWatch s;
    s.onLine(": no name\r\n");  // not a field: the header section is over
    s.onLine("TLS-Required: No\r\n");
    s.onEnd();
    EXPECT_FALSE(s.tlsRequiredNo());
  }
  {
    HeaderWatch s;
    s.onLine("Bad Name: x");  // a space inside a field name: not a field
    s.onLine("TLS-Required: No");
    s.onEnd();
    EXPECT_FALSE(s.tlsRequiredNo());
  }
  {
    HeaderWatch s;  // any amount of folding whitespace around the keyword
    s.onLine("TLS-Required:");
    for (int i = 0; i < 10000; ++i) s.onLine("      ");
    s.onLine("  No");
    for (int i = 0; i < 10000; ++i) s.onLine("\t");
    s.onEnd();
    EXPECT_TRUE(s.tlsRequiredNo());
  }
}

TEST(SmtpServerSession, EhloResetsTransaction) {
  Session h;
  h.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\n");
  h.send("EHLO again\r\n");
  EXPECT_EQ(h.send("DATA\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
}

TEST(SmtpServerSession, AllowedSenderDomainsLimitWhatIsRelayed) {
  Harness h;
  h.source.allowed_sender_domains = {"example.com", "*.apps.example.com"};
  h.config.local_report_address = "tlsrpt@relay.test";
  h.start();
  h.session->takeOutput();
  h.send("EHLO c\r\n");
  h.send("MAIL FROM:<app@mail.other.test>\r\n");
  EXPECT_EQ(h.send("RCPT TO:<bob@example.org>\r\n"),
            "553 5.7.1 <app@mail.other.test>: sender domain not allowed to relay through this server\r\n");
  h.send("RSET\r\n");
  h.send("MAIL FROM:<x@evil-example.com>\r\n");  // a suffix that is not a subdomain
  EXPECT_EQ(h.send("RCPT TO:<bob@example.org>\r\n").substr(0, 3), "553");
  h.send("RSET\r\n");
  for (const char* sender : {"a@example.com", "a@EXAMPLE.com", "a@billing.apps.example.com", ""}) {
    h.send("MAIL FROM:<" + std::string(sender) + ">\r\n");
    EXPECT_EQ(h.send("RCPT TO:<bob@example.org>\r\n"), "250 2.1.5 Ok\r\n") << sender;
    h.send("RSET\r\n");
  }
  // Reports for us are not relayed, so any sender may mail them.
  h.send("MAIL FROM:<reporter@other.test>\r\n");
  EXPECT_EQ(h.send("RCPT TO:<tlsrpt@relay.test>\r\n"), "250 2.1.5 Ok\r\n");
}

}  // namespace
}  // namespace tlsrelay
