#include "relay/ops/report_service.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/time_format.h"
#include "reporting/report_reader.h"
#include "reporting/report_schedule.h"
#include "reporting/sqlite_report_store.h"

namespace tlsrelay {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kDay = 1796515200;  // 2026-12-06T00:00:00Z

class TxtResolver : public dns::Resolver {
 public:
  std::map<std::string, std::string> records;
  dns::MxAnswer lookupMx(const std::string&) override { return {}; }
  dns::AddressAnswer lookupAddresses(const std::string&) override { return {}; }
  dns::TxtAnswer lookupTxt(const std::string& name) override {
    dns::TxtAnswer a;
    auto it = records.find(name);
    if (it == records.end()) {
      a.outcome = dns::Outcome::NxDomain;
      return a;
    }
    a.outcome = dns::Outcome::Found;
    a.records = {it->second};
    return a;
  }
  dns::TlsaAnswer lookupTlsa(const std::string&) override { return {}; }
};

SessionCount success(const std::string& domain, uint64_t sessions) {
  SessionCount c;
  c.key.day = "2026-12-06";
  c.key.policy_domain = domain;
  c.key.policy_type = TlsPolicyType::NoPolicyFound;
  c.key.result_type = TlsResultType::Success;
  c.sessions = sessions;
  return c;
}

struct Bed {
  fs::path dir;
  std::unique_ptr<ReportStore> store;
  TxtResolver dns;
  uv_loop_t loop{};
  std::vector<LocalMessage> submitted;
  int64_t now = kDay + 86400 + 12 * 3600;  // the next day, past any report's due time
  std::unique_ptr<ReportService> service;

  Bed() {
    char tmpl[] = "/tmp/report-service-XXXXXX";
    dir = mkdtemp(tmpl);
    store = std::move(openSqliteReportStore((dir / "r.sqlite").string()).value());
    EXPECT_TRUE(store->addSessionCounts({success("mailed.test", 5), success("silent.test", 3)}).ok());
    dns.records["_smtp._tls.mailed.test"] = "v=TLSRPTv1; rua=mailto:reports@mailed.test";
    uv_loop_init(&loop);
    service = std::make_unique<ReportService>(
        &loop, store.get(), &dns,
        [this](LocalMessage m, LocalSubmission::Done done) {
          submitted.push_back(std::move(m));
          done(std::string("Q") + std::to_string(submitted.size()));
        },
        [this] { return now; });
    ReportServiceSettings s;
    s.sender = {"Example Relay", "relay.example.net", "", "tlsrpt@relay.example.net", "node-a"};
    service->configure(s);
  }
  ~Bed() {
    service->stop();
    uv_run(&loop, UV_RUN_DEFAULT);  // the close callbacks
    service.reset();
    uv_loop_close(&loop);
    store.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::vector<ReportSendLine> sendNow(std::vector<std::string> days = {}) {
    std::vector<ReportSendLine> got;
    bool done = false;
    EXPECT_TRUE(service->sendNow(std::move(days), [&](std::vector<ReportSendLine> lines) {
      got = std::move(lines);
      done = true;
    }));
    while (!done) uv_run(&loop, UV_RUN_ONCE);
    return got;
  }
};

TEST(ReportService, APassMailsThroughTheSpoolAndRecordsEveryDomain) {
  Bed b;
  b.service->start(std::chrono::hours(1));
  auto lines = b.sendNow();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].policy_domain, "mailed.test");
  EXPECT_EQ(lines[0].outcome.result, DispatchResult::Sent) << lines[0].outcome.detail;
  EXPECT_EQ(lines[1].policy_domain, "silent.test");
  EXPECT_EQ(lines[1].outcome.result, DispatchResult::NoRua);
  ASSERT_EQ(b.submitted.size(), 1u);
  const LocalMessage& m = b.submitted[0];
  EXPECT_EQ(m.mail_from, "tlsrpt@relay.example.net");
  EXPECT_EQ(m.recipients, std::vector<std::string>{"reports@mailed.test"});
  EXPECT_TRUE(m.flags.tls_report) << "its sessions must not be counted in the next reports";
  EXPECT_TRUE(m.flags.tls_required_no);
  auto report = readTlsReport(m.data);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->document.organization_name, "Example Relay");
  EXPECT_EQ(report->document.policies.at(0).total_successful_session_count, 5u);
  // Both are final: a second pass has nothing to do, and sends nothing twice.
  EXPECT_TRUE(b.sendNow().empty());
  EXPECT_EQ(b.submitted.size(), 1u);
}

TEST(ReportService, TheTimerSendsOnlyWhatIsDue) {
  Bed b;
  ReportServiceSettings s;
  s.automatic = true;
  s.sender = {"Example Relay", "relay.example.net", "", "tlsrpt@relay.example.net", "node-a"};
  s.send_after = 3600;
  s.send_window = 4 * 3600;
  b.service->configure(s);
  int64_t due = reportDueAt("2026-12-06", "mailed.test", s.send_after, s.send_window);
  int64_t silent_due = reportDueAt("2026-12-06", "silent.test", s.send_after, s.send_window);
  ASSERT_NE(due, silent_due) << "pick domains the schedule spreads apart";
  b.now = std::min(due, silent_due);
  const bool mailed_first = due < silent_due;
  b.service->start(std::chrono::milliseconds(1));
  // One tick: only the domain whose minute has come.
  while (true) {
    uv_run(&b.loop, UV_RUN_ONCE);
    auto st = b.store->reportState("2026-12-06", mailed_first ? "mailed.test" : "silent.test");
    if (st.ok() && st->has_value() && (*st)->state != ReportSendState::Claimed) break;
  }
  while (b.service->busy()) uv_run(&b.loop, UV_RUN_ONCE);
  auto other = b.store->reportState("2026-12-06", mailed_first ? "silent.test" : "mailed.test");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value()) << "not due yet, so not even claimed";
  EXPECT_EQ(b.submitted.size(), mailed_first ? 1u : 0u);
}

TEST(ReportService, SendNowRefusesADayThatIsNotOverAndAfterStop) {
  Bed b;
  b.service->start(std::chrono::hours(1));
  std::string reply;
  b.now = kDay + 3600;  // still 2026-12-06
  sendReportsNow(*b.service, "2026-12-06", [&](std::string r) { reply = std::move(r); });
  EXPECT_EQ(reply.rfind("error 2026-12-06 is not over yet", 0), 0u) << reply;
  sendReportsNow(*b.service, "12/06/2026", [&](std::string r) { reply = std::move(r); });
  EXPECT_EQ(reply.rfind("error not a day", 0), 0u) << reply;
  b.now = kDay + 86400 + 60;
  reply.clear();
  sendReportsNow(*b.service, "2026-12-06", [&](std::string r) { reply = std::move(r); });
  while (reply.empty()) uv_run(&b.loop, UV_RUN_ONCE);
  ASSERT_EQ(reply.rfind("ok ", 0), 0u) << reply;
  auto lines = nlohmann::json::parse(reply.substr(3));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["result"], "sent");
  EXPECT_EQ(lines[0]["reached"][0], "mailto:reports@mailed.test");
  b.service->stop();
  EXPECT_FALSE(b.service->sendNow({}, nullptr)) << "a stopping relay starts no pass";
}

}  // namespace
}  // namespace tlsrelay
