// The GMime layer (message/mime.h): what it writes has CRLF line ends only,
// keeps field values byte for byte (UTF-8 included) and cannot be made to
// grow a field by a value holding a line break; binary attachments survive a
// write and a parse; the parser reads what other systems send (LF line ends,
// nested multiparts, an enclosed message) and returns the decoded bytes.
#include "message/mime.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace tlsrelay {
namespace {

std::string binaryBytes() {
  std::string bytes;
  for (int i = 0; i < 1000; ++i)
    bytes.push_back(static_cast<char>((i * 37) & 0xff));  // NULs and 8-bit octets
  return bytes;
}

MimeMultipartMessage report() {
  MimeMultipartMessage m;
  m.fields = {{"From", "reports@example.net"},
              {"To", "tlsrpt@example.com"},
              {"Subject", "Report Domain: example.com Submitter: example.net"}};
  m.subtype = "report";
  m.params = {{"report-type", "tlsrpt"}};
  MimeLeafPart text{"text", "plain", {{"charset", "us-ascii"}}, {}};
  text.content = "This is a TLS report.\r\n";
  MimeLeafPart attachment{"application", "tlsrpt+gzip", {}, {}};
  attachment.filename = "example.net!example.com!1795392000!1795478399!1.json.gz";
  attachment.content = binaryBytes();
  attachment.encoding = MimeEncoding::Base64;
  m.parts = {text, attachment};
  return m;
}

const std::string* field(const ParsedMimeMessage& p, const std::string& name) {
  for (const auto& f : p.fields)
    if (f.name == name) return &f.value;
  return nullptr;
}

TEST(Mime, WrittenMessageHasOnlyCrlfLineEnds) {
  MimeMultipartMessage m = report();
  m.parts[0].content = "one\ntwo\r\nthree\n";  // LF line ends in a caller's text
  std::string out = writeMimeMessage(m);
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\n') {
      ASSERT_TRUE(i > 0 && out[i - 1] == '\r') << "bare LF at " << i;
    }
  }
  EXPECT_NE(out.find("one\r\ntwo\r\nthree\r\n"), std::string::npos);
  EXPECT_EQ(out.compare(out.size() - 2, 2, "\r\n"), 0);
}

TEST(Mime, BinaryAttachmentSurvivesWriteAndParse) {
  std::string out = writeMimeMessage(report());
  EXPECT_NE(out.find("Content-Transfer-Encoding: base64\r\n"), std::string::npos);
  auto parsed = parseMimeMessage(out);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->content_type, "multipart/report");
  ASSERT_FALSE(parsed->params.empty());
  bool report_type = false;
  for (const auto& [name, value] : parsed->params) report_type |= name == "report-type" && value == "tlsrpt";
  EXPECT_TRUE(report_type);
  ASSERT_EQ(parsed->leaves.size(), 2u);
  EXPECT_EQ(parsed->leaves[0].content_type, "text/plain");
  EXPECT_EQ(parsed->leaves[0].content, "This is a TLS report.\r\n");
  EXPECT_EQ(parsed->leaves[1].content_type, "application/tlsrpt+gzip");
  EXPECT_EQ(parsed->leaves[1].filename, "example.net!example.com!1795392000!1795478399!1.json.gz");
  EXPECT_EQ(parsed->leaves[1].content, binaryBytes());
}

TEST(Mime, FieldsComeOutInOrderBeforeTheMimeFields) {
  std::string out = writeMimeMessage(report());
  size_t from = out.find("From: reports@example.net\r\n");
  size_t to = out.find("To: tlsrpt@example.com\r\n");
  size_t subject = out.find("Subject: Report Domain: example.com Submitter: example.net\r\n");
  size_t version = out.find("MIME-Version: 1.0\r\n");
  ASSERT_NE(from, std::string::npos);
  EXPECT_EQ(from, 0u);
  EXPECT_LT(from, to);
  EXPECT_LT(to, subject);
  EXPECT_LT(subject, version);
}

TEST(Mime, Utf8FieldValuesAreKeptByteForByte) {
  MimeMultipartMessage m = report();
  m.fields[1].value = "<j\xc3\xbcrgen@b\xc3\xa4r.example>";
  std::string out = writeMimeMessage(m);
  EXPECT_NE(out.find("To: <j\xc3\xbcrgen@b\xc3\xa4r.example>\r\n"), std::string::npos);
  EXPECT_EQ(out.find("=?"), std::string::npos);  // no RFC 2047 encoded words
}

TEST(Mime, ALineBreakInAValueCannotAddAField) {
  MimeMultipartMessage m = report();
  m.fields[2].value = "hello\r\nBcc: victim@example.org";
  m.parts[0].fields = {{"Content-Description", "x\nContent-Type: text/html"}};
  std::string out = writeMimeMessage(m);
  EXPECT_EQ(out.find("\r\nBcc:"), std::string::npos);
  EXPECT_NE(out.find("Subject: hello  Bcc: victim@example.org\r\n"), std::string::npos);
  auto parsed = parseMimeMessage(out);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(field(*parsed, "Bcc"), nullptr);
  ASSERT_EQ(parsed->leaves.size(), 2u);
  EXPECT_EQ(parsed->leaves[0].content_type, "text/plain");
}

TEST(Mime, TheCallersBoundaryIsUsedAndAnEmptyOneIsRandom) {
  MimeMultipartMessage m = report();
  m.boundary = "tlsrelay-abc";
  std::string out = writeMimeMessage(m);
  EXPECT_NE(out.find("\r\n--tlsrelay-abc\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\n--tlsrelay-abc--\r\n"), std::string::npos);
  auto boundaryOf = [](const MimeMultipartMessage& msg) {
    auto p = parseMimeMessage(writeMimeMessage(msg));
    for (const auto& [name, value] : p ? p->params : decltype(p->params){})
      if (name == "boundary") return value;
    return std::string();
  };
  std::string a = boundaryOf(report());
  std::string b = boundaryOf(report());
  EXPECT_FALSE(a.empty());
  EXPECT_NE(a, b);
}

TEST(Mime, ParsesLfMailWithNestedPartsAndAnEnclosedMessage) {
  const std::string mail =
      "From: a@example.org\n"
      "Subject: =?utf-8?q?caf=C3=A9?=\n"
      "MIME-Version: 1.0\n"
      "Content-Type: multipart/mixed; boundary=\"outer\"\n"
      "\n"
      "--outer\n"
      "Content-Type: multipart/alternative; boundary=\"inner\"\n"
      "\n"
      "--inner\n"
      "Content-Type: text/plain\n"
      "Content-Transfer-Encoding: quoted-printable\n"
      "\n"
      "caf=C3=A9 =\n"
      "au lait\n"
      "--inner--\n"
      "--outer\n"
      "Content-Type: message/rfc822\n"
      "\n"
      "Subject: inside\n"
      "\n"
      "enclosed body\n"
      "--outer\n"
      "Content-Type: application/gzip; name=\"r.json.gz\"\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "H4sIAAAAAAAAA6tWKkktLlGyUlAqS8wpTVWqBQAx8a7MEQAAAA==\n"
      "--outer--\n";
  auto parsed = parseMimeMessage(mail);
  ASSERT_TRUE(parsed);
  ASSERT_NE(field(*parsed, "Subject"), nullptr);
  EXPECT_EQ(*field(*parsed, "Subject"), "caf\xc3\xa9");  // encoded words decoded for readers
  EXPECT_EQ(parsed->content_type, "multipart/mixed");
  ASSERT_EQ(parsed->leaves.size(), 3u);
  EXPECT_EQ(parsed->leaves[0].content_type, "text/plain");
  EXPECT_EQ(parsed->leaves[0].content, "caf\xc3\xa9 au lait");  // the last LF belongs to the boundary
  EXPECT_EQ(parsed->leaves[1].content_type, "message/rfc822");
  EXPECT_NE(parsed->leaves[1].content.find("Subject: inside\r\n"), std::string::npos);
  EXPECT_NE(parsed->leaves[1].content.find("enclosed body"), std::string::npos);
  EXPECT_EQ(parsed->leaves[2].filename, "r.json.gz");
  ASSERT_GE(parsed->leaves[2].content.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(parsed->leaves[2].content[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(parsed->leaves[2].content[1]), 0x8b);
}

TEST(Mime, AMessageWithoutMimeIsOneTextLeaf) {
  auto parsed = parseMimeMessage("Subject: plain\r\n\r\njust text\r\n");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->content_type, "text/plain");
  ASSERT_EQ(parsed->leaves.size(), 1u);
  EXPECT_EQ(parsed->leaves[0].content, "just text\r\n");
}

// Reports and bounces from the wild feed this parser: whatever the bytes, it
// answers (a message or nullopt) and a missing closing boundary is forgiven.
TEST(Mime, EmptyGarbageAndUnclosedInputAreAnswered) {
  auto empty = parseMimeMessage("");
  if (empty) {
    EXPECT_TRUE(empty->fields.empty());
  }

  std::mt19937 random(7);
  for (int round = 0; round < 200; ++round) {
    std::string garbage(random() % 600, '\0');
    for (char& c : garbage) c = static_cast<char>(random());
    if (round % 2) garbage = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" + garbage;
    (void)parseMimeMessage(garbage);
  }

  auto unclosed = parseMimeMessage(
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\none\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\ntwo\r\n");
  ASSERT_TRUE(unclosed);
  ASSERT_EQ(unclosed->leaves.size(), 2u);
  EXPECT_EQ(unclosed->leaves[0].content.substr(0, 3), "one");
  EXPECT_EQ(unclosed->leaves[1].content.substr(0, 3), "two");
}

}  // namespace
}  // namespace tlsrelay
