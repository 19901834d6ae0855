// Table tests for the pure SMTP command-line parsers (relay/smtp_command.h).
#include "relay/smtp/smtp_command.h"

#include <gtest/gtest.h>

namespace tlsrelay::smtp {
namespace {

TEST(SmtpCommand, VerbsAreCaseInsensitiveAndArgumentsTrimmed) {
  Command c = parseCommandLine("ehlo   client.example  ");
  EXPECT_EQ(c.verb, Verb::Ehlo);
  EXPECT_EQ(c.verb_text, "EHLO");
  EXPECT_EQ(c.argument, "client.example");
  EXPECT_EQ(parseCommandLine("StartTLS").verb, Verb::StartTls);
  EXPECT_EQ(parseCommandLine("MAIL FROM:<a@b>").argument, "FROM:<a@b>");
  EXPECT_EQ(parseCommandLine("QUIT").argument, "");
}

TEST(SmtpCommand, UnknownVerbs) {
  for (const char* line :
       {"", " EHLO x", "EHLOX", "MAILFROM:<a@b>", "DATAX", "\x01", "GET / HTTP/1.1", "BDAT 10"}) {
    EXPECT_EQ(parseCommandLine(line).verb, Verb::Unknown) << line;
  }
  EXPECT_EQ(parseCommandLine("GET / HTTP/1.1").verb_text, "GET");
}

struct PathCase {
  const char* argument;
  bool ok;
  const char* address;
};

TEST(SmtpCommand, MailArguments) {
  const PathCase cases[] = {
      {"FROM:<user@example.com>", true, "user@example.com"},
      {"from:<User.Name+tag@sub.example.com>", true, "User.Name+tag@sub.example.com"},
      {"FROM: <space@example.com>", true, "space@example.com"},
      {"FROM:<>", true, ""},
      {"FROM:<\"quoted local\"@example.com>", true, "\"quoted local\"@example.com"},
      {"FROM:<\"with>bracket\"@example.com>", true, "\"with>bracket\"@example.com"},
      {"FROM:<\"esc\\\"q\"@example.com>", true, "\"esc\\\"q\"@example.com"},
      {"FROM:<@relay1.example,@relay2.example:u@example.com>", true, "u@example.com"},
      {"FROM:<u@[192.0.2.1]>", true, "u@[192.0.2.1]"},
      {"FROM:<u@[IPv6:2001:db8::1]>", true, "u@[IPv6:2001:db8::1]"},
      {"FROM:<u@[x-tag:abc]>", true, "u@[x-tag:abc]"},
      {"FROM:<j\xC3\xB6rg@b\xC3\xBC"
       "cher.example>",
       true,
       "j\xC3\xB6rg@b\xC3\xBc"
       "cher.example"},
      {"FROM:user@example.com", false, ""},
      {"FROM:<user@example.com", false, ""},
      {"FROM:<user>", false, ""},
      {"FROM:<@example.com>", false, ""},
      {"FROM:<user@>", false, ""},
      {"FROM:<.user@example.com>", false, ""},
      {"FROM:<us..er@example.com>", false, ""},
      {"FROM:<user.@example.com>", false, ""},
      {"FROM:<us er@example.com>", false, ""},
      {"FROM:<user@exa_mple.com>", false, ""},
      {"FROM:<user@-example.com>", false, ""},
      {"FROM:<user@example..com>", false, ""},
      {"FROM:<user@example.com.>", false, ""},
      {"FROM:<u@[192.0.2.300]>", false, ""},
      {"FROM:<u@[IPv6:192.0.2.1]>", false, ""},
      {"FROM:<u@[1.2.3]>", false, ""},
      {"FROM:<\"unterminated@example.com>", false, ""},
      {"FROM:<\xFF@example.com>", false, ""},
      {"FROM:<\xC0\xAF@example.com>", false, ""},  // overlong UTF-8
      {"FROM:<a@b>SIZE=1", false, ""},
      {"TO:<a@b>", false, ""},
      {"FROM:<@bad_route:u@example.com>", false, ""},
      {"", false, ""},
  };
  for (const PathCase& c : cases) {
    auto r = parseMailArgument(c.argument);
    EXPECT_EQ(r.ok(), c.ok) << c.argument << (r.ok() ? "" : " -> " + r.error().message);
    if (r.ok() && c.ok) {
      EXPECT_EQ(r->address, c.address) << c.argument;
    }
  }
  auto null_path = parseMailArgument("FROM:<>");
  ASSERT_TRUE(null_path.ok());
  EXPECT_TRUE(null_path->is_null);
  auto utf8 = parseMailArgument("FROM:<j\xC3\xB6rg@example.com>");
  ASSERT_TRUE(utf8.ok());
  EXPECT_TRUE(utf8->non_ascii);
  EXPECT_FALSE(parseMailArgument("FROM:<a@example.com>")->non_ascii);
}

TEST(SmtpCommand, AddressLengthIsBounded) {
  std::string longLocal(kMaxAddressLength, 'a');
  EXPECT_FALSE(parseMailArgument("FROM:<" + longLocal + "@example.com>").ok());
  std::string label(64, 'a');
  EXPECT_FALSE(parseMailArgument("FROM:<u@" + label + ".com>").ok());
  EXPECT_TRUE(parseMailArgument("FROM:<u@" + std::string(63, 'a') + ".com>").ok());
}

TEST(SmtpCommand, RcptArguments) {
  auto r = parseRcptArgument("TO:<rcpt@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;rcpt@example.org");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->address, "rcpt@example.org");
  EXPECT_EQ(r->params, "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;rcpt@example.org");
  EXPECT_FALSE(parseRcptArgument("TO:<>").ok());
  auto pm = parseRcptArgument("TO:<Postmaster>");
  ASSERT_TRUE(pm.ok());
  EXPECT_EQ(pm->address, "Postmaster");
  EXPECT_FALSE(parseRcptArgument("TO:<somebody>").ok());
  EXPECT_FALSE(parseRcptArgument("FROM:<a@b.c>").ok());
}

TEST(SmtpCommand, EsmtpParams) {
  auto p = parseEsmtpParams("SIZE=100 body=8BITMIME  SMTPUTF8");
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 3u);
  EXPECT_EQ((*p)[0].keyword, "SIZE");
  EXPECT_EQ((*p)[0].value, "100");
  EXPECT_TRUE((*p)[0].has_value);
  EXPECT_EQ((*p)[1].keyword, "BODY");
  EXPECT_EQ((*p)[2].keyword, "SMTPUTF8");
  EXPECT_FALSE((*p)[2].has_value);
  EXPECT_TRUE(parseEsmtpParams("").ok());
  for (const char* bad : {"=x", "SIZE=", "-X=1", "K_EY=1", "KEY=a=b", "KEY=\x01", "KEY=\xFF"}) {
    EXPECT_FALSE(parseEsmtpParams(bad).ok()) << bad;
  }
}

TEST(SmtpCommand, Xtext) {
  EXPECT_TRUE(isValidXtext("abc+2Bdef"));
  EXPECT_FALSE(isValidXtext("abc+2bdef"));  // hex must be upper case
  EXPECT_FALSE(isValidXtext("abc+2"));
  EXPECT_FALSE(isValidXtext("abc+"));
  EXPECT_FALSE(isValidXtext("a=b"));
  EXPECT_FALSE(isValidXtext("a b"));
  EXPECT_EQ(xtextDecode("a+2Bb+3Dc"), "a+b=c");
  EXPECT_EQ(xtextEncode("a+b=c d"), "a+2Bb+3Dc+20d");
  EXPECT_EQ(xtextDecode(xtextEncode("\x01weird+text=")), "\x01weird+text=");
}

TEST(SmtpCommand, Utf8Validation) {
  EXPECT_TRUE(isValidUtf8("plain"));
  EXPECT_TRUE(isValidUtf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
  EXPECT_FALSE(isValidUtf8("\xC3"));
  EXPECT_FALSE(isValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(isValidUtf8("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(isValidUtf8("\xF4\x90\x80\x80"));  // > U+10FFFF
}

}  // namespace
}  // namespace tlsrelay::smtp
