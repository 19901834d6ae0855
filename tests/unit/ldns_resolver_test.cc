// The ldns resolver against the real private DNSSEC test bed
// (tests/fixtures/dns_fixture.sh: nsd + validating unbound on loopback).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "dnssec/caching_resolver.h"
#include "dnssec/mx_resolution.h"
#include "dnssec/resolver.h"
#include "tests/unit/dns_fixture_process.h"

namespace tlsrelay::dns {
namespace {

DnsFixtureProcess g_dns;
constexpr int kBigTxtRecords = 8;
constexpr size_t kBigTxtLength = 250;
std::string g_unreachable = "127.0.53.99";

class LdnsResolverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char pattern[] = "/tmp/tlsrelay-dns-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    g_dns.workdir = pattern;
    // Addresses the caller chose through the fixture's environment variables stay.
    if (std::getenv("TLSRELAY_TEST_DNS_AUTH") == nullptr &&
        std::getenv("TLSRELAY_TEST_DNS_RESOLVER") == nullptr) {
      const std::string net = g_dns.chooseAddresses("127.53.", "/tmp/tlsrelay-dns-unit-");
      if (!net.empty()) g_unreachable = net + "99";
    }
    // Exercise the fixture's hook for records added by other tests.
    if (std::getenv("TLSRELAY_TEST_DNS_EXTRA") == nullptr) {
      const std::string extra = g_dns.workdir + "/extra.rr";
      std::ofstream out(extra);
      out << "example.test\thooked IN TXT \"added by TLSRELAY_TEST_DNS_EXTRA\"\n"
          << "multi.test.\thooked.multi.test. 600 IN A 127.0.1.14\n";
      for (char c = 'a'; c < 'a' + kBigTxtRecords; ++c) {
        out << "example.test\tbig IN TXT \"" << std::string(kBigTxtLength, c) << "\"\n";
      }
      setenv("TLSRELAY_TEST_DNS_EXTRA", extra.c_str(), 1);
    }
    ASSERT_EQ(g_dns.start(), 0) << "fixture failed, see " << g_dns.workdir << "/start.log";
  }

  static void TearDownTestSuite() {
    if (g_dns.workdir.empty()) return;
    EXPECT_EQ(g_dns.stop(), 0);
  }

  void SetUp() override { ASSERT_TRUE(g_dns.started) << "DNS fixture not running"; }

  static ResolverConfig config() {
    ResolverConfig c;
    c.servers = {g_dns.env["DNS_RESOLVER_ADDR"] + ":" + g_dns.env["DNS_PORT"]};
    c.timeout = std::chrono::milliseconds(4000);
    c.retries = 1;
    return c;
  }
};

TEST_F(LdnsResolverTest, FixtureWroteAllVariables) {
  for (const char* name :
       {"DNS_AUTH_ADDR", "DNS_RESOLVER_ADDR", "DNS_PORT", "ROOT_KEY_FILE", "ROOT_DS_FILE"}) {
    EXPECT_FALSE(g_dns.env[name].empty()) << name;
  }
  EXPECT_TRUE(std::filesystem::exists(g_dns.env["ROOT_KEY_FILE"]));
  EXPECT_TRUE(std::filesystem::exists(g_dns.env["ROOT_DS_FILE"]));
}

TEST_F(LdnsResolverTest, SignedMxIsSecure) {
  auto resolver = makeLdnsResolver(config());
  MxAnswer mx = resolver->lookupMx("Example.TEST.");
  ASSERT_EQ(mx.outcome, Outcome::Found) << mx.why;
  EXPECT_EQ(mx.security, Security::Secure);
  ASSERT_EQ(mx.records.size(), 1u);
  EXPECT_EQ(mx.records[0].host, "mx1.example.test");
  EXPECT_EQ(mx.records[0].preference, 10);
  EXPECT_GT(mx.ttl, 0u);
  EXPECT_LE(mx.ttl, 3600u);
}

TEST_F(LdnsResolverTest, UnsignedChildIsInsecure) {
  auto resolver = makeLdnsResolver(config());
  MxAnswer mx = resolver->lookupMx("insecure.test");
  ASSERT_EQ(mx.outcome, Outcome::Found) << mx.why;
  EXPECT_EQ(mx.security, Security::Insecure);
  ASSERT_EQ(mx.records.size(), 1u);
  EXPECT_EQ(mx.records[0].host, "mx.insecure.test");
}

TEST_F(LdnsResolverTest, BogusZoneIsTempFailMarkedBogusWithReason) {
  auto resolver = makeLdnsResolver(config());
  MxAnswer mx = resolver->lookupMx("bogus.test");
  EXPECT_EQ(mx.outcome, Outcome::TempFail);
  // unbound (trusted for AD) says by EDE 6 that validation failed: Bogus, not an outage.
  EXPECT_EQ(mx.security, Security::Bogus);
  EXPECT_TRUE(mx.records.empty());
  EXPECT_NE(mx.why.find("SERVFAIL"), std::string::npos) << mx.why;
  // The fixture's unbound sends RFC 8914 EDE 6 (DNSSEC Bogus); the reason survives.
  EXPECT_NE(mx.why.find("EDE 6"), std::string::npos) << mx.why;
  MxPlan plan = planMx("bogus.test", mx, [] { return 0u; });
  EXPECT_EQ(plan.kind, MxPlan::Kind::Bogus);
  EXPECT_TRUE(plan.hosts.empty());
}

TEST_F(LdnsResolverTest, NullMxRecord) {
  auto resolver = makeLdnsResolver(config());
  MxAnswer mx = resolver->lookupMx("nullmx.test");
  ASSERT_EQ(mx.outcome, Outcome::Found) << mx.why;
  EXPECT_EQ(mx.security, Security::Secure);
  ASSERT_EQ(mx.records.size(), 1u);
  EXPECT_EQ(mx.records[0].host, "");
  EXPECT_EQ(mx.records[0].preference, 0);
  EXPECT_EQ(planMx("nullmx.test", mx, [] { return 0u; }).kind, MxPlan::Kind::NullMx);
}

TEST_F(LdnsResolverTest, NonexistentNameIsSecureNxDomain) {
  auto resolver = makeLdnsResolver(config());
  MxAnswer mx = resolver->lookupMx("nonexistent.test");
  EXPECT_EQ(mx.outcome, Outcome::NxDomain) << mx.why;
  EXPECT_EQ(mx.security, Security::Secure);
  EXPECT_GT(mx.ttl, 0u);
  EXPECT_LE(mx.ttl, 300u);  // SOA minimum of test.
  // NSEC3-signed zone: denial through hashed names.
  AddressAnswer a = resolver->lookupAddresses("nope.multi.test");
  EXPECT_EQ(a.outcome, Outcome::NxDomain) << a.why;
  EXPECT_EQ(a.security, Security::Secure);
}

TEST_F(LdnsResolverTest, DomainWithoutMxIsNoDataAndImplicitMx) {
  auto resolver = makeLdnsResolver(config());
  MxAnswer mx = resolver->lookupMx("nomx.test");
  EXPECT_EQ(mx.outcome, Outcome::NoData) << mx.why;
  EXPECT_EQ(mx.security, Security::Secure);
  MxPlan plan = planMx("nomx.test", mx, [] { return 0u; });
  ASSERT_EQ(plan.kind, MxPlan::Kind::Hosts);
  ASSERT_EQ(plan.hosts.size(), 1u);
  EXPECT_EQ(plan.hosts[0].host, "nomx.test");
}

TEST_F(LdnsResolverTest, MultiMxInNsec3Zone) {
  auto resolver = makeLdnsResolver(config());
  MxAnswer mx = resolver->lookupMx("multi.test");
  ASSERT_EQ(mx.outcome, Outcome::Found) << mx.why;
  EXPECT_EQ(mx.security, Security::Secure);
  EXPECT_EQ(mx.records.size(), 3u);
  MxPlan plan = planMx("multi.test", mx, [] { return 1u; });
  ASSERT_EQ(plan.hosts.size(), 3u);
  EXPECT_EQ(plan.hosts[2].host, "c.multi.test");
  EXPECT_EQ(plan.hosts[2].preference, 20);
}

TEST_F(LdnsResolverTest, AddressesMergeV4FirstThenV6) {
  auto resolver = makeLdnsResolver(config());
  AddressAnswer a = resolver->lookupAddresses("b.multi.test");
  ASSERT_EQ(a.outcome, Outcome::Found) << a.why;
  EXPECT_EQ(a.security, Security::Secure);
  ASSERT_EQ(a.records.size(), 2u);
  EXPECT_EQ(a.records[0], "127.0.1.12");
  EXPECT_EQ(a.records[1], "::1");
  AddressAnswer only_v4 = resolver->lookupAddresses("mx1.example.test");
  ASSERT_EQ(only_v4.outcome, Outcome::Found) << only_v4.why;
  EXPECT_EQ(only_v4.records, std::vector<std::string>{"127.0.1.1"});
}

TEST_F(LdnsResolverTest, CnameIsFollowedAndLoopIsNotFatal) {
  auto resolver = makeLdnsResolver(config());
  AddressAnswer alias = resolver->lookupAddresses("alias.example.test");
  ASSERT_EQ(alias.outcome, Outcome::Found) << alias.why;
  EXPECT_EQ(alias.records, std::vector<std::string>{"127.0.1.1"});
  AddressAnswer loop = resolver->lookupAddresses("loop1.example.test");
  EXPECT_EQ(loop.outcome, Outcome::TempFail);
  EXPECT_TRUE(loop.records.empty());
}

TEST_F(LdnsResolverTest, TxtStringsAreConcatenated) {
  auto resolver = makeLdnsResolver(config());
  TxtAnswer txt = resolver->lookupTxt("txt.example.test");
  ASSERT_EQ(txt.outcome, Outcome::Found) << txt.why;
  EXPECT_EQ(txt.security, Security::Secure);
  EXPECT_EQ(txt.records, std::vector<std::string>{"first part; second part"});
  TxtAnswer spf = resolver->lookupTxt("example.test");
  ASSERT_EQ(spf.outcome, Outcome::Found) << spf.why;
  EXPECT_EQ(spf.records, std::vector<std::string>{"v=spf1 ip4:127.0.1.0/24 -all"});
  EXPECT_EQ(resolver->lookupTxt("mx1.example.test").outcome, Outcome::NoData);
}

TEST_F(LdnsResolverTest, ExtraRecordsHookIsSignedIntoTheZone) {
  if (std::string(std::getenv("TLSRELAY_TEST_DNS_EXTRA")) != g_dns.workdir + "/extra.rr")
    GTEST_SKIP() << "caller's extras";
  auto resolver = makeLdnsResolver(config());
  TxtAnswer txt = resolver->lookupTxt("hooked.example.test");
  ASSERT_EQ(txt.outcome, Outcome::Found) << txt.why;
  EXPECT_EQ(txt.security, Security::Secure);
  EXPECT_EQ(txt.records, std::vector<std::string>{"added by TLSRELAY_TEST_DNS_EXTRA"});
  AddressAnswer a = resolver->lookupAddresses("hooked.multi.test");
  ASSERT_EQ(a.outcome, Outcome::Found) << a.why;
  EXPECT_EQ(a.security, Security::Secure);
  EXPECT_EQ(a.records, std::vector<std::string>{"127.0.1.14"});
}

// Eight 250-byte strings and their signature exceed the 1232-byte EDNS size
// we ask for: the server truncates over UDP and the answer must come over TCP.
TEST_F(LdnsResolverTest, AnAnswerTooBigForUdpComesOverTcp) {
  if (std::string(std::getenv("TLSRELAY_TEST_DNS_EXTRA")) != g_dns.workdir + "/extra.rr")
    GTEST_SKIP() << "caller's extras";
  TxtAnswer txt = makeLdnsResolver(config())->lookupTxt("big.example.test");
  ASSERT_EQ(txt.outcome, Outcome::Found) << txt.why;
  EXPECT_EQ(txt.security, Security::Secure);
  ASSERT_EQ(txt.records.size(), static_cast<size_t>(kBigTxtRecords));
  std::sort(txt.records.begin(), txt.records.end());
  EXPECT_EQ(txt.records.front(), std::string(kBigTxtLength, 'a'));
  EXPECT_EQ(txt.records.back(), std::string(kBigTxtLength, 'a' + kBigTxtRecords - 1));
}

TEST_F(LdnsResolverTest, AbsentTlsaIsSecureNxDomain) {
  // Full TLSA coverage in both DNSSEC modes lives in dnssec_validator_test.cc.
  TlsaAnswer tlsa = makeLdnsResolver(config())->lookupTlsa("_25._tcp.mx1.example.test");
  EXPECT_EQ(tlsa.outcome, Outcome::NxDomain) << tlsa.why;
  EXPECT_EQ(tlsa.security, Security::Secure);
  EXPECT_TRUE(tlsa.records.empty());
}

TEST_F(LdnsResolverTest, UnreachableServerIsTempFailWithinTimeout) {
  ResolverConfig c;
  c.servers = {g_unreachable + ":" + g_dns.env["DNS_PORT"]};
  c.timeout = std::chrono::milliseconds(1000);
  c.retries = 2;
  auto resolver = makeLdnsResolver(c);
  const auto start = std::chrono::steady_clock::now();
  MxAnswer mx = resolver->lookupMx("example.test");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(mx.outcome, Outcome::TempFail);
  EXPECT_FALSE(mx.why.empty());
  EXPECT_LT(elapsed, std::chrono::milliseconds(1500));
  // Both halves of an address lookup share the same budget.
  const auto start2 = std::chrono::steady_clock::now();
  EXPECT_EQ(resolver->lookupAddresses("mx1.example.test").outcome, Outcome::TempFail);
  EXPECT_LT(std::chrono::steady_clock::now() - start2, std::chrono::milliseconds(1500));
}

TEST_F(LdnsResolverTest, FallsBackToSecondServer) {
  ResolverConfig c = config();
  c.servers.insert(c.servers.begin(), g_unreachable + ":" + g_dns.env["DNS_PORT"]);
  c.timeout = std::chrono::milliseconds(3000);
  c.retries = 0;
  MxAnswer mx = makeLdnsResolver(c)->lookupMx("example.test");
  EXPECT_EQ(mx.outcome, Outcome::Found) << mx.why;
}

TEST_F(LdnsResolverTest, InvalidConfigAndNamesNeverCrash) {
  ResolverConfig bad;
  bad.servers = {"not-an-ip"};
  MxAnswer mx = makeLdnsResolver(bad)->lookupMx("example.test");
  EXPECT_EQ(mx.outcome, Outcome::TempFail);
  EXPECT_NE(mx.why.find("not-an-ip"), std::string::npos) << mx.why;
  auto resolver = makeLdnsResolver(config());
  for (const char* name : {"", ".", "a..b", "bad name.test", "x\\046y.test", "\xff.test"}) {
    EXPECT_EQ(resolver->lookupMx(name).outcome, Outcome::NxDomain) << name;
  }
  EXPECT_EQ(resolver->lookupMx(std::string(300, 'a')).outcome, Outcome::NxDomain);
}

TEST_F(LdnsResolverTest, ConcurrentResolversFromFourThreads) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&failures] {
      auto resolver = makeLdnsResolver(config());
      for (int i = 0; i < 20; ++i) {
        MxAnswer mx = resolver->lookupMx("example.test");
        AddressAnswer a = resolver->lookupAddresses("b.multi.test");
        if (mx.outcome != Outcome::Found || mx.security != Security::Secure || a.records.size() != 2)
          ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  // One shared resolver (and cache) used by four threads at once.
  CachingResolver shared(makeLdnsResolver(config()), [] {
    return static_cast<int64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
  });
  threads.clear();
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&failures, &shared] {
      for (int i = 0; i < 20; ++i) {
        if (shared.lookupMx(i % 2 ? "multi.test" : "relay.test").outcome != Outcome::Found) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(shared.size(), 2u);
}

}  // namespace
}  // namespace tlsrelay::dns
