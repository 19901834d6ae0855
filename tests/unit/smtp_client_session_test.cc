// Scripted SMTP dialogues against the sans-I/O client session: the test plays
// the server, checks every byte the client sends and every event it reports.
#include "relay/smtp/smtp_client_session.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "policy/tls_decision.h"

namespace tlsrelay {
namespace {

using Kind = SmtpClientSession::EventKind;
using Event = SmtpClientSession::Event;
using State = SmtpClientSession::State;

const char* kEhloPlain = "250-mx.example.test\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n";
const char* kEhloPipelining = "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n";
const char* kEhloStartTls = "250-mx.example.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n";

class Dialogue {
 public:
  explicit Dialogue(StartTlsMode mode = StartTlsMode::Opportunistic, bool byte_by_byte = false)
      : session_(ClientSessionConfig{"relay.example.test", mode, false, "test"}),
        byte_by_byte_(byte_by_byte) {}
  explicit Dialogue(ClientSessionConfig config) : session_(std::move(config)), byte_by_byte_(false) {}

  // The server sends bytes; returns the kinds of the events that followed.
  std::vector<Kind> server(std::string_view bytes) {
    if (byte_by_byte_) {
      for (char c : bytes) session_.feed(std::string_view(&c, 1));
    } else {
      session_.feed(bytes);
    }
    return drain();
  }
  std::vector<Kind> drain() {
    std::vector<Kind> kinds;
    while (auto e = session_.nextEvent()) {
      kinds.push_back(e->kind);
      events_.push_back(std::move(*e));
    }
    return kinds;
  }
  std::string client() { return session_.takeOutput(); }
  const Event& last() const { return events_.back(); }
  const Event& lastOf(Kind kind) const {
    for (auto it = events_.rbegin(); it != events_.rend(); ++it) {
      if (it->kind == kind) return *it;
    }
    ADD_FAILURE() << "no such event";
    return events_.back();
  }
  SmtpClientSession& s() { return session_; }

  // Greeting + EHLO with the given capabilities, up to Ready.
  void connect(const char* ehlo_reply) {
    EXPECT_EQ(server("220 mx.example.test ESMTP\r\n"), std::vector<Kind>{});
    EXPECT_EQ(client(), "EHLO relay.example.test\r\n");
    EXPECT_EQ(server(ehlo_reply), std::vector<Kind>{Kind::Ready});
    EXPECT_EQ(client(), "");
  }

 private:
  SmtpClientSession session_;
  bool byte_by_byte_;
  std::vector<Event> events_;
};

OutboundMessage message(std::vector<std::string> recipients,
                        std::string data = "Subject: t\r\n\r\nhello\r\n") {
  OutboundMessage m;
  m.mail_from = "alice@example.org";
  m.recipients = std::move(recipients);
  m.data = std::make_shared<const std::string>(std::move(data));
  return m;
}

const std::vector<Kind> kDone{Kind::MessageDone, Kind::Ready};

TEST(SmtpClientSession, PlainDeliveryOneCommandAtATime) {
  Dialogue d;
  EXPECT_EQ(d.s().state(), State::Greeting);
  d.connect(kEhloPlain);
  EXPECT_FALSE(d.s().tlsActive());
  EXPECT_FALSE(d.s().capabilities().pipelining);
  d.s().sendMessage(message({"bob@example.test"}));
  EXPECT_EQ(d.client(), "MAIL FROM:<alice@example.org> SIZE=21\r\n");
  EXPECT_EQ(d.s().stateName(), std::string("sending MAIL FROM"));
  d.server("250 2.1.0 Ok\r\n");
  EXPECT_EQ(d.client(), "RCPT TO:<bob@example.test>\r\n");
  EXPECT_EQ(d.s().stateName(), std::string("sending RCPT TO"));
  d.server("250 2.1.5 Ok\r\n");
  EXPECT_EQ(d.client(), "DATA\r\n");
  EXPECT_EQ(d.s().currentTimeout(), std::chrono::seconds(120));
  d.server("354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(d.client(), "Subject: t\r\n\r\nhello\r\n.\r\n");
  EXPECT_EQ(d.s().currentTimeout(), std::chrono::seconds(600));
  EXPECT_EQ(d.server("250 2.0.0 Ok: queued as ABC\r\n"), kDone);
  const auto& r = d.lastOf(Kind::MessageDone).result;
  ASSERT_EQ(r.recipient_replies.size(), 1u);
  EXPECT_TRUE(r.accepted(0));
  EXPECT_FALSE(r.accepted(1));
  EXPECT_EQ(r.replyFor(0).text(), "250 2.0.0 Ok: queued as ABC");
  EXPECT_FALSE(r.mail_reply);

  d.s().quit();
  EXPECT_EQ(d.client(), "QUIT\r\n");
  EXPECT_EQ(d.server("221 2.0.0 Bye\r\n"), std::vector<Kind>{Kind::Closed});
  EXPECT_EQ(d.s().state(), State::Closed);
}

TEST(SmtpClientSession, PipelinedDeliverySendsOneBatch) {
  Dialogue d;
  d.connect(kEhloPipelining);
  d.s().sendMessage(message({"a@example.test", "b@example.test"}));
  EXPECT_EQ(
      d.client(),
      "MAIL FROM:<alice@example.org> SIZE=21\r\nRCPT TO:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n"
      "DATA\r\n");
  EXPECT_EQ(d.server("250 Ok\r\n250 Ok\r\n250 Ok\r\n"), std::vector<Kind>{});
  EXPECT_EQ(d.client(), "");  // nothing until DATA is answered
  EXPECT_EQ(d.s().state(), State::Data);
  d.server("354 go\r\n");
  EXPECT_EQ(d.client(), "Subject: t\r\n\r\nhello\r\n.\r\n");
  EXPECT_EQ(d.server("250 queued\r\n"), kDone);
  const auto& r = d.lastOf(Kind::MessageDone).result;
  EXPECT_TRUE(r.accepted(0));
  EXPECT_TRUE(r.accepted(1));
}

TEST(SmtpClientSession, RepliesFedByteByByte) {
  Dialogue d(StartTlsMode::Opportunistic, /*byte_by_byte=*/true);
  d.connect(kEhloPipelining);
  d.s().sendMessage(message({"a@example.test", "b@example.test", "c@example.test"}));
  d.client();
  EXPECT_EQ(
      d.server(
          "250 Ok\r\n250-2.1.5 multi\r\n250 2.1.5 line\r\n550 5.1.1 no\r\n450 4.2.0 later\r\n354 go\r\n"),
      std::vector<Kind>{});
  EXPECT_EQ(d.client(), "Subject: t\r\n\r\nhello\r\n.\r\n");
  EXPECT_EQ(d.server("250 2.0.0 Ok\r\n"), kDone);
  const auto& r = d.lastOf(Kind::MessageDone).result;
  EXPECT_TRUE(r.accepted(0));
  EXPECT_FALSE(r.accepted(1));
  EXPECT_FALSE(r.accepted(2));
  EXPECT_EQ(r.recipient_replies[0].text(), "250 2.1.5 multi line");
}

TEST(SmtpClientSession, ReplyStreamSplitAtEveryByteBoundary) {
  const std::string replies =
      "250 2.1.0 Ok\r\n250-2.1.5 Ok\r\n250 2.1.5 really\r\n550 5.1.1 no\r\n354 go\r\n250 2.0.0 queued\r\n";
  for (size_t cut = 0; cut <= replies.size(); ++cut) {
    Dialogue d;
    d.connect(kEhloPipelining);
    d.s().sendMessage(message({"a@example.test", "b@example.test"}));
    std::string sent = d.client();
    std::vector<Kind> kinds = d.server(std::string_view(replies).substr(0, cut));
    sent += d.client();
    for (Kind k : d.server(std::string_view(replies).substr(cut))) kinds.push_back(k);
    sent += d.client();
    EXPECT_EQ(kinds, kDone) << cut;
    EXPECT_EQ(
        sent,
        "MAIL FROM:<alice@example.org> SIZE=21\r\nRCPT TO:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n"
        "DATA\r\nSubject: t\r\n\r\nhello\r\n.\r\n")
        << cut;
    const auto& r = d.lastOf(Kind::MessageDone).result;
    EXPECT_TRUE(r.accepted(0)) << cut;
    EXPECT_FALSE(r.accepted(1)) << cut;
    EXPECT_EQ(r.recipient_replies[0].text(), "250 2.1.5 Ok really") << cut;
  }
}

TEST(SmtpClientSession, FailureReasonsNameTheStage) {
  Dialogue d;
  d.server("220 mx\r\n");
  EXPECT_EQ(d.server("451 4.3.2 busy\r\n"), std::vector<Kind>{Kind::Failed});
  EXPECT_NE(d.last().reason.find("while sending EHLO"), std::string::npos) << d.last().reason;
  EXPECT_NE(d.last().reason.find("451 4.3.2 busy"), std::string::npos) << d.last().reason;
}

TEST(SmtpClientSession, PartialRecipientFailure) {
  Dialogue d;
  d.connect(kEhloPipelining);
  d.s().sendMessage(message({"ok@example.test", "gone@example.test", "full@example.test"}));
  d.client();
  d.server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 User unknown\r\n450 4.2.2 Mailbox full\r\n354 go\r\n");
  EXPECT_EQ(d.server("250 2.0.0 queued\r\n"), kDone);
  const auto& r = d.lastOf(Kind::MessageDone).result;
  ASSERT_EQ(r.recipient_replies.size(), 3u);
  EXPECT_TRUE(r.accepted(0));
  EXPECT_FALSE(r.accepted(1));
  EXPECT_FALSE(r.accepted(2));
  EXPECT_TRUE(r.replyFor(1).isPermanent());
  EXPECT_EQ(r.replyFor(1).enhanced, "5.1.1");
  EXPECT_TRUE(r.replyFor(2).isTransient());
  EXPECT_EQ(r.replyFor(0).text(), "250 2.0.0 queued");
  ASSERT_TRUE(r.data_reply);
}

TEST(SmtpClientSession, MailRejectedFailsAllRecipients) {
  Dialogue d;
  d.connect(kEhloPlain);
  d.s().sendMessage(message({"a@example.test", "b@example.test"}));
  d.client();
  EXPECT_EQ(d.server("553 5.7.1 Sender rejected\r\n"), kDone);
  EXPECT_EQ(d.client(), "");  // no RCPT after a refused MAIL
  const auto& r = d.lastOf(Kind::MessageDone).result;
  ASSERT_TRUE(r.mail_reply);
  EXPECT_EQ(r.mail_reply->code, 553);
  ASSERT_EQ(r.recipient_replies.size(), 2u);
  EXPECT_EQ(r.replyFor(0).code, 553);
  EXPECT_EQ(r.replyFor(1).code, 553);
  EXPECT_FALSE(r.accepted(0));
  // No transaction is open: the next message starts with MAIL, not RSET.
  d.s().sendMessage(message({"c@example.test"}));
  EXPECT_EQ(d.client(), "MAIL FROM:<alice@example.org> SIZE=21\r\n");
}

TEST(SmtpClientSession, PipelinedMailRejectedIgnoresLaterReplies) {
  Dialogue d;
  d.connect(kEhloPipelining);
  d.s().sendMessage(message({"a@example.test", "b@example.test"}));
  d.client();
  EXPECT_EQ(
      d.server(
          "451 4.3.0 try later\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need RCPT\r\n"),
      kDone);
  const auto& r = d.lastOf(Kind::MessageDone).result;
  EXPECT_EQ(r.replyFor(0).code, 451);
  EXPECT_EQ(r.replyFor(1).code, 451);
  EXPECT_FALSE(r.data_command_reply);
  d.s().sendMessage(message({"c@example.test"}));
  EXPECT_EQ(d.client().rfind("MAIL FROM:", 0), 0u);  // no RSET needed
}

TEST(SmtpClientSession, DataFinalReply554) {
  Dialogue d;
  d.connect(kEhloPlain);
  d.s().sendMessage(message({"a@example.test"}));
  d.server("250 Ok\r\n");
  d.server("250 Ok\r\n");
  d.server("354 go\r\n");
  EXPECT_EQ(d.server("554 5.7.1 Message rejected as spam\r\n"), kDone);
  const auto& r = d.lastOf(Kind::MessageDone).result;
  EXPECT_FALSE(r.accepted(0));
  ASSERT_TRUE(r.data_reply);
  EXPECT_EQ(r.replyFor(0).code, 554);
  EXPECT_EQ(r.recipient_replies[0].code, 250);
  // The end of data closed the transaction: no RSET before the next one.
  d.client();
  d.s().sendMessage(message({"b@example.test"}));
  EXPECT_EQ(d.client().rfind("MAIL FROM:", 0), 0u);
}

TEST(SmtpClientSession, DataCommandRefusedThenRsetBeforeNextMessage) {
  Dialogue d;
  d.connect(kEhloPlain);
  d.s().sendMessage(message({"a@example.test"}));
  d.server("250 Ok\r\n");
  d.server("250 Ok\r\n");
  d.client();
  EXPECT_EQ(d.server("554 5.5.0 no DATA today\r\n"), kDone);
  EXPECT_EQ(d.client(), "");
  const auto& r = d.lastOf(Kind::MessageDone).result;
  EXPECT_FALSE(r.accepted(0));
  EXPECT_FALSE(r.data_reply);
  ASSERT_TRUE(r.data_command_reply);
  EXPECT_EQ(r.replyFor(0).code, 554);
  // MAIL was accepted, so the transaction is open: RSET first, then MAIL.
  d.s().sendMessage(message({"b@example.test"}));
  EXPECT_EQ(d.client(), "RSET\r\n");
  EXPECT_EQ(d.s().state(), State::Rset);
  d.server("250 2.0.0 Ok\r\n");
  EXPECT_EQ(d.client(), "MAIL FROM:<alice@example.org> SIZE=21\r\n");
}

TEST(SmtpClientSession, NoRecipientAcceptedWithoutPipeliningSkipsData) {
  Dialogue d;
  d.connect(kEhloPlain);
  d.s().sendMessage(message({"a@example.test", "b@example.test"}));
  d.server("250 Ok\r\n");
  d.server("550 no\r\n");
  EXPECT_EQ(
      d.client(),
      "MAIL FROM:<alice@example.org> SIZE=21\r\nRCPT TO:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n");
  EXPECT_EQ(d.server("450 later\r\n"), kDone);
  EXPECT_EQ(d.client(), "");  // no DATA
  const auto& r = d.lastOf(Kind::MessageDone).result;
  EXPECT_EQ(r.replyFor(0).code, 550);
  EXPECT_EQ(r.replyFor(1).code, 450);
  EXPECT_FALSE(r.data_reply);
  d.s().sendMessage(message({"c@example.test"}));
  EXPECT_EQ(d.client(), "RSET\r\n");
}

TEST(SmtpClientSession, PipelinedNoRecipientButDataAcceptedSendsLoneDot) {
  Dialogue d;
  d.connect(kEhloPipelining);
  d.s().sendMessage(message({"a@example.test"}));
  d.client();
  d.server("250 Ok\r\n550 5.1.1 unknown\r\n354 go ahead\r\n");
  // RFC 2920 §3.1: the client SHOULD send a single dot; never the message.
  EXPECT_EQ(d.client(), ".\r\n");
  EXPECT_EQ(d.server("554 5.5.1 no valid recipients\r\n"), kDone);
  const auto& r = d.lastOf(Kind::MessageDone).result;
  EXPECT_FALSE(r.data_reply);
  EXPECT_EQ(r.replyFor(0).code, 550);
  d.s().sendMessage(message({"b@example.test"}));
  EXPECT_EQ(d.client().rfind("MAIL FROM:", 0), 0u);
}

TEST(SmtpClientSession, PipelinedNoRecipientDataRefusedRsetIsPipelined) {
  Dialogue d;
  d.connect(kEhloPipelining);
  d.s().sendMessage(message({"a@example.test"}));
  d.client();
  EXPECT_EQ(d.server("250 Ok\r\n550 5.1.1 unknown\r\n554 5.5.1 no valid recipients\r\n"), kDone);
  EXPECT_EQ(d.client(), "");
  d.s().sendMessage(message({"b@example.test"}));
  EXPECT_EQ(d.client(),
            "RSET\r\nMAIL FROM:<alice@example.org> SIZE=21\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
  d.server("250 reset\r\n250 Ok\r\n250 Ok\r\n354 go\r\n");
  EXPECT_EQ(d.server("250 queued\r\n"), kDone);
  EXPECT_TRUE(d.lastOf(Kind::MessageDone).result.accepted(0));
}

TEST(SmtpClientSession, TwoMessagesOnOneConnection) {
  Dialogue d;
  d.connect(kEhloPipelining);
  for (int i = 0; i < 2; ++i) {
    d.s().sendMessage(message({"a@example.test"}));
    EXPECT_EQ(d.client().rfind("MAIL FROM:", 0), 0u) << i;
    d.server("250 Ok\r\n250 Ok\r\n354 go\r\n");
    EXPECT_EQ(d.client(), "Subject: t\r\n\r\nhello\r\n.\r\n");
    EXPECT_EQ(d.server("250 queued " + std::to_string(i) + "\r\n"), kDone);
    EXPECT_TRUE(d.lastOf(Kind::MessageDone).result.accepted(0));
    EXPECT_EQ(d.lastOf(Kind::MessageDone).result.replyFor(0).text(), "250 queued " + std::to_string(i));
  }
  EXPECT_EQ(d.s().state(), State::Ready);
}

TEST(SmtpClientSession, StartTlsRequiredButNotOfferedNeverSendsInClear) {
  Dialogue d(StartTlsMode::Required);
  d.server("220 mx ESMTP\r\n");
  EXPECT_EQ(d.client(), "EHLO relay.example.test\r\n");
  EXPECT_EQ(d.server(kEhloPipelining), std::vector<Kind>{Kind::Failed});
  EXPECT_TRUE(d.last().starttls_missing);
  EXPECT_NE(d.last().reason.find("STARTTLS"), std::string::npos);
  EXPECT_EQ(d.client(), "");
  EXPECT_EQ(d.s().state(), State::Failed);
  d.s().sendMessage(message({"a@example.test"}));  // misuse: refused locally
  EXPECT_EQ(d.client(), "");
  ASSERT_EQ(d.drain(), std::vector<Kind>{Kind::MessageDone});
  EXPECT_TRUE(d.last().result.replyFor(0).isTransient());
}

TEST(SmtpClientSession, OpportunisticWithoutStartTlsDeliversInClear) {
  Dialogue d(StartTlsMode::Opportunistic);
  d.connect(kEhloPipelining);
  EXPECT_FALSE(d.s().tlsActive());
  d.s().sendMessage(message({"a@example.test"}));
  d.client();
  d.server("250 Ok\r\n250 Ok\r\n354 go\r\n");
  EXPECT_EQ(d.server("250 queued\r\n"), kDone);
  EXPECT_TRUE(d.lastOf(Kind::MessageDone).result.accepted(0));
}

TEST(SmtpClientSession, StartTlsFlowSendsEhloAgainAndForgetsCapabilities) {
  Dialogue d(StartTlsMode::Required);
  d.server("220 mx ESMTP\r\n");
  d.client();
  EXPECT_EQ(d.server(kEhloStartTls), std::vector<Kind>{});
  EXPECT_EQ(d.client(), "STARTTLS\r\n");
  // A server (or attacker) pipelining a reply after 220: it must not be used.
  EXPECT_EQ(d.server("220 2.0.0 Ready to start TLS\r\n250 injected\r\n"), std::vector<Kind>{Kind::StartTls});
  EXPECT_EQ(d.s().state(), State::TlsHandshake);
  EXPECT_EQ(d.client(), "");
  d.server("250 more plaintext\r\n");  // also ignored
  d.s().tlsEstablished();
  EXPECT_TRUE(d.s().tlsActive());
  EXPECT_FALSE(d.s().capabilities().starttls);  // RFC 3207 §4.2: forgotten
  EXPECT_FALSE(d.s().capabilities().pipelining);
  EXPECT_EQ(d.client(), "EHLO relay.example.test\r\n");
  EXPECT_EQ(d.drain(), std::vector<Kind>{});  // the injected 250 was not taken as the EHLO reply
  EXPECT_EQ(d.server("250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n"), std::vector<Kind>{Kind::Ready});
  EXPECT_EQ(d.client(), "");  // no second STARTTLS inside TLS
  EXPECT_TRUE(d.s().capabilities().pipelining);
  d.s().sendMessage(message({"a@example.test"}));
  EXPECT_EQ(d.client(), "MAIL FROM:<alice@example.org>\r\nRCPT TO:<a@example.test>\r\nDATA\r\n");
}

TEST(SmtpClientSession, GarbageAfterStartTlsReplyIsDiscardedNotFatal) {
  Dialogue d(StartTlsMode::Required);
  d.server("220 mx\r\n");
  d.server(kEhloStartTls);
  d.client();
  EXPECT_EQ(d.server("220 go\r\n\x16\x03\x01garbage\r\n"), std::vector<Kind>{Kind::StartTls});
  d.s().tlsEstablished();
  EXPECT_EQ(d.client(), "EHLO relay.example.test\r\n");
  EXPECT_EQ(d.server("250 mx\r\n"), std::vector<Kind>{Kind::Ready});
  EXPECT_TRUE(d.s().tlsActive());
}

TEST(SmtpClientSession, StartTlsRefused) {
  {
    Dialogue d(StartTlsMode::Required);
    d.server("220 mx\r\n");
    d.server(kEhloStartTls);
    d.client();
    EXPECT_EQ(d.server("454 4.7.0 TLS not available\r\n"), std::vector<Kind>{Kind::Failed});
    EXPECT_FALSE(d.last().starttls_missing);
    ASSERT_TRUE(d.last().reply);
    EXPECT_EQ(d.last().reply->code, 454);
  }
  {
    Dialogue d(StartTlsMode::Opportunistic);
    d.server("220 mx\r\n");
    d.server(kEhloStartTls);
    d.client();
    EXPECT_EQ(d.server("454 4.7.0 TLS not available\r\n"), std::vector<Kind>{Kind::Ready});
    EXPECT_FALSE(d.s().tlsActive());
  }
}

TEST(SmtpClientSession, StartTlsNeverModeDoesNotUseIt) {
  Dialogue d(StartTlsMode::Never);
  d.connect(kEhloStartTls);
  EXPECT_FALSE(d.s().tlsActive());
}

TEST(SmtpClientSession, TlsHandshakeFailure) {
  Dialogue d(StartTlsMode::Opportunistic);
  d.server("220 mx\r\n");
  d.server(kEhloStartTls);
  d.server("220 go\r\n");
  d.s().tlsFailed();
  EXPECT_EQ(d.drain(), std::vector<Kind>{Kind::Failed});
  EXPECT_NE(d.last().reason.find("TLS"), std::string::npos);
}

TEST(SmtpClientSession, EhloRefusedFallsBackToHelo) {
  Dialogue d;
  d.server("220 old mx\r\n");
  d.client();
  d.server("502 5.5.2 Command not recognized\r\n");
  EXPECT_EQ(d.client(), "HELO relay.example.test\r\n");
  EXPECT_EQ(d.server("250 old mx\r\n"), std::vector<Kind>{Kind::Ready});
  d.s().sendMessage(message({"a@example.test"}));
  EXPECT_EQ(d.client(), "MAIL FROM:<alice@example.org>\r\n");  // no SIZE, no pipelining
}

TEST(SmtpClientSession, HeloOnlyServerWithRequiredTls) {
  Dialogue d(StartTlsMode::Required);
  d.server("220 old mx\r\n");
  d.server("500 what\r\n");
  EXPECT_EQ(d.server("250 old mx\r\n"), std::vector<Kind>{Kind::Failed});
  EXPECT_TRUE(d.last().starttls_missing);
}

TEST(SmtpClientSession, EhloTransientFailureFails) {
  Dialogue d;
  d.server("220 mx\r\n");
  EXPECT_EQ(d.server("451 busy\r\n"), std::vector<Kind>{Kind::Failed});
}

TEST(SmtpClientSession, GreetingRefused) {
  Dialogue d;
  EXPECT_EQ(d.server("554 5.7.1 go away\r\n"), std::vector<Kind>{Kind::Failed});
  ASSERT_TRUE(d.last().reply);
  EXPECT_EQ(d.last().reply->code, 554);
  EXPECT_EQ(d.client(), "");
}

// Destination health asks this: a host that answered EHLO (or HELO) is up,
// whatever TLS policy made of the session afterwards.
TEST(SmtpClientSession, HelloAcceptedOnlyAfterAPositiveEhloReply) {
  Dialogue refused;
  refused.server("554 5.7.1 go away\r\n");
  EXPECT_FALSE(refused.s().helloAccepted());

  Dialogue busy;
  busy.server("220 mx\r\n");
  EXPECT_FALSE(busy.s().helloAccepted());
  busy.server("451 busy\r\n");
  EXPECT_FALSE(busy.s().helloAccepted());

  Dialogue no_tls(StartTlsMode::Required);
  no_tls.server("220 mx ESMTP\r\n");
  no_tls.server(kEhloPipelining);
  EXPECT_EQ(no_tls.s().state(), State::Failed);
  EXPECT_TRUE(no_tls.s().helloAccepted());
}

TEST(SmtpClientSession, Server421MidSession) {
  Dialogue d;
  d.connect(kEhloPlain);
  d.s().sendMessage(message({"a@example.test"}));
  d.server("250 Ok\r\n");
  EXPECT_EQ(d.server("421 4.3.2 Shutting down\r\n"), std::vector<Kind>{Kind::Failed});
  EXPECT_NE(d.last().reason.find("sending RCPT TO"), std::string::npos) << d.last().reason;
  ASSERT_TRUE(d.last().reply);
  EXPECT_EQ(d.last().reply->code, 421);
  EXPECT_EQ(d.server("250 late\r\n"), std::vector<Kind>{});  // nothing after Failed
}

TEST(SmtpClientSession, Server421WhileIdle) {
  Dialogue d;
  d.connect(kEhloPlain);
  EXPECT_EQ(d.server("421 idle timeout\r\n"), std::vector<Kind>{Kind::Failed});
}

TEST(SmtpClientSession, UnsolicitedReplyIsProtocolError) {
  Dialogue d;
  d.connect(kEhloPlain);
  EXPECT_EQ(d.server("250 surprise\r\n"), std::vector<Kind>{Kind::Failed});
}

TEST(SmtpClientSession, MalformedReplyFails) {
  Dialogue d;
  d.connect(kEhloPipelining);
  d.s().sendMessage(message({"a@example.test"}));
  EXPECT_EQ(d.server("250 Ok\r\nxyz\r\n"), std::vector<Kind>{Kind::Failed});
  EXPECT_NE(d.last().reason.find("malformed"), std::string::npos);
}

TEST(SmtpClientSession, UnexpectedReplyClassesAreProtocolErrors) {
  {
    Dialogue d;
    d.connect(kEhloPlain);
    d.s().sendMessage(message({"a@example.test"}));
    d.server("250 Ok\r\n250 Ok\r\n");
    EXPECT_EQ(d.server("250 not 354\r\n"), std::vector<Kind>{Kind::Failed});
  }
  {
    Dialogue d;
    d.connect(kEhloPlain);
    d.s().sendMessage(message({"a@example.test"}));
    EXPECT_EQ(d.server("354 to MAIL?\r\n"), std::vector<Kind>{Kind::Failed});
  }
}

TEST(SmtpClientSession, SizeTooBigFailsMessageWithoutSending) {
  Dialogue d;
  d.connect("250-mx\r\n250-PIPELINING\r\n250 SIZE 100\r\n");
  d.s().sendMessage(message({"a@example.test", "b@example.test"}, std::string(200, 'x')));
  EXPECT_EQ(d.client(), "");
  EXPECT_EQ(d.drain(), kDone);
  const auto& r = d.lastOf(Kind::MessageDone).result;
  ASSERT_TRUE(r.mail_reply);
  EXPECT_EQ(r.mail_reply->code, 552);
  EXPECT_EQ(r.mail_reply->enhanced, "5.3.4");
  EXPECT_EQ(r.replyFor(1).code, 552);
  EXPECT_EQ(d.s().state(), State::Ready);
  // The connection is still usable.
  d.s().sendMessage(message({"a@example.test"}, std::string(100, 'x')));
  EXPECT_EQ(d.client().rfind("MAIL FROM:<alice@example.org> SIZE=100\r\n", 0), 0u);
}

TEST(SmtpClientSession, MailParametersFollowCapabilities) {
  OutboundMessage m = message({"a@example.test", "b@example.test"});
  m.mail_from = "";
  m.body_8bit = true;
  m.smtputf8 = true;
  m.envid = "QUEUE123";
  m.ret = "HDRS";
  m.notify = {"SUCCESS,FAILURE"};
  m.orcpt = {"rfc822;a@example.test", "rfc822;b@example.test"};
  {
    Dialogue d;
    d.connect("250-mx\r\n250-PIPELINING\r\n250-SIZE\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 DSN\r\n");
    d.s().sendMessage(m);
    EXPECT_EQ(d.client(),
              "MAIL FROM:<> BODY=8BITMIME SMTPUTF8 SIZE=21 RET=HDRS ENVID=QUEUE123\r\n"
              "RCPT TO:<a@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@example.test\r\n"
              "RCPT TO:<b@example.test> ORCPT=rfc822;b@example.test\r\nDATA\r\n");
  }
  {
    // No DSN, no 8BITMIME: those parameters are dropped. SMTPUTF8 is needed but
    // not offered: the message fails (5.6.7), the connection does not.
    Dialogue d;
    d.connect("250-mx\r\n250 PIPELINING\r\n");
    d.s().sendMessage(m);
    EXPECT_EQ(d.client(), "");
    EXPECT_EQ(d.drain(), kDone);
    EXPECT_EQ(d.lastOf(Kind::MessageDone).result.replyFor(0).enhanced, "5.6.7");
    m.smtputf8 = false;
    d.s().sendMessage(m);
    EXPECT_EQ(d.client(), "MAIL FROM:<>\r\nRCPT TO:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
  }
}

// Up to Ready over TLS: greeting, EHLO, STARTTLS, handshake, EHLO again.
void connectOverTls(Dialogue& d, const char* ehlo_over_tls) {
  d.server("220 mx\r\n");
  d.server(kEhloStartTls);
  EXPECT_EQ(d.client(), "EHLO relay.example.test\r\nSTARTTLS\r\n");
  d.server("220 go\r\n");
  d.s().tlsEstablished();
  EXPECT_EQ(d.client(), "EHLO relay.example.test\r\n");
  EXPECT_EQ(d.server(ehlo_over_tls), std::vector<Kind>{Kind::Ready});
  ASSERT_TRUE(d.s().tlsActive());
}

// RFC 8689 §4.2.1: a hop that cannot take a REQUIRETLS message is a failure of
// the hop (next MX, retry later), never a bounce and never a clear-text send.
void expectRequireTlsHopFailure(Dialogue& d, const std::string& reason) {
  EXPECT_EQ(d.client(), "");  // not a byte of the transaction left
  EXPECT_EQ(d.drain(), std::vector<Kind>{Kind::Failed});
  EXPECT_EQ(d.s().state(), State::Failed);
  const Event& failed = d.lastOf(Kind::Failed);
  EXPECT_EQ(toString(failed.requiretls_refusal), reason);
  EXPECT_FALSE(failed.starttls_missing);
  ASSERT_TRUE(failed.reply.has_value());
  EXPECT_EQ(failed.reply->code, 450);
  EXPECT_EQ(failed.reply->enhanced, "4.7.10");
  EXPECT_TRUE(failed.reply->isTransient());
  EXPECT_NE(failed.reason.find("REQUIRETLS"), std::string::npos) << failed.reason;
}

TEST(SmtpClientSession, RequireTlsMessageNeverGoesInClear) {
  OutboundMessage m = message({"a@example.test"});
  m.requiretls = true;
  {
    Dialogue d;
    d.connect("250-mx\r\n250 REQUIRETLS\r\n");  // offered, but we are in clear
    d.s().sendMessage(m);
    expectRequireTlsHopFailure(d, "requiretls:nostarttls");
  }
  {
    Dialogue d;  // opportunistic TLS, server without STARTTLS
    d.connect(kEhloPipelining);
    d.s().sendMessage(m);
    expectRequireTlsHopFailure(d, "requiretls:nostarttls");
  }
  {
    Dialogue d(StartTlsMode::Never);  // the caller's retry in clear after a failed handshake
    d.server("220 mx\r\n");
    d.client();
    d.server(kEhloStartTls);
    EXPECT_EQ(d.client(), "");
    d.s().sendMessage(m);
    expectRequireTlsHopFailure(d, "requiretls:nostarttls");
  }
}

TEST(SmtpClientSession, RequireTlsMessageNeedsTheExtensionOverTls) {
  OutboundMessage m = message({"a@example.test"});
  m.requiretls = true;
  {
    Dialogue d(StartTlsMode::Required);
    connectOverTls(d, "250-mx\r\n250 PIPELINING\r\n");
    d.s().sendMessage(m);
    expectRequireTlsHopFailure(d, "requiretls:noext");
  }
  {
    // REQUIRETLS seen only before TLS counts for nothing (RFC 3207 §4.2).
    Dialogue d;
    d.server("220 mx\r\n");
    d.server("250-mx\r\n250-REQUIRETLS\r\n250 STARTTLS\r\n");
    d.server("220 go\r\n");
    d.s().tlsEstablished();
    d.client();
    d.server("250 mx\r\n");
    d.s().sendMessage(m);
    expectRequireTlsHopFailure(d, "requiretls:noext");
  }
  {
    // A hop failure, checked before the message's own limits: a peer without
    // REQUIRETLS (and without SMTPUTF8) never bounces the message with 5.6.7.
    OutboundMessage intl = m;
    intl.smtputf8 = true;
    Dialogue d(StartTlsMode::Required);
    connectOverTls(d, "250 mx\r\n");
    d.s().sendMessage(intl);
    expectRequireTlsHopFailure(d, "requiretls:noext");
  }
}

TEST(SmtpClientSession, RequireTlsMessageSentWithTheParameter) {
  OutboundMessage m = message({"a@example.test"});
  m.requiretls = true;
  Dialogue d(StartTlsMode::Required);
  connectOverTls(d, "250-mx\r\n250-PIPELINING\r\n250 REQUIRETLS\r\n");
  d.s().sendMessage(m);
  EXPECT_EQ(d.client(), "MAIL FROM:<alice@example.org> REQUIRETLS\r\nRCPT TO:<a@example.test>\r\nDATA\r\n");
  d.server("250 ok\r\n250 ok\r\n354 go\r\n");
  EXPECT_EQ(d.client(), "Subject: t\r\n\r\nhello\r\n.\r\n");
  EXPECT_EQ(d.server("250 queued\r\n"), kDone);
  EXPECT_TRUE(d.lastOf(Kind::MessageDone).result.accepted(0));
  EXPECT_EQ(d.lastOf(Kind::MessageDone).requiretls_refusal, RequireTlsRefusal::None);
}

TEST(SmtpClientSession, RequireTlsMessageAfterAPlainOneOnTheSameConnection) {
  Dialogue d;
  d.connect(kEhloPipelining);
  d.s().sendMessage(message({"a@example.test"}));
  d.client();
  EXPECT_EQ(d.server("250 ok\r\n250 ok\r\n354 go\r\n"), std::vector<Kind>{});
  d.client();
  EXPECT_EQ(d.server("250 queued\r\n"), kDone);
  OutboundMessage secret = message({"b@example.test"}, "Subject: secret\r\n\r\nsecret\r\n");
  secret.requiretls = true;
  d.s().sendMessage(secret);
  expectRequireTlsHopFailure(d, "requiretls:nostarttls");
  // The session is done: nothing more is sent, even if the server speaks again.
  d.server("250 ok\r\n");
  EXPECT_EQ(d.client(), "");
}

TEST(SmtpClientSession, EnvelopeInjectionRefusedLocally) {
  Dialogue d;
  d.connect(kEhloPipelining);
  d.s().sendMessage(message({"a@example.test>\r\nRCPT TO:<evil@example.test"}));
  EXPECT_EQ(d.client(), "");
  EXPECT_EQ(d.drain(), kDone);
  EXPECT_TRUE(d.lastOf(Kind::MessageDone).result.replyFor(0).isPermanent());
}

TEST(SmtpClientSession, PayloadIsDotStuffed) {
  Dialogue d;
  d.connect(kEhloPipelining);
  d.s().sendMessage(message({"a@example.test"}, ".hidden\r\n.\r\nafter\n"));
  d.client();
  d.server("250 Ok\r\n250 Ok\r\n354 go\r\n");
  EXPECT_EQ(d.client(), "..hidden\r\n..\r\nafter\r\n.\r\n");
}

TEST(SmtpClientSession, EmptyRecipientListCompletesAtOnce) {
  Dialogue d;
  d.connect(kEhloPipelining);
  d.s().sendMessage(message({}));
  EXPECT_EQ(d.client(), "");
  EXPECT_EQ(d.drain(), kDone);
}

TEST(SmtpClientSession, TimeoutsByState) {
  Dialogue d;
  EXPECT_EQ(d.s().currentTimeout(), std::chrono::seconds(300));  // greeting
  d.connect(kEhloPlain);
  EXPECT_EQ(d.s().currentTimeout(), std::chrono::seconds(0));  // idle: adapter's reuse policy
  d.s().sendMessage(message({"a@example.test"}));
  EXPECT_EQ(d.s().currentTimeout(), std::chrono::seconds(300));
  d.server("250 Ok\r\n");
  d.server("250 Ok\r\n");
  EXPECT_EQ(d.s().currentTimeout(), std::chrono::seconds(120));
  d.s().timeout();
  EXPECT_EQ(d.drain(), std::vector<Kind>{Kind::Failed});
  EXPECT_NE(d.last().reason.find("timeout while sending DATA"), std::string::npos) << d.last().reason;
  EXPECT_EQ(d.s().currentTimeout(), std::chrono::seconds(0));
}

TEST(SmtpClientSession, QuitWithRepliesOutstanding) {
  Dialogue d;
  d.connect(kEhloPipelining);
  d.s().sendMessage(message({"a@example.test"}));
  d.client();
  d.s().quit();
  EXPECT_EQ(d.client(), "QUIT\r\n");
  EXPECT_EQ(d.server("250 Ok\r\n250 Ok\r\n"), std::vector<Kind>{});
  EXPECT_EQ(d.server("354 go\r\n221 bye\r\n"), std::vector<Kind>{Kind::Closed});
}

TEST(SmtpClientSession, QuitTimeoutCloses) {
  Dialogue d;
  d.connect(kEhloPlain);
  d.s().quit();
  d.s().timeout();
  EXPECT_EQ(d.drain(), std::vector<Kind>{Kind::Closed});
}

TEST(SmtpClientSession, ImplicitTlsSkipsStartTls) {
  SmtpClientSession s(ClientSessionConfig{"relay.example.test", StartTlsMode::Required, true, "t"});
  s.feed("220 mx\r\n");
  s.takeOutput();
  s.feed(kEhloStartTls);
  EXPECT_EQ(s.takeOutput(), "");
  auto e = s.nextEvent();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Kind::Ready);
  EXPECT_TRUE(s.tlsActive());
}

TEST(TlsDecisionNames, EnumsHaveStableNames) {
  EXPECT_STREQ(toString(StartTlsMode::Never), "never");
  EXPECT_STREQ(toString(StartTlsMode::Opportunistic), "opportunistic");
  EXPECT_STREQ(toString(StartTlsMode::Required), "required");
  EXPECT_STREQ(toString(VerifyMode::None), "none");
  EXPECT_STREQ(toString(VerifyMode::Pkix), "pkix");
}

// --- AUTH to a smarthost (RFC 4954) ---------------------------------------

ClientSessionConfig authConfig(StartTlsMode mode = StartTlsMode::Required, bool implicit = false) {
  ClientSessionConfig c{"relay.example.test", mode, implicit, "test"};
  c.credentials = std::make_shared<const SmtpCredentials>(SmtpCredentials{"relay", "s3cret:x"});
  return c;
}

// Greeting, EHLO, STARTTLS, handshake, EHLO over TLS with `tls_ehlo`.
void upToTlsEhlo(Dialogue& d, const char* tls_ehlo) {
  d.server("220 smarthost ESMTP\r\n");
  EXPECT_EQ(d.client(), "EHLO relay.example.test\r\n");
  d.server("250-smarthost\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n");
  EXPECT_EQ(d.client(), "STARTTLS\r\n");  // AUTH offered in clear is not taken up
  d.server("220 go ahead\r\n");
  d.s().tlsEstablished();
  EXPECT_EQ(d.client(), "EHLO relay.example.test\r\n");
  d.server(tls_ehlo);
}

TEST(SmtpClientSessionAuth, PlainOverTlsBeforeTheFirstMessage) {
  Dialogue d(authConfig());
  upToTlsEhlo(d, "250-smarthost\r\n250-PIPELINING\r\n250 AUTH LOGIN PLAIN\r\n");
  EXPECT_EQ(d.s().state(), State::Auth);
  // base64("\0relay\0s3cret:x"): the password may hold ':'.
  EXPECT_EQ(d.client(), "AUTH PLAIN AHJlbGF5AHMzY3JldDp4\r\n");
  EXPECT_FALSE(d.s().authenticated());
  EXPECT_EQ(d.server("235 2.7.0 Authentication successful\r\n"), std::vector<Kind>{Kind::Ready});
  EXPECT_TRUE(d.s().authenticated());
  d.s().sendMessage(message({"a@example.test"}));
  EXPECT_EQ(d.client(), "MAIL FROM:<alice@example.org>\r\nRCPT TO:<a@example.test>\r\nDATA\r\n");
}

TEST(SmtpClientSessionAuth, LoginWhenPlainIsNotOffered) {
  Dialogue d(authConfig());
  upToTlsEhlo(d, "250-smarthost\r\n250 AUTH=LOGIN\r\n");
  EXPECT_EQ(d.client(), "AUTH LOGIN\r\n");
  EXPECT_EQ(d.server("334 VXNlcm5hbWU6\r\n"), std::vector<Kind>{});
  EXPECT_EQ(d.client(), "cmVsYXk=\r\n");  // "relay"
  EXPECT_EQ(d.server("334 UGFzc3dvcmQ6\r\n"), std::vector<Kind>{});
  EXPECT_EQ(d.client(), "czNjcmV0Ong=\r\n");  // "s3cret:x"
  EXPECT_EQ(d.server("235 2.7.0 ok\r\n"), std::vector<Kind>{Kind::Ready});
  EXPECT_TRUE(d.s().authenticated());
}

TEST(SmtpClientSessionAuth, NeverSendsCredentialsInClear) {
  // Opportunistic on paper, a server that offers AUTH but no STARTTLS: nothing
  // of the credentials may leave, the connection fails as an AUTH failure.
  Dialogue d(authConfig(StartTlsMode::Opportunistic));
  d.server("220 smarthost ESMTP\r\n");
  d.client();
  EXPECT_EQ(d.server("250-smarthost\r\n250 AUTH PLAIN LOGIN\r\n"), std::vector<Kind>{Kind::Failed});
  EXPECT_EQ(d.client(), "");
  EXPECT_TRUE(d.last().auth_failed);
  EXPECT_NE(d.last().reason.find("without TLS"), std::string::npos);
}

TEST(SmtpClientSessionAuth, RefusedCredentialsFailTheConnectionWithoutTheSecret) {
  Dialogue d(authConfig());
  upToTlsEhlo(d, "250-smarthost\r\n250 AUTH PLAIN\r\n");
  d.client();
  EXPECT_EQ(d.server("535 5.7.8 Error: authentication failed\r\n"), std::vector<Kind>{Kind::Failed});
  const Event& e = d.last();
  EXPECT_TRUE(e.auth_failed);
  ASSERT_TRUE(e.reply.has_value());
  EXPECT_EQ(e.reply->code, 535);
  EXPECT_EQ(e.reason.find("s3cret"), std::string::npos);
  EXPECT_EQ(e.reason.find("AHJlbGF5"), std::string::npos);
  EXPECT_FALSE(d.s().authenticated());
}

TEST(SmtpClientSessionAuth, NoAuthOfferedOrNoCommonMechanism) {
  {
    Dialogue d(authConfig());
    upToTlsEhlo(d, "250-smarthost\r\n250 PIPELINING\r\n");
    EXPECT_EQ(d.last().kind, Kind::Failed);
    EXPECT_TRUE(d.last().auth_failed);
    EXPECT_NE(d.last().reason.find("does not offer AUTH"), std::string::npos);
    EXPECT_NE(d.last().reason.find("(while authenticating)"), std::string::npos) << d.last().reason;
  }
  {
    Dialogue d(authConfig());
    upToTlsEhlo(d, "250-smarthost\r\n250 AUTH CRAM-MD5 XOAUTH2\r\n");
    EXPECT_EQ(d.client(), "");
    EXPECT_TRUE(d.last().auth_failed);
    EXPECT_NE(d.last().reason.find("CRAM-MD5 XOAUTH2"), std::string::npos);
  }
}

TEST(SmtpClientSessionAuth, UnexpectedChallengeIsCancelled) {
  Dialogue d(authConfig());
  upToTlsEhlo(d, "250-smarthost\r\n250 AUTH PLAIN\r\n");
  d.client();
  EXPECT_EQ(d.server("334 \r\n"), std::vector<Kind>{});  // PLAIN has no second step
  EXPECT_EQ(d.client(), "*\r\n");
  EXPECT_EQ(d.server("501 5.7.0 cancelled\r\n"), std::vector<Kind>{Kind::Failed});
  EXPECT_TRUE(d.last().auth_failed);
}

TEST(SmtpClientSessionAuth, ImplicitTlsAuthenticatesAfterTheGreeting) {
  Dialogue d(authConfig(StartTlsMode::Required, /*implicit=*/true));
  d.server("220 smarthost ESMTP\r\n");
  EXPECT_EQ(d.client(), "EHLO relay.example.test\r\n");
  d.server("250-smarthost\r\n250 AUTH PLAIN\r\n");
  EXPECT_EQ(d.client(), "AUTH PLAIN AHJlbGF5AHMzY3JldDp4\r\n");  // no STARTTLS inside TLS
  EXPECT_EQ(d.server("235 ok\r\n"), std::vector<Kind>{Kind::Ready});
}

}  // namespace
}  // namespace tlsrelay
