#include "reporting/report_dispatch.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "common/gzip.h"
#include "message/mime.h"
#include "reporting/report_reader.h"
#include "reporting/sqlite_report_store.h"

namespace tlsrelay {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kNextDay = 1796601600 + 3600;  // 2026-12-07T01:00:00Z

struct Bed {
  fs::path dir;
  std::unique_ptr<ReportStore> store;
  std::map<std::string, dns::TxtAnswer> txt;
  std::vector<ReportMailToSend> mails;
  std::vector<std::pair<std::string, std::string>> posts;  // url, body
  PostOutcome post_answer{true, false, PostFailure::None, 200, 0, "200"};
  bool spool_full = false;
  int64_t now = kNextDay;
  ReportDispatchDeps deps;
  ReportSender sender{"relay.example.net", "relay.example.net", "", "tlsrpt@relay.example.net", "node-a"};

  Bed() {
    char tmpl[] = "/tmp/report-dispatch-XXXXXX";
    dir = mkdtemp(tmpl);
    auto opened = openSqliteReportStore((dir / "r.sqlite").string());
    EXPECT_TRUE(opened.ok());
    store = std::move(opened.value());
    deps.store = store.get();
    deps.lookup_txt = [this](const std::string& name) {
      auto it = txt.find(name);
      if (it != txt.end()) return it->second;
      dns::TxtAnswer none;
      none.outcome = dns::Outcome::NxDomain;
      return none;
    };
    deps.submit_mail = [this](const ReportMailToSend& m) -> Result<std::string> {
      if (spool_full) return makeError("no space left on device");
      mails.push_back(m);
      return std::string("Q1");
    };
    deps.post_https = [this](const std::string& url, std::string_view gz) {
      posts.emplace_back(url, std::string(gz));
      return post_answer;
    };
    deps.clock = [this] { return now; };
    SessionCount ok{{"2026-12-06",
                     "example.com",
                     TlsPolicyType::Sts,
                     {"version: STSv1", "mode: enforce"},
                     {"mx.example.com"},
                     TlsResultType::Success,
                     "",
                     "",
                     "",
                     ""},
                    7};
    SessionCount bad = ok;
    bad.key.result_type = TlsResultType::CertificateExpired;
    bad.key.sending_ip = "198.51.100.7";
    bad.key.receiving_mx_hostname = "mx.example.com";
    bad.key.receiving_ip = "192.0.2.1";
    bad.sessions = 2;
    EXPECT_TRUE(store->addSessionCounts({ok, bad}).ok());
  }
  ~Bed() {
    store.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void publish(const std::string& record) {
    dns::TxtAnswer a;
    a.outcome = dns::Outcome::Found;
    a.records = {record};
    txt["_smtp._tls.example.com"] = a;
  }
  DispatchOutcome run(const std::string& node = "node-a") {
    ReportSender s = sender;
    s.node = node;
    return dispatchReport(deps, s, {}, "2026-12-06", "example.com");
  }
};

TEST(ReportDispatch, MailsTheReportOnceAndRecordsIt) {
  Bed b;
  b.publish("v=TLSRPTv1; rua=mailto:tlsrpt@example.com");
  DispatchOutcome o = b.run();
  ASSERT_EQ(o.result, DispatchResult::Sent) << o.detail;
  ASSERT_EQ(b.mails.size(), 1u);
  EXPECT_EQ(b.mails[0].to, std::vector<std::string>{"tlsrpt@example.com"});
  EXPECT_EQ(b.mails[0].from, "tlsrpt@relay.example.net");
  // The attachment is the report, with the counts the store holds.
  auto read = readTlsReport(b.mails[0].data);
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->document.policies.size(), 1u);
  EXPECT_EQ(read->document.policies[0].total_successful_session_count, 7u);
  EXPECT_EQ(read->document.policies[0].total_failure_session_count, 2u);
  EXPECT_EQ(read->document.report_id, o.report_id);
  auto state = b.store->reportState("2026-12-06", "example.com");
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ((*state)->state, ReportSendState::Sent);

  // A second run (a restart, another node) sends nothing.
  EXPECT_EQ(b.run().result, DispatchResult::NotOurs);
  EXPECT_EQ(b.run("node-b").result, DispatchResult::NotOurs);
  EXPECT_EQ(b.mails.size(), 1u);
}

TEST(ReportDispatch, PostsToHttpsRuaAndRetriesOnlyWhatMaySucceed) {
  Bed b;
  b.publish("v=TLSRPTv1; rua=https://reports.example.com/tlsrpt");
  b.post_answer = {false, true, PostFailure::Http, 503, 0, "HTTP 503"};
  DispatchOutcome o = b.run();
  EXPECT_EQ(o.result, DispatchResult::Failed);
  ASSERT_EQ(b.posts.size(), 1u);
  EXPECT_EQ(b.posts[0].first, "https://reports.example.com/tlsrpt");
  EXPECT_TRUE(looksGzipped(b.posts[0].second));
  auto state = b.store->reportState("2026-12-06", "example.com");
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ((*state)->state, ReportSendState::Failed);
  EXPECT_EQ((*state)->next_attempt_at, kNextDay + 3600);

  // Not before the retry time; then it goes.
  b.now = kNextDay + 1800;
  EXPECT_EQ(b.run().result, DispatchResult::NotOurs);
  b.now = kNextDay + 3600;
  b.post_answer = {true, false, PostFailure::None, 200, 0, "200"};
  EXPECT_EQ(b.run().result, DispatchResult::Sent);
  EXPECT_EQ(b.posts.size(), 2u);
}

TEST(ReportDispatch, NoRecordMeansNothingToSendAndALookupFailureIsRetried) {
  Bed b;
  dns::TxtAnswer fail;
  fail.outcome = dns::Outcome::TempFail;
  fail.why = "SERVFAIL";
  b.txt["_smtp._tls.example.com"] = fail;
  DispatchOutcome o = b.run();
  EXPECT_EQ(o.result, DispatchResult::Failed);
  EXPECT_NE(o.detail.find("SERVFAIL"), std::string::npos);

  b.txt.clear();
  b.now += 3600;
  EXPECT_EQ(b.run().result, DispatchResult::NoRua);
  b.now += 10 * 86400;
  EXPECT_EQ(b.run().result, DispatchResult::NotOurs) << "no-rua is final";
  EXPECT_TRUE(b.mails.empty());
  EXPECT_TRUE(b.posts.empty());
}

TEST(ReportDispatch, ASpoolThatRefusesIsRetriedAndOneDestinationThatTookItIsEnough) {
  Bed b;
  b.publish("v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://reports.example.com/x");
  b.spool_full = true;
  b.post_answer = {false, false, PostFailure::Certificate, 0, 0, "certificate did not verify"};
  EXPECT_EQ(b.run().result, DispatchResult::Failed);
  b.now += 3600;
  b.spool_full = false;
  DispatchOutcome o = b.run();
  EXPECT_EQ(o.result, DispatchResult::Sent);
  EXPECT_EQ(o.reached, std::vector<std::string>{"mailto:tlsrpt@example.com"});
  EXPECT_NE(o.detail.find("certificate"), std::string::npos) << "the failed rua is still reported";
}

TEST(ReportDispatch, ALiveClaimOfAnotherNodeIsLeftAlone) {
  Bed b;
  b.publish("v=TLSRPTv1; rua=mailto:tlsrpt@example.com");
  ASSERT_TRUE(*b.store->claimReport("2026-12-06", "example.com", "node-b", b.now, 900));
  EXPECT_EQ(b.run().result, DispatchResult::NotOurs);
  EXPECT_TRUE(b.mails.empty());
  b.now += 901;  // node-b died mid-send: its lease ran out
  EXPECT_EQ(b.run().result, DispatchResult::Sent);
  EXPECT_EQ(b.mails.size(), 1u);
}

}  // namespace
}  // namespace tlsrelay
