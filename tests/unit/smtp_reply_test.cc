// Reply parser (RFC 5321 §4.2) and EHLO capability parsing, including hostile input.
#include "relay/smtp/smtp_reply.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "relay/smtp/ehlo_capabilities.h"

namespace tlsrelay {
namespace {

std::vector<SmtpReply> parseAll(SmtpReplyParser& p) {
  std::vector<SmtpReply> out;
  while (auto r = p.next()) out.push_back(*r);
  return out;
}

std::vector<SmtpReply> parseWhole(std::string_view bytes, bool* failed = nullptr) {
  SmtpReplyParser p;
  p.feed(bytes);
  auto out = parseAll(p);
  if (failed) *failed = p.failed();
  return out;
}

bool sameReplies(const std::vector<SmtpReply>& a, const std::vector<SmtpReply>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].code != b[i].code || a[i].enhanced != b[i].enhanced || a[i].lines != b[i].lines) return false;
  }
  return true;
}

TEST(SmtpReplyParser, SingleLine) {
  auto replies = parseWhole("250 Ok\r\n");
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].code, 250);
  EXPECT_EQ(replies[0].enhanced, "");
  EXPECT_EQ(replies[0].lines, std::vector<std::string>{"Ok"});
  EXPECT_TRUE(replies[0].isPositive());
  EXPECT_EQ(replies[0].text(), "250 Ok");
}

TEST(SmtpReplyParser, EnhancedCode) {
  auto replies = parseWhole("250 2.0.0 Ok: queued as 123\r\n");
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].enhanced, "2.0.0");
  EXPECT_EQ(replies[0].lines, std::vector<std::string>{"Ok: queued as 123"});
  EXPECT_EQ(replies[0].text(), "250 2.0.0 Ok: queued as 123");
}

TEST(SmtpReplyParser, EnhancedCodeWithMultiDigitParts) {
  auto replies = parseWhole("550 5.7.30 REQUIRETLS support required\r\n451 4.123.456 x\r\n");
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].enhanced, "5.7.30");
  EXPECT_EQ(replies[1].enhanced, "4.123.456");
  EXPECT_TRUE(replies[1].isTransient());
  EXPECT_TRUE(replies[0].isPermanent());
}

TEST(SmtpReplyParser, EnhancedCodeMustMatchReplyClassAndShape) {
  auto replies = parseWhole(
      "250 5.0.0 odd\r\n"      // class mismatch: not an enhanced code
      "550 5.1 short\r\n"      // two parts only
      "550 5.1.1234 long\r\n"  // detail too long
      "550 5.1.1x glued\r\n"   // not followed by space
      "550 5.1.1\r\n");        // code alone is fine
  ASSERT_EQ(replies.size(), 5u);
  EXPECT_EQ(replies[0].enhanced, "");
  EXPECT_EQ(replies[0].lines[0], "5.0.0 odd");
  EXPECT_EQ(replies[1].enhanced, "");
  EXPECT_EQ(replies[2].enhanced, "");
  EXPECT_EQ(replies[3].enhanced, "");
  EXPECT_EQ(replies[4].enhanced, "5.1.1");
  EXPECT_EQ(replies[4].text(), "550 5.1.1");
}

TEST(SmtpReplyParser, MultiLine) {
  auto replies =
      parseWhole("250-mx.example.test Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 STARTTLS\r\n");
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].code, 250);
  EXPECT_EQ(replies[0].lines,
            (std::vector<std::string>{"mx.example.test Hello", "PIPELINING", "SIZE 10240000", "STARTTLS"}));
  EXPECT_EQ(replies[0].text(), "250 mx.example.test Hello PIPELINING SIZE 10240000 STARTTLS");
}

TEST(SmtpReplyParser, MultiLineEnhancedOnEveryLine) {
  auto replies = parseWhole("550-5.1.1 first\r\n550 5.1.1 second\r\n");
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].enhanced, "5.1.1");
  EXPECT_EQ(replies[0].lines, (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(replies[0].text(), "550 5.1.1 first second");
}

TEST(SmtpReplyParser, CodeOnlyAndEmptyText) {
  auto replies = parseWhole("250\r\n354 \r\n");
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].code, 250);
  EXPECT_EQ(replies[0].text(), "250");
  EXPECT_EQ(replies[1].code, 354);
  EXPECT_TRUE(replies[1].isIntermediate());
}

TEST(SmtpReplyParser, BareLfAccepted) {
  auto replies = parseWhole("220 hi\n250-a\n250 b\n");
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[1].lines, (std::vector<std::string>{"a", "b"}));
}

TEST(SmtpReplyParser, IncompleteReplyIsHeldBack) {
  SmtpReplyParser p;
  p.feed("250-first\r\n250 sec");
  EXPECT_FALSE(p.next());
  EXPECT_TRUE(p.hasPendingData());
  p.feed("ond\r\n");
  auto r = p.next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->lines, (std::vector<std::string>{"first", "second"}));
  EXPECT_FALSE(p.hasPendingData());
  EXPECT_FALSE(p.failed());
}

TEST(SmtpReplyParser, GarbageFails) {
  const char* bad[] = {
      "hello world\r\n",  // no code
      "25\r\n",           // short
      "2x0 ok\r\n",       // non-digit
      "2500 ok\r\n",      // fourth char not SP or '-'
      "250_ok\r\n",
      "199 too low\r\n",  // no 1xx in SMTP
      "600 too high\r\n",
      "\r\n",                // empty line
      "250-a\r\n251 b\r\n",  // code changes inside a multi-line reply
      "\x00\x01\x02\r\n",
  };
  for (const char* input : bad) {
    SmtpReplyParser p;
    p.feed(std::string_view(input, input[0] == 0 ? 5 : std::char_traits<char>::length(input)));
    EXPECT_TRUE(p.failed()) << input;
    EXPECT_FALSE(p.error().empty()) << input;
    EXPECT_FALSE(p.next()) << input;
  }
}

TEST(SmtpReplyParser, FailureIsSticky) {
  SmtpReplyParser p;
  p.feed("250 good\r\nbad\r\n250 later\r\n");
  EXPECT_TRUE(p.failed());
  auto good = p.next();  // completed before the bad line: still handed out
  ASSERT_TRUE(good);
  EXPECT_EQ(good->code, 250);
  EXPECT_EQ(good->lines[0], "good");
  EXPECT_FALSE(p.next());  // nothing after the stream went out of sync
  p.feed("250 more\r\n");
  EXPECT_FALSE(p.next());
  EXPECT_TRUE(p.failed());
}

TEST(SmtpReplyParser, LineLengthLimit) {
  std::string ok = "250 " + std::string(SmtpReplyParser::kMaxLineLength - 4, 'a') + "\r\n";
  bool failed = true;
  EXPECT_EQ(parseWhole(ok, &failed).size(), 1u);
  EXPECT_FALSE(failed);

  std::string too_long = "250 " + std::string(SmtpReplyParser::kMaxLineLength - 3, 'a') + "\r\n";
  EXPECT_TRUE(parseWhole(too_long, &failed).empty());
  EXPECT_TRUE(failed);

  // An endless line without LF fails before it can exhaust memory.
  SmtpReplyParser p;
  for (int i = 0; i < 10 && !p.failed(); ++i) p.feed("250 " + std::string(1000, 'x'));
  EXPECT_TRUE(p.failed());
}

TEST(SmtpReplyParser, LineCountLimit) {
  std::string ok;
  for (size_t i = 0; i + 1 < SmtpReplyParser::kMaxLinesPerReply; ++i) ok += "250-x\r\n";
  ok += "250 end\r\n";
  bool failed = true;
  auto replies = parseWhole(ok, &failed);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].lines.size(), SmtpReplyParser::kMaxLinesPerReply);
  EXPECT_FALSE(failed);

  std::string too_many = "250-x\r\n" + ok;
  EXPECT_TRUE(parseWhole(too_many, &failed).empty());
  EXPECT_TRUE(failed);
}

TEST(SmtpReplyParser, SplitAtEveryByteBoundary) {
  const std::string stream =
      "220 mx.example.test ESMTP\r\n"
      "250-mx.example.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
      "250 2.1.0 Ok\r\n550-5.1.1 no such\r\n550 5.1.1 user\r\n354 go ahead\r\n"
      "250 2.0.0 Ok: queued\n221 2.0.0 Bye\r\n";
  auto whole = parseWhole(stream);
  ASSERT_EQ(whole.size(), 7u);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    SmtpReplyParser p;
    std::vector<SmtpReply> got;
    p.feed(std::string_view(stream).substr(0, cut));
    for (auto r = p.next(); r; r = p.next()) got.push_back(*r);
    p.feed(std::string_view(stream).substr(cut));
    for (auto r = p.next(); r; r = p.next()) got.push_back(*r);
    EXPECT_FALSE(p.failed()) << cut;
    EXPECT_TRUE(sameReplies(got, whole)) << "split at " << cut;
  }
  // And one byte at a time.
  SmtpReplyParser p;
  std::vector<SmtpReply> got;
  for (char c : stream) {
    p.feed(std::string_view(&c, 1));
    for (auto r = p.next(); r; r = p.next()) got.push_back(*r);
  }
  EXPECT_TRUE(sameReplies(got, whole));
}

TEST(SmtpReply, LocalReply) {
  auto r = SmtpReply::local(552, "5.3.4", "too big");
  EXPECT_EQ(r.text(), "552 5.3.4 too big");
  EXPECT_TRUE(r.isPermanent());
  EXPECT_FALSE(r.isTransient());
  EXPECT_FALSE(r.isPositive());
}

SmtpReply ehlo(std::vector<std::string> lines) {
  SmtpReply r;
  r.code = 250;
  r.lines = std::move(lines);
  return r;
}

TEST(EhloCapabilities, ParsesKnownKeywords) {
  auto caps =
      EhloCapabilities::parse(ehlo({"mx.example.test greets you", "pipelining", "SIZE 10240000", "STARTTLS",
                                    "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN", "REQUIRETLS",
                                    "CHUNKING", "AUTH PLAIN login", "AUTH=CRAM-MD5 PLAIN", "X-UNKNOWN foo"}));
  EXPECT_TRUE(caps.pipelining);
  EXPECT_TRUE(caps.size_known);
  EXPECT_EQ(caps.max_size, 10240000u);
  EXPECT_TRUE(caps.starttls);
  EXPECT_TRUE(caps.eightbitmime);
  EXPECT_TRUE(caps.smtputf8);
  EXPECT_TRUE(caps.enhancedstatuscodes);
  EXPECT_TRUE(caps.dsn);
  EXPECT_TRUE(caps.requiretls);
  EXPECT_TRUE(caps.chunking);
  EXPECT_EQ(caps.auth, (std::vector<std::string>{"PLAIN", "LOGIN", "CRAM-MD5"}));
}

TEST(EhloCapabilities, GreetingLineIsNotAKeyword) {
  auto caps = EhloCapabilities::parse(ehlo({"STARTTLS PIPELINING"}));
  EXPECT_FALSE(caps.starttls);
  EXPECT_FALSE(caps.pipelining);
}

TEST(EhloCapabilities, SizeVariants) {
  auto no_value = EhloCapabilities::parse(ehlo({"mx", "SIZE"}));
  EXPECT_TRUE(no_value.size_known);
  EXPECT_EQ(no_value.max_size, 0u);
  auto garbage = EhloCapabilities::parse(ehlo({"mx", "SIZE 12ab"}));
  EXPECT_TRUE(garbage.size_known);
  EXPECT_EQ(garbage.max_size, 0u);
  auto huge = EhloCapabilities::parse(ehlo({"mx", "SIZE 99999999999999999999999999"}));
  EXPECT_EQ(huge.max_size, UINT64_MAX);
  auto none = EhloCapabilities::parse(ehlo({"mx"}));
  EXPECT_FALSE(none.size_known);
  EXPECT_FALSE(none.starttls);
}

}  // namespace
}  // namespace tlsrelay
