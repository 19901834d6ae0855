// The ReportStore contract, run against both stores (SQLite and a real
// PostgreSQL server): counts add up whoever writes them, list keys never
// collide, exactly one node sends each report, received reports are kept
// once, and everything survives a reopen. What only one store has is in
// sqlite_report_store_test.cc and postgres_report_store_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <thread>

#include "reporting/open_report_store.h"
#include "tests/unit/postgres_fixture.h"

namespace tlsrelay {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

constexpr const char* kDay = "2026-12-06";

SessionCountKey key(const std::string& domain, TlsResultType result = TlsResultType::Success,
                    const std::string& day = kDay) {
  SessionCountKey k;
  k.day = day;
  k.policy_domain = domain;
  k.policy_type = TlsPolicyType::Sts;
  k.policy_strings = {"version: STSv1", "mode: enforce"};
  k.mx_host = {"*.mx." + domain};
  k.result_type = result;
  k.sending_ip = "192.0.2.1";
  k.receiving_mx_hostname = "mx1." + domain;
  k.receiving_ip = "198.51.100.7";
  if (isFailure(result)) k.failure_reason_code = "X509_V_ERR";
  return k;
}

enum class StoreKind { Sqlite, Postgres };

const char* storeName(StoreKind kind) {
  return kind == StoreKind::Sqlite ? "sqlite" : "postgres";
}
void PrintTo(StoreKind kind, std::ostream* out) {
  *out << storeName(kind);
}

// Each test gets an empty store: a new SQLite file, or a new database on this
// process's PostgreSQL server. open() goes through openReportStore, as the
// relay does, so the spec decides the store.
class ReportStoreTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    if (GetParam() == StoreKind::Postgres) {
      auto server = test::sharedPostgresServer();
      ASSERT_TRUE(server) << server.error().message;
      auto database = (*server)->createDatabase();
      ASSERT_TRUE(database) << database.error().message;
      spec_ = (*server)->uri(*database);
      return;
    }
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');  // "Test/sqlite"
    dir_ = std::filesystem::temp_directory_path() /
           ("tlsrelay_report_store_" + std::to_string(::getpid()) + "_" + name);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    spec_ = (dir_ / "tls-reports.sqlite").string();
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<ReportStore> open() {
    auto store = openReportStore(spec_);
    EXPECT_TRUE(store) << store.error().message;
    return store ? std::move(store).value() : nullptr;
  }

  std::filesystem::path dir_;
  std::string spec_;
};

INSTANTIATE_TEST_SUITE_P(Stores, ReportStoreTest, ::testing::Values(StoreKind::Sqlite, StoreKind::Postgres),
                         [](const auto& info) { return std::string(storeName(info.param)); });

uint64_t countFor(ReportStore& store, const SessionCountKey& k) {
  auto counts = store.sessionCounts(k.day, k.policy_domain);
  EXPECT_TRUE(counts) << counts.error().message;
  for (const auto& c : *counts)
    if (c.key == k) return c.sessions;
  return 0;
}

TEST_P(ReportStoreTest, CountsAddUpAcrossBatches) {
  auto store = open();
  SessionCountKey ok = key("a.example"), bad = key("a.example", TlsResultType::CertificateExpired);
  ASSERT_TRUE(store->addSessionCounts({{ok, 3}, {bad, 1}, {ok, 2}}));
  ASSERT_TRUE(store->addSessionCounts({{ok, 4}, {bad, 0}}));
  EXPECT_EQ(countFor(*store, ok), 9u);
  EXPECT_EQ(countFor(*store, bad), 1u);
  EXPECT_EQ(store->sessionCounts(kDay, "a.example")->size(), 2u);
}

TEST_P(ReportStoreTest, ABatchWithABadRowStoresNothing) {
  auto store = open();
  Status s = store->addSessionCounts(
      {{key("a.example"), 1}, {key("b.example", TlsResultType::Success, "12/06"), 1}});
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message, HasSubstr("12/06"));
  EXPECT_TRUE(store->policyDomains(kDay)->empty());
}

TEST_P(ReportStoreTest, ACountTooLargeToStoreIsRefused) {
  auto store = open();
  const uint64_t half = uint64_t{1} << 62;
  EXPECT_FALSE(store->addSessionCounts({{key("a.example"), half}, {key("a.example"), half}}));
  EXPECT_FALSE(store->addSessionCounts({{key("a.example"), uint64_t{1} << 63}}));
  EXPECT_TRUE(store->policyDomains(kDay)->empty());
}

// Two connections (as the daemon's worker and a CLI would have, or two nodes),
// two threads on each: every increment lands exactly once despite contention.
TEST_P(ReportStoreTest, ConcurrentWritersOnTwoConnectionsLoseNoIncrement) {
  auto first = open(), second = open();
  ASSERT_TRUE(first && second);
  SessionCountKey a = key("a.example"), b = key("a.example", TlsResultType::StartTlsNotSupported);
  constexpr int kThreads = 4, kBatches = 125, kRowsPerBatch = 20;  // 10,000 increments
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      ReportStore& store = t % 2 ? *second : *first;
      for (int i = 0; i < kBatches; ++i) {
        std::vector<SessionCount> batch;
        for (int r = 0; r < kRowsPerBatch; ++r) batch.push_back({r % 2 ? b : a, 1});
        if (!store.addSessionCounts(batch)) ++failures;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(countFor(*first, a), 5000u);
  EXPECT_EQ(countFor(*second, b), 5000u);
}

TEST_P(ReportStoreTest, DistinctListKeysNeverCollide) {
  auto store = open();
  using Lists = std::pair<std::vector<std::string>, std::vector<std::string>>;  // policy_strings, mx_host
  const std::vector<Lists> lists = {
      {{}, {}},           {{""}, {}},          {{"", ""}, {}},      {{}, {""}},
      {{"a", "b"}, {}},   {{"a\nb"}, {}},      {{"ab"}, {}},        {{"a,1:b"}, {}},
      {{"a"}, {"b"}},     {{"a", "b"}, {"c"}}, {{"a"}, {"b", "c"}}, {{std::string("a\0b", 3)}, {}},
      {{"\xff\xfe"}, {}},
  };
  std::vector<SessionCount> batch;
  for (const auto& [strings, mx] : lists) {
    SessionCountKey k = key("a.example");
    k.policy_strings = strings;
    k.mx_host = mx;
    batch.push_back({k, 1});
  }
  ASSERT_TRUE(store->addSessionCounts(batch));
  auto counts = store->sessionCounts(kDay, "a.example");
  ASSERT_TRUE(counts) << counts.error().message;
  std::vector<std::pair<SessionCountKey, uint64_t>> got, want;
  for (const auto& c : *counts) got.emplace_back(c.key, c.sessions);
  for (const auto& c : batch) want.emplace_back(c.key, c.sessions);
  EXPECT_THAT(got, UnorderedElementsAreArray(want));
}

TEST_P(ReportStoreTest, DomainsAndCountsArePerDay) {
  auto store = open();
  ASSERT_TRUE(store->addSessionCounts({{key("b.example"), 1},
                                       {key("a.example"), 2},
                                       {key("a.example", TlsResultType::DaneRequired), 1},
                                       {key("c.example", TlsResultType::Success, "2026-12-07"), 5}}));
  EXPECT_THAT(*store->policyDomains(kDay), ElementsAre("a.example", "b.example"));
  EXPECT_THAT(*store->policyDomains("2026-12-07"), ElementsAre("c.example"));
  EXPECT_TRUE(store->policyDomains("2026-12-08")->empty());
  EXPECT_EQ(store->sessionCounts(kDay, "a.example")->size(), 2u);
  EXPECT_TRUE(store->sessionCounts("2026-12-07", "a.example")->empty());
}

TEST_P(ReportStoreTest, FirstClaimWinsAndAnotherNodeTakesOverOnlyAfterTheLease) {
  auto store = open();
  EXPECT_TRUE(*store->claimReport(kDay, "a.example", "node-a", 1000, 600));
  EXPECT_FALSE(*store->claimReport(kDay, "a.example", "node-b", 1000, 600));
  EXPECT_FALSE(*store->claimReport(kDay, "a.example", "node-b", 1599, 600));
  EXPECT_TRUE(*store->claimReport(kDay, "a.example", "node-b", 1600, 600));
  auto state = store->reportState(kDay, "a.example");
  ASSERT_TRUE(state && *state);
  EXPECT_EQ((*state)->state, ReportSendState::Claimed);
  EXPECT_EQ((*state)->node, "node-b");
  EXPECT_EQ((*state)->claimed_until, 2200);
  // The node that lost its lease cannot record an outcome over the new holder.
  Status late =
      store->finishReport(kDay, "a.example", "node-a", ReportOutcome::sent("r1", {"mailto:x"}, 1700));
  ASSERT_FALSE(late);
  EXPECT_THAT(late.error().message, HasSubstr("node-b"));
}

TEST_P(ReportStoreTest, TheHolderRenewsItsOwnClaim) {
  auto store = open();
  EXPECT_TRUE(*store->claimReport(kDay, "a.example", "node-a", 1000, 600));
  EXPECT_TRUE(*store->claimReport(kDay, "a.example", "node-a", 1300, 600));
  EXPECT_FALSE(*store->claimReport(kDay, "a.example", "node-b", 1700, 600));
  EXPECT_EQ((*store->reportState(kDay, "a.example"))->claimed_until, 1900);
}

TEST_P(ReportStoreTest, ClaimsAreAtomicAcrossConnections) {
  auto first = open(), second = open();
  ASSERT_TRUE(first && second);
  constexpr int kThreads = 6, kReports = 40;
  std::vector<std::atomic<int>> winners(kReports);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      ReportStore& store = t % 2 ? *second : *first;
      for (int r = 0; r < kReports; ++r) {
        auto won = store.claimReport(kDay, "d" + std::to_string(r) + ".example", "node-" + std::to_string(t),
                                     1000, 600);
        if (!won) ++failures;
        if (won && *won) ++winners[r];
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (int r = 0; r < kReports; ++r) EXPECT_EQ(winners[r].load(), 1) << "report " << r;
}

TEST_P(ReportStoreTest, ASentReportIsNeverClaimedAgain) {
  auto store = open();
  ASSERT_TRUE(*store->claimReport(kDay, "a.example", "node-a", 1000, 600));
  ASSERT_TRUE(store->finishReport(kDay, "a.example", "node-a",
                                  ReportOutcome::sent("2026-12-06T00:00:00Z_a.example",
                                                      {"mailto:t@a.example", "https://r.a.example/"}, 1100)));
  EXPECT_FALSE(*store->claimReport(kDay, "a.example", "node-a", 1200, 600));
  EXPECT_FALSE(*store->claimReport(kDay, "a.example", "node-b", 999999, 600));
  auto state = store->reportState(kDay, "a.example");
  ASSERT_TRUE(state && *state);
  EXPECT_EQ((*state)->state, ReportSendState::Sent);
  EXPECT_EQ((*state)->report_id, "2026-12-06T00:00:00Z_a.example");
  EXPECT_THAT((*state)->destinations, ElementsAre("mailto:t@a.example", "https://r.a.example/"));
  EXPECT_EQ((*state)->sent_at, 1100);
  // Finishing twice would overwrite a sent report's record.
  EXPECT_FALSE(store->finishReport(kDay, "a.example", "node-a", ReportOutcome::failed("late", 2000)));
}

TEST_P(ReportStoreTest, NoRuaIsFinal) {
  auto store = open();
  ASSERT_TRUE(*store->claimReport(kDay, "a.example", "node-a", 1000, 600));
  ASSERT_TRUE(store->finishReport(kDay, "a.example", "node-a", ReportOutcome::noRua()));
  EXPECT_FALSE(*store->claimReport(kDay, "a.example", "node-a", 999999, 600));
  EXPECT_EQ((*store->reportState(kDay, "a.example"))->state, ReportSendState::NoRua);
}

TEST_P(ReportStoreTest, AFailedReportIsClaimableFromItsNextAttemptOn) {
  auto store = open();
  ASSERT_TRUE(*store->claimReport(kDay, "a.example", "node-a", 1000, 600));
  ASSERT_TRUE(store->finishReport(kDay, "a.example", "node-a", ReportOutcome::failed("451 try later", 2000)));
  EXPECT_FALSE(*store->claimReport(kDay, "a.example", "node-b", 1999, 600));
  EXPECT_TRUE(*store->claimReport(kDay, "a.example", "node-b", 2000, 600));
  ASSERT_TRUE(store->finishReport(kDay, "a.example", "node-b", ReportOutcome::failed("timeout", 5000)));
  auto state = store->reportState(kDay, "a.example");
  ASSERT_TRUE(state && *state);
  EXPECT_EQ((*state)->state, ReportSendState::Failed);
  EXPECT_EQ((*state)->attempts, 2);
  EXPECT_EQ((*state)->next_attempt_at, 5000);
  EXPECT_EQ((*state)->last_error, "timeout");
}

TEST_P(ReportStoreTest, OnlyTheClaimingNodeMayFinish) {
  auto store = open();
  Status unclaimed = store->finishReport(kDay, "a.example", "node-a", ReportOutcome::noRua());
  ASSERT_FALSE(unclaimed);
  EXPECT_THAT(unclaimed.error().message, HasSubstr("never claimed"));
  ASSERT_TRUE(*store->claimReport(kDay, "a.example", "node-a", 1000, 600));
  EXPECT_FALSE(
      store->finishReport(kDay, "a.example", "node-b", ReportOutcome::sent("r", {"mailto:x"}, 1100)));
  ReportOutcome claimed;
  claimed.state = ReportSendState::Claimed;
  EXPECT_FALSE(store->finishReport(kDay, "a.example", "node-a", claimed));
  auto state = store->reportState(kDay, "a.example");
  EXPECT_EQ((*state)->state, ReportSendState::Claimed);
  EXPECT_EQ((*state)->node, "node-a");
  // An expired lease nobody took over still lets the holder record its send.
  EXPECT_TRUE(store->finishReport(kDay, "a.example", "node-a", ReportOutcome::sent("r", {"mailto:x"}, 9000)));
}

TEST_P(ReportStoreTest, SummariesTotalEachDayAndDomainWithItsReportState) {
  auto store = open();
  ASSERT_TRUE(store->addSessionCounts({{key("a.example", TlsResultType::Success, "2026-12-05"), 100},
                                       {key("a.example"), 7},
                                       {key("a.example", TlsResultType::CertificateExpired), 2},
                                       {key("a.example", TlsResultType::StsPolicyInvalid), 1},
                                       {key("b.example"), 3},
                                       {key("a.example", TlsResultType::Success, "2026-12-07"), 1}}));
  ASSERT_TRUE(*store->claimReport(kDay, "a.example", "node-a", 1000, 600));
  ASSERT_TRUE(
      store->finishReport(kDay, "a.example", "node-a", ReportOutcome::sent("r1", {"mailto:x"}, 1100)));
  auto summaries = store->summaries(kDay, "2026-12-07");
  ASSERT_TRUE(summaries) << summaries.error().message;
  ASSERT_EQ(summaries->size(), 3u);
  const DaySummary& a = (*summaries)[0];
  EXPECT_EQ(a.day, kDay);
  EXPECT_EQ(a.policy_domain, "a.example");
  EXPECT_EQ(a.successful, 7u);
  EXPECT_EQ(a.failed, 3u);
  ASSERT_TRUE(a.report);
  EXPECT_EQ(a.report->state, ReportSendState::Sent);
  EXPECT_EQ((*summaries)[1].policy_domain, "b.example");
  EXPECT_EQ((*summaries)[1].successful, 3u);
  EXPECT_FALSE((*summaries)[1].report);
  EXPECT_EQ((*summaries)[2].day, "2026-12-07");
}

StoredReceivedReport received(const std::string& org, const std::string& id,
                              std::vector<std::tuple<std::string, uint64_t, uint64_t>> policies) {
  StoredReceivedReport r;
  r.received_at = 1765000000;
  r.day = kDay;
  r.document.organization_name = org;
  r.document.report_id = id;
  r.document.start_datetime = "2026-12-06T00:00:00Z";
  r.document.end_datetime = "2026-12-06T23:59:59Z";
  for (const auto& [domain, ok, failed] : policies) {
    ReportPolicyEntry p;
    p.policy_type = "sts";
    p.policy_domain = domain;
    p.total_successful_session_count = ok;
    p.total_failure_session_count = failed;
    r.document.policies.push_back(p);
  }
  r.deviations = {"contact-info missing"};
  r.raw = std::string("\x1f\x8b\x08\0raw", 7);
  return r;
}

TEST_P(ReportStoreTest, ReceivedReportsAreStoredOnceAndSummarized) {
  auto store = open();
  EXPECT_EQ(
      *store->addReceivedReport(received("Org X", "1", {{"our.example", 10, 2}, {"other.example", 5, 0}})),
      ReceivedAdd::Stored);
  EXPECT_EQ(*store->addReceivedReport(received("Org X", "1", {{"our.example", 99, 99}})),
            ReceivedAdd::Duplicate);
  EXPECT_EQ(*store->addReceivedReport(received("Org X", "2", {{"our.example", 1, 1}})), ReceivedAdd::Stored);
  EXPECT_EQ(*store->addReceivedReport(received("Org Y", "1", {{"our.example", 4, 0}})), ReceivedAdd::Stored);
  auto summaries = store->receivedSummaries();
  ASSERT_TRUE(summaries) << summaries.error().message;
  EXPECT_THAT(*summaries, ElementsAre(ReceivedSummary{"Org X", "other.example", kDay, 5, 0, 1},
                                      ReceivedSummary{"Org X", "our.example", kDay, 11, 3, 2},
                                      ReceivedSummary{"Org Y", "our.example", kDay, 4, 0, 1}));
  auto ids = store->receivedReportIds(kDay, "Org X", "our.example");
  ASSERT_TRUE(ids) << ids.error().message;
  EXPECT_THAT(*ids, ElementsAre("1", "2"));
  EXPECT_THAT(*store->receivedReportIds(kDay, "Org X", "other.example"), ElementsAre("1"));
  EXPECT_TRUE(store->receivedReportIds(kDay, "Org Z", "our.example")->empty());
  auto raw = store->receivedReportRaw("Org X", "1");
  ASSERT_TRUE(raw && *raw);
  EXPECT_EQ(**raw, std::string("\x1f\x8b\x08\0raw", 7));
  EXPECT_FALSE(*store->receivedReportRaw("Org X", "3"));
  EXPECT_FALSE(store->addReceivedReport(received("Org X", "", {})));
}

TEST_P(ReportStoreTest, EverythingSurvivesAReopen) {
  SessionCountKey k = key("a.example");
  {
    auto store = open();
    ASSERT_TRUE(store->addSessionCounts({{k, 42}}));
    ASSERT_TRUE(*store->claimReport(kDay, "a.example", "node-a", 1000, 600));
    ASSERT_TRUE(
        store->finishReport(kDay, "a.example", "node-a", ReportOutcome::sent("r1", {"mailto:x"}, 1100)));
    ASSERT_EQ(*store->addReceivedReport(received("Org X", "1", {{"our.example", 1, 0}})),
              ReceivedAdd::Stored);
  }
  auto store = open();
  EXPECT_EQ(countFor(*store, k), 42u);
  EXPECT_EQ((*store->reportState(kDay, "a.example"))->state, ReportSendState::Sent);
  EXPECT_EQ(*store->addReceivedReport(received("Org X", "1", {})), ReceivedAdd::Duplicate);
  EXPECT_EQ(store->receivedSummaries()->size(), 1u);
}

// A remote MTA-STS policy may be 64 KB, far beyond what one PostgreSQL index
// entry holds; keys that differ only in their last byte are still two keys.
TEST_P(ReportStoreTest, LongKeysAreCountedLikeShortOnes) {
  auto store = open();
  SessionCountKey a = key("a.example"), b = key("a.example");
  a.policy_strings = {std::string(70000, 'x') + "a"};
  b.policy_strings = {std::string(70000, 'x') + "b"};
  ASSERT_TRUE(store->addSessionCounts({{a, 1}, {b, 2}}));
  ASSERT_TRUE(store->addSessionCounts({{a, 3}}));
  EXPECT_EQ(countFor(*store, a), 4u);
  EXPECT_EQ(countFor(*store, b), 2u);
}

// Policy domains come back in byte order, whatever collation a database has.
TEST_P(ReportStoreTest, DomainsSortByBytes) {
  auto store = open();
  std::vector<std::string> domains = {"b.example",        "B.example",   "_x.example",
                                      "\xc3\xa9.example", "a-b.example", "ab.example"};
  std::vector<SessionCount> batch;
  for (const auto& d : domains) batch.push_back({key(d), 1});
  ASSERT_TRUE(store->addSessionCounts(batch));
  std::sort(domains.begin(), domains.end());
  EXPECT_EQ(*store->policyDomains(kDay), domains);
}

// Report states and received reports carry bytes from strangers (reply texts,
// rua URIs, whole reports): NUL bytes and invalid UTF-8 come back unchanged.
TEST_P(ReportStoreTest, BytesFromStrangersAreKeptExactly) {
  auto store = open();
  const std::string odd = std::string("a\0b\xff\xfe\x80", 6) + std::string(5000, 'z');
  ASSERT_TRUE(*store->claimReport(kDay, "a.example", "node-a", 1000, 600));
  ASSERT_TRUE(store->finishReport(kDay, "a.example", "node-a", ReportOutcome::failed(odd, 2000)));
  ASSERT_TRUE(*store->claimReport(kDay, "a.example", "node-a", 2000, 600));
  ASSERT_TRUE(store->finishReport(kDay, "a.example", "node-a",
                                  ReportOutcome::sent("r1", {"mailto:" + odd, ""}, 2100)));
  auto state = store->reportState(kDay, "a.example");
  ASSERT_TRUE(state && *state) << (state ? "" : state.error().message);
  EXPECT_EQ((*state)->last_error, odd);
  EXPECT_THAT((*state)->destinations, ElementsAre("mailto:" + odd, ""));

  std::string every_byte;
  for (int c = 0; c < 256; ++c) every_byte += static_cast<char>(c);
  StoredReceivedReport r = received(odd, odd + "-id", {{"our.example", 1, 0}});
  r.raw = every_byte;
  r.document.contact_info = odd;
  EXPECT_EQ(*store->addReceivedReport(r), ReceivedAdd::Stored);
  EXPECT_EQ(*store->addReceivedReport(r), ReceivedAdd::Duplicate);
  auto raw = store->receivedReportRaw(odd, odd + "-id");
  ASSERT_TRUE(raw && *raw);
  EXPECT_EQ(**raw, every_byte);
  EXPECT_FALSE(*store->receivedReportRaw(odd, odd));
  EXPECT_THAT(*store->receivedSummaries(), ElementsAre(ReceivedSummary{odd, "our.example", kDay, 1, 0, 1}));
  EXPECT_THAT(*store->receivedReportIds(kDay, odd, "our.example"), ElementsAre(odd + "-id"));
}

}  // namespace
}  // namespace tlsrelay
