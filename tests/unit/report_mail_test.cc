// RFC 8460 §5.3 report mail, read back with the MIME parser: every field,
// the multipart/report parameters, the §5.1 filename, the attachment bytes;
// plus the inputs that are refused and the ones that must not add a field.
#include "reporting/report_mail.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <functional>

#include "common/gzip.h"
#include "common/time_format.h"
#include "message/mime.h"

namespace tlsrelay {
namespace {

constexpr int64_t kDay = 1796515200;  // 2026-12-06T00:00:00Z
constexpr int64_t kNow = kDay + 86400 + 3600;
const std::string kJson = R"({"organization-name":"Example","report-id":"x"})";

TlsReportMailInput input() {
  TlsReportMailInput in;
  in.submitter = "mail.sender.example";
  in.policy_domain = "example.net";
  in.report_id = "2026-12-06T00:00:00Z_example.net_0123456789abcdef";
  in.begin = kDay;
  in.end = kDay + 86399;
  static const std::string gz = gzipCompress(kJson);
  in.gzipped_report = gz;
  in.from = "tlsrpt@mail.sender.example";
  in.to = {"tlsrpt@example.net"};
  in.message_id_token = "a1";
  in.unique_id = "7";
  in.now = kNow;
  return in;
}

std::vector<std::string> fieldValues(const ParsedMimeMessage& p, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& f : p.fields)
    if (f.name == name) out.push_back(f.value);
  return out;
}

std::string field(const ParsedMimeMessage& p, std::string_view name) {
  auto values = fieldValues(p, name);
  EXPECT_EQ(values.size(), 1u) << name;
  return values.empty() ? "" : values[0];
}

std::string param(const std::vector<std::pair<std::string, std::string>>& params, std::string_view name) {
  for (const auto& [n, v] : params)
    if (n == name) return v;
  return "<absent>";
}

TEST(ReportMailTest, MessageCarriesEveryRfc8460Field) {
  const TlsReportMailInput in = input();
  auto mail = buildTlsReportMail(in);
  ASSERT_TRUE(mail.ok()) << mail.error().message;
  EXPECT_EQ(mail->filename, "mail.sender.example!example.net!1796515200!1796601599!7.json.gz");
  EXPECT_EQ(mail->message_id,
            "<tlsrpt.2026-12-06T00-00-00Z_example.net_0123456789abcdef.a1@mail.sender.example>");

  for (size_t i = 0; i < mail->data.size(); ++i) {
    if (mail->data[i] == '\n') {
      ASSERT_TRUE(i > 0 && mail->data[i - 1] == '\r') << "bare LF at " << i;
    }
  }

  auto parsed = parseMimeMessage(mail->data);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(field(*parsed, "From"), "tlsrpt@mail.sender.example");
  EXPECT_EQ(field(*parsed, "To"), "tlsrpt@example.net");
  EXPECT_EQ(field(*parsed, "Date"), rfc5322Date(kNow));
  EXPECT_EQ(field(*parsed, "Message-ID"), mail->message_id);
  EXPECT_EQ(field(*parsed, "Subject"),
            "Report Domain: example.net Submitter: mail.sender.example Report-ID: "
            "<2026-12-06T00-00-00Z_example.net_0123456789abcdef@mail.sender.example>");
  EXPECT_EQ(field(*parsed, "TLS-Report-Domain"), "example.net");
  EXPECT_EQ(field(*parsed, "TLS-Report-Submitter"), "mail.sender.example");
  EXPECT_EQ(field(*parsed, "TLS-Required"), "No");
  EXPECT_EQ(field(*parsed, "Auto-Submitted"), "auto-generated");
  EXPECT_EQ(field(*parsed, "MIME-Version"), "1.0");

  EXPECT_EQ(parsed->content_type, "multipart/report");
  EXPECT_EQ(param(parsed->params, "report-type"), "tlsrpt");
  EXPECT_NE(param(parsed->params, "boundary"), "<absent>");

  ASSERT_EQ(parsed->leaves.size(), 2u);
  const ParsedMimePart& human = parsed->leaves[0];
  EXPECT_EQ(human.content_type, "text/plain");
  EXPECT_EQ(param(human.params, "charset"), "us-ascii");
  EXPECT_NE(human.content.find("mail.sender.example"), std::string::npos) << human.content;
  EXPECT_NE(human.content.find("2026-12-06T00:00:00Z to 2026-12-06T23:59:59Z"), std::string::npos);

  const ParsedMimePart& report = parsed->leaves[1];
  EXPECT_EQ(report.content_type, "application/tlsrpt+gzip");
  EXPECT_EQ(report.filename, mail->filename);
  EXPECT_EQ(report.content, std::string(in.gzipped_report));
  auto json = gzipDecompress(report.content, 1 << 20);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json, kJson);
  EXPECT_NE(mail->data.find("Content-Transfer-Encoding: base64"), std::string::npos);
}

TEST(ReportMailTest, SeveralRecipientsAndDefaults) {
  TlsReportMailInput in = input();
  in.to = {"a@example.net", "b.c+tls@reports.example.net"};
  in.submitter = "Mail.Sender.Example.";  // normalised: lower case, no root dot
  in.unique_id.clear();                   // derived from the report-id
  in.message_id_token.clear();
  in.message_id_domain = "ids.sender.example";
  auto mail = buildTlsReportMail(in);
  ASSERT_TRUE(mail.ok()) << mail.error().message;
  auto parsed = parseMimeMessage(mail->data);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parseMailboxList(field(*parsed, "To")), in.to);
  EXPECT_EQ(field(*parsed, "TLS-Report-Submitter"), "mail.sender.example");
  EXPECT_EQ(mail->message_id,
            "<tlsrpt.2026-12-06T00-00-00Z_example.net_0123456789abcdef@ids.sender.example>");
  // The derived unique-id is alphanumeric and the same for the same report-id.
  const std::string prefix = "mail.sender.example!example.net!1796515200!1796601599!";
  ASSERT_EQ(mail->filename.rfind(prefix, 0), 0u) << mail->filename;
  const std::string id = mail->filename.substr(prefix.size(), mail->filename.size() - prefix.size() - 8);
  EXPECT_EQ(id.size(), 16u);
  EXPECT_TRUE(
      std::all_of(id.begin(), id.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); }));
  EXPECT_EQ(buildTlsReportMail(in)->filename, mail->filename);
}

TEST(ReportMailTest, FreeTextCannotAddAField) {
  TlsReportMailInput in = input();
  in.report_id = "id\r\nBcc: victim@evil.example\r\n";
  in.message_id_token = "t\r\nX-Injected: 1";
  auto mail = buildTlsReportMail(in);
  ASSERT_TRUE(mail.ok()) << mail.error().message;
  auto parsed = parseMimeMessage(mail->data);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_TRUE(fieldValues(*parsed, "Bcc").empty());
  EXPECT_TRUE(fieldValues(*parsed, "X-Injected").empty());
  EXPECT_EQ(mail->data.find("\r\nBcc:"), std::string::npos);
  const std::string subject = field(*parsed, "Subject");
  EXPECT_EQ(subject.find_first_of("\r\n"), std::string::npos);
  EXPECT_EQ(subject,
            "Report Domain: example.net Submitter: mail.sender.example Report-ID: "
            "<id--Bcc--victim-evil.example--@mail.sender.example>");
}

TEST(ReportMailTest, RefusesInputsThatMakeAWrongMessage) {
  const std::pair<const char*, std::function<void(TlsReportMailInput&)>> cases[] = {
      {"submitter is not", [](auto& in) { in.submitter = "mail.sender.example\r\nBcc: x@y.example"; }},
      {"submitter is not", [](auto& in) { in.submitter = ""; }},
      {"submitter is not", [](auto& in) { in.submitter = "-bad.example"; }},
      {"policy domain is not",
       [](auto& in) {
         in.policy_domain =
             "b\xc3\xbc"
             "cher.example";
       }},  // a U-label
      {"policy domain is not", [](auto& in) { in.policy_domain = "a..example"; }},
      {"policy domain is not", [](auto& in) { in.policy_domain = std::string(64, 'a') + ".example"; }},
      {"Message-ID domain", [](auto& in) { in.message_id_domain = "x y"; }},
      {"From address", [](auto& in) { in.from = "tlsrpt@mail.sender.example\r\nBcc: x@y.example"; }},
      {"From address", [](auto& in) { in.from = "\"quoted\"@mail.sender.example"; }},
      {"From address", [](auto& in) { in.from = "no-at-sign"; }},
      {"no recipient", [](auto& in) { in.to.clear(); }},
      {"recipient is not",
       [](auto& in) {
         in.to = {"a@example.net", "b@example.net>, c@evil.example"};
       }},
      {"recipient is not", [](auto& in) { in.to = {"a@example.net\r\nBcc: x@evil.example"}; }},
      {"not gzip", [](auto& in) { in.gzipped_report = kJson; }},
      {"ends before it begins", [](auto& in) { in.end = in.begin - 1; }},
  };
  for (const auto& [error, change] : cases) {
    TlsReportMailInput in = input();
    change(in);
    auto mail = buildTlsReportMail(in);
    ASSERT_FALSE(mail.ok()) << error;
    EXPECT_NE(mail.error().message.find(error), std::string::npos) << mail.error().message;
  }
}

TEST(ReportMailTest, FilenameFollowsRfc8460Section51) {
  // The RFC's own example (§5.1), without and with a unique-id.
  EXPECT_EQ(tlsReportFilename("mail.sndr.example.com", "example.net", 1470013207, 1470186007, ""),
            "mail.sndr.example.com!example.net!1470013207!1470186007.json.gz");
  EXPECT_EQ(tlsReportFilename("mail.sndr.example.com", "example.net", 1470013207, 1470186007, "001"),
            "mail.sndr.example.com!example.net!1470013207!1470186007!001.json.gz");
  // unique-id = 1*(ALPHA / DIGIT): anything else is dropped.
  EXPECT_EQ(tlsReportFilename("a.example", "b.example", 0, 1, "x-1!y.2"),
            "a.example!b.example!0!1!x1y2.json.gz");
  EXPECT_EQ(tlsReportFilename("a.example", "b.example", 0, 1, "!!"), "a.example!b.example!0!1.json.gz");
}

}  // namespace
}  // namespace tlsrelay
