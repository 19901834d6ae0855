// The sans-I/O delivery attempt driven by scripted peers: the harness plays
// the libuv adapter (connect, close, TLS, the one timer) and one fake SMTP
// server per next hop, and records every action the core returns. Each test
// is one rule of the hop walk, TLS policy or failure scope that used to be
// covered only by shell scripts against real servers.
#include "relay/outbound/delivery_attempt.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
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
  bool connect_hangs = false;  // neither accepts nor refuses: only the connect timer ends it
  std::string greeting = "220 mx ESMTP\r\n";
  bool offers_starttls = false;
  bool tls_ok = true;
  bool certificate_verifies = true;  // PKIX chain and name
  bool dane_matches = false;         // a TLSA record matches the certificate
  bool requiretls_after_tls = false;
  bool drops_after_data = false;  // closes instead of answering the final dot
  std::string auth_offer;         // EHLO "AUTH <this>" (also in clear); "" = none
  std::string auth_reply = "235 2.7.0 ok\r\n";
  std::map<std::string, std::string> rcpt_replies;  // address -> reply; default 250
};

// One MAIL transaction a server saw.
struct Transaction {
  std::string ip;
  std::string mail_from;  // the whole MAIL FROM line
  std::vector<std::string> recipients;
  std::string data;  // without the final dot
  bool over_tls = false;
};

class Harness {
 public:
  Harness() { plan_.destination = plan_.domain = "example.test"; }

  JobTarget& addHop(const std::string& ip, FakeServer server) {
    JobTarget t;
    t.mx_host = "mx-" + ip + ".example.test";
    t.ip = ip;
    plan_.hops.targets.push_back(t);
    servers_[ip] = std::move(server);
    return plan_.hops.targets.back();
  }
  // A message for the run's start (`later` = offered when the connection asks
  // for the next ready message instead).
  void addMessage(const std::string& queue_id, std::vector<std::string> recipients, bool later = false) {
    auto envelope = std::make_shared<Envelope>();
    envelope->queue_id = queue_id;
    envelope->mail_from = "sender@origin.test";
    envelope->flags.requiretls = plan_.flags.requiretls;
    envelope->flags.tls_report = next_is_own_report;
    JobMessage m{
        envelope, std::make_shared<const std::string>("Subject: " + queue_id + "\r\n\r\nbody\r\n"), {}};
    for (auto& r : recipients) {
      m.recipients.push_back(envelope->recipients.size());
      envelope->recipients.push_back({r});
    }
    if (later)
      later_.push_back(m);
    else
      initial_.push_back(m);
    messages_[queue_id] = m;
  }
  DomainPolicy& policy() { return plan_.policy; }
  AttemptPlan& plan() { return plan_; }
  AttemptSettings settings;
  bool next_is_own_report = false;  // addMessage makes one of our TLS reports
  // Answers Prepare (the message pipeline); default: one unchanged body for all.
  std::function<PreparedMessage(const A::Prepare&)> prepare;
  // With no further message ready, let the connection idle (NeedMessage::may_wait).
  bool idle_when_empty = false;

  void run() {
    settings.helo_name = "relay.test";
    settings.new_session_id = [this] { return "S" + std::to_string(++sessions_); };
    attempt_ = std::make_unique<DeliveryAttempt>(settings, plan_, initial_, [] { return 1000; });
    attempt_->start();
    for (int guard = 0; guard < 1000 && !attempt_->finished(); ++guard) step();
    ASSERT_TRUE(attempt_->finished()) << "the attempt never finished";
    step();  // the actions of the last event (outcomes, health, Finished)
  }

  // Everything the run did, for assertions.
  std::vector<std::string> connects;
  std::vector<Transaction> transactions;
  std::vector<std::string> commands;    // "ip COMMAND" for every command line
  std::vector<std::string> auth_lines;  // every AUTH command line, whole
  std::vector<A::HostHealth> health;
  std::vector<A::Outcome> outcomes;
  std::vector<A::StartTls> starttls;
  std::vector<SessionEvent> events;
  int stop_waiting = 0;
  std::optional<A::Finished> finished;

  // The final outcome of recipient `index` of message `queue_id` (from the last final Outcome naming it).
  std::optional<RecipientOutcome> finalOutcome(const std::string& queue_id, size_t index) const {
    std::optional<RecipientOutcome> found;
    for (const auto& o : outcomes)
      if (o.final && o.message.envelope->queue_id == queue_id)
        for (const auto& r : o.results)
          if (r.index == index) found = r.outcome;
    return found;
  }
  int finalOutcomesFor(const std::string& queue_id, size_t index) const {
    int n = 0;
    for (const auto& o : outcomes)
      if (o.final && o.message.envelope->queue_id == queue_id)
        for (const auto& r : o.results) n += r.index == index;
    return n;
  }
  std::vector<std::string> transactionIps() const {
    std::vector<std::string> ips;
    for (const auto& t : transactions) ips.push_back(t.ip);
    return ips;
  }
  const JobMessage& message(const std::string& queue_id) { return messages_.at(queue_id); }

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
              in_data_ = tls_up_ = false;
              pending_.clear();
              connect_pending_ = true;
            } else if constexpr (std::is_same_v<T, A::Send>) {
              serve(a.bytes);
            } else if constexpr (std::is_same_v<T, A::StartTls>) {
              starttls.push_back(a);
              tls_pending_ = true;
            } else if constexpr (std::is_same_v<T, A::SetTimer>) {
              timer_armed_ = a.after.count() > 0;
            } else if constexpr (std::is_same_v<T, A::Close> || std::is_same_v<T, A::Abort>) {
              close_pending = true;
            } else if constexpr (std::is_same_v<T, A::NeedMessage>) {
              if (!later_.empty()) {
                JobMessage m = later_.front();
                later_.pop_front();
                attempt_->supplyMessage(m);
              } else {
                attempt_->supplyMessage(std::nullopt, idle_when_empty && a.may_wait);
              }
            } else if constexpr (std::is_same_v<T, A::StopWaiting>) {
              ++stop_waiting;
            } else if constexpr (std::is_same_v<T, A::Prepare>) {
              if (prepare) {
                attempt_->prepared(prepare(a));
              } else {
                PreparedMessage p;
                p.bodies.push_back({a.message.recipients, a.message.data});
                attempt_->prepared(std::move(p));
              }
            } else if constexpr (std::is_same_v<T, A::Outcome>) {
              outcomes.push_back(a);
            } else if constexpr (std::is_same_v<T, A::HostHealth>) {
              health.push_back(a);
            } else if constexpr (std::is_same_v<T, A::Event>) {
              events.push_back(a.event);
            } else if constexpr (std::is_same_v<T, A::Finished>) {
              finished = a;
            }
          },
          *action);
    }
    // The adapter's callbacks arrive after the actions that caused them.
    if (close_pending) {
      replies_.clear();
      peer_closed_ = connect_pending_ = tls_pending_ = false;
      attempt_->closed();
      return;
    }
    if (connect_pending_) {
      connect_pending_ = false;
      if (current_->connect_hangs) return;  // the connect timer will fire
      if (!current_->accepts_connection) {
        attempt_->connected(false, "connection refused");
        return;
      }
      attempt_->connected(true, "", "198.51.100.9");
      replies_ += current_->greeting;
    }
    if (tls_pending_) {
      tls_pending_ = false;
      TlsOutcomeInput tls;
      tls.ok = current_->tls_ok;
      tls.error = tls.ok ? "" : "handshake failure";
      tls.protocol = "TLSv1.3";
      tls.verification.verified = current_->certificate_verifies || current_->dane_matches;
      tls.verification.dane = current_->dane_matches;
      if (!tls.verification.verified) tls.verification.failure = PeerVerification::Failure::NotTrusted;
      tls_up_ = tls.ok;
      attempt_->tlsDone(tls);
      return;
    }
    if (peer_closed_) {
      peer_closed_ = false;
      replies_.clear();
      attempt_->closed();
      return;
    }
    if (!replies_.empty()) {
      std::string r;
      r.swap(replies_);
      attempt_->received(r);
      return;
    }
    if (timer_armed_) {  // nothing else will happen: the timer fires
      timer_armed_ = false;
      attempt_->timedOut();
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
          if (current_->drops_after_data) {
            transactions.pop_back();  // never acknowledged
            peer_closed_ = true;
            return;
          }
          replies_ += "250 2.0.0 queued\r\n";
        } else {
          transactions.back().data += line + "\r\n";
        }
        continue;
      }
      commands.push_back(ip_ + " " + line.substr(0, line.find(' ')));
      if (line.rfind("EHLO", 0) == 0) {
        std::string caps = "250-mx\r\n250-PIPELINING\r\n";
        if (!tls_up_ && current_->offers_starttls) caps += "250-STARTTLS\r\n";
        if (tls_up_ && current_->requiretls_after_tls) caps += "250-REQUIRETLS\r\n";
        if (!current_->auth_offer.empty()) caps += "250-AUTH " + current_->auth_offer + "\r\n";
        replies_ += caps + "250 8BITMIME\r\n";
      } else if (line == "STARTTLS") {
        replies_ += "220 2.0.0 go ahead\r\n";
      } else if (line.rfind("AUTH ", 0) == 0) {
        auth_lines.push_back(line);
        replies_ += current_->auth_reply;
      } else if (line.rfind("MAIL FROM", 0) == 0) {
        transactions.push_back({ip_, line, {}, {}, tls_up_});
        replies_ += "250 2.1.0 ok\r\n";
      } else if (line.rfind("RCPT TO:<", 0) == 0) {
        std::string address = line.substr(9, line.find('>') - 9);
        auto it = current_->rcpt_replies.find(address);
        if (it == current_->rcpt_replies.end() && !transactions.empty())
          transactions.back().recipients.push_back(address);
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
  std::vector<JobMessage> initial_;
  std::deque<JobMessage> later_;
  std::map<std::string, JobMessage> messages_;
  std::map<std::string, FakeServer> servers_;
  std::unique_ptr<DeliveryAttempt> attempt_;
  FakeServer* current_ = nullptr;
  std::string ip_;
  std::string pending_, replies_;
  bool in_data_ = false, connect_pending_ = false, tls_pending_ = false, tls_up_ = false;
  bool peer_closed_ = false, timer_armed_ = false;
  int sessions_ = 0;
};

FakeServer refusing() {
  FakeServer s;
  s.accepts_connection = false;
  return s;
}

FakeServer withStartTls() {
  FakeServer s;
  s.offers_starttls = true;
  return s;
}

// --- the hop walk and destination health ------------------------------------

TEST(DeliveryAttempt, RefusedConnectionMovesToTheNextHop) {
  Harness h;
  h.addHop("192.0.2.1", refusing());
  h.addHop("192.0.2.2", FakeServer{});
  h.addMessage("Q1", {"a@example.test"});
  h.run();
  EXPECT_EQ(h.connects, (std::vector<std::string>{"192.0.2.1", "192.0.2.2"}));
  ASSERT_EQ(h.health.size(), 2u);
  EXPECT_FALSE(h.health[0].reachable);
  EXPECT_EQ(h.health[0].host, "192.0.2.1:25");
  EXPECT_TRUE(h.health[1].reachable);
  ASSERT_TRUE(h.finalOutcome("Q1", 0));
  EXPECT_EQ(h.finalOutcome("Q1", 0)->verdict, RecipientVerdict::Delivered);
  EXPECT_EQ(h.finalOutcomesFor("Q1", 0), 1);
  ASSERT_TRUE(h.finished);
  EXPECT_FALSE(h.finished->unreachable);
  EXPECT_TRUE(h.finished->connected);
}

TEST(DeliveryAttempt, NoHopReachableIsUnreachableAndDeferred) {
  Harness h;
  h.addHop("192.0.2.1", refusing());
  h.addHop("192.0.2.2", refusing());
  h.addMessage("Q1", {"a@example.test"});
  h.run();
  EXPECT_EQ(h.connects.size(), 2u);
  ASSERT_TRUE(h.finalOutcome("Q1", 0));
  EXPECT_EQ(h.finalOutcome("Q1", 0)->verdict, RecipientVerdict::Retry);
  EXPECT_NE(h.finalOutcome("Q1", 0)->response.find("192.0.2.2"), std::string::npos)
      << "the last hop's error is the verdict: " << h.finalOutcome("Q1", 0)->response;
  ASSERT_TRUE(h.finished);
  EXPECT_TRUE(h.finished->unreachable);
}

TEST(DeliveryAttempt, ConnectTimeoutIsAConnectionFailureAndTheNextHopIsTried) {
  Harness h;
  FakeServer black_hole;
  black_hole.connect_hangs = true;
  h.addHop("192.0.2.1", black_hole);
  h.addHop("192.0.2.2", FakeServer{});
  h.addMessage("Q1", {"a@example.test"});
  h.run();
  EXPECT_EQ(h.connects, (std::vector<std::string>{"192.0.2.1", "192.0.2.2"}));
  ASSERT_EQ(h.health.size(), 2u);
  EXPECT_FALSE(h.health[0].reachable);
  EXPECT_NE(h.health[0].error.find("timed out"), std::string::npos) << h.health[0].error;
  EXPECT_EQ(h.finalOutcome("Q1", 0)->verdict, RecipientVerdict::Delivered);
}

TEST(DeliveryAttempt, HostsInBackoffAreTriedLast) {
  Harness h;
  h.addHop("192.0.2.1", FakeServer{});
  h.addHop("192.0.2.2", FakeServer{});
  h.plan().hosts_in_backoff = {"192.0.2.1:25"};
  h.addMessage("Q1", {"a@example.test"});
  h.run();
  EXPECT_EQ(h.connects, (std::vector<std::string>{"192.0.2.2"}));
}

TEST(DeliveryAttempt, GreetingRefusalIsAConnectionLevelFailure) {
  Harness h;
  FakeServer busy;
  busy.greeting = "421 4.3.2 too busy\r\n";
  h.addHop("192.0.2.1", busy);
  h.addMessage("Q1", {"a@example.test"});
  h.run();
  ASSERT_EQ(h.health.size(), 1u);
  EXPECT_FALSE(h.health[0].reachable);
  EXPECT_TRUE(h.transactions.empty());
  ASSERT_TRUE(h.finished);
  EXPECT_TRUE(h.finished->unreachable);
}

// --- failure scope: where a reply sends a recipient ---------------------------

TEST(DeliveryAttempt, PerRecipientRepliesOnTheFinalServer) {
  Harness h;
  FakeServer mixed;
  mixed.rcpt_replies["gone@example.test"] = "550 5.1.1 no such user\r\n";
  mixed.rcpt_replies["full@example.test"] = "452 4.2.2 mailbox full\r\n";
  h.addHop("192.0.2.1", mixed);
  h.addMessage("Q1", {"ok@example.test", "gone@example.test", "full@example.test"});
  h.run();
  ASSERT_TRUE(h.finalOutcome("Q1", 0) && h.finalOutcome("Q1", 1) && h.finalOutcome("Q1", 2));
  EXPECT_EQ(h.finalOutcome("Q1", 0)->verdict, RecipientVerdict::Delivered);
  EXPECT_EQ(h.finalOutcome("Q1", 1)->verdict, RecipientVerdict::Fail);
  EXPECT_EQ(h.finalOutcome("Q1", 1)->status.toString(), "5.1.1");
  EXPECT_EQ(h.finalOutcome("Q1", 2)->verdict, RecipientVerdict::Retry);
}

// A 4xx to RCPT from an MX that is not the last goes to the next MX in this
// run (Postfix does the same); a 5xx is the recipient's answer and bounces.
TEST(DeliveryAttempt, SoftRecipientFailureOnANonFinalMxGoesToTheNextMx) {
  Harness h;
  FakeServer first;
  first.rcpt_replies["full@example.test"] = "452 4.2.2 mailbox full\r\n";
  first.rcpt_replies["gone@example.test"] = "550 5.1.1 no such user\r\n";
  h.addHop("192.0.2.1", first);
  h.addHop("192.0.2.2", FakeServer{});
  h.addMessage("Q1", {"ok@example.test", "full@example.test", "gone@example.test"});
  h.run();
  ASSERT_EQ(h.transactions.size(), 2u);
  EXPECT_EQ(h.transactions[0].recipients, (std::vector<std::string>{"ok@example.test"}));
  EXPECT_EQ(h.transactions[1].ip, "192.0.2.2");
  EXPECT_EQ(h.transactions[1].recipients, (std::vector<std::string>{"full@example.test"}));
  EXPECT_EQ(h.finalOutcome("Q1", 0)->verdict, RecipientVerdict::Delivered);
  EXPECT_EQ(h.finalOutcome("Q1", 1)->verdict, RecipientVerdict::Delivered);
  EXPECT_EQ(h.finalOutcome("Q1", 2)->verdict, RecipientVerdict::Fail);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(h.finalOutcomesFor("Q1", i), 1) << "recipient " << i;
  // The first MX's 4xx is on record as a failed hop, not as the final word.
  bool hop_record = false;
  for (const auto& o : h.outcomes)
    if (!o.final)
      for (const auto& r : o.results)
        hop_record |= r.index == 1 && r.outcome.verdict == RecipientVerdict::Retry;
  EXPECT_TRUE(hop_record);
}

TEST(DeliveryAttempt, ConnectionLostDuringDataSendsTheMessageToTheNextMx) {
  Harness h;
  FakeServer flaky;
  flaky.drops_after_data = true;
  h.addHop("192.0.2.1", flaky);
  h.addHop("192.0.2.2", FakeServer{});
  h.addMessage("Q1", {"a@example.test", "b@example.test"});
  h.run();
  EXPECT_EQ(h.transactionIps(), (std::vector<std::string>{"192.0.2.2"}));
  EXPECT_EQ(h.finalOutcome("Q1", 0)->verdict, RecipientVerdict::Delivered);
  EXPECT_EQ(h.finalOutcome("Q1", 1)->verdict, RecipientVerdict::Delivered);
}

TEST(DeliveryAttempt, ConnectionLostDuringDataOnTheLastMxIsDeferred) {
  Harness h;
  FakeServer flaky;
  flaky.drops_after_data = true;
  h.addHop("192.0.2.1", flaky);
  h.addMessage("Q1", {"a@example.test"});
  h.run();
  ASSERT_TRUE(h.finalOutcome("Q1", 0));
  EXPECT_EQ(h.finalOutcome("Q1", 0)->verdict, RecipientVerdict::Retry);
  EXPECT_EQ(h.finalOutcomesFor("Q1", 0), 1);
}

// --- TLS policy per hop ----------------------------------------------------------

// A host that answers EHLO is up, even when TLS policy then abandons it: such
// a deferral must not put the destination in connection backoff (it once held
// every retry and delay notice for the backoff time).
TEST(DeliveryAttempt, RequiredStartTlsMissingIsNotAConnectionFailure) {
  Harness h;
  h.policy().require_starttls = true;
  h.addHop("192.0.2.1", FakeServer{});  // no STARTTLS offered
  h.addMessage("Q1", {"a@example.test"});
  h.run();
  EXPECT_TRUE(h.transactions.empty()) << "the message went out in clear";
  ASSERT_EQ(h.health.size(), 1u);
  EXPECT_TRUE(h.health[0].reachable);
  ASSERT_TRUE(h.finalOutcome("Q1", 0));
  EXPECT_EQ(h.finalOutcome("Q1", 0)->verdict, RecipientVerdict::Retry);
  ASSERT_TRUE(h.finished);
  EXPECT_FALSE(h.finished->unreachable);
}

TEST(DeliveryAttempt, OpportunisticTlsFailureRetriesTheSameHostInClear) {
  Harness h;
  FakeServer broken_tls = withStartTls();
  broken_tls.tls_ok = false;
  h.addHop("192.0.2.1", broken_tls);
  h.addMessage("Q1", {"a@example.test"});
  h.run();
  EXPECT_EQ(h.connects, (std::vector<std::string>{"192.0.2.1", "192.0.2.1"}));
  ASSERT_EQ(h.transactions.size(), 1u);
  EXPECT_FALSE(h.transactions[0].over_tls);
  EXPECT_EQ(h.finalOutcome("Q1", 0)->verdict, RecipientVerdict::Delivered);
  EXPECT_EQ(h.starttls.size(), 1u) << "the retry in clear must not try STARTTLS again";
}

TEST(DeliveryAttempt, RequiredTlsFailureIsNeverRetriedInClear) {
  Harness h;
  h.policy().require_starttls = true;
  FakeServer broken_tls = withStartTls();
  broken_tls.tls_ok = false;
  h.addHop("192.0.2.1", broken_tls);
  h.addMessage("Q1", {"a@example.test"});
  h.run();
  EXPECT_EQ(h.connects.size(), 1u);
  EXPECT_TRUE(h.transactions.empty());
  ASSERT_TRUE(h.finalOutcome("Q1", 0));
  EXPECT_EQ(h.finalOutcome("Q1", 0)->verdict, RecipientVerdict::Retry);
}

TEST(DeliveryAttempt, PkixPolicyAbandonsAnUnverifiedHostWithoutSending) {
  Harness h;
  h.policy().verify = VerifyMode::Pkix;
  FakeServer self_signed = withStartTls();
  self_signed.certificate_verifies = false;
  h.addHop("192.0.2.1", self_signed);
  h.addHop("192.0.2.2", withStartTls());
  h.addMessage("Q1", {"a@example.test"});
  h.run();
  EXPECT_EQ(h.transactionIps(), (std::vector<std::string>{"192.0.2.2"}));
  EXPECT_TRUE(h.transactions[0].over_tls);
  ASSERT_EQ(h.starttls.size(), 2u);
  EXPECT_EQ(h.starttls[0].decision.verify, VerifyMode::Pkix);
  // One TLS record per session: the first a certificate failure, the second a success.
  std::vector<std::optional<TlsResultType>> results;
  for (const auto& e : h.events)
    if (e.kind == SessionEvent::Kind::TlsOutcome) results.push_back(e.session->result);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0], TlsResultType::CertificateNotTrusted);
  EXPECT_EQ(results[1], TlsResultType::Success);
}

TEST(DeliveryAttempt, DaneHostWhoseCertificateMatchesNoRecordIsAbandoned) {
  Harness h;
  JobTarget& hop = h.addHop("192.0.2.1", withStartTls());  // PKIX-valid, but DANE rules
  hop.mx_security = hop.address_security = dns::Security::Secure;
  hop.tlsa.status = TlsaStatus::Usable;
  hop.tlsa.records.push_back({3, 1, 1, std::string(32, '\x11')});
  h.addMessage("Q1", {"a@example.test"});
  h.run();
  ASSERT_EQ(h.starttls.size(), 1u);
  EXPECT_EQ(h.starttls[0].decision.verify, VerifyMode::Dane);
  EXPECT_TRUE(h.transactions.empty());
  EXPECT_EQ(h.finalOutcome("Q1", 0)->verdict, RecipientVerdict::Retry);
}

TEST(DeliveryAttempt, DaneMatchDelivers) {
  Harness h;
  FakeServer dane = withStartTls();
  dane.dane_matches = true;
  JobTarget& hop = h.addHop("192.0.2.1", dane);
  hop.mx_security = hop.address_security = dns::Security::Secure;
  hop.tlsa.status = TlsaStatus::Usable;
  hop.tlsa.records.push_back({3, 1, 1, std::string(32, '\x11')});
  h.addMessage("Q1", {"a@example.test"});
  h.run();
  ASSERT_EQ(h.transactions.size(), 1u);
  EXPECT_TRUE(h.transactions[0].over_tls);
  EXPECT_EQ(h.finalOutcome("Q1", 0)->verdict, RecipientVerdict::Delivered);
}

// RFC 8689: when no hop could take a REQUIRETLS message, the sender must learn
// that TLS was the obstacle, even if a later hop failed for another reason.
TEST(DeliveryAttempt, RequireTlsRefusalOutranksALaterConnectionFailure) {
  Harness h;
  h.plan().flags.requiretls = true;
  JobTarget& first = h.addHop("192.0.2.1", withStartTls());  // TLS, but no REQUIRETLS
  first.mx_security = dns::Security::Secure;
  JobTarget& second = h.addHop("192.0.2.2", refusing());
  second.mx_security = dns::Security::Secure;
  h.addMessage("Q1", {"a@example.test"});
  h.run();
  EXPECT_TRUE(h.transactions.empty());
  EXPECT_EQ(h.connects.size(), 2u);
  ASSERT_TRUE(h.finalOutcome("Q1", 0));
  EXPECT_EQ(h.finalOutcome("Q1", 0)->verdict, RecipientVerdict::Retry);
  EXPECT_EQ(h.finalOutcome("Q1", 0)->cause, FailureCause::RequireTls);
  EXPECT_EQ(h.finalOutcome("Q1", 0)->status.toString(), "4.7.10");
}

TEST(DeliveryAttempt, RequireTlsMessageIsSentOnlyWithTheParameterOverTls) {
  Harness h;
  h.plan().flags.requiretls = true;
  FakeServer good = withStartTls();
  good.requiretls_after_tls = true;
  JobTarget& hop = h.addHop("192.0.2.1", good);
  hop.mx_security = dns::Security::Secure;
  h.addMessage("Q1", {"a@example.test"});
  h.run();
  ASSERT_EQ(h.transactions.size(), 1u);
  EXPECT_TRUE(h.transactions[0].over_tls);
  EXPECT_NE(h.transactions[0].mail_from.find("REQUIRETLS"), std::string::npos) << h.transactions[0].mail_from;
  EXPECT_EQ(h.finalOutcome("Q1", 0)->verdict, RecipientVerdict::Delivered);
}

TEST(DeliveryAttempt, RequireTlsSkipsAnMxThatDnssecDoesNotVouchFor) {
  Harness h;
  h.plan().flags.requiretls = true;
  h.addHop("192.0.2.1", withStartTls());  // insecure MX answer
  h.addMessage("Q1", {"a@example.test"});
  h.run();
  EXPECT_TRUE(h.connects.empty()) << "the hop must be skipped before any connection";
  ASSERT_TRUE(h.finalOutcome("Q1", 0));
  EXPECT_EQ(h.finalOutcome("Q1", 0)->cause, FailureCause::RequireTls);
  ASSERT_TRUE(h.finished);
  EXPECT_FALSE(h.finished->unreachable) << "nothing was tried, so nothing was unreachable";
}

// --- connection reuse and the message pipeline -----------------------------

TEST(DeliveryAttempt, ReadyMessagesShareTheConnection) {
  Harness h;
  h.addHop("192.0.2.1", FakeServer{});
  h.addMessage("Q1", {"a@example.test"});
  h.addMessage("Q2", {"b@example.test"}, /*later=*/true);
  h.run();
  EXPECT_EQ(h.connects.size(), 1u);
  ASSERT_EQ(h.transactions.size(), 2u);
  EXPECT_EQ(h.finalOutcome("Q2", 0)->verdict, RecipientVerdict::Delivered);
}

TEST(DeliveryAttempt, MessageLimitPerConnectionOpensANewConnection) {
  Harness h;
  h.settings.max_messages_per_connection = 1;
  h.addHop("192.0.2.1", FakeServer{});
  h.addMessage("Q1", {"a@example.test"});
  h.addMessage("Q2", {"b@example.test"});
  h.run();
  EXPECT_EQ(h.connects, (std::vector<std::string>{"192.0.2.1", "192.0.2.1"}));
  EXPECT_EQ(h.finalOutcome("Q1", 0)->verdict, RecipientVerdict::Delivered);
  EXPECT_EQ(h.finalOutcome("Q2", 0)->verdict, RecipientVerdict::Delivered);
  int quits = 0;
  for (const auto& c : h.commands) quits += c == "192.0.2.1 QUIT";
  EXPECT_EQ(quits, 2);
}

TEST(DeliveryAttempt, IdleConnectionQuitsWhenTheIdleTimeEnds) {
  Harness h;
  h.idle_when_empty = true;
  h.addHop("192.0.2.1", FakeServer{});
  h.addMessage("Q1", {"a@example.test"});
  h.run();
  EXPECT_EQ(h.stop_waiting, 1);
  ASSERT_FALSE(h.commands.empty());
  EXPECT_EQ(h.commands.back(), "192.0.2.1 QUIT");
  EXPECT_TRUE(h.health.at(0).reachable);
}

TEST(DeliveryAttempt, PipelineSplitSendsOneTransactionPerBody) {
  Harness h;
  h.addHop("192.0.2.1", FakeServer{});
  h.addMessage("Q1", {"a@example.test", "b@example.test", "c@example.test"});
  h.prepare = [](const A::Prepare& p) {
    PreparedMessage out;
    out.bodies.push_back({{0}, std::make_shared<const std::string>("X-Copy: a\r\n\r\nfor a\r\n")});
    out.bodies.push_back({{2}, std::make_shared<const std::string>("X-Copy: c\r\n\r\nfor c\r\n")});
    out.refused.push_back({1, permanentFailure("no key for b", EnhancedStatus{5, 7, 1})});
    EXPECT_EQ(p.hop.ip, "192.0.2.1");
    return out;
  };
  h.run();
  ASSERT_EQ(h.transactions.size(), 2u);
  EXPECT_EQ(h.transactions[0].recipients, (std::vector<std::string>{"a@example.test"}));
  EXPECT_NE(h.transactions[0].data.find("for a"), std::string::npos);
  EXPECT_EQ(h.transactions[1].recipients, (std::vector<std::string>{"c@example.test"}));
  EXPECT_NE(h.transactions[1].data.find("for c"), std::string::npos);
  EXPECT_EQ(h.finalOutcome("Q1", 0)->verdict, RecipientVerdict::Delivered);
  EXPECT_EQ(h.finalOutcome("Q1", 1)->verdict, RecipientVerdict::Fail);
  EXPECT_EQ(h.finalOutcome("Q1", 1)->status.toString(), "5.7.1");
  EXPECT_EQ(h.finalOutcome("Q1", 2)->verdict, RecipientVerdict::Delivered);
}

TEST(DeliveryAttempt, EverySessionHasItsOwnIdOnItsEvents) {
  Harness h;
  h.addHop("192.0.2.1", refusing());
  h.addHop("192.0.2.2", FakeServer{});
  h.addMessage("Q1", {"a@example.test"});
  h.run();
  std::vector<std::string> commit_sessions, connected_sessions;
  for (const auto& e : h.events) {
    if (e.kind == SessionEvent::Kind::Commit) commit_sessions.push_back(e.session->session_id);
    if (e.kind == SessionEvent::Kind::Connected) connected_sessions.push_back(e.session->session_id);
  }
  EXPECT_EQ(commit_sessions, (std::vector<std::string>{"S2"}));
  EXPECT_EQ(connected_sessions, (std::vector<std::string>{"S2"}));
}

// The TLS records reporting reads: our end of the connection, and whether the
// session was only for our own TLS reports (those are not counted).
std::vector<std::shared_ptr<const SessionRecord>> tlsRecords(const Harness& h) {
  std::vector<std::shared_ptr<const SessionRecord>> out;
  for (const auto& e : h.events)
    if (e.kind == SessionEvent::Kind::TlsOutcome) out.push_back(e.session);
  return out;
}

TEST(DeliveryAttempt, SessionRecordsCarryTheSendingIpAndWhetherOnlyOurReportsRodeOnThem) {
  Harness own;
  own.addHop("192.0.2.1", refusing());
  own.addHop("192.0.2.2", FakeServer{});
  own.next_is_own_report = true;
  own.addMessage("R1", {"tlsrpt@example.test"});
  own.run();
  auto records = tlsRecords(own);
  ASSERT_FALSE(records.empty());
  for (const auto& r : records) EXPECT_TRUE(r->carries_own_reports) << r->ip;
  EXPECT_EQ(records.back()->sending_ip, "198.51.100.9");
  EXPECT_TRUE(records.back()->connected);

  Harness mixed;
  mixed.addHop("192.0.2.2", FakeServer{});
  mixed.next_is_own_report = true;
  mixed.addMessage("R1", {"tlsrpt@example.test"});
  mixed.next_is_own_report = false;
  mixed.addMessage("Q1", {"a@example.test"});
  mixed.run();
  records = tlsRecords(mixed);
  ASSERT_FALSE(records.empty());
  for (const auto& r : records)
    EXPECT_FALSE(r->carries_own_reports) << "a session that also carried mail counts";
}

// --- configured next hops: implicit TLS and AUTH ---------------------------

JobTarget& addSmarthost(Harness& h, FakeServer server, bool implicit) {
  JobTarget& t = h.addHop("192.0.2.25", std::move(server));
  t.smarthost = true;
  t.implicit_tls = implicit;
  t.tls_required = true;
  t.verify_certificate = true;
  t.credentials = std::make_shared<const SmtpCredentials>(SmtpCredentials{"relay", "pw"});
  return t;
}

TEST(DeliveryAttempt, ImplicitTlsSmarthostHandshakesFirstThenAuthenticates) {
  Harness h;
  FakeServer smarthost;
  smarthost.auth_offer = "PLAIN LOGIN";
  addSmarthost(h, smarthost, /*implicit=*/true);
  h.addMessage("Q1", {"a@example.test"});
  h.run();
  ASSERT_EQ(h.starttls.size(), 1u);
  EXPECT_EQ(h.starttls[0].decision.starttls, StartTlsMode::Required);
  EXPECT_EQ(h.starttls[0].decision.verify, VerifyMode::Pkix);  // floor of an authenticated hop
  ASSERT_GE(h.commands.size(), 3u);
  EXPECT_EQ(h.commands[0], "192.0.2.25 EHLO");
  EXPECT_EQ(h.commands[1], "192.0.2.25 AUTH");  // no STARTTLS inside implicit TLS
  EXPECT_EQ(h.auth_lines, (std::vector<std::string>{"AUTH PLAIN AHJlbGF5AHB3"}));
  ASSERT_EQ(h.transactions.size(), 1u);
  EXPECT_TRUE(h.transactions[0].over_tls);
  EXPECT_EQ(h.finalOutcome("Q1", 0)->verdict, RecipientVerdict::Delivered);
}

TEST(DeliveryAttempt, RefusedSmarthostCredentialsDeferAsAConfigurationFault) {
  Harness h;
  FakeServer smarthost = withStartTls();
  smarthost.auth_offer = "PLAIN";
  smarthost.auth_reply = "535 5.7.8 Error: authentication failed\r\n";
  addSmarthost(h, smarthost, /*implicit=*/false);
  h.addMessage("Q1", {"a@example.test"});
  h.run();
  EXPECT_TRUE(h.transactions.empty());
  auto outcome = h.finalOutcome("Q1", 0);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->verdict, RecipientVerdict::Retry) << "a 535 never bounces the message";
  EXPECT_EQ(outcome->status, status::kSystemConfig);
  EXPECT_NE(outcome->response.find("refused AUTH"), std::string::npos);
  EXPECT_EQ(outcome->response.find("pw"), std::string::npos);
}

TEST(DeliveryAttempt, CredentialsNeverGoToASmarthostWithoutTls) {
  Harness h;
  FakeServer clear;  // offers AUTH, no STARTTLS
  clear.auth_offer = "PLAIN LOGIN";
  addSmarthost(h, clear, /*implicit=*/false);
  h.policy().use_starttls = false;  // not even a policy file can turn TLS off here
  h.addMessage("Q1", {"a@example.test"});
  h.run();
  EXPECT_TRUE(h.auth_lines.empty());
  EXPECT_TRUE(h.transactions.empty());
  EXPECT_EQ(h.finalOutcome("Q1", 0)->verdict, RecipientVerdict::Retry);
}

}  // namespace
}  // namespace tlsrelay
