// The sans-I/O delivery attempt driven by scripted peers: the harness plays
// the libuv adapter (connect, close, TLS) and one fake SMTP server per next
// hop, and records every action the core returns.
#include "relay/outbound/delivery_attempt.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tlsrelay {
namespace {

using A = DeliveryAttempt;

// One next hop's behaviour.
struct FakeServer {
  bool accepts_connection = true;
  std::string greeting = "220 mx ESMTP\r\n";
  bool offers_starttls = false;
  bool tls_ok = true;
  std::map<std::string, std::string> rcpt_replies;  // address -> reply; default 250
};

class Harness {
 public:
  Harness() {
    plan_.destination = plan_.domain = "example.test";
    envelope_ = std::make_shared<Envelope>();
    envelope_->queue_id = "Q1";
    envelope_->mail_from = "sender@origin.test";
    data_ = std::make_shared<const std::string>("Subject: t\r\n\r\nbody\r\n");
  }

  void addHop(const std::string& ip, FakeServer server) {
    JobTarget t;
    t.mx_host = "mx-" + ip + ".example.test";
    t.ip = ip;
    plan_.hops.targets.push_back(t);
    servers_[ip] = std::move(server);
  }
  void addRecipient(const std::string& address) { envelope_->recipients.push_back({address}); }
  DomainPolicy& policy() { return plan_.policy; }

  void run() {
    JobMessage m{envelope_, data_, {}};
    for (size_t i = 0; i < envelope_->recipients.size(); ++i) m.recipients.push_back(i);
    AttemptSettings settings;
    settings.helo_name = "relay.test";
    settings.new_session_id = [this] { return "S" + std::to_string(++sessions_); };
    attempt_ =
        std::make_unique<DeliveryAttempt>(settings, plan_, std::vector<JobMessage>{m}, [] { return 1000; });
    attempt_->start();
    for (int guard = 0; guard < 1000 && !attempt_->finished(); ++guard) step();
    ASSERT_TRUE(attempt_->finished()) << "the attempt never finished";
    step();  // the actions of the last event (outcomes, health, Finished)
  }

  // Everything the run did, for assertions.
  std::vector<std::string> connects;
  std::vector<std::string> mail_from_sent_to;  // ips that saw MAIL FROM
  std::vector<A::HostHealth> health;
  std::vector<A::Outcome> outcomes;
  std::optional<A::Finished> finished;

  // The final outcome of recipient `index` (from the last final Outcome naming it).
  std::optional<RecipientOutcome> finalOutcome(size_t index) const {
    std::optional<RecipientOutcome> found;
    for (const auto& o : outcomes)
      if (o.final)
        for (const auto& r : o.results)
          if (r.index == index) found = r.outcome;
    return found;
  }

 private:
  void step() {
    bool close_pending = false;
    while (auto action = attempt_->next()) {
      std::visit(
          [&](auto& a) {
            using T = std::decay_t<decltype(a)>;
            if constexpr (std::is_same_v<T, A::Connect>) {
              connects.push_back(a.ip);
              current_ = &servers_[a.ip];
              ip_ = a.ip;
              in_data_ = false;
              connect_pending_ = true;
            } else if constexpr (std::is_same_v<T, A::Send>) {
              serve(a.bytes);
            } else if constexpr (std::is_same_v<T, A::StartTls>) {
              tls_pending_ = true;
            } else if constexpr (std::is_same_v<T, A::Close> || std::is_same_v<T, A::Abort>) {
              close_pending = true;
            } else if constexpr (std::is_same_v<T, A::NeedMessage>) {
              attempt_->supplyMessage(std::nullopt);
            } else if constexpr (std::is_same_v<T, A::Prepare>) {
              PreparedMessage p;
              p.bodies.push_back({a.message.recipients, data_});
              attempt_->prepared(std::move(p));
            } else if constexpr (std::is_same_v<T, A::Outcome>) {
              outcomes.push_back(a);
            } else if constexpr (std::is_same_v<T, A::HostHealth>) {
              health.push_back(a);
            } else if constexpr (std::is_same_v<T, A::Finished>) {
              finished = a;
            }
          },
          *action);
    }
    // The adapter's callbacks arrive after the actions that caused them.
    if (connect_pending_) {
      connect_pending_ = false;
      if (!current_->accepts_connection) {
        attempt_->connected(false, "connection refused");
        return;
      }
      attempt_->connected(true);
      replies_ += current_->greeting;
    }
    if (tls_pending_) {
      tls_pending_ = false;
      TlsOutcomeInput tls;
      tls.ok = current_->tls_ok;
      tls.error = tls.ok ? "" : "handshake failure";
      tls.protocol = "TLSv1.3";
      attempt_->tlsDone(tls);
      return;
    }
    if (close_pending) {
      replies_.clear();
      attempt_->closed();
      return;
    }
    if (!replies_.empty()) {
      std::string r;
      r.swap(replies_);
      attempt_->received(r);
    }
  }

  // Answers every complete command line the client sent.
  void serve(const std::string& bytes) {
    pending_ += bytes;
    size_t nl;
    while ((nl = pending_.find("\r\n")) != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 2);
      if (in_data_) {
        if (line == ".") {
          in_data_ = false;
          replies_ += "250 2.0.0 queued\r\n";
        }
        continue;
      }
      if (line.rfind("EHLO", 0) == 0) {
        replies_ += current_->offers_starttls ? "250-mx\r\n250 STARTTLS\r\n" : "250-mx\r\n250 PIPELINING\r\n";
      } else if (line == "STARTTLS") {
        replies_ += "220 2.0.0 go ahead\r\n";
      } else if (line.rfind("MAIL FROM", 0) == 0) {
        mail_from_sent_to.push_back(ip_);
        replies_ += "250 2.1.0 ok\r\n";
      } else if (line.rfind("RCPT TO:<", 0) == 0) {
        std::string address = line.substr(9, line.find('>') - 9);
        auto it = current_->rcpt_replies.find(address);
        replies_ += it == current_->rcpt_replies.end() ? "250 2.1.5 ok\r\n" : it->second;
      } else if (line == "DATA") {
        in_data_ = true;
        replies_ += "354 go\r\n";
      } else if (line == "QUIT") {
        replies_ += "221 bye\r\n";
      } else if (line == "RSET") {
        replies_ += "250 ok\r\n";
      }
    }
  }

  AttemptPlan plan_;
  std::shared_ptr<Envelope> envelope_;
  std::shared_ptr<const std::string> data_;
  std::map<std::string, FakeServer> servers_;
  std::unique_ptr<DeliveryAttempt> attempt_;
  FakeServer* current_ = nullptr;
  std::string ip_;
  std::string pending_, replies_;
  bool in_data_ = false, connect_pending_ = false, tls_pending_ = false;
  int sessions_ = 0;
};

TEST(DeliveryAttempt, RefusedConnectionMovesToTheNextHop) {
  Harness h;
  FakeServer down;
  down.accepts_connection = false;
  h.addHop("192.0.2.1", down);
  h.addHop("192.0.2.2", FakeServer{});
  h.addRecipient("a@example.test");
  h.run();
  EXPECT_EQ(h.connects, (std::vector<std::string>{"192.0.2.1", "192.0.2.2"}));
  ASSERT_EQ(h.health.size(), 2u);
  EXPECT_FALSE(h.health[0].reachable);
  EXPECT_TRUE(h.health[1].reachable);
  ASSERT_TRUE(h.finalOutcome(0));
  EXPECT_EQ(h.finalOutcome(0)->verdict, RecipientVerdict::Delivered);
  ASSERT_TRUE(h.finished);
  EXPECT_FALSE(h.finished->unreachable);
  EXPECT_TRUE(h.finished->connected);
}

TEST(DeliveryAttempt, NoHopReachableIsUnreachableAndDeferred) {
  Harness h;
  FakeServer down;
  down.accepts_connection = false;
  h.addHop("192.0.2.1", down);
  h.addHop("192.0.2.2", down);
  h.addRecipient("a@example.test");
  h.run();
  EXPECT_EQ(h.connects.size(), 2u);
  ASSERT_TRUE(h.finalOutcome(0));
  EXPECT_EQ(h.finalOutcome(0)->verdict, RecipientVerdict::Retry);
  ASSERT_TRUE(h.finished);
  EXPECT_TRUE(h.finished->unreachable);
}

TEST(DeliveryAttempt, GreetingRefusalIsAConnectionLevelFailure) {
  Harness h;
  FakeServer busy;
  busy.greeting = "421 4.3.2 too busy\r\n";
  h.addHop("192.0.2.1", busy);
  h.addRecipient("a@example.test");
  h.run();
  ASSERT_EQ(h.health.size(), 1u);
  EXPECT_FALSE(h.health[0].reachable);
  EXPECT_TRUE(h.mail_from_sent_to.empty());
  ASSERT_TRUE(h.finished);
  EXPECT_TRUE(h.finished->unreachable);
}

// A host that answers EHLO is up, even when TLS policy then abandons it: such
// a deferral must not put the destination in connection backoff (it once held
// every retry and delay notice for the backoff time).
TEST(DeliveryAttempt, RequiredStartTlsMissingIsNotAConnectionFailure) {
  Harness h;
  h.policy().require_starttls = true;
  h.addHop("192.0.2.1", FakeServer{});  // no STARTTLS offered
  h.addRecipient("a@example.test");
  h.run();
  EXPECT_TRUE(h.mail_from_sent_to.empty()) << "the message went out in clear";
  ASSERT_EQ(h.health.size(), 1u);
  EXPECT_TRUE(h.health[0].reachable);
  ASSERT_TRUE(h.finalOutcome(0));
  EXPECT_EQ(h.finalOutcome(0)->verdict, RecipientVerdict::Retry);
  ASSERT_TRUE(h.finished);
  EXPECT_FALSE(h.finished->unreachable);
}

TEST(DeliveryAttempt, OpportunisticTlsFailureRetriesTheSameHostInClear) {
  Harness h;
  FakeServer broken_tls;
  broken_tls.offers_starttls = true;
  broken_tls.tls_ok = false;
  h.addHop("192.0.2.1", broken_tls);
  h.addRecipient("a@example.test");
  h.run();
  EXPECT_EQ(h.connects, (std::vector<std::string>{"192.0.2.1", "192.0.2.1"}));
  EXPECT_EQ(h.mail_from_sent_to, (std::vector<std::string>{"192.0.2.1"}));
  ASSERT_TRUE(h.finalOutcome(0));
  EXPECT_EQ(h.finalOutcome(0)->verdict, RecipientVerdict::Delivered);
}

TEST(DeliveryAttempt, RequiredTlsFailureIsNeverRetriedInClear) {
  Harness h;
  h.policy().require_starttls = true;
  FakeServer broken_tls;
  broken_tls.offers_starttls = true;
  broken_tls.tls_ok = false;
  h.addHop("192.0.2.1", broken_tls);
  h.addRecipient("a@example.test");
  h.run();
  EXPECT_EQ(h.connects.size(), 1u);
  EXPECT_TRUE(h.mail_from_sent_to.empty());
  ASSERT_TRUE(h.finalOutcome(0));
  EXPECT_EQ(h.finalOutcome(0)->verdict, RecipientVerdict::Retry);
}

TEST(DeliveryAttempt, PerRecipientRepliesOnTheFinalServer) {
  Harness h;
  FakeServer mixed;
  mixed.rcpt_replies["gone@example.test"] = "550 5.1.1 no such user\r\n";
  mixed.rcpt_replies["full@example.test"] = "452 4.2.2 mailbox full\r\n";
  h.addHop("192.0.2.1", mixed);
  h.addRecipient("ok@example.test");
  h.addRecipient("gone@example.test");
  h.addRecipient("full@example.test");
  h.run();
  ASSERT_TRUE(h.finalOutcome(0) && h.finalOutcome(1) && h.finalOutcome(2));
  EXPECT_EQ(h.finalOutcome(0)->verdict, RecipientVerdict::Delivered);
  EXPECT_EQ(h.finalOutcome(1)->verdict, RecipientVerdict::Fail);
  EXPECT_EQ(h.finalOutcome(1)->status.toString(), "5.1.1");
  EXPECT_EQ(h.finalOutcome(2)->verdict, RecipientVerdict::Retry);
}

}  // namespace
}  // namespace tlsrelay
