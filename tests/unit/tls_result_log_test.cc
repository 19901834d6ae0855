// The TLS result log: what reporting will aggregate must round-trip exactly,
// attempts without a TLS decision are not recorded, hostile text stays one line.
#include "reporting/tls_result_log.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace tlsrelay {
namespace {

DeliveryAttempt stsFailure() {
  DeliveryAttempt a;
  a.time = 1795392000;  // 2026-11-23T00:00:00Z
  a.queue_id = "Q1";
  a.recipient = "user@example.net";
  a.domain = "example.net";
  a.mx_host = "mx.example.net";
  a.ip = "192.0.2.25";
  a.result = AttemptResult::Deferred;
  a.tls.policy_type = "sts";
  a.tls.policy_domain = "example.net";
  a.tls.policy_strings = {"version: STSv1", "mode: enforce", "mx: mx.example.net", "max_age: 86400"};
  a.tls.mx_patterns = {"mx.example.net"};
  a.tls.result_type = "certificate-host-mismatch";
  a.tls.failure_reason = "certificate of mx.example.net\r\nnot valid \xff for the name";
  return a;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(TlsResultLog, RecordRoundTripsEveryReportField) {
  auto r = tlsResultFrom(stsFailure(), 1795392000);
  std::string line = formatTlsResult(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  auto back = parseTlsResult(line);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->policy_type, "sts");
  EXPECT_EQ(back->policy_domain, "example.net");
  EXPECT_EQ(back->policy_strings.size(), 4u);
  EXPECT_EQ(back->mx_host, std::vector<std::string>{"mx.example.net"});
  EXPECT_EQ(back->result_type, "certificate-host-mismatch");
  EXPECT_EQ(back->receiving_mx_hostname, "mx.example.net");
  EXPECT_EQ(back->receiving_ip, "192.0.2.25");
  EXPECT_NE(back->failure_reason_code.find("not valid"), std::string::npos);
  EXPECT_EQ(back->time, 1795392000);
}

TEST(TlsResultLog, SuccessHasNoFailureReason) {
  auto a = stsFailure();
  a.tls.result_type = "success";
  EXPECT_EQ(tlsResultFrom(a, 1).failure_reason_code, "");
}

TEST(TlsResultLog, ParseRejectsGarbage) {
  EXPECT_FALSE(parseTlsResult("not json").ok());
  EXPECT_FALSE(parseTlsResult("[1,2]").ok());
  EXPECT_FALSE(parseTlsResult(R"({"time":"x","policy-type":"sts"})").ok());
}

TEST(TlsResultLog, WritesOneLinePerReportableAttemptPerDay) {
  auto dir = std::filesystem::temp_directory_path() / ("tlsresults-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  TlsResultLog log(dir.string(), [] { return int64_t{1795392000}; });
  log.onAttempt(stsFailure());
  DeliveryAttempt no_decision = stsFailure();
  no_decision.tls.result_type = "";  // e.g. MX lookup failed: nothing to report
  log.onAttempt(no_decision);
  DeliveryAttempt next_day = stsFailure();
  next_day.time += 86400;
  log.onAttempt(next_day);
  std::string day1 = slurp((dir / "tls-results-2026-11-23.jsonl").string());
  std::string day2 = slurp((dir / "tls-results-2026-11-24.jsonl").string());
  EXPECT_EQ(std::count(day1.begin(), day1.end(), '\n'), 1);
  EXPECT_EQ(std::count(day2.begin(), day2.end(), '\n'), 1);
  EXPECT_TRUE(parseTlsResult(day1.substr(0, day1.size() - 1)).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tlsrelay
