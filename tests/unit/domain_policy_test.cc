// policy.d/*.toml: parsing, errors with file:line:key, inheritance from `*`,
// wildcard precedence, and the directory loader.
#include "policy/domain_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "relay/config/policy_directory.h"

namespace tlsrelay {
namespace {

using ::testing::HasSubstr;

DomainPolicy mustParse(std::string_view text) {
  auto p = parsePolicyString(text, "example.com.toml");
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : DomainPolicy{};
}

std::string mustFail(std::string_view text) {
  auto p = parsePolicyString(text, "example.com.toml");
  EXPECT_FALSE(p.ok()) << "accepted:\n" << text;
  return p.ok() ? std::string() : p.error().message;
}

PolicyFile file(std::string_view text, const std::string& name) {
  auto f = parsePolicyFile(text, name);
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().message);
  return f.ok() ? *f : PolicyFile{};
}

TEST(DomainPolicyTest, BuiltinDefaultIsOpportunistic) {
  DomainPolicy p = builtinDefaultPolicy();
  EXPECT_EQ(p.domain, "*");
  EXPECT_TRUE(p.use_starttls);
  EXPECT_FALSE(p.require_starttls);
  EXPECT_EQ(p.verify, VerifyMode::None);
  EXPECT_EQ(p.min_tls_version, "TLSv1.2");
  EXPECT_EQ(p.source, "default");
}

TEST(DomainPolicyTest, AllKeys) {
  DomainPolicy p = mustParse(R"(
domain = "Example.COM."
use_starttls = true
require_starttls = true
verify = "pkix"
client_certificate = "/etc/tlsrelay/client.pem"
client_key = "/etc/tlsrelay/client.key"
ciphers = "ECDHE+AESGCM"
min_tls_version = "TLSv1.3"
require_tls_out = ["192.0.2.0/24", "2001:db8::/32"]
require_tls_except = "192.0.2.7"
)");
  EXPECT_EQ(p.domain, "example.com");
  EXPECT_TRUE(p.require_starttls);
  EXPECT_EQ(p.verify, VerifyMode::Pkix);
  EXPECT_EQ(p.client_certificate, "/etc/tlsrelay/client.pem");
  EXPECT_EQ(p.client_key, "/etc/tlsrelay/client.key");
  EXPECT_EQ(p.ciphers, "ECDHE+AESGCM");
  EXPECT_EQ(p.min_tls_version, "TLSv1.3");
  ASSERT_EQ(p.require_tls_out.size(), 2u);
  EXPECT_EQ(p.require_tls_out[1].toString(), "2001:db8::/32");
  ASSERT_EQ(p.require_tls_except.size(), 1u);
  EXPECT_EQ(p.source, "example.com.toml");
}

TEST(DomainPolicyTest, Implications) {
  DomainPolicy pkix = mustParse("domain = \"a.example\"\nverify = \"pkix\"\n");
  EXPECT_TRUE(pkix.require_starttls);
  EXPECT_TRUE(pkix.use_starttls);
  DomainPolicy dane = mustParse("domain = \"a.example\"\nverify = \"dane\"\n");
  EXPECT_EQ(dane.verify, VerifyMode::Dane);
  EXPECT_TRUE(dane.require_starttls);
  EXPECT_TRUE(dane.use_starttls);
  DomainPolicy req = mustParse("domain = \"a.example\"\nrequire_starttls = true\n");
  EXPECT_TRUE(req.use_starttls);
  EXPECT_EQ(req.verify, VerifyMode::None);
  DomainPolicy off = mustParse("domain = \"a.example\"\nuse_starttls = false\n");
  EXPECT_FALSE(off.use_starttls);
  EXPECT_FALSE(off.require_starttls);
  DomainPolicy cert_only = mustParse("domain = \"a.example\"\nclient_certificate = \"/c.pem\"\n");
  EXPECT_EQ(cert_only.client_key, "/c.pem");  // combined PEM
}

TEST(DomainPolicyTest, SyntaxErrorReportsLine) {
  std::string err = mustFail("domain = \"example.com\"\nuse_starttls = yes\n");
  EXPECT_THAT(err, HasSubstr("example.com.toml:2:"));
  EXPECT_THAT(err, HasSubstr("syntax error"));
}

TEST(DomainPolicyTest, UnknownKeyNamesFileLineKey) {
  std::string err = mustFail("domain = \"example.com\"\n\nuse-starttls = true\n");
  EXPECT_THAT(err, HasSubstr("example.com.toml:3: use-starttls: unknown key"));
  EXPECT_THAT(mustFail("domain = \"example.com\"\n[tls]\nx = 1\n"),
              HasSubstr("example.com.toml:2: tls: unknown key"));
}

TEST(DomainPolicyTest, WrongTypesAndValues) {
  EXPECT_THAT(mustFail("domain = \"example.com\"\nrequire_starttls = \"yes\"\n"),
              HasSubstr("example.com.toml:2: require_starttls: expected true or false, got a string"));
  EXPECT_THAT(mustFail("domain = 7\n"), HasSubstr("example.com.toml:1: domain: expected a string"));
  EXPECT_THAT(mustFail("domain = \"example.com\"\nverify = \"dnssec\"\n"),
              HasSubstr(":2: verify: expected \"none\", \"pkix\" or \"dane\", got 'dnssec'"));
  EXPECT_THAT(mustFail("domain = \"example.com\"\nmin_tls_version = \"SSLv3\"\n"),
              HasSubstr(":2: min_tls_version"));
  EXPECT_THAT(mustFail("domain = \"example.com\"\nrequire_tls_out = 5\n"),
              HasSubstr(":2: require_tls_out: expected a string or an array"));
  EXPECT_THAT(mustFail("domain = \"example.com\"\nciphers = \"A\\nB\"\n"), HasSubstr("ciphers"));
  EXPECT_THAT(mustFail("domain = \"example.com\"\nclient_certificate = \"\"\n"),
              HasSubstr("client_certificate: expected a file path"));
}

TEST(DomainPolicyTest, BadCidr) {
  std::string err = mustFail(
      "domain = \"example.com\"\nrequire_tls_out = [\"192.0.2.0/24\", \"192.0.2.0/40\", \"nope\"]\n");
  EXPECT_THAT(err, HasSubstr("example.com.toml:2: require_tls_out: bad CIDR '192.0.2.0/40'"));
  EXPECT_THAT(err, HasSubstr("bad CIDR 'nope'"));
  EXPECT_THAT(mustFail("domain = \"example.com\"\nrequire_tls_except = [\"10.0.0.0/8\", 3]\n"),
              HasSubstr("require_tls_except: expected an array of strings"));
}

TEST(DomainPolicyTest, BadDomains) {
  for (const char* bad : {"", "*example.com", "a.*.example.com", "exa mple.com", "-a.example", "a..b", "*..",
                          "**", "example.com.."}) {
    std::string text = std::string("domain = \"") + bad + "\"\n";
    EXPECT_THAT(mustFail(text), HasSubstr("example.com.toml:1: domain: bad domain")) << bad;
  }
  EXPECT_THAT(mustFail("use_starttls = true\n"), HasSubstr("domain: missing"));
}

TEST(DomainPolicyTest, ContradictionsAreErrors) {
  EXPECT_THAT(mustFail("domain = \"a.example\"\nuse_starttls = false\nrequire_starttls = true\n"),
              HasSubstr(":3: require_starttls: contradicts use_starttls = false"));
  EXPECT_THAT(mustFail("domain = \"a.example\"\nuse_starttls = false\nverify = \"pkix\"\n"),
              HasSubstr(":3: verify"));
  EXPECT_THAT(mustFail("domain = \"a.example\"\nrequire_starttls = false\nverify = \"pkix\"\n"),
              HasSubstr(":3: verify"));
  EXPECT_THAT(mustFail("domain = \"a.example\"\nuse_starttls = false\nverify = \"dane\"\n"),
              HasSubstr(":3: verify: \"dane\" contradicts use_starttls = false"));
  EXPECT_THAT(mustFail("domain = \"a.example\"\nrequire_starttls = false\nverify = \"dane\"\n"),
              HasSubstr(":3: verify: \"dane\" contradicts require_starttls = false"));
  EXPECT_THAT(mustFail("domain = \"a.example\"\nclient_key = \"/k.pem\"\n"),
              HasSubstr(":2: client_key: client_key needs client_certificate"));
}

TEST(DomainPolicyTest, RelativeCertificatePathsResolveAgainstBaseDir) {
  auto f = parsePolicyFile("domain = \"a.example\"\nclient_certificate = \"certs/c.pem\"\n", "x.toml",
                           "/etc/tlsrelay/policy.d");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(*f->client_certificate, "/etc/tlsrelay/policy.d/certs/c.pem");
}

TEST(PolicySetTest, EmptySetGivesBuiltinDefault) {
  PolicySet set;
  const DomainPolicy& p = set.match("anything.example");
  EXPECT_EQ(p.domain, "*");
  EXPECT_EQ(p.source, "default");
  EXPECT_TRUE(p.use_starttls);
  EXPECT_FALSE(p.require_starttls);
  EXPECT_EQ(&set.match(""), &set.wildcardDefault());
}

TEST(PolicySetTest, WildcardPrecedence) {
  auto set = PolicySet::build({
      file("domain = \"*\"\n", "default.toml"),
      file("domain = \"*.example.com\"\nrequire_starttls = true\n", "wild.toml"),
      file("domain = \"*.mail.example.com\"\nverify = \"pkix\"\n", "wild-mail.toml"),
      file("domain = \"example.com\"\nuse_starttls = false\n", "example.com.toml"),
      file("domain = \"smtp.mail.example.com\"\nciphers = \"HIGH\"\n", "exact.toml"),
  });
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->size(), 5u);
  struct Case {
    const char* domain;
    const char* source;
  } cases[] = {
      {"example.com", "example.com.toml"},       // exact; `*.example.com` never matches the apex
      {"EXAMPLE.com.", "example.com.toml"},      // case and trailing dot ignored
      {"a.example.com", "wild.toml"},            // one label deep
      {"a.b.example.com", "wild.toml"},          // any depth
      {"mail.example.com", "wild.toml"},         // `*.mail.example.com` needs a label before it
      {"x.mail.example.com", "wild-mail.toml"},  // longest suffix wins
      {"y.x.mail.example.com", "wild-mail.toml"},
      {"smtp.mail.example.com", "exact.toml"},  // exact beats every wildcard
      {"SMTP.Mail.Example.Com", "exact.toml"},
      {"notexample.com", "default.toml"},  // suffix match is by labels, not characters
      {"example.org", "default.toml"},
      {"com", "default.toml"},
  };
  for (const auto& c : cases) EXPECT_EQ(set->match(c.domain).source, c.source) << c.domain;
}

TEST(PolicySetTest, SpecificFilesInheritFromStar) {
  auto set = PolicySet::build({
      file("domain = \"*\"\nrequire_starttls = true\nciphers = \"HIGH\"\nmin_tls_version = \"TLSv1.3\"\n"
           "client_certificate = \"/star.pem\"\nrequire_tls_out = \"192.0.2.0/24\"\n",
           "default.toml"),
      file("domain = \"a.example\"\nciphers = \"MEDIUM\"\n", "a.toml"),
      file("domain = \"b.example\"\nuse_starttls = false\nclient_key = \"/b.key\"\nclient_certificate = "
           "\"/b.pem\"\n"
           "require_tls_except = \"192.0.2.1\"\n",
           "b.toml"),
  });
  ASSERT_TRUE(set.ok()) << set.error().message;
  const DomainPolicy& a = set->match("a.example");
  EXPECT_TRUE(a.require_starttls);          // inherited mode group
  EXPECT_EQ(a.ciphers, "MEDIUM");           // own setting
  EXPECT_EQ(a.min_tls_version, "TLSv1.3");  // inherited
  EXPECT_EQ(a.client_certificate, "/star.pem");
  EXPECT_EQ(a.require_tls_out.size(), 1u);
  EXPECT_EQ(a.source, "a.toml");
  const DomainPolicy& b = set->match("b.example");
  EXPECT_FALSE(b.use_starttls);      // the mode group is taken whole from the file...
  EXPECT_FALSE(b.require_starttls);  // ...so `*`'s require does not leak in
  EXPECT_EQ(b.client_certificate, "/b.pem");
  EXPECT_EQ(b.client_key, "/b.key");
  EXPECT_TRUE(b.require_tls_out.empty());  // the CIDR group is taken whole too
  EXPECT_EQ(b.require_tls_except.size(), 1u);
  EXPECT_EQ(set->match("other.example").source, "default.toml");
  EXPECT_TRUE(set->match("other.example").require_starttls);
}

TEST(PolicySetTest, DuplicateDomainsAreErrors) {
  auto set = PolicySet::build(
      {file("domain = \"example.com\"\n", "one.toml"), file("\ndomain = \"EXAMPLE.COM\"\n", "two.toml")});
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(set.error().message,
              HasSubstr("two.toml:2: domain: domain 'example.com' is already configured in one.toml"));
}

class PolicyDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tlsrelay_policy_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name()) /
           "policy.d";
    std::filesystem::remove_all(dir_.parent_path());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_.parent_path()); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  std::filesystem::path dir_;
};

TEST_F(PolicyDirectoryTest, LoadsTomlFilesOnly) {
  write("default.toml", "domain = \"*\"\n");
  write("example.com.toml",
        "domain = \"example.com\"\nrequire_starttls = true\nclient_certificate = \"c.pem\"\n");
  write("README", "not a policy");
  write(".hidden.toml", "garbage = = =");
  write("example.com.toml~", "garbage = = =");
  auto set = loadPolicyDirectory(dir_.string());
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->size(), 2u);
  const DomainPolicy& p = set->match("example.com");
  EXPECT_EQ(p.source, "policy.d/example.com.toml");
  EXPECT_TRUE(p.require_starttls);
  EXPECT_EQ(p.client_certificate, (dir_ / "c.pem").string());
  EXPECT_EQ(set->match("other.net").source, "policy.d/default.toml");
}

TEST_F(PolicyDirectoryTest, CollectsErrorsFromAllFiles) {
  write("a.toml", "domain = \"a.example\"\nbogus = 1\n");
  write("b.toml", "domain = \"b.example\"\nrequire_tls_out = \"10.0.0.0/99\"\n");
  write("c.toml", "domain = \"c.example\"\n[[x]]\n = \n");
  auto set = loadPolicyDirectory(dir_.string());
  ASSERT_FALSE(set.ok());
  const std::string& err = set.error().message;
  EXPECT_THAT(err, HasSubstr((dir_ / "a.toml").string() + ":2: bogus: unknown key"));
  EXPECT_THAT(err, HasSubstr((dir_ / "b.toml").string() + ":2: require_tls_out: bad CIDR"));
  EXPECT_THAT(err, HasSubstr((dir_ / "c.toml").string() + ":3:"));
}

TEST_F(PolicyDirectoryTest, MissingDirectoryAndEmptyPath) {
  EXPECT_FALSE(loadPolicyDirectory((dir_ / "nope").string()).ok());
  auto builtin = loadPolicyDirectory("");
  ASSERT_TRUE(builtin.ok());
  EXPECT_EQ(builtin->match("x.example").source, "default");
  auto empty = loadPolicyDirectory(dir_.string());
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 1u);
}

TEST(ShippedPolicyFilesTest, EtcPolicyDirectoryLoads) {
  auto set = loadPolicyDirectory(std::string(TLSRELAY_SOURCE_DIR) + "/etc/policy.d");
  ASSERT_TRUE(set.ok()) << set.error().message;
  const DomainPolicy& star = set->match("anything.invalid");
  EXPECT_EQ(star.source, "policy.d/default.toml");
  EXPECT_TRUE(star.use_starttls);
  EXPECT_FALSE(star.require_starttls);
  EXPECT_EQ(star.verify, VerifyMode::None);
  EXPECT_EQ(set->match("example.com").source, "policy.d/example.com.toml");
}

TEST(DomainPolicyTest, NextHopIsATransportMapEntry) {
  DomainPolicy p = mustParse("domain = \"partner.example\"\nnext_hop = \"[192.0.2.7]:2525\"\n");
  EXPECT_EQ(p.next_hop, "192.0.2.7:2525");
  EXPECT_EQ(p.next_hop_tls, NextHopTls::Auto);
  p = mustParse(
      "domain = \"partner.example\"\nnext_hop = \"mx.partner.example\"\nnext_hop_tls = \"implicit\"\n");
  EXPECT_EQ(p.next_hop, "mx.partner.example:25");
  EXPECT_EQ(p.next_hop_tls, NextHopTls::Implicit);
  EXPECT_EQ(mustParse("domain = \"partner.example\"\n").next_hop, "");

  EXPECT_NE(mustFail("domain = \"x.example\"\nnext_hop = \"bad host:x\"\n").find("next_hop"),
            std::string::npos);
  EXPECT_NE(mustFail("domain = \"x.example\"\nnext_hop = \"a.example\"\nnext_hop_tls = \"ssl\"\n")
                .find("next_hop_tls"),
            std::string::npos);
  EXPECT_NE(mustFail("domain = \"x.example\"\nnext_hop_tls = \"implicit\"\n").find("needs next_hop"),
            std::string::npos);
  EXPECT_NE(mustFail("domain = \"*\"\nnext_hop = \"a.example:25\"\n").find("smarthost"), std::string::npos);
}

TEST(DomainPolicyTest, NextHopIsInheritedAndCanBeUndone) {
  PolicyFile parent = file(
      "domain = \"*.partner.example\"\nnext_hop = \"gw.partner.example:587\"\n"
      "next_hop_tls = \"starttls\"\n",
      "wild.toml");
  DomainPolicy wild = resolvePolicy(parent, builtinDefaultPolicy());
  PolicyFile child = file("domain = \"direct.partner.example\"\nnext_hop = \"\"\n", "direct.toml");
  EXPECT_EQ(resolvePolicy(child, wild).next_hop, "");
  PolicyFile silent = file("domain = \"other.partner.example\"\nrequire_starttls = true\n", "other.toml");
  DomainPolicy inherited = resolvePolicy(silent, wild);
  EXPECT_EQ(inherited.next_hop, "gw.partner.example:587");
  EXPECT_EQ(inherited.next_hop_tls, NextHopTls::StartTls);
}

}  // namespace
}  // namespace tlsrelay
