// The TLS result log: one line per outbound session whose TLS record has
// something to report; what reporting will aggregate must round-trip exactly,
// sessions without anything to report are not recorded, hostile text stays one line.
#include "reporting/tls_result_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tlsrelay {
namespace {

std::shared_ptr<SessionRecord> stsFailure() {
  auto policy = std::make_shared<ReportPolicy>();
  policy->type = TlsPolicyType::Sts;
  policy->domain = "example.net";
  policy->strings = {"version: STSv1", "mode: enforce", "mx: mx.example.net", "max_age: 86400"};
  policy->mx_host = {"mx.example.net"};
  auto s = std::make_shared<SessionRecord>();
  s->session_id = "0badc0de-7";
  s->domain = "example.net";
  s->mx_host = "mx.example.net";
  s->ip = "192.0.2.25";
  s->connected = true;
  s->policy = policy;
  s->result = TlsResultType::CertificateHostMismatch;
  s->failure_reason = "certificate of mx.example.net\r\nnot valid \xff for the name";
  return s;
}

SessionEvent tlsOutcome(std::shared_ptr<const SessionRecord> s, int64_t time) {
  SessionEvent e;
  e.kind = SessionEvent::Kind::TlsOutcome;
  e.time = time;
  e.session = std::move(s);
  return e;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(TlsResultLog, RecordRoundTripsEveryReportField) {
  std::string line = formatTlsResult(*stsFailure(), 1795392000);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  auto back = parseTlsResult(line);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->session_id, "0badc0de-7");
  EXPECT_EQ(back->policy_type, TlsPolicyType::Sts);
  EXPECT_EQ(back->policy_domain, "example.net");
  EXPECT_EQ(back->policy_strings.size(), 4u);
  EXPECT_EQ(back->mx_host, std::vector<std::string>{"mx.example.net"});
  EXPECT_EQ(back->result_type, TlsResultType::CertificateHostMismatch);
  EXPECT_EQ(back->receiving_mx_hostname, "mx.example.net");
  EXPECT_EQ(back->receiving_ip, "192.0.2.25");
  EXPECT_NE(back->failure_reason_code.find("not valid"), std::string::npos);
  EXPECT_EQ(back->time, 1795392000);
}

TEST(TlsResultLog, SuccessHasNoFailureReason) {
  auto s = stsFailure();
  s->result = TlsResultType::Success;
  auto back = parseTlsResult(formatTlsResult(*s, 1));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->failure_reason_code, "");
  EXPECT_EQ(back->result_type, TlsResultType::Success);
}

TEST(TlsResultLog, ParseRejectsGarbage) {
  EXPECT_FALSE(parseTlsResult("not json").ok());
  EXPECT_FALSE(parseTlsResult("[1,2]").ok());
  EXPECT_FALSE(parseTlsResult(R"({"time":"x","policy-type":"sts"})").ok());
  EXPECT_FALSE(
      parseTlsResult(R"({"time":1,"policy-type":"sts","policy-domain":"x","result-type":"great"})").ok());
  EXPECT_FALSE(
      parseTlsResult(R"({"time":1,"policy-type":"dane","policy-domain":"x","result-type":"success"})").ok());
}

TEST(TlsResultLog, WritesOneLinePerReportableSessionPerDay) {
  auto dir = std::filesystem::temp_directory_path() / ("tlsresults-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  TlsResultLog log(dir.string(), [] { return int64_t{1795392000}; });
  log.onSession(tlsOutcome(stsFailure(), 1795392000));
  auto nothing = stsFailure();
  nothing->result.reset();  // clear text where nothing wanted TLS: nothing to report
  log.onSession(tlsOutcome(nothing, 1795392000));
  SessionEvent commit = tlsOutcome(stsFailure(), 1795392000);
  commit.kind = SessionEvent::Kind::Commit;  // only the TLS outcome is a session's record
  log.onSession(commit);
  log.onSession(tlsOutcome(stsFailure(), 1795392000 + 86400));
  std::string day1 = slurp((dir / "tls-results-2026-11-23.jsonl").string());
  std::string day2 = slurp((dir / "tls-results-2026-11-24.jsonl").string());
  EXPECT_EQ(std::count(day1.begin(), day1.end(), '\n'), 1);
  EXPECT_EQ(std::count(day2.begin(), day2.end(), '\n'), 1);
  EXPECT_TRUE(parseTlsResult(day1.substr(0, day1.size() - 1)).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tlsrelay
