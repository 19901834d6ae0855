// What only the PostgreSQL report store has, against a real server
// (postgres_fixture.h): nodes racing for a report get exactly one winner, a
// server restart or outage is survived, errors never show the password, the
// schema is created once however many nodes open a new database at once, and
// a schema from a newer build is refused. The contract both stores keep is in
// report_store_test.cc.
#include "reporting/postgres_report_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "reporting/open_report_store.h"
#include "tests/unit/postgres_fixture.h"

namespace tlsrelay {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kDay = "2026-12-06";

SessionCountKey key(const std::string& domain) {
  SessionCountKey k;
  k.day = kDay;
  k.policy_domain = domain;
  k.policy_type = TlsPolicyType::Sts;
  k.result_type = TlsResultType::Success;
  return k;
}

class PostgresReportStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = test::sharedPostgresServer();
    ASSERT_TRUE(server) << server.error().message;
    server_ = *server;
    auto database = server_->createDatabase();
    ASSERT_TRUE(database) << database.error().message;
    database_ = *database;
  }

  std::unique_ptr<ReportStore> open() {
    const auto begin = std::chrono::steady_clock::now();
    auto store = openPostgresReportStore(server_->uri(database_));
    EXPECT_TRUE(store) << store.error().message;
    std::printf("store open took %lld ms\n",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - begin)
                                           .count()));
    return store ? std::move(store).value() : nullptr;
  }

  // How errors name the store: host, port and database, nothing else.
  std::string storeName() const {
    return "postgresql://127.0.0.1:" + std::to_string(server_->port()) + "/" + database_;
  }

  test::PostgresServer* server_ = nullptr;
  std::string database_;
};

// Two nodes (two store objects, two connections) ask for the same report at
// the same moment, round after round: first for a new report, then again once
// the lease has run out, when the holder's renewal races the other's takeover.
TEST_F(PostgresReportStoreTest, TwoNodesRacingForAReportNeverBothWin) {
  auto node_a = open(), node_b = open();
  ASSERT_TRUE(node_a && node_b);
  constexpr int kRounds = 300;
  std::vector<std::atomic<int>> first(kRounds), second(kRounds);
  std::atomic<int> failures{0};
  std::barrier sync(2);
  auto race = [&](ReportStore& store, const std::string& node) {
    for (int r = 0; r < kRounds; ++r) {
      const std::string domain = "d" + std::to_string(r) + ".example";
      sync.arrive_and_wait();
      auto won = store.claimReport(kDay, domain, node, 1000, 600);
      if (!won) ++failures;
      if (won && *won) ++first[r];
      sync.arrive_and_wait();
      won = store.claimReport(kDay, domain, node, 1600, 600);
      if (!won) ++failures;
      if (won && *won) ++second[r];
    }
  };
  std::thread a([&] { race(*node_a, "node-a"); });
  std::thread b([&] { race(*node_b, "node-b"); });
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  for (int r = 0; r < kRounds; ++r) {
    EXPECT_EQ(first[r].load(), 1) << "round " << r << ", new report";
    EXPECT_EQ(second[r].load(), 1) << "round " << r << ", expired lease";
  }
}

// A restart drops every connection; the next call of every kind reconnects
// and succeeds, and nothing written before is lost or written twice.
TEST_F(PostgresReportStoreTest, AServerRestartIsSurvived) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->addSessionCounts({{key("a.example"), 5}}));
  ASSERT_TRUE(server_->restart());
  Status added = store->addSessionCounts({{key("a.example"), 2}});
  ASSERT_TRUE(added) << added.error().message;
  ASSERT_TRUE(server_->restart());
  auto won = store->claimReport(kDay, "a.example", "node-a", 1000, 600);
  ASSERT_TRUE(won) << won.error().message;
  EXPECT_TRUE(*won);
  ASSERT_TRUE(server_->restart());
  auto counts = store->sessionCounts(kDay, "a.example");
  ASSERT_TRUE(counts) << counts.error().message;
  ASSERT_EQ(counts->size(), 1u);
  EXPECT_EQ((*counts)[0].sessions, 7u);
}

// A connection that breaks in the middle of a statement (here: killed while
// the claim waits for a lock another session holds) is replaced and the
// statement run once more, so the caller sees a result, not the breakage.
TEST_F(PostgresReportStoreTest, AConnectionKilledUnderAStatementIsReplacedAndTheStatementRepeated) {
  auto store = open();
  ASSERT_TRUE(store);
  // Polls until `query` answers `want`; every step waits for the previous one, whatever the load.
  auto until = [&](const std::string& query, const std::string& want) {
    for (int i = 0; i < 1500; ++i) {
      auto got = server_->sql(database_, query);
      if (got && *got == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  };
  const pid_t holder = server_->sqlInBackground(
      database_, "BEGIN; LOCK TABLE reports IN EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT");
  ASSERT_TRUE(until(
      "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'reports' "
      "AND l.mode = 'ExclusiveLock' AND l.granted",
      "1"));
  const std::string waiting =
      "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tlsrelay' AND wait_event_type = "
      "'Lock'";
  std::thread killer([&] {
    // Ours, while it waits; then, once its repeat waits too, the holder.
    EXPECT_TRUE(until(waiting, "1"));
    EXPECT_TRUE(
        until("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = "
              "'tlsrelay' AND wait_event_type = 'Lock'",
              "1"));
    EXPECT_TRUE(until(waiting, "1"));
    EXPECT_TRUE(
        until("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = "
              "'psql' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()",
              "1"));
  });
  auto won = store->claimReport(kDay, "a.example", "node-a", 1000, 600);
  killer.join();
  test::PostgresServer::wait(holder);
  ASSERT_TRUE(won) << won.error().message;
  EXPECT_TRUE(*won);
  EXPECT_EQ((*store->reportState(kDay, "a.example"))->node, "node-a");
}

// While the server is down, calls fail with an error naming the store; once
// it is back the same store object works again.
TEST_F(PostgresReportStoreTest, AnOutageIsAnErrorUntilTheServerIsBack) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(server_->stop());
  Status down = store->addSessionCounts({{key("a.example"), 1}});
  ASSERT_FALSE(down);
  EXPECT_THAT(down.error().message, HasSubstr(storeName()));
  EXPECT_THAT(down.error().message, Not(HasSubstr(test::PostgresServer::kPassword)));
  auto read = store->policyDomains(kDay);
  ASSERT_FALSE(read);
  ASSERT_TRUE(server_->startAgain());
  Status up = store->addSessionCounts({{key("a.example"), 1}});
  ASSERT_TRUE(up) << up.error().message;
  EXPECT_THAT(*store->policyDomains(kDay), ::testing::ElementsAre("a.example"));
}

TEST_F(PostgresReportStoreTest, ErrorsNameTheStoreButNeverThePassword) {
  const std::string port = std::to_string(server_->port());
  const std::string secret = test::PostgresServer::kPassword;
  // No such database: the error says where it looked.
  auto missing = openReportStore(server_->uri("no_such_db"));
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("postgresql://127.0.0.1:" + port + "/no_such_db"));
  EXPECT_THAT(missing.error().message, HasSubstr("does not exist"));
  EXPECT_THAT(missing.error().message, Not(HasSubstr(secret)));
  // A wrong password is not echoed either.
  auto wrong = openReportStore(server_->uri(database_, "Wrong-Pw-31337"));
  ASSERT_FALSE(wrong);
  EXPECT_THAT(wrong.error().message, HasSubstr("password authentication failed"));
  EXPECT_THAT(wrong.error().message, Not(HasSubstr("Wrong-Pw-31337")));
  // libpq quotes the part of a connection string it cannot parse: here, the password.
  auto malformed = openReportStore("postgresql://tlsrelay:Bad%zzPw@127.0.0.1:" + port + "/" + database_);
  ASSERT_FALSE(malformed);
  EXPECT_THAT(malformed.error().message, HasSubstr("cannot parse"));
  EXPECT_THAT(malformed.error().message, Not(HasSubstr("zzPw")));
  auto pairs = openReportStore("postgresql://127.0.0.1:" + port + "/" + database_ + "?password=" + secret +
                               "&sslmode=bogus");
  ASSERT_FALSE(pairs);
  EXPECT_THAT(pairs.error().message, Not(HasSubstr(secret)));
  // Nothing connects on port 1.
  auto refused = openReportStore("postgresql://tlsrelay:" + secret + "@127.0.0.1:1/" + database_);
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, HasSubstr("postgresql://127.0.0.1:1/" + database_));
  EXPECT_THAT(refused.error().message, Not(HasSubstr(secret)));
}

// The password may live in a libpq password file instead of the URI.
TEST_F(PostgresReportStoreTest, ThePasswordMayComeFromAPasswordFile) {
  const std::string file =
      (std::filesystem::temp_directory_path() / ("tlsrelay_pgpass_" + std::to_string(::getpid()))).string();
  {
    std::ofstream out(file);
    out << "127.0.0.1:" << server_->port() << ":*:" << test::PostgresServer::kUser << ":"
        << test::PostgresServer::kPassword << "\n";
  }
  std::filesystem::permissions(file,
                               std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  ::setenv("PGPASSFILE", file.c_str(), 1);
  auto store = openReportStore(server_->uri(database_, ""));
  ::unsetenv("PGPASSFILE");
  std::filesystem::remove(file);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_TRUE(*(*store)->claimReport(kDay, "a.example", "node-a", 1000, 600));
}

// Every node of a new fleet may open the empty database at the same moment.
TEST_F(PostgresReportStoreTest, NodesOpeningANewDatabaseAtOnceCreateOneSchema) {
  constexpr int kNodes = 6;
  std::vector<std::unique_ptr<ReportStore>> stores(kNodes);
  std::vector<std::string> errors(kNodes);
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i)
    threads.emplace_back([&, i] {
      auto store = openReportStore(server_->uri(database_));
      if (store)
        stores[i] = std::move(store).value();
      else
        errors[i] = store.error().message;
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kNodes; ++i) EXPECT_TRUE(stores[i]) << errors[i];
  EXPECT_EQ(*server_->sql(database_, "SELECT count(*) FROM tlsrelay_schema"), "1");
}

TEST_F(PostgresReportStoreTest, ANewerSchemaVersionIsRefused) {
  { ASSERT_TRUE(open()); }
  ASSERT_TRUE(server_->sql(database_, "UPDATE tlsrelay_schema SET version = 99"));
  auto store = openPostgresReportStore(server_->uri(database_));
  ASSERT_FALSE(store);
  EXPECT_THAT(store.error().message, HasSubstr("schema version 99"));
  EXPECT_THAT(store.error().message, HasSubstr(storeName()));
}

TEST_F(PostgresReportStoreTest, BothUriSchemesOpenThePostgresqlStore) {
  EXPECT_TRUE(isPostgresReportStore("postgresql://db.example/tlsrelay"));
  EXPECT_TRUE(isPostgresReportStore("postgres://db.example/tlsrelay"));
  EXPECT_FALSE(isPostgresReportStore("/var/spool/tlsrelay/tls-reports.sqlite"));
  EXPECT_FALSE(isPostgresReportStore("postgresql:relative-file"));
  std::string uri = server_->uri(database_);
  uri.replace(0, std::string("postgresql").size(), "postgres");
  auto store = openReportStore(uri);
  ASSERT_TRUE(store) << store.error().message;
  ASSERT_TRUE((*store)->addSessionCounts({{key("a.example"), 1}}));
  EXPECT_EQ(*server_->sql(database_, "SELECT sessions FROM session_counts"), "1");
}

}  // namespace
}  // namespace tlsrelay
