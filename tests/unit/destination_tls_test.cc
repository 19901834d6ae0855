// TLS decision from a domain policy and the destination IP (require_tls_out /
// require_tls_except), table-driven.
#include "policy/destination_tls.h"

#include <gtest/gtest.h>

namespace tlsrelay {
namespace {

IpAddress ip(const char* text) {
  return IpAddress::parse(text).value();
}

DomainPolicy parse(std::string_view text) {
  auto p = parsePolicyString(text, "policy.d/example.com.toml");
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : DomainPolicy{};
}

TEST(DestinationTlsTest, DefaultIsOpportunistic) {
  TlsDecision d = decideDestinationTls(builtinDefaultPolicy(), ip("192.0.2.1"));
  EXPECT_EQ(d.starttls, StartTlsMode::Opportunistic);
  EXPECT_EQ(d.verify, VerifyMode::None);
  EXPECT_EQ(d.min_tls_version, "TLSv1.2");
  EXPECT_EQ(d.policy_source, "default");
  EXPECT_TRUE(d.client_certificate.empty());
}

TEST(DestinationTlsTest, DomainModes) {
  struct Case {
    const char* toml;
    StartTlsMode starttls;
    VerifyMode verify;
  } cases[] = {
      {"domain = \"example.com\"\n", StartTlsMode::Opportunistic, VerifyMode::None},
      {"domain = \"example.com\"\nuse_starttls = false\n", StartTlsMode::Never, VerifyMode::None},
      {"domain = \"example.com\"\nrequire_starttls = true\n", StartTlsMode::Required, VerifyMode::None},
      {"domain = \"example.com\"\nverify = \"pkix\"\n", StartTlsMode::Required, VerifyMode::Pkix},
      {"domain = \"example.com\"\nverify = \"none\"\nrequire_starttls = true\n", StartTlsMode::Required,
       VerifyMode::None},
  };
  for (const auto& c : cases) {
    TlsDecision d = decideDestinationTls(parse(c.toml), ip("198.51.100.1"));
    EXPECT_EQ(d.starttls, c.starttls) << c.toml;
    EXPECT_EQ(d.verify, c.verify) << c.toml;
    EXPECT_EQ(d.policy_source, "policy.d/example.com.toml") << c.toml;
  }
}

TEST(DestinationTlsTest, CopiesTlsParameters) {
  TlsDecision d = decideDestinationTls(
      parse("domain = \"example.com\"\nclient_certificate = \"/c.pem\"\nclient_key = \"/k.pem\"\n"
            "ciphers = \"HIGH\"\nmin_tls_version = \"TLSv1.3\"\n"),
      ip("198.51.100.1"));
  EXPECT_EQ(d.client_certificate, "/c.pem");
  EXPECT_EQ(d.client_key, "/k.pem");
  EXPECT_EQ(d.ciphers, "HIGH");
  EXPECT_EQ(d.min_tls_version, "TLSv1.3");
}

TEST(DestinationTlsTest, RequireTlsOutAndExcept) {
  DomainPolicy p = parse(R"(
domain = "*"
require_tls_out = ["192.0.2.0/24", "2001:db8::/32", "10.0.0.0/8"]
require_tls_except = ["192.0.2.128/25", "2001:db8:ffff::/48"]
)");
  struct Case {
    const char* ip;
    StartTlsMode starttls;
    const char* source;
  } cases[] = {
      {"192.0.2.1", StartTlsMode::Required, "require_tls_out 192.0.2.0/24"},
      {"192.0.2.127", StartTlsMode::Required, "require_tls_out 192.0.2.0/24"},
      {"192.0.2.128", StartTlsMode::Opportunistic, "policy.d/example.com.toml"},  // exempt
      {"192.0.2.255", StartTlsMode::Opportunistic, "policy.d/example.com.toml"},
      {"192.0.3.1", StartTlsMode::Opportunistic, "policy.d/example.com.toml"},  // not listed
      {"10.9.8.7", StartTlsMode::Required, "require_tls_out 10.0.0.0/8"},
      {"2001:db8::25", StartTlsMode::Required, "require_tls_out 2001:db8::/32"},
      {"2001:db8:ffff::25", StartTlsMode::Opportunistic, "policy.d/example.com.toml"},
      {"2001:db9::25", StartTlsMode::Opportunistic, "policy.d/example.com.toml"},
      {"::ffff:192.0.2.1", StartTlsMode::Required, "require_tls_out 192.0.2.0/24"},  // mapped form
  };
  for (const auto& c : cases) {
    TlsDecision d = decideDestinationTls(p, ip(c.ip));
    EXPECT_EQ(d.starttls, c.starttls) << c.ip;
    EXPECT_EQ(d.policy_source, c.source) << c.ip;
  }
}

TEST(DestinationTlsTest, RequireTlsOutRaisesNeverToRequired) {
  DomainPolicy p =
      parse("domain = \"example.com\"\nuse_starttls = false\nrequire_tls_out = \"192.0.2.0/24\"\n");
  EXPECT_EQ(decideDestinationTls(p, ip("192.0.2.9")).starttls, StartTlsMode::Required);
  EXPECT_EQ(decideDestinationTls(p, ip("198.51.100.9")).starttls, StartTlsMode::Never);
}

TEST(DestinationTlsTest, ExceptNeverWeakensDomainRequirement) {
  DomainPolicy p = parse(
      "domain = \"example.com\"\nverify = \"pkix\"\nrequire_tls_out = \"192.0.2.0/24\"\n"
      "require_tls_except = \"192.0.2.0/24\"\n");
  TlsDecision d = decideDestinationTls(p, ip("192.0.2.9"));
  EXPECT_EQ(d.starttls, StartTlsMode::Required);
  EXPECT_EQ(d.verify, VerifyMode::Pkix);
  EXPECT_EQ(d.policy_source, "policy.d/example.com.toml");
}

}  // namespace
}  // namespace tlsrelay
