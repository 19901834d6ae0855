// RFC 8460 report building: aggregation of session counts, the exact JSON,
// determinism, and the JSON checked against tests/schema (and that schema
// proven strict by documents it must reject).
#include "reporting/report_builder.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

namespace tlsrelay {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

const std::vector<std::string> kStsLines = {"version: STSv1", "mode: enforce", "mx: *.mail.example.com",
                                            "max_age: 86400"};
const std::vector<std::string> kStsMx = {"*.mail.example.com"};

ReportMeta meta() {
  return {"Example Relay", "tlsrpt@relay.example", "2026-12-06", "2026-12-06T00:00:00Z_example.com_test"};
}

SessionCount row(TlsResultType result, uint64_t sessions, std::string mx = "mx1.mail.example.com",
                 std::string reason = "", TlsPolicyType type = TlsPolicyType::Sts) {
  SessionCount c;
  c.key.day = "2026-12-06";
  c.key.policy_domain = "example.com";
  c.key.policy_type = type;
  if (type == TlsPolicyType::Sts) {
    c.key.policy_strings = kStsLines;
    c.key.mx_host = kStsMx;
  }
  c.key.result_type = result;
  c.key.sending_ip = "192.0.2.1";
  c.key.receiving_mx_hostname = std::move(mx);
  c.key.receiving_ip = "198.51.100.7";
  c.key.failure_reason_code = std::move(reason);
  c.sessions = sessions;
  return c;
}

TEST(ReportBuilder, SuccessAndFailureInOnePolicy) {
  auto doc = buildTlsReport(meta(), {row(TlsResultType::Success, 10), row(TlsResultType::Success, 5, "mx2"),
                                     row(TlsResultType::CertificateExpired, 2, "mx1", "expired")});
  EXPECT_EQ(doc.start_datetime, "2026-12-06T00:00:00Z");
  EXPECT_EQ(doc.end_datetime, "2026-12-06T23:59:59Z");
  ASSERT_EQ(doc.policies.size(), 1u) << "success rows on two MX still belong to one policy";
  const auto& p = doc.policies[0];
  EXPECT_EQ(p.policy_type, "sts");
  EXPECT_EQ(p.policy_domain, "example.com");
  EXPECT_EQ(p.policy_string, kStsLines);
  EXPECT_EQ(p.mx_host, kStsMx);
  EXPECT_EQ(p.total_successful_session_count, 15u);
  EXPECT_EQ(p.total_failure_session_count, 2u);
  ASSERT_EQ(p.failure_details.size(), 1u);
  EXPECT_EQ(p.failure_details[0].result_type, "certificate-expired");
  EXPECT_EQ(p.failure_details[0].failed_session_count, 2u);
  EXPECT_EQ(p.failure_details[0].failure_reason_code, "expired");
}

TEST(ReportBuilder, TwoPoliciesForOneDomain) {
  SessionCount none = row(TlsResultType::Success, 7, "mx.example.com", "", TlsPolicyType::NoPolicyFound);
  SessionCount none_fail =
      row(TlsResultType::StartTlsNotSupported, 1, "mx.example.com", "", TlsPolicyType::NoPolicyFound);
  auto doc = buildTlsReport(meta(), {row(TlsResultType::Success, 3), none, none_fail});
  ASSERT_EQ(doc.policies.size(), 2u);
  EXPECT_EQ(doc.policies[0].policy_type, "no-policy-found");  // sorted by RFC name
  EXPECT_EQ(doc.policies[0].policy_domain, "example.com") << "policy-domain is present without a policy too";
  EXPECT_TRUE(doc.policies[0].policy_string.empty());
  EXPECT_EQ(doc.policies[0].total_successful_session_count, 7u);
  EXPECT_EQ(doc.policies[0].total_failure_session_count, 1u);
  EXPECT_EQ(doc.policies[1].policy_type, "sts");
  EXPECT_EQ(doc.policies[1].total_successful_session_count, 3u);
  EXPECT_EQ(doc.policies[1].total_failure_session_count, 0u);
  EXPECT_TRUE(doc.policies[1].failure_details.empty());
}

TEST(ReportBuilder, MessageFailedOnTwoMxThenSucceeded) {
  // One message, three sessions: RFC 8460 counts sessions, not messages.
  auto doc = buildTlsReport(meta(), {row(TlsResultType::CertificateExpired, 1, "mx1.mail.example.com"),
                                     row(TlsResultType::CertificateExpired, 1, "mx2.mail.example.com"),
                                     row(TlsResultType::Success, 1, "mx3.mail.example.com")});
  ASSERT_EQ(doc.policies.size(), 1u);
  const auto& p = doc.policies[0];
  EXPECT_EQ(p.total_successful_session_count, 1u);
  EXPECT_EQ(p.total_failure_session_count, 2u);
  ASSERT_EQ(p.failure_details.size(), 2u) << "one entry per MX";
  EXPECT_EQ(p.failure_details[0].receiving_mx_hostname, "mx1.mail.example.com");
  EXPECT_EQ(p.failure_details[1].receiving_mx_hostname, "mx2.mail.example.com");
}

TEST(ReportBuilder, EqualDetailKeysAddUpAndOtherDaysAndEmptyRowsDoNot) {
  SessionCount other_day = row(TlsResultType::Success, 100);
  other_day.key.day = "2026-12-05";
  auto doc = buildTlsReport(meta(), {row(TlsResultType::DaneRequired, 2), row(TlsResultType::DaneRequired, 3),
                                     other_day, row(TlsResultType::TlsaInvalid, 0)});
  ASSERT_EQ(doc.policies.size(), 1u);
  EXPECT_EQ(doc.policies[0].total_successful_session_count, 0u);
  EXPECT_EQ(doc.policies[0].total_failure_session_count, 5u);
  ASSERT_EQ(doc.policies[0].failure_details.size(), 1u);
  EXPECT_EQ(doc.policies[0].failure_details[0].failed_session_count, 5u);
}

TEST(ReportBuilder, CountsStopAtTheIJsonIntegerLimit) {
  const uint64_t limit = (uint64_t{1} << 53) - 1;
  auto doc = buildTlsReport(meta(), {row(TlsResultType::Success, limit), row(TlsResultType::Success, 10),
                                     row(TlsResultType::ValidationFailure, UINT64_MAX)});
  EXPECT_EQ(doc.policies[0].total_successful_session_count, limit);
  EXPECT_EQ(doc.policies[0].total_failure_session_count, limit);
  EXPECT_EQ(doc.policies[0].failure_details[0].failed_session_count, limit);
}

TEST(ReportJson, ExactTextForASmallReport) {
  auto doc = buildTlsReport(
      meta(), {row(TlsResultType::Success, 10), row(TlsResultType::CertificateExpired, 2,
                                                    "mx1.mail.example.com", "X509_V_ERR_CERT_HAS_EXPIRED")});
  EXPECT_EQ(reportJson(doc),
            R"({"organization-name":"Example Relay",)"
            R"("date-range":{"start-datetime":"2026-12-06T00:00:00Z","end-datetime":"2026-12-06T23:59:59Z"},)"
            R"("contact-info":"tlsrpt@relay.example","report-id":"2026-12-06T00:00:00Z_example.com_test",)"
            R"("policies":[{"policy":{"policy-type":"sts","policy-string":["version: STSv1","mode: enforce",)"
            R"("mx: *.mail.example.com","max_age: 86400"],"policy-domain":"example.com",)"
            R"("mx-host":["*.mail.example.com"]},)"
            R"("summary":{"total-successful-session-count":10,"total-failure-session-count":2},)"
            R"("failure-details":[{"result-type":"certificate-expired","sending-mta-ip":"192.0.2.1",)"
            R"("receiving-mx-hostname":"mx1.mail.example.com","receiving-ip":"198.51.100.7",)"
            R"("failed-session-count":2,"failure-reason-code":"X509_V_ERR_CERT_HAS_EXPIRED"}]}]})");
}

TEST(ReportJson, EmptyMembersAreLeftOut) {
  SessionCount fetch =
      row(TlsResultType::StsPolicyFetchError, 4, "", "policy host unreachable", TlsPolicyType::NoPolicyFound);
  fetch.key.sending_ip.clear();
  fetch.key.receiving_ip.clear();
  auto j = nlohmann::ordered_json::parse(reportJson(buildTlsReport(meta(), {fetch})));
  const auto& policy = j["policies"][0]["policy"];
  EXPECT_FALSE(policy.contains("policy-string"));
  EXPECT_FALSE(policy.contains("mx-host"));
  EXPECT_EQ(policy["policy-domain"], "example.com");
  const auto& d = j["policies"][0]["failure-details"][0];
  EXPECT_EQ(d.dump(), R"({"result-type":"sts-policy-fetch-error","failed-session-count":4,)"
                      R"("failure-reason-code":"policy host unreachable"})");
  auto ok = Json::parse(reportJson(buildTlsReport(meta(), {row(TlsResultType::Success, 1)})));
  EXPECT_EQ(ok["policies"][0]["failure-details"], Json::array()) << "present even when nothing failed";
}

TEST(ReportJson, InvalidUtf8IsReplacedNotThrown) {
  auto doc = buildTlsReport(meta(), {row(TlsResultType::ValidationFailure, 1, "mx1", "bad \xff\xfe reply")});
  std::string text;
  ASSERT_NO_THROW(text = reportJson(doc));
  EXPECT_NE(text.find("bad \xEF\xBF\xBD\xEF\xBF\xBD reply"), std::string::npos);
}

std::vector<SessionCount> manyFailureRows(size_t n) {
  std::vector<SessionCount> rows;
  const TlsResultType kinds[] = {TlsResultType::CertificateExpired, TlsResultType::StartTlsNotSupported,
                                 TlsResultType::CertificateHostMismatch,
                                 TlsResultType::CertificateNotTrusted};
  for (size_t i = 0; i < n; ++i) {
    rows.push_back(row(kinds[i % 4], 1 + i % 7, "mx" + std::to_string(i) + ".mail.example.com", "reason"));
    rows.back().key.receiving_ip = "198.51." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256);
  }
  rows.push_back(row(TlsResultType::Success, 123456));
  return rows;
}

TEST(ReportJson, SameCountsInAnyOrderGiveTheSameBytes) {
  auto rows = manyFailureRows(300);
  rows.push_back(row(TlsResultType::Success, 9, "mx.example.com", "", TlsPolicyType::NoPolicyFound));
  std::string first = reportJson(buildTlsReport(meta(), rows));
  std::mt19937 rng(8460);
  for (int i = 0; i < 5; ++i) {
    std::shuffle(rows.begin(), rows.end(), rng);
    EXPECT_EQ(reportJson(buildTlsReport(meta(), rows)), first);
  }
}

TEST(ReportJson, FiveThousandDistinctFailureRowsKeepTheirSums) {
  auto rows = manyFailureRows(5000);
  uint64_t failed = 0;
  for (const auto& r : rows)
    if (isFailure(r.key.result_type)) failed += r.sessions;
  auto j = Json::parse(reportJson(buildTlsReport(meta(), rows)));
  ASSERT_EQ(j["policies"].size(), 1u);
  const Json& p = j["policies"][0];
  EXPECT_EQ(p["summary"]["total-successful-session-count"], 123456u);
  EXPECT_EQ(p["summary"]["total-failure-session-count"], failed);
  ASSERT_EQ(p["failure-details"].size(), 5000u);
  uint64_t sum = 0;
  for (const Json& d : p["failure-details"]) sum += d["failed-session-count"].get<uint64_t>();
  EXPECT_EQ(sum, failed);
}

TEST(ReportId, SameInputsSameIdAndEveryInputCounts) {
  std::string id = reportId("2026-12-06", "example.com", "relay.example");
  EXPECT_EQ(id, reportId("2026-12-06", "example.com", "relay.example")) << "a resend carries the same id";
  EXPECT_EQ(id.rfind("2026-12-06T00:00:00Z_example.com_", 0), 0u) << id;
  EXPECT_EQ(id.size(), std::string("2026-12-06T00:00:00Z_example.com_").size() + 16);
  EXPECT_NE(id, reportId("2026-12-07", "example.com", "relay.example"));
  EXPECT_NE(id, reportId("2026-12-06", "example.net", "relay.example"));
  EXPECT_NE(id, reportId("2026-12-06", "example.com", "other.example"));
  EXPECT_NE(reportId("d", "ab", "c"), reportId("d", "a", "bc"));
  std::string odd = reportId("2026-12-06", "ex ample\"/.com", "s");
  EXPECT_EQ(odd.find_first_of(" \"/"), std::string::npos) << odd;
}

// Schema checks run the system python3-jsonschema (Draft 7, with format
// checks) once over a batch of files in a scratch directory: one output line
// per file, "valid" or "invalid: <errors>", then "done".
class ReportSchema : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/report_builder_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ / "check.py") << "import json, sys, jsonschema\n"
                                        "schema = json.load(open(sys.argv[1]))\n"
                                        "jsonschema.Draft7Validator.check_schema(schema)\n"
                                        "v = jsonschema.Draft7Validator(schema, "
                                        "format_checker=jsonschema.draft7_format_checker)\n"
                                        "for path in sys.argv[2:]:\n"
                                        "    errors = [str(list(e.absolute_path)) + ' ' + e.message\n"
                                        "              for e in v.iter_errors(json.load(open(path)))]\n"
                                        "    print('invalid: ' + '; '.join(errors) if errors else 'valid')\n"
                                        "print('done')\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // One verdict line per document; an empty vector when the check itself broke.
  std::vector<std::string> check(const std::vector<std::string>& documents) {
    std::string cmd = "/usr/bin/python3 " + (dir_ / "check.py").string() +
                      " " TLSRELAY_SOURCE_DIR "/tests/schema/tlsrpt-report.schema.json";
    for (size_t i = 0; i < documents.size(); ++i) {
      fs::path file = dir_ / ("report" + std::to_string(i) + ".json");
      std::ofstream(file) << documents[i];
      cmd += " " + file.string();
    }
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (!p) return {};
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int status = ::pclose(p);
    std::vector<std::string> lines;
    for (size_t pos = 0, end; (end = out.find('\n', pos)) != std::string::npos; pos = end + 1)
      lines.push_back(out.substr(pos, end - pos));
    bool whole = WIFEXITED(status) && WEXITSTATUS(status) == 0 && lines.size() == documents.size() + 1 &&
                 lines.back() == "done";
    EXPECT_TRUE(whole) << "schema check did not run: " << out;
    if (!whole) return {};
    lines.pop_back();
    return lines;
  }

  fs::path dir_;
};

TEST_F(ReportSchema, BuiltReportsValidate) {
  SessionCount fetch =
      row(TlsResultType::StsPolicyFetchError, 4, "", "unreachable", TlsPolicyType::NoPolicyFound);
  fetch.key.sending_ip.clear();
  fetch.key.receiving_ip.clear();
  SessionCount tlsa = row(TlsResultType::DaneRequired, 1, "mx.example.com", "", TlsPolicyType::Tlsa);
  tlsa.key.policy_strings = {"3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"};
  tlsa.key.receiving_ip = "2001:db8::25";
  const std::vector<std::vector<SessionCount>> cases = {
      {row(TlsResultType::Success, 10),
       row(TlsResultType::CertificateExpired, 2, "mx1.mail.example.com", "x")},
      {row(TlsResultType::Success, 3), fetch, tlsa},
      manyFailureRows(5000),
  };
  std::vector<std::string> documents;
  for (const auto& rows : cases) documents.push_back(reportJson(buildTlsReport(meta(), rows)));
  auto verdicts = check(documents);
  ASSERT_EQ(verdicts.size(), cases.size());
  for (size_t i = 0; i < verdicts.size(); ++i) EXPECT_EQ(verdicts[i], "valid") << "case " << i;
}

TEST_F(ReportSchema, RfcAppendixBExampleValidates) {
  // RFC 8460 Appendix B, with its additional-information URI unwrapped:
  // the schema must not be stricter than the RFC's own example.
  EXPECT_EQ(check({R"({"organization-name":"Company-X",
    "date-range":{"start-datetime":"2016-04-01T00:00:00Z","end-datetime":"2016-04-01T23:59:59Z"},
    "contact-info":"sts-reporting@company-x.example","report-id":"5065427c-23d3-47ca-b6e0-946ea0e8c4be",
    "policies":[{"policy":{"policy-type":"sts","policy-string":["version: STSv1","mode: testing",
      "mx: *.mail.company-y.example","max_age: 86400"],"policy-domain":"company-y.example",
      "mx-host":["*.mail.company-y.example"]},
    "summary":{"total-successful-session-count":5326,"total-failure-session-count":303},
    "failure-details":[{"result-type":"certificate-expired","sending-mta-ip":"2001:db8:abcd:0012::1",
      "receiving-mx-hostname":"mx1.mail.company-y.example","failed-session-count":100},
     {"result-type":"starttls-not-supported","sending-mta-ip":"2001:db8:abcd:0013::1",
      "receiving-mx-hostname":"mx2.mail.company-y.example","receiving-ip":"203.0.113.56",
      "failed-session-count":200,
      "additional-information":"https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported"},
     {"result-type":"validation-failure","sending-mta-ip":"198.51.100.62","receiving-ip":"203.0.113.58",
      "receiving-mx-hostname":"mx-backup.mail.company-y.example","failed-session-count":3,
      "failure-reason-code":"X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"}]}]})"}),
            std::vector<std::string>{"valid"});
}

TEST_F(ReportSchema, RejectsWhatTheRfcDoesNotAllow) {
  const Json good = Json::parse(
      reportJson(buildTlsReport(meta(), {row(TlsResultType::Success, 10),
                                         row(TlsResultType::CertificateExpired, 2, "mx1.example.com")})));

  struct Case {
    const char* what;
    void (*mutate)(Json&);
  };
  const Case cases[] = {
      {"no policy-domain", [](Json& j) { j["policies"][0]["policy"].erase("policy-domain"); }},
      {"bad result-type",
       [](Json& j) { j["policies"][0]["failure-details"][0]["result-type"] = "tls-broken"; }},
      {"success as a failure",
       [](Json& j) { j["policies"][0]["failure-details"][0]["result-type"] = "success"; }},
      {"bad policy-type", [](Json& j) { j["policies"][0]["policy"]["policy-type"] = "dane"; }},
      {"count as a string",
       [](Json& j) { j["policies"][0]["summary"]["total-failure-session-count"] = "2"; }},
      {"negative count", [](Json& j) { j["policies"][0]["summary"]["total-successful-session-count"] = -1; }},
      {"fractional count",
       [](Json& j) { j["policies"][0]["failure-details"][0]["failed-session-count"] = 1.5; }},
      {"policies not an array", [](Json& j) { j["policies"] = j["policies"][0]; }},
      {"no report-id", [](Json& j) { j.erase("report-id"); }},
      {"unknown member", [](Json& j) { j["policies"][0]["policy"]["policy-mode"] = "enforce"; }},
      {"U-label domain",
       [](Json& j) {
         j["policies"][0]["policy"]["policy-domain"] =
             "b\xC3\xBC"
             "cher.example";
       }},
      {"not an IP",
       [](Json& j) { j["policies"][0]["failure-details"][0]["sending-mta-ip"] = "mx1.example.com"; }},
      {"empty reason", [](Json& j) { j["policies"][0]["failure-details"][0]["failure-reason-code"] = ""; }},
      {"certificate failure without its MX",
       [](Json& j) { j["policies"][0]["failure-details"][0].erase("receiving-mx-hostname"); }},
      {"sts without mx-host", [](Json& j) { j["policies"][0]["policy"].erase("mx-host"); }},
      {"bad end-datetime", [](Json& j) { j["date-range"]["end-datetime"] = "2026-12-06 23:59:59"; }},
  };
  std::vector<std::string> documents = {good.dump()};
  for (const Case& c : cases) {
    Json bad = good;
    c.mutate(bad);
    documents.push_back(bad.dump());
  }
  auto verdicts = check(documents);
  ASSERT_EQ(verdicts.size(), documents.size());
  EXPECT_EQ(verdicts[0], "valid") << "the unmutated report";
  for (size_t i = 0; i < std::size(cases); ++i)
    EXPECT_EQ(verdicts[i + 1].rfind("invalid: ", 0), 0u) << cases[i].what << ": " << verdicts[i + 1];
}

}  // namespace
}  // namespace tlsrelay
