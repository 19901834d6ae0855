#include "common/ascii.h"

#include <gtest/gtest.h>

#include "common/stable_hash.h"

namespace tlsrelay {
namespace {

TEST(Ascii, TrimWspTakesOnlySpaceAndTab) {
  EXPECT_EQ(trimWsp(" \t a b \t"), "a b");
  EXPECT_EQ(trimWsp("\r\nx\r\n"), "\r\nx\r\n") << "CR and LF are not WSP";
  EXPECT_EQ(trimWsp("   "), "");
}

TEST(Ascii, PrintableAsciiReplacesAndBounds) {
  EXPECT_EQ(printableAscii("a\r\nb\x01\xc3\xa9", 100), "a??b???");
  EXPECT_EQ(printableAscii("abcdef", 3), "abc");
}

TEST(Ascii, LdhDomains) {
  for (const char* good : {"example.com", "a.b-c.example", "xn--bcher-kva.example", "x"})
    EXPECT_TRUE(isLdhDomain(good)) << good;
  std::string label63(63, 'a'), label64(64, 'a');
  EXPECT_TRUE(isLdhDomain(label63 + ".example"));
  EXPECT_FALSE(isLdhDomain(label64 + ".example"));
  std::string long_name;
  while (long_name.size() < 251) long_name += "abcdefghi.";
  EXPECT_FALSE(isLdhDomain(long_name + "com"));
  for (const char* bad : {"", "example.com.", ".example", "a..b", "-a.example", "a-.example", "a_b.example",
                          "bücher.example", "a b.example"})
    EXPECT_FALSE(isLdhDomain(bad)) << bad;
}

TEST(Ascii, PlainMailboxes) {
  for (const char* good : {"tlsrpt@example.com", "a.b+tag@x.example", "o'brien@example.com"})
    EXPECT_TRUE(isPlainMailbox(good)) << good;
  for (const char* bad :
       {"@example.com", "user@", "user", "a..b@example.com", ".a@example.com", "a b@example.com",
        "\"q\"@example.com", "ü@example.com", "a@b@example.com", "a@example.com\r\nBcc: x@y"})
    EXPECT_FALSE(isPlainMailbox(bad)) << bad;
  EXPECT_FALSE(isPlainMailbox(std::string(65, 'a') + "@example.com")) << "local part over 64 octets";
}

TEST(Ascii, TxtRecordFieldNames) {
  EXPECT_TRUE(isTxtRecordFieldName("rua"));
  EXPECT_TRUE(isTxtRecordFieldName("x_ext-1.2"));
  EXPECT_TRUE(isTxtRecordFieldName(std::string(32, 'a')));
  EXPECT_FALSE(isTxtRecordFieldName(std::string(33, 'a')));
  EXPECT_FALSE(isTxtRecordFieldName("_rua"));
  EXPECT_FALSE(isTxtRecordFieldName("ru a"));
  EXPECT_FALSE(isTxtRecordFieldName(""));
}

TEST(StableHash, Fnv1a64KnownValuesAndChaining) {
  // Published FNV-1a 64 test vectors.
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ull);
  EXPECT_EQ(fnv1a64("bar", fnv1a64("foo")), fnv1a64("foobar"));
  EXPECT_EQ(hex64(0xaf63dc4c8601ec8cull), "af63dc4c8601ec8c");
  EXPECT_EQ(hex64(1), "0000000000000001");
}

}  // namespace
}  // namespace tlsrelay
