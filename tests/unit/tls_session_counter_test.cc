#include "reporting/tls_session_counter.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "reporting/observer_queue.h"
#include "reporting/report_store.h"
#include "reporting/sqlite_report_store.h"

namespace tlsrelay {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kDay = 1796515200;  // 2026-12-06T00:00:00Z

struct TempStore {
  fs::path dir;
  std::unique_ptr<ReportStore> store;
  TempStore() {
    char tmpl[] = "/tmp/session-counter-XXXXXX";
    dir = mkdtemp(tmpl);
    auto opened = openSqliteReportStore((dir / "tls-reports.sqlite").string());
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    store = std::move(*opened);
  }
  ~TempStore() {
    store.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

std::shared_ptr<SessionRecord> session(const std::string& mx, std::optional<TlsResultType> result) {
  auto s = std::make_shared<SessionRecord>();
  s->domain = "example.com";
  s->mx_host = mx;
  s->ip = "192.0.2." + std::to_string(mx.size());
  s->sending_ip = "198.51.100.7";
  auto p = std::make_shared<ReportPolicy>();
  p->type = TlsPolicyType::Sts;
  p->domain = "example.com";
  p->strings = {"version: STSv1", "mode: enforce", "mx: *.example.com", "max_age: 86400"};
  p->mx_host = {"*.example.com"};
  s->policy = p;
  s->result = result;
  if (result && isFailure(*result)) s->failure_reason = "certificate did not match " + mx;
  return s;
}

SessionEvent outcome(std::shared_ptr<const SessionRecord> s, int64_t time) {
  SessionEvent e;
  e.kind = SessionEvent::Kind::TlsOutcome;
  e.time = time;
  e.session = std::move(s);
  return e;
}

TEST(TlsSessionCounter, CountsSessionsNotMessagesTwoFailuresThenASuccess) {
  TempStore t;
  TlsSessionCounter counter(t.store.get());
  {
    ObserverQueue queue({&counter});
    // One message: refused on two MX hosts, then delivered on the third.
    queue.post(outcome(session("mx1.example.com", TlsResultType::CertificateHostMismatch), kDay + 10));
    queue.post(outcome(session("mx2.example.com", TlsResultType::CertificateHostMismatch), kDay + 11));
    queue.post(outcome(session("mx3.example.com", TlsResultType::Success), kDay + 12));
    // Other session events are not sessions.
    SessionEvent connected = outcome(session("mx3.example.com", TlsResultType::Success), kDay + 12);
    connected.kind = SessionEvent::Kind::Connected;
    queue.post(connected);
    // Clear text where nothing wanted TLS: nothing to report.
    queue.post(outcome(session("mx4.example.com", std::nullopt), kDay + 13));
    queue.flush();
  }
  EXPECT_EQ(counter.sessionsCounted(), 3u);
  EXPECT_EQ(counter.pendingRows(), 0u);
  auto rows = t.store->sessionCounts("2026-12-06", "example.com");
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  uint64_t ok = 0, failed = 0;
  for (const SessionCount& r : *rows) {
    if (r.key.result_type == TlsResultType::Success) {
      ok += r.sessions;
      EXPECT_TRUE(r.key.receiving_ip.empty()) << "successes are counted, not itemised";
    } else {
      failed += r.sessions;
      EXPECT_EQ(r.key.sending_ip, "198.51.100.7");
      EXPECT_NE(r.key.failure_reason_code.find("did not match"), std::string::npos);
    }
    EXPECT_EQ(r.key.policy_type, TlsPolicyType::Sts);
    EXPECT_EQ(r.key.mx_host, std::vector<std::string>{"*.example.com"});
  }
  EXPECT_EQ(ok, 1u);
  EXPECT_EQ(failed, 2u);
  EXPECT_EQ(rows->size(), 3u) << "two distinct failure rows (different MX) and one success row";
}

TEST(TlsSessionCounter, SameKeyAddsUpAndDaysStaySeparate) {
  TempStore t;
  TlsSessionCounter counter(t.store.get());
  {
    ObserverQueue queue({&counter});
    for (int i = 0; i < 500; ++i)
      queue.post(outcome(session("mx.example.com", TlsResultType::Success), kDay + i));
    queue.post(outcome(session("mx.example.com", TlsResultType::Success), kDay + 86400 + 5));
    queue.flush();
  }
  auto today = t.store->sessionCounts("2026-12-06", "example.com");
  auto tomorrow = t.store->sessionCounts("2026-12-07", "example.com");
  ASSERT_TRUE(today.ok() && tomorrow.ok());
  ASSERT_EQ(today->size(), 1u);
  EXPECT_EQ((*today)[0].sessions, 500u);
  ASSERT_EQ(tomorrow->size(), 1u);
  EXPECT_EQ((*tomorrow)[0].sessions, 1u);
}

TEST(TlsSessionCounter, OurOwnReportDeliveriesAreNotCounted) {
  auto own = session("mx.example.com", TlsResultType::CertificateExpired);
  own->carries_own_reports = true;
  EXPECT_FALSE(sessionCountKey(*own, kDay).has_value());
  auto theirs = session("mx.example.com", TlsResultType::CertificateExpired);
  auto key = sessionCountKey(*theirs, kDay);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->day, "2026-12-06");
  EXPECT_EQ(key->result_type, TlsResultType::CertificateExpired);
  // No policy found: the policy domain is the recipient domain (RFC 8460 §4.4).
  theirs->policy = std::make_shared<ReportPolicy>();
  EXPECT_EQ(sessionCountKey(*theirs, kDay)->policy_domain, "example.com");
}

// A store that fails until told otherwise: the counts wait in memory.
class FlakyStore : public ReportStore {
 public:
  bool failing = true;
  uint64_t added = 0;
  Status addSessionCounts(const std::vector<SessionCount>& batch) override {
    if (failing) return makeError("database is locked");
    for (const auto& r : batch) added += r.sessions;
    return okStatus();
  }
  Result<std::vector<std::string>> policyDomains(const std::string&) override {
    return std::vector<std::string>{};
  }
  Result<std::vector<SessionCount>> sessionCounts(const std::string&, const std::string&) override {
    return std::vector<SessionCount>{};
  }
  Result<std::vector<DaySummary>> summaries(const std::string&, const std::string&) override {
    return std::vector<DaySummary>{};
  }
  Result<bool> claimReport(const std::string&, const std::string&, const std::string&, int64_t,
                           int64_t) override {
    return false;
  }
  Status finishReport(const std::string&, const std::string&, const std::string&,
                      const ReportOutcome&) override {
    return okStatus();
  }
  Result<std::optional<ReportState>> reportState(const std::string&, const std::string&) override {
    return std::optional<ReportState>{};
  }
  Result<ReceivedAdd> addReceivedReport(const StoredReceivedReport&) override { return ReceivedAdd::Stored; }
  Result<std::optional<std::string>> receivedReportRaw(const std::string&, const std::string&) override {
    return std::optional<std::string>{};
  }
  Result<std::vector<ReceivedSummary>> receivedSummaries() override { return std::vector<ReceivedSummary>{}; }
  Result<std::vector<std::string>> receivedReportIds(const std::string&, const std::string&,
                                                     const std::string&) override {
    return std::vector<std::string>{};
  }
};

TEST(TlsSessionCounter, AFailingStoreLosesNothingOnceItRecovers) {
  FlakyStore store;
  TlsSessionCounter counter(&store);
  for (int i = 0; i < 3; ++i)
    counter.onSession(outcome(session("mx.example.com", TlsResultType::Success), kDay));
  counter.onBatchEnd();
  EXPECT_EQ(store.added, 0u);
  EXPECT_EQ(counter.pendingRows(), 1u);
  store.failing = false;
  counter.onSession(outcome(session("mx.example.com", TlsResultType::Success), kDay));
  counter.onBatchEnd();
  EXPECT_EQ(store.added, 4u);
  EXPECT_EQ(counter.sessionsCounted(), 4u);
  EXPECT_EQ(counter.pendingRows(), 0u);
}

}  // namespace
}  // namespace tlsrelay
