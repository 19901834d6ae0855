// The shared RFC 5322 header-section reader (message/header_section.h).
#include "message/header_section.h"

#include <gtest/gtest.h>

#include "common/ascii.h"

namespace tlsrelay {
namespace {

TEST(HeaderSection, FieldsUnfoldedAndSqueezed) {
  auto fields = parseHeaderSection(
      "Received: from a.example\r\n\tby b.example;  Mon, 1 Dec 2026\r\n"
      "Subject:   hello   world  \r\n"
      "X-Empty:\r\n"
      "\r\n"
      "Not-A-Header: body\r\n");
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0].name, "Received");
  EXPECT_EQ(fields[0].value, "from a.example by b.example; Mon, 1 Dec 2026");
  EXPECT_EQ(fields[1].name, "Subject");
  EXPECT_EQ(fields[1].value, "hello world");
  EXPECT_EQ(fields[2].name, "X-Empty");
  EXPECT_EQ(fields[2].value, "");
}

TEST(HeaderSection, LfLineEndsAndNoBody) {
  auto fields = parseHeaderSection("A: 1\nB : 2\n");
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[1].name, "B");  // obsolete WSP before the colon (RFC 5322 §4.5)
  EXPECT_EQ(fields[1].value, "2");
}

TEST(HeaderSection, LineThatIsNotAFieldEndsTheSection) {
  auto fields = parseHeaderSection("A: 1\r\nthis is body text\r\nB: 2\r\n");
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_EQ(fields[0].name, "A");
  EXPECT_TRUE(parseHeaderSection("Bad Name: x\r\n").empty());
  EXPECT_TRUE(parseHeaderSection(": no name\r\n").empty());
}

TEST(HeaderSection, LongValuesAreCutAndMarked) {
  std::string message = "X-Long: " + std::string(5000, 'a') + "\r\n\r\n";
  auto fields = parseHeaderSection(message, 100);
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_TRUE(fields[0].truncated);
  EXPECT_EQ(fields[0].value.size(), 100u);

  // A name past the limit is cut too, and says so: a caller matching names
  // must not take "X-aaaa…" for a shorter field.
  fields = parseHeaderSection("X-" + std::string(200, 'a') + ": v\r\n\r\n", 100);
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_TRUE(fields[0].truncated);
  EXPECT_EQ(fields[0].name.size(), 100u);
  EXPECT_EQ(fields[0].value, "v");
}

TEST(HeaderSection, StreamedLinesGiveTheSameFields) {
  HeaderSectionReader reader;
  std::vector<HeaderField> got;
  for (const char* line : {"To: a@b\r\n", " , c@d\r\n", "From: e@f\r\n", "\r\n", "To: body\r\n"})
    if (auto f = reader.line(line)) got.push_back(*f);
  if (auto f = reader.end()) got.push_back(*f);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].value, "a@b , c@d");
  EXPECT_FALSE(reader.inHeader());
}

TEST(HeaderSection, HeaderSectionIncludesItsBlankLine) {
  EXPECT_EQ(headerSection("A: 1\r\n\r\nbody"), "A: 1\r\n\r\n");
  EXPECT_EQ(headerSection("A: 1\n\nbody"), "A: 1\n\n");
  EXPECT_EQ(headerSection("A: 1\r\n"), "A: 1\r\n");
}

TEST(Ascii, CaseAndDomains) {
  EXPECT_TRUE(equalsIgnoreCase("TLS-Required", "tls-required"));
  EXPECT_FALSE(equalsIgnoreCase("TLS-Required", "tls-require"));
  EXPECT_EQ(lowerAscii("MiXeD\xC3\x89"), "mixed\xC3\x89");  // bytes >= 0x80 untouched
  EXPECT_EQ(normalizeDomain("Example.COM."), "example.com");
  EXPECT_EQ(normalizeDomain(""), "");
}

}  // namespace
}  // namespace tlsrelay
