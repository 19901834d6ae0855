// First-match source rules, IPv4 and IPv6, and the never-open-relay defaults.
#include "relay/config/source_rules.h"

#include <gtest/gtest.h>

#include "relay/config/config.h"

namespace tlsrelay {
namespace {

IpAddress ip(const char* text) {
  auto a = IpAddress::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddress{});
}

std::vector<SourceRule> load(std::string_view toml) {
  auto cfg = loadConfigString(toml, "relay.toml");
  EXPECT_TRUE(cfg.ok()) << (cfg.ok() ? "" : cfg.error().message);
  return cfg.ok() ? cfg->inbound.sources : std::vector<SourceRule>{};
}

TEST(SourceRulesTest, DefaultsRelayOnlyForLoopback) {
  auto rules = load("");
  EXPECT_TRUE(matchSource(rules, ip("127.0.0.1")).relay);
  EXPECT_TRUE(matchSource(rules, ip("127.255.0.9")).relay);
  EXPECT_TRUE(matchSource(rules, ip("::1")).relay);
  EXPECT_TRUE(matchSource(rules, ip("::ffff:127.0.0.1")).relay);  // mapped loopback is loopback
  EXPECT_FALSE(matchSource(rules, ip("192.0.2.1")).relay);
  EXPECT_FALSE(matchSource(rules, ip("10.0.0.1")).relay);
  EXPECT_FALSE(matchSource(rules, ip("2001:db8::1")).relay);
  EXPECT_FALSE(matchSource(rules, ip("::2")).relay);
  EXPECT_FALSE(matchSource(rules, ip("128.0.0.1")).relay);
  EXPECT_EQ(matchSource(rules, ip("192.0.2.1")).cidr.prefix_bits, 0);
}

TEST(SourceRulesTest, FirstMatchWins) {
  auto rules = load(R"(
[tls]
certificate = "/c.pem"
[[source]]
cidr = "10.1.0.0/16"
relay = false
require_starttls = true
max_connections = 5
[[source]]
cidr = "10.0.0.0/8"
relay = true
[[source]]
cidr = "127.0.0.2"
relay = false
)");
  const SourceRule& narrow = matchSource(rules, ip("10.1.2.3"));
  EXPECT_FALSE(narrow.relay);
  EXPECT_TRUE(narrow.require_starttls);
  EXPECT_EQ(narrow.max_connections, 5);
  EXPECT_EQ(narrow.cidr.toString(), "10.1.0.0/16");
  EXPECT_TRUE(matchSource(rules, ip("10.2.0.1")).relay);
  EXPECT_FALSE(matchSource(rules, ip("127.0.0.2")).relay);  // a user rule beats the built-in loopback rule
  EXPECT_TRUE(matchSource(rules, ip("127.0.0.3")).relay);
  EXPECT_FALSE(matchSource(rules, ip("11.0.0.1")).relay);
}

TEST(SourceRulesTest, IPv6Rules) {
  auto rules = load(R"(
[[source]]
cidr = "2001:db8:1::/48"
relay = true
allow_starttls = false
[[source]]
cidr = "2001:db8::/32"
relay = false
require_starttls_before_auth = false
allow_plaintext_auth = true
)");
  const SourceRule& a = matchSource(rules, ip("2001:db8:1::25"));
  EXPECT_TRUE(a.relay);
  EXPECT_FALSE(a.allow_starttls);
  const SourceRule& b = matchSource(rules, ip("2001:db8:2::25"));
  EXPECT_FALSE(b.relay);
  EXPECT_TRUE(b.allow_plaintext_auth);
  EXPECT_FALSE(b.require_starttls_before_auth);
  // IPv4 never matches an IPv6 prefix.
  EXPECT_EQ(matchSource(rules, ip("32.1.13.184")).cidr.prefix_bits, 0);
}

TEST(SourceRulesTest, FieldDefaultsArePowerMtaLike) {
  SourceRule rule;
  EXPECT_FALSE(rule.relay);
  EXPECT_TRUE(rule.allow_starttls);
  EXPECT_FALSE(rule.require_starttls);
  EXPECT_TRUE(rule.require_starttls_before_auth);
  EXPECT_FALSE(rule.allow_plaintext_auth);
  EXPECT_EQ(rule.max_connections, 0);
}

TEST(SourceRulesTest, EmptyListNeverRelays) {
  std::vector<SourceRule> none;
  EXPECT_FALSE(matchSource(none, ip("127.0.0.1")).relay);
  EXPECT_FALSE(matchSource(none, ip("::1")).relay);
}

TEST(SourceRulesTest, BuiltinsEndWithCatchAll) {
  auto builtins = builtinSourceRules();
  ASSERT_EQ(builtins.size(), 3u);
  EXPECT_TRUE(coversWholeFamily(builtins.back().cidr));
  EXPECT_FALSE(builtins.back().relay);
  EXPECT_TRUE(coversWholeFamily(Cidr::parse("0.0.0.0/0").value()));
  EXPECT_TRUE(coversWholeFamily(Cidr::parse("::/0").value()));
  EXPECT_FALSE(coversWholeFamily(Cidr::parse("0.0.0.0/1").value()));
  EXPECT_FALSE(coversWholeFamily(Cidr::parse("::/1").value()));
}

}  // namespace
}  // namespace tlsrelay
