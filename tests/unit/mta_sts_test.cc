// MTA-STS pure functions: the policy parser (RFC 8461 §3.2), the TXT record
// (§3.1) and the MX matcher (§4.1), as tables.
#include <gtest/gtest.h>

#include "policy/mta_sts_policy.h"

namespace tlsrelay {
namespace {

constexpr const char* kGood =
    "version: STSv1\n"
    "mode: enforce\n"
    "mx: mail.example.com\n"
    "mx: *.Example.NET\n"
    "max_age: 604800\n";

TEST(StsPolicyParse, ValidPolicy) {
  auto p = parseStsPolicy(kGood);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->mode, StsMode::Enforce);
  EXPECT_EQ(p->max_age, 604800u);
  EXPECT_EQ(p->mx, (std::vector<std::string>{"mail.example.com", "*.example.net"}));
  EXPECT_EQ(p->text, kGood);
}

TEST(StsPolicyParse, CrlfLfMixedAndNoFinalTerminator) {
  auto crlf = parseStsPolicy("version: STSv1\r\nmode: testing\r\nmx: a.example\r\nmax_age: 86400\r\n");
  ASSERT_TRUE(crlf.ok()) << crlf.error().message;
  EXPECT_EQ(crlf->mode, StsMode::Testing);
  EXPECT_EQ(crlf->mx, std::vector<std::string>{"a.example"});
  auto mixed = parseStsPolicy("version: STSv1\r\nmode: testing\nmx: a.example\r\nmax_age: 86400");
  ASSERT_TRUE(mixed.ok()) << mixed.error().message;
  EXPECT_EQ(mixed->max_age, 86400u);
}

TEST(StsPolicyParse, WhitespaceRules) {
  // Any WSP after the colon and after the value is allowed.
  auto p = parseStsPolicy("version:STSv1\nmode:\tenforce \t\nmx:   a.example  \nmax_age: 0\n");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->max_age, 0u);
  EXPECT_EQ(p->mx, std::vector<std::string>{"a.example"});
  // Trailing blank lines are tolerated; a blank line between fields is not.
  EXPECT_TRUE(parseStsPolicy("version: STSv1\nmode: none\nmax_age: 1\n\n\r\n").ok());
  EXPECT_FALSE(parseStsPolicy("version: STSv1\n\nmode: none\nmax_age: 1\n").ok());
  // No whitespace before a key or before the colon.
  EXPECT_FALSE(parseStsPolicy(" version: STSv1\nmode: none\nmax_age: 1\n").ok());
  EXPECT_FALSE(parseStsPolicy("version: STSv1\nmode : none\nmax_age: 1\n").ok());
  // Whitespace inside a value.
  EXPECT_FALSE(parseStsPolicy("version: STSv1\nmode: enforce\nmx: a .example\nmax_age: 1\n").ok());
  EXPECT_FALSE(parseStsPolicy("version: STSv1\nmode: none\nmax_age: 1 0\n").ok());
  // A lone CR is not a line terminator.
  EXPECT_FALSE(parseStsPolicy("version: STSv1\rmode: none\nmax_age: 1\n").ok());
}

TEST(StsPolicyParse, ModeNoneNeedsNoMx) {
  auto p = parseStsPolicy("version: STSv1\nmode: none\nmax_age: 86400\n");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->mode, StsMode::None);
  EXPECT_TRUE(p->mx.empty());
}

TEST(StsPolicyParse, UnknownKeysIgnoredMxRepeats) {
  auto p = parseStsPolicy(
      "version: STSv1\nmode: enforce\nfoo_bar.x-1: any value here\nmx: a.example\nmx: b.example\n"
      "max_age: 10\nextension: 1\n");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->mx.size(), 2u);
}

struct BadPolicy {
  const char* name;
  std::string body;
  const char* error_contains;
};

class StsPolicyMalformed : public ::testing::TestWithParam<BadPolicy> {};

TEST_P(StsPolicyMalformed, Rejected) {
  auto p = parseStsPolicy(GetParam().body);
  ASSERT_FALSE(p.ok()) << GetParam().name;
  EXPECT_NE(p.error().message.find(GetParam().error_contains), std::string::npos) << p.error().message;
}

const std::string kTail = "mode: enforce\nmx: a.example\nmax_age: 86400\n";

INSTANTIATE_TEST_SUITE_P(
    Table, StsPolicyMalformed,
    ::testing::Values(
        BadPolicy{"empty", "", "empty"}, BadPolicy{"version missing", kTail, "first field"},
        BadPolicy{"version not first", "mode: enforce\nversion: STSv1\nmx: a.example\nmax_age: 1\n",
                  "first field"},
        BadPolicy{"version STSv2", "version: STSv2\n" + kTail, "STSv1"},
        BadPolicy{"version lower case", "version: stsv1\n" + kTail, "STSv1"},
        BadPolicy{"version key upper case", "Version: STSv1\n" + kTail, "first field"},
        BadPolicy{"duplicate version", "version: STSv1\nversion: STSv1\n" + kTail, "duplicate version"},
        BadPolicy{"missing mode", "version: STSv1\nmx: a.example\nmax_age: 1\n", "no mode"},
        BadPolicy{"bad mode", "version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n", "mode must"},
        BadPolicy{"mode upper case", "version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1\n",
                  "mode must"},
        BadPolicy{"duplicate mode", "version: STSv1\nmode: testing\n" + kTail, "duplicate mode"},
        BadPolicy{"missing max_age", "version: STSv1\nmode: enforce\nmx: a.example\n", "no max_age"},
        BadPolicy{"max_age too big", "version: STSv1\nmode: none\nmax_age: 31557601\n", "max_age"},
        BadPolicy{"max_age 11 digits", "version: STSv1\nmode: none\nmax_age: 00000000001\n", "max_age"},
        BadPolicy{"max_age negative", "version: STSv1\nmode: none\nmax_age: -1\n", "max_age"},
        BadPolicy{"max_age empty", "version: STSv1\nmode: none\nmax_age:\n", "max_age"},
        BadPolicy{"max_age hex", "version: STSv1\nmode: none\nmax_age: 0x10\n", "max_age"},
        BadPolicy{"duplicate max_age", "version: STSv1\nmode: none\nmax_age: 1\nmax_age: 1\n",
                  "duplicate max_age"},
        BadPolicy{"missing mx in enforce", "version: STSv1\nmode: enforce\nmax_age: 1\n", "no mx"},
        BadPolicy{"missing mx in testing", "version: STSv1\nmode: testing\nmax_age: 1\n", "no mx"},
        BadPolicy{"wildcard in middle", "version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 1\n", "mx"},
        BadPolicy{"partial wildcard", "version: STSv1\nmode: enforce\nmx: *a.example\nmax_age: 1\n", "mx"},
        BadPolicy{"bare wildcard", "version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n", "mx"},
        BadPolicy{"double wildcard", "version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1\n", "mx"},
        BadPolicy{"mx trailing dot", "version: STSv1\nmode: enforce\nmx: a.example.\nmax_age: 1\n", "mx"},
        BadPolicy{"mx empty label", "version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n", "mx"},
        BadPolicy{"mx underscore", "version: STSv1\nmode: enforce\nmx: a_b.example\nmax_age: 1\n", "mx"},
        BadPolicy{"mx empty", "version: STSv1\nmode: enforce\nmx:\nmax_age: 1\n", "mx"},
        BadPolicy{"no colon", "version: STSv1\nmode enforce\nmx: a.example\nmax_age: 1\n", "key: value"},
        BadPolicy{"bad extension name", "version: STSv1\n_x: 1\n" + kTail, "field name"},
        BadPolicy{"control character", "version: STSv1\nmode: enforce\x01\nmx: a.example\nmax_age: 1\n",
                  "control"}),
    [](const auto& info) {
      std::string n = info.param.name;
      for (char& c : n)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return n;
    });

TEST(StsPolicyParse, SizeLimitIs64KiB) {
  std::string body = "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\nx: ";
  std::string at_limit = body + std::string(64 * 1024 - body.size() - 1, 'y') + "\n";
  ASSERT_EQ(at_limit.size(), 64u * 1024);
  EXPECT_TRUE(parseStsPolicy(at_limit).ok());
  auto over = parseStsPolicy(at_limit + "z");
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.error().message.find("64 KiB"), std::string::npos);
}

TEST(StsPolicyParse, ErrorNamesTheLine) {
  auto p = parseStsPolicy("version: STSv1\nmode: enforce\nmx: bad..example\nmax_age: 1\n");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("line 3"), std::string::npos) << p.error().message;
}

TEST(StsModeName, Strings) {
  EXPECT_STREQ(toString(StsMode::Enforce), "enforce");
  EXPECT_STREQ(toString(StsMode::Testing), "testing");
  EXPECT_STREQ(toString(StsMode::None), "none");
}

TEST(StsTxtId, ValidRecords) {
  using V = std::vector<std::string>;
  struct Case {
    V records;
    std::string id;
  };
  const Case cases[] = {
      {{"v=STSv1; id=20160831085700Z;"}, "20160831085700Z"},
      {{"v=STSv1;id=abc"}, "abc"},
      {{"v=STSv1 ;\tid=abc ; "}, "abc"},
      {{"v=STSv1; id=abc; ext=value; x_y.z=1"}, "abc"},
      {{"v=STSv1; foo=bar; id=abc"}, "abc"},
      {{"v=spf1 -all", "v=STSv1; id=x1", "something else"}, "x1"},
      {{"v=STSv10; id=other", "v=STSv1; id=mine"}, "mine"},
      {{"v=STSv1; id=" + std::string(32, 'a')}, std::string(32, 'a')},
  };
  for (const auto& c : cases) {
    auto id = parseStsTxtId(c.records);
    ASSERT_TRUE(id.ok()) << c.records.front() << ": " << id.error().message;
    EXPECT_EQ(*id, std::optional<std::string>(c.id));
  }
}

TEST(StsTxtId, NoStsRecordIsNoIdNotAnError) {
  for (const auto& records : std::vector<std::vector<std::string>>{
           {}, {"v=spf1 -all"}, {"V=STSv1; id=abc"}, {"v=STSv10; id=abc"}, {" v=STSv1; id=abc"}}) {
    auto id = parseStsTxtId(records);
    ASSERT_TRUE(id.ok()) << id.error().message;
    EXPECT_FALSE(id->has_value());
  }
}

TEST(StsTxtId, MalformedRecords) {
  const std::vector<std::vector<std::string>> bad = {
      {"v=STSv1; id=a", "v=STSv1; id=b"},       // more than one
      {"v=STSv1"},                              // no id
      {"v=STSv1;"},                             // no id
      {"v=STSv1; ext=1"},                       // no id
      {"v=STSv1; id="},                         // empty id
      {"v=STSv1; id=" + std::string(33, 'a')},  // too long
      {"v=STSv1; id=ab-c"},                     // not alphanumeric
      {"v=STSv1; id=a b"},                      // space inside
      {"v=STSv1 id=abc"},                       // no separator
      {"v=STSv1; id=a; id=b"},                  // duplicate id
      {"v=STSv1;; id=a"},                       // empty field
      {"v=STSv1; id=a; junk"},                  // field without =
      {"v=STSv1; id=a; ext="},                  // empty extension value
  };
  for (const auto& records : bad) {
    auto id = parseStsTxtId(records);
    ASSERT_FALSE(id.ok()) << records.front();
    EXPECT_FALSE(id.error().message.empty());
  }
}

TEST(StsMxMatch, Table) {
  StsPolicy p;
  p.mx = {"mail.example.com", "*.example.net", "*.Upper.Example"};
  struct Case {
    const char* host;
    bool match;
  };
  const Case cases[] = {
      {"mail.example.com", true},
      {"MAIL.Example.COM", true},
      {"mail.example.com.", true},
      {"mail2.example.com", false},
      {"example.com", false},
      {"x.mail.example.com", false},
      {"a.example.net", true},
      {"A.EXAMPLE.NET.", true},
      {"example.net", false},      // the wildcard needs one label
      {"b.a.example.net", false},  // and only one
      {".example.net", false},
      {"x.upper.example", true},
      {"", false},
      {".", false},
      {"example.net.evil", false},
  };
  for (const auto& c : cases) EXPECT_EQ(stsMxMatches(p, c.host), c.match) << c.host;
  EXPECT_FALSE(stsMxMatches(StsPolicy{}, "mail.example.com"));
}

}  // namespace
}  // namespace tlsrelay
