// The TLS report reader (reporting/report_reader.h): the RFC 8460 examples
// come through value for value; gzip, plain JSON and report mails read alike;
// every deviation seen in the wild is read and recorded; and what is not a
// report (or is a hostile one) is refused with a reason.
#include "reporting/report_reader.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "common/gzip.h"
#include "message/mime.h"

namespace tlsrelay {
namespace {

using nlohmann::json;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(TLSRELAY_SOURCE_DIR) + "/tests/fixtures/tlsrpt/" + name, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// RFC 8460 Appendix B, as values.
TlsReportDocument appendixB() {
  TlsReportDocument d;
  d.organization_name = "Company-X";
  d.start_datetime = "2016-04-01T00:00:00Z";
  d.end_datetime = "2016-04-01T23:59:59Z";
  d.contact_info = "sts-reporting@company-x.example";
  d.report_id = "5065427c-23d3-47ca-b6e0-946ea0e8c4be";
  ReportPolicyEntry p;
  p.policy_type = "sts";
  p.policy_string = {"version: STSv1", "mode: testing", "mx: *.mail.company-y.example", "max_age: 86400"};
  p.policy_domain = "company-y.example";
  p.mx_host = {"*.mail.company-y.example"};
  p.total_successful_session_count = 5326;
  p.total_failure_session_count = 303;
  p.failure_details.push_back(
      {"certificate-expired", "2001:db8:abcd:0012::1", "mx1.mail.company-y.example", "", "", 100, "", ""});
  p.failure_details.push_back({"starttls-not-supported", "2001:db8:abcd:0013::1",
                               "mx2.mail.company-y.example", "", "203.0.113.56", 200,
                               "https://reports.company-x.example/report_info ? id = 5065427 c - 23 d3# "
                               "StarttlsNotSupported ",
                               ""});
  p.failure_details.push_back({"validation-failure", "198.51.100.62", "mx-backup.mail.company-y.example", "",
                               "203.0.113.58", 3, "", "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"});
  d.policies.push_back(p);
  return d;
}

// A small well-formed report the deviation tests bend one member at a time.
json baseReport() {
  return json::parse(R"({
    "organization-name": "Example Mail", "contact-info": "tlsrpt@mail.example",
    "report-id": "2026-11-30_example.com",
    "date-range": {"start-datetime": "2026-11-30T00:00:00Z", "end-datetime": "2026-11-30T23:59:59Z"},
    "policies": [{
      "policy": {"policy-type": "sts", "policy-string": ["version: STSv1", "mode: enforce"],
                 "policy-domain": "example.com", "mx-host": ["mx.example.com"]},
      "summary": {"total-successful-session-count": 10, "total-failure-session-count": 2},
      "failure-details": [{"result-type": "certificate-expired", "sending-mta-ip": "192.0.2.1",
                           "receiving-mx-hostname": "mx.example.com", "receiving-ip": "198.51.100.9",
                           "failed-session-count": 2}]
    }]})");
}

Result<ReceivedReport> readJson(const json& j) {
  return readTlsReport(j.dump());
}

// Exactly one deviation contains `text` (so a test asserts the finding, not a side effect).
::testing::AssertionResult hasDeviation(const ReceivedReport& r, const std::string& text) {
  int found = 0;
  for (const auto& d : r.deviations) found += d.find(text) != std::string::npos;
  if (found == 1) return ::testing::AssertionSuccess();
  std::string all;
  for (const auto& d : r.deviations) all += "\n  " + d;
  return ::testing::AssertionFailure() << found << " deviations contain \"" << text << "\":" << all;
}

std::string errorOf(std::string_view bytes) {
  auto r = readTlsReport(bytes);
  return r.ok() ? "(read)" : r.error().message;
}

TEST(ReportReader, ReadsTheRfc8460AppendixBExampleExactly) {
  std::string text = fixture("rfc8460-example.json");
  ASSERT_FALSE(text.empty());
  auto r = readTlsReport(text);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->source_kind, "json");
  EXPECT_EQ(r->document, appendixB());
  EXPECT_TRUE(r->deviations.empty()) << r->deviations.front();
  EXPECT_EQ(r->report_domain, "");
}

TEST(ReportReader, ReadsGzipAndPlainAlike) {
  std::string text = fixture("rfc8460-example.json");
  auto gz = readTlsReport(gzipCompress(text));
  ASSERT_TRUE(gz.ok()) << gz.error().message;
  EXPECT_EQ(gz->source_kind, "gzip");
  EXPECT_EQ(gz->document, appendixB());
  EXPECT_TRUE(gz->deviations.empty());
}

TEST(ReportReader, ReadsManyPolicies) {
  json j = baseReport();
  j["policies"] = json::array();
  for (int i = 0; i < 500; ++i) {
    json details = json::array();
    for (int k = 0; k < 3; ++k)
      details.push_back(
          {{"result-type", "starttls-not-supported"},
           {"sending-mta-ip", "192.0.2." + std::to_string(k + 1)},
           {"receiving-mx-hostname", "mx" + std::to_string(k) + ".d" + std::to_string(i) + ".example"},
           {"failed-session-count", i * 10 + k}});
    j["policies"].push_back(
        {{"policy",
          {{"policy-type", i % 2 ? "tlsa" : "sts"},
           {"policy-string", {"3 1 1 " + std::to_string(i)}},
           {"policy-domain", "d" + std::to_string(i) + ".example"}}},
         {"summary", {{"total-successful-session-count", i}, {"total-failure-session-count", 3}}},
         {"failure-details", details}});
  }
  auto r = readJson(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->document.policies.size(), 500u);
  EXPECT_TRUE(r->deviations.empty()) << r->deviations.front();
  const auto& p = r->document.policies[437];
  EXPECT_EQ(p.policy_type, "tlsa");
  EXPECT_EQ(p.policy_domain, "d437.example");
  EXPECT_EQ(p.policy_string, std::vector<std::string>{"3 1 1 437"});
  EXPECT_EQ(p.total_successful_session_count, 437u);
  ASSERT_EQ(p.failure_details.size(), 3u);
  EXPECT_EQ(p.failure_details[2].receiving_mx_hostname, "mx2.d437.example");
  EXPECT_EQ(p.failure_details[2].failed_session_count, 4372u);
}

MimeMultipartMessage reportMail(const std::string& attachment_bytes) {
  MimeMultipartMessage m;
  m.fields = {{"From", "\"TLS reports\" <tlsrpt@mail.sender.example>"},
              {"To", "tlsrpt@example.com"},
              {"Subject", "Report Domain: example.com Submitter: mail.sender.example Report-ID: <r1@sender>"},
              {"TLS-Report-Domain", "example.com"},
              {"TLS-Report-Submitter", "mail.sender.example"}};
  m.subtype = "report";
  m.params = {{"report-type", "tlsrpt"}};
  MimeLeafPart text{"text", "plain", {{"charset", "us-ascii"}}, {}};
  text.content = "This is an aggregate TLS report from mail.sender.example\r\n";
  MimeLeafPart attachment{"application", "tlsrpt+gzip", {}, {}};
  attachment.filename = "mail.sender.example!example.com!1795392000!1795478399.json.gz";
  attachment.content = attachment_bytes;
  attachment.encoding = MimeEncoding::Base64;
  m.parts = {text, attachment};
  return m;
}

TEST(ReportReader, ReadsAReportMail) {
  std::string mail = writeMimeMessage(reportMail(gzipCompress(fixture("rfc8460-example.json"))));
  auto r = readTlsReport(mail);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->source_kind, "mail");
  EXPECT_EQ(r->document, appendixB());
  EXPECT_EQ(r->report_domain, "example.com");
  EXPECT_EQ(r->submitter, "mail.sender.example");
  EXPECT_EQ(r->from_address, "tlsrpt@mail.sender.example");
  EXPECT_TRUE(r->deviations.empty()) << r->deviations.front();
}

TEST(ReportReader, ReadsTheRfc8460Section53Mail) {
  auto r = readTlsReport(fixture("rfc8460-section5.3-mail.eml"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->document, appendixB());
  EXPECT_EQ(r->report_domain, "example.net");
  EXPECT_EQ(r->submitter, "mail.sender.example.com");
  EXPECT_EQ(r->from_address, "tlsrpt@mail.sender.example.com");
  EXPECT_TRUE(r->deviations.empty()) << r->deviations.front();
}

TEST(ReportReader, MailDeviationsAreRecorded) {
  // Not multipart/report, no TLS-Report-* fields, the report as octet-stream, uncompressed.
  MimeMultipartMessage m = reportMail(fixture("rfc8460-example.json"));
  m.subtype = "mixed";
  m.params.clear();
  m.fields.resize(3);
  m.parts[1].type = "application";
  m.parts[1].subtype = "octet-stream";
  m.parts[1].filename = "report.json";
  auto r = readTlsReport(writeMimeMessage(m));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->document, appendixB());
  EXPECT_EQ(r->report_domain, "");
  EXPECT_TRUE(hasDeviation(*r, "no TLS-Report-Domain field"));
  EXPECT_TRUE(hasDeviation(*r, "no TLS-Report-Submitter field"));
  EXPECT_TRUE(hasDeviation(*r, "the mail is multipart/mixed, not multipart/report"));
  EXPECT_TRUE(hasDeviation(*r, "attached as application/octet-stream \"report.json\""));

  // Labelled +gzip but plain JSON; a gzip labelled +json.
  m = reportMail(fixture("rfc8460-example.json"));
  r = readTlsReport(writeMimeMessage(m));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(hasDeviation(*r, "labelled application/tlsrpt+gzip but is not gzip-compressed"));
  m = reportMail(gzipCompress(fixture("rfc8460-example.json")));
  m.parts[1].subtype = "tlsrpt+json";
  r = readTlsReport(writeMimeMessage(m));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(hasDeviation(*r, "labelled application/tlsrpt+json but is gzip-compressed"));
  EXPECT_EQ(r->deviations.size(), 1u);
}

TEST(ReportReader, MailFallsBackToTheNextAttachmentThatReads) {
  MimeMultipartMessage m = reportMail("not a report");
  MimeLeafPart good{"application", "json", {}, {}};
  good.filename = "r.json";
  good.content = fixture("rfc8460-example.json");
  m.parts.push_back(good);
  auto r = readTlsReport(writeMimeMessage(m));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->document, appendixB());
  EXPECT_TRUE(hasDeviation(*r, "attached as application/json"));
  EXPECT_FALSE(hasDeviation(*r, "tlsrpt+gzip but is not gzip")) << "the failed attempt's notes are dropped";
}

TEST(ReportReader, MissingSendingIpAndReceivingHostname) {
  json j = baseReport();
  j["policies"][0]["failure-details"][0].erase("sending-mta-ip");
  j["policies"][0]["failure-details"][0].erase("receiving-mx-hostname");
  auto r = readJson(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& f = r->document.policies[0].failure_details.at(0);
  EXPECT_EQ(f.sending_mta_ip, "");
  EXPECT_EQ(f.receiving_mx_hostname, "");
  EXPECT_EQ(f.failed_session_count, 2u);
  EXPECT_TRUE(hasDeviation(*r, "policy 1 failure-detail 1: no sending-mta-ip"));
  EXPECT_TRUE(hasDeviation(*r, "policy 1 failure-detail 1: no receiving-mx-hostname"));
  EXPECT_EQ(r->deviations.size(), 2u);
}

TEST(ReportReader, PolicyStringAsOneJsonEncodedString) {
  json j = baseReport();
  j["policies"][0]["policy"]["policy-string"] = R"(["version: STSv1", "mode: testing", "max_age: 86400"])";
  auto r = readJson(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->document.policies[0].policy_string,
            (std::vector<std::string>{"version: STSv1", "mode: testing", "max_age: 86400"}));
  EXPECT_TRUE(hasDeviation(*r, "policy 1: policy-string is one JSON-encoded string, not an array"));
}

TEST(ReportReader, PolicyStringAsAPlainString) {
  json j = baseReport();
  j["policies"][0]["policy"]["policy-string"] = "[not json";
  auto r = readJson(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->document.policies[0].policy_string, std::vector<std::string>{"[not json"});
  EXPECT_TRUE(hasDeviation(*r, "policy 1: policy-string is a single string, not an array"));

  j["policies"][0]["policy"]["policy-string"] = "v=DANE; 3 1 1 abcd";  // a bare string, kept whole
  r = readJson(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->document.policies[0].policy_string, std::vector<std::string>{"v=DANE; 3 1 1 abcd"});
  EXPECT_TRUE(hasDeviation(*r, "policy 1: policy-string is a single string, not an array"));
}

TEST(ReportReader, NullContactInfoAndOtherNulls) {
  json j = baseReport();
  j["contact-info"] = nullptr;
  j["policies"][0]["failure-details"][0]["receiving-mx-hostname"] = nullptr;
  j["policies"][0]["failure-details"][0]["additional-information"] = nullptr;
  j["policies"][0]["policy"]["mx-host"] = nullptr;
  auto r = readJson(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->document.contact_info, "");
  EXPECT_EQ(r->document.organization_name, "Example Mail");
  EXPECT_TRUE(r->document.policies[0].mx_host.empty());
  EXPECT_TRUE(hasDeviation(*r, "contact-info is null"));
  EXPECT_TRUE(hasDeviation(*r, "policy 1 failure-detail 1: receiving-mx-hostname is null"));
  EXPECT_TRUE(hasDeviation(*r, "policy 1 failure-detail 1: additional-information is null"));
  EXPECT_TRUE(hasDeviation(*r, "policy 1: mx-host is null"));
  EXPECT_EQ(r->deviations.size(), 4u);
}

TEST(ReportReader, EmptyAndMalformedIpStrings) {
  json j = baseReport();
  j["policies"][0]["failure-details"][0]["sending-mta-ip"] = "";
  j["policies"][0]["failure-details"][0]["receiving-ip"] = "";
  auto r = readJson(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->document.policies[0].failure_details[0].sending_mta_ip, "");
  EXPECT_TRUE(hasDeviation(*r, "policy 1 failure-detail 1: sending-mta-ip is empty"));
  EXPECT_TRUE(hasDeviation(*r, "policy 1 failure-detail 1: receiving-ip is empty"));

  j["policies"][0]["failure-details"][0]["receiving-ip"] = "mx.example.com";
  r = readJson(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->document.policies[0].failure_details[0].receiving_ip, "mx.example.com");
  EXPECT_TRUE(hasDeviation(*r, "receiving-ip \"mx.example.com\" is not an IP address"));
}

TEST(ReportReader, UnknownResultTypeAndFreeTextReasonCode) {
  json j = baseReport();
  auto& f = j["policies"][0]["failure-details"][0];
  f["result-type"] = "sts-policy-fetch-timeout";
  f["failure-reason-code"] = "bad https response code: 404";
  j["policies"][0]["policy"]["policy-type"] = "STS";
  auto r = readJson(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& got = r->document.policies[0];
  EXPECT_EQ(got.policy_type, "STS");
  EXPECT_EQ(got.failure_details[0].result_type, "sts-policy-fetch-timeout");
  EXPECT_EQ(got.failure_details[0].failure_reason_code, "bad https response code: 404");
  EXPECT_TRUE(
      hasDeviation(*r, "result-type \"sts-policy-fetch-timeout\" is not an RFC 8460 §4.3 result type"));
  EXPECT_TRUE(hasDeviation(*r, "failure-reason-code is free text"));
  EXPECT_TRUE(hasDeviation(*r, "policy 1: policy-type \"STS\" is not an RFC 8460 §4.4 policy type"));
}

TEST(ReportReader, DraftFailureErrorCodeName) {
  json j = baseReport();
  j["policies"][0]["failure-details"][0]["failure-error-code"] = "X509_V_ERR_CERT_HAS_EXPIRED";
  auto r = readJson(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->document.policies[0].failure_details[0].failure_reason_code, "X509_V_ERR_CERT_HAS_EXPIRED");
  EXPECT_TRUE(hasDeviation(*r, "failure-error-code is the draft name of failure-reason-code"));
}

TEST(ReportReader, NoPolicyDomainOnNoPolicyFound) {
  json j = baseReport();
  j["policies"][0]["policy"] = {{"policy-type", "no-policy-found"}};
  auto r = readJson(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->document.policies[0].policy_type, "no-policy-found");
  EXPECT_EQ(r->document.policies[0].policy_domain, "");
  EXPECT_TRUE(hasDeviation(*r, "policy 1: no policy-domain on a no-policy-found entry"));
  EXPECT_EQ(r->deviations.size(), 1u);

  j["policies"][0]["policy"]["policy-type"] = "sts";  // an sts policy without its domain is noted too
  r = readJson(j);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(hasDeviation(*r, "policy 1: no policy-domain"));
}

TEST(ReportReader, MxHostAsOneString) {
  json j = baseReport();
  j["policies"][0]["policy"]["mx-host"] = "*.mail.example.com";
  auto r = readJson(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->document.policies[0].mx_host, std::vector<std::string>{"*.mail.example.com"});
  EXPECT_TRUE(hasDeviation(*r, "policy 1: mx-host is a single string, not an array"));
}

TEST(ReportReader, CountsAsStringsAndFloats) {
  json j = baseReport();
  j["policies"][0]["summary"]["total-successful-session-count"] = "12";
  j["policies"][0]["summary"]["total-failure-session-count"] = 3.0;
  j["policies"][0]["failure-details"][0]["failed-session-count"] = " 7 ";
  auto r = readJson(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->document.policies[0].total_successful_session_count, 12u);
  EXPECT_EQ(r->document.policies[0].total_failure_session_count, 3u);
  EXPECT_EQ(r->document.policies[0].failure_details[0].failed_session_count, 7u);
  EXPECT_TRUE(hasDeviation(*r, "policy 1: total-successful-session-count is a string, not a number"));
  EXPECT_TRUE(hasDeviation(*r, "policy 1: total-failure-session-count is a floating-point number"));
  EXPECT_TRUE(hasDeviation(*r, "failure-detail 1: failed-session-count is a string"));
}

TEST(ReportReader, NegativeOrUnreadableCountDropsTheEntry) {
  json j = baseReport();
  j["policies"].push_back(j["policies"][0]);
  j["policies"][0]["failure-details"].push_back(j["policies"][0]["failure-details"][0]);
  j["policies"][0]["failure-details"][0]["failed-session-count"] = -3;
  j["policies"][1]["summary"]["total-failure-session-count"] = "-1";
  auto r = readJson(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->document.policies.size(), 1u);
  EXPECT_EQ(r->document.policies[0].failure_details.size(), 1u);
  EXPECT_TRUE(hasDeviation(*r, "policy 1 failure-detail 1: dropped: failed-session-count is negative (-3)"));
  EXPECT_TRUE(hasDeviation(*r, "policy 2: dropped: total-failure-session-count is negative"));

  // Entries that are not objects, or have no policy, are dropped too.
  json k = baseReport();
  k["policies"].push_back("sts");
  k["policies"].push_back({{"summary", k["policies"][0]["summary"]}});
  k["policies"][0]["failure-details"].push_back(42);
  r = readJson(k);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->document.policies.size(), 1u);
  EXPECT_EQ(r->document.policies[0].failure_details.size(), 1u);
  EXPECT_TRUE(hasDeviation(*r, "policy 2: dropped: not an object but a string"));
  EXPECT_TRUE(hasDeviation(*r, "policy 3: dropped: no policy object"));
  EXPECT_TRUE(hasDeviation(*r, "policy 1 failure-detail 2: dropped: not an object but a number"));

  j["policies"][0]["failure-details"][1]["failed-session-count"] = 2.5;
  j["policies"][0]["summary"]["total-successful-session-count"] = true;
  std::string e = errorOf(j.dump());
  EXPECT_NE(e.find("none of the 2 policy entries could be read"), std::string::npos) << e;
}

TEST(ReportReader, MissingFailureDetailsReadAsEmpty) {
  json j = baseReport();
  j["policies"][0].erase("failure-details");
  auto r = readJson(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->document.policies[0].failure_details.empty());
  EXPECT_EQ(r->document.policies[0].total_failure_session_count, 2u);
  EXPECT_TRUE(hasDeviation(*r, "policy 1: no failure-details (read as empty)"));
}

TEST(ReportReader, MissingOrganizationNameOrReportIdIsADeviationBothIsAnError) {
  json j = baseReport();
  j.erase("organization-name");
  auto r = readJson(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->document.report_id, "2026-11-30_example.com");
  EXPECT_TRUE(hasDeviation(*r, "no organization-name"));
  j["report-id"] = "";
  EXPECT_NE(errorOf(j.dump()).find("neither organization-name nor report-id"), std::string::npos);
}

TEST(ReportReader, ByteOrderMarkAndOddDates) {
  json j = baseReport();
  j["date-range"]["end-datetime"] = "2026-11-30";
  auto r = readTlsReport("\xEF\xBB\xBF" + j.dump());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->document.end_datetime, "2026-11-30");
  EXPECT_TRUE(hasDeviation(*r, "byte order mark"));
  EXPECT_TRUE(hasDeviation(*r, "end-datetime \"2026-11-30\" is not an RFC 3339 date-time"));
  EXPECT_EQ(r->deviations.size(), 2u);

  j["date-range"] = {{"start-datetime", "2026-11-30T00:00:00.250+01:00"}, {"end-datetime", ""}};
  r = readJson(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(hasDeviation(*r, "end-datetime \"\" is not an RFC 3339 date-time"));
  EXPECT_EQ(r->deviations.size(), 1u) << "an offset and a fraction are RFC 3339";
}

TEST(ReportReader, CapsTheDeviationList) {
  json j = baseReport();
  json detail = j["policies"][0]["failure-details"][0];
  detail.erase("sending-mta-ip");
  j["policies"][0]["failure-details"] = json::array();
  for (int i = 0; i < 1500; ++i) j["policies"][0]["failure-details"].push_back(detail);
  auto r = readJson(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->document.policies[0].failure_details.size(), 1500u);
  ASSERT_EQ(r->deviations.size(), kReportMaxDeviations + 1);
  EXPECT_EQ(r->deviations.back(), "... and 500 more deviations");
}

TEST(ReportReader, RejectsTruncatedAndCorruptGzip) {
  std::string gz = gzipCompress(fixture("rfc8460-example.json"));
  EXPECT_EQ(errorOf(gz.substr(0, gz.size() / 2)), "gzip data is truncated or corrupt");
  std::string corrupt = gz;
  corrupt[corrupt.size() / 2] ^= 0x55;
  EXPECT_EQ(errorOf(corrupt), "gzip data is truncated or corrupt");
  // The same inside a mail: the reason names the attachment.
  std::string mail = writeMimeMessage(reportMail(gz.substr(0, gz.size() / 2)));
  EXPECT_EQ(
      errorOf(mail),
      "report attachment application/tlsrpt+gzip "
      "\"mail.sender.example!example.com!1795392000!1795478399.json.gz\": gzip data is truncated or corrupt");
}

TEST(ReportReader, RejectsAGzipBombBeyondTheLimit) {
  // Concatenated gzip members read as one stream (RFC 1952 §2.2): 65 x 1 MiB of spaces.
  std::string member = gzipCompress(std::string(1 << 20, ' '));
  std::string bomb;
  for (int i = 0; i < 65; ++i) bomb += member;
  EXPECT_LT(bomb.size(), 200000u);
  EXPECT_NE(errorOf(bomb).find("expands beyond"), std::string::npos) << errorOf(bomb);
}

TEST(ReportReader, RejectsWhatIsNotJson) {
  EXPECT_EQ(errorOf("").substr(0, 10), "not JSON: ");
  EXPECT_EQ(errorOf("hello world").substr(0, 10), "not JSON: ");
  EXPECT_EQ(errorOf("{\"organization-name\": ").substr(0, 10), "not JSON: ");
  EXPECT_EQ(errorOf("{\"n\": 1e400}").substr(0, 10), "not JSON: ");
  EXPECT_EQ(errorOf("{\"policies\": [], \"x\": \"\xff\"}").substr(0, 10), "not JSON: ");
}

TEST(ReportReader, RejectsATopLevelThatIsNotAnObject) {
  EXPECT_EQ(errorOf(json::array({baseReport()}).dump()), "the top level is an array, not a JSON object");
  EXPECT_EQ(errorOf("42"), "the top level is a number, not a JSON object");
}

TEST(ReportReader, RejectsMissingPoliciesOrDateRange) {
  json j = baseReport();
  j.erase("policies");
  EXPECT_EQ(errorOf(j.dump()), "no policies array");
  j = baseReport();
  j["policies"] = j["policies"][0];
  EXPECT_EQ(errorOf(j.dump()), "policies is an object, not an array");
  j = baseReport();
  j.erase("date-range");
  EXPECT_EQ(errorOf(j.dump()), "no date-range object");
  j = baseReport();
  j["date-range"].erase("start-datetime");
  EXPECT_EQ(errorOf(j.dump()), "date-range has no start-datetime string");
}

TEST(ReportReader, RejectsDeepNestingBeforeParsing) {
  std::string deep = "{\"policies\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_NE(errorOf(deep).find("nesting deeper than 64"), std::string::npos) << errorOf(deep);
  // Brackets inside strings (escaped quotes too) are text, not nesting.
  json j = baseReport();
  j["contact-info"] = "\"" + std::string(200, '[');
  EXPECT_TRUE(readJson(j).ok());
  // Nesting within the limit parses (and the extra member is ignored).
  j = baseReport();
  j["extra"] = json::parse(std::string(60, '[') + std::string(60, ']'));
  EXPECT_TRUE(readJson(j).ok());
}

TEST(ReportReader, RejectsTooManyEntries) {
  std::string details;
  for (size_t i = 0; i <= kReportMaxEntries; ++i) details += i ? ",{}" : "{}";
  json j = baseReport();
  std::string text = j.dump();
  size_t at = text.find("\"failure-details\":[") + 19;
  text.insert(at, details + ",");
  EXPECT_EQ(errorOf(text), "more than 100000 policy and failure-detail entries");
}

TEST(ReportReader, RejectsAMailWithoutAttachment) {
  MimeMultipartMessage m = reportMail("");
  m.parts.pop_back();
  EXPECT_EQ(errorOf(writeMimeMessage(m)), "no report attachment in the mail");
  EXPECT_EQ(errorOf("Subject: hello\r\n\r\nJust text.\r\n"), "no report attachment in the mail");
}

}  // namespace
}  // namespace tlsrelay
