// DNSSEC status of answers in both modes against the real private test bed
// (tests/fixtures/dns_fixture.sh): trust-ad through the validating unbound,
// and own validation straight against the authoritative nsd, anchored once by
// the root DNSKEY and once by its DS. Same expectations for all three, except
// that a bogus answer is SERVFAIL (TempFail) through unbound and Bogus with a
// reason when we validate ourselves.
#include "dnssec/dnssec_validator.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "dnssec/caching_resolver.h"
#include "dnssec/dns_response.h"
#include "dnssec/mx_resolution.h"
#include "dnssec/resolver.h"
#include "dnssec/server_address.h"
#include "tests/unit/dns_fixture_process.h"

namespace tlsrelay::dns {
namespace {

const std::string kMx1Digest = "8f3e4d7a0c1b2e3f405162738495a6b7c8d9e0f112233445566778899aabbccd";
const std::string kInsecureDigest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kMultiDigest = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

DnsFixtureProcess g_dns;

std::string fromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// Starts the fixture once per process, with TLSA records and a corrupted TLSA
// signature added for these tests.
class DnsFixture : public ::testing::Environment {
 public:
  void SetUp() override {
    char pattern[] = "/tmp/tlsrelay-dnssec-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    g_dns.workdir = pattern;
    g_dns.chooseAddresses("127.54.", "/tmp/tlsrelay-dns-validator-");
    const std::string extra = g_dns.workdir + "/extra.rr";
    std::ofstream(extra) << "example.test\t_25._tcp.mx1 IN TLSA 3 1 1 " << kMx1Digest << "\n"
                         << "example.test\t_25._tcp.bad IN TLSA 3 1 1 " << kMx1Digest << "\n"
                         << "example.test\t*.wild IN TXT \"from a wildcard\"\n"
                         << "multi.test\t_25._tcp.a IN TLSA 3 1 1 " << kMultiDigest << "\n"
                         << "insecure.test\t_25._tcp.mx IN TLSA 3 1 1 " << kInsecureDigest << "\n";
    setenv("TLSRELAY_TEST_DNS_EXTRA", extra.c_str(), 1);
    setenv("TLSRELAY_TEST_DNS_CORRUPT", "example.test _25._tcp.bad TLSA", 1);
    ASSERT_EQ(g_dns.start(), 0) << "fixture failed, see " << g_dns.workdir << "/start.log";
  }

  void TearDown() override {
    if (g_dns.workdir.empty()) return;
    EXPECT_EQ(g_dns.stop(), 0);
  }
};

[[maybe_unused]] const auto* const g_fixture = ::testing::AddGlobalTestEnvironment(new DnsFixture);

struct ModeCase {
  const char* label;
  DnssecMode mode;
  const char* anchor;         // dns.env variable naming the anchor file (Validate)
  bool via_resolver = false;  // Validate through unbound (CD set) instead of nsd
};

void PrintTo(const ModeCase& c, std::ostream* out) {
  *out << c.label;
}

ResolverConfig configFor(const ModeCase& c) {
  ResolverConfig config;
  config.timeout = std::chrono::milliseconds(4000);
  config.retries = 1;
  config.mode = c.mode;
  if (c.mode == DnssecMode::TrustAd || c.via_resolver) {
    config.servers = {g_dns.env["DNS_RESOLVER_ADDR"] + ":" + g_dns.env["DNS_PORT"]};
  } else {
    config.servers = {g_dns.env["DNS_AUTH_ADDR"] + ":" + g_dns.env["DNS_PORT"]};
  }
  if (c.mode == DnssecMode::Validate) config.trust_anchor_file = g_dns.env[c.anchor];
  return config;
}

class DnssecModes : public ::testing::TestWithParam<ModeCase> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(g_dns.started) << "DNS fixture not running";
    resolver_ = makeLdnsResolver(configFor(GetParam()));
  }
  bool validating() const { return GetParam().mode == DnssecMode::Validate; }
  std::unique_ptr<Resolver> resolver_;
};

TEST_P(DnssecModes, SignedMxAddressAndTlsaAreSecure) {
  MxAnswer mx = resolver_->lookupMx("example.test");
  ASSERT_EQ(mx.outcome, Outcome::Found) << mx.why;
  EXPECT_EQ(mx.security, Security::Secure) << mx.why;
  AddressAnswer a = resolver_->lookupAddresses("mx1.example.test");
  ASSERT_EQ(a.outcome, Outcome::Found) << a.why;
  EXPECT_EQ(a.security, Security::Secure) << a.why;
  EXPECT_EQ(a.records, std::vector<std::string>{"127.0.1.1"});

  TlsaAnswer tlsa = resolver_->lookupTlsa("_25._tcp.mx1.example.test");
  ASSERT_EQ(tlsa.outcome, Outcome::Found) << tlsa.why;
  EXPECT_EQ(tlsa.security, Security::Secure) << tlsa.why;
  ASSERT_EQ(tlsa.records.size(), 1u);
  EXPECT_EQ(tlsa.records[0], (TlsaRecord{3, 1, 1, fromHex(kMx1Digest)}));
  EXPECT_GT(tlsa.ttl, 0u);

  // NSEC3 zone.
  TlsaAnswer multi = resolver_->lookupTlsa("_25._tcp.a.multi.test");
  ASSERT_EQ(multi.outcome, Outcome::Found) << multi.why;
  EXPECT_EQ(multi.security, Security::Secure) << multi.why;
  ASSERT_EQ(multi.records.size(), 1u);
  EXPECT_EQ(multi.records[0].data, fromHex(kMultiDigest));
}

TEST_P(DnssecModes, CnameAndWildcardAreSecure) {
  AddressAnswer alias = resolver_->lookupAddresses("alias.example.test");
  ASSERT_EQ(alias.outcome, Outcome::Found) << alias.why;
  EXPECT_EQ(alias.security, Security::Secure) << alias.why;
  TxtAnswer wild = resolver_->lookupTxt("anything.wild.example.test");
  ASSERT_EQ(wild.outcome, Outcome::Found) << wild.why;
  EXPECT_EQ(wild.security, Security::Secure) << wild.why;
  EXPECT_EQ(wild.records, std::vector<std::string>{"from a wildcard"});
}

TEST_P(DnssecModes, ProvenAbsentTlsaIsSecureNoDataOrNxDomain) {
  struct Case {
    const char* name;
    Outcome outcome;
  };
  for (const Case& c : {
           Case{"mx1.example.test", Outcome::NoData},                     // name exists, no TLSA (NSEC)
           Case{"_tcp.mx1.example.test", Outcome::NoData},                // empty non-terminal (NSEC)
           Case{"_25._tcp.nonexistent.example.test", Outcome::NxDomain},  // NSEC
           Case{"a.multi.test", Outcome::NoData},                         // NSEC3
           Case{"_25._tcp.b.multi.test", Outcome::NxDomain},              // NSEC3
           Case{"_25._tcp.nope.multi.test", Outcome::NxDomain},           // NSEC3
       }) {
    TlsaAnswer tlsa = resolver_->lookupTlsa(c.name);
    EXPECT_EQ(tlsa.outcome, c.outcome) << c.name << ": " << tlsa.why;
    EXPECT_EQ(tlsa.security, Security::Secure) << c.name << ": " << tlsa.why;
    EXPECT_TRUE(tlsa.records.empty()) << c.name;
  }
  MxAnswer nomx = resolver_->lookupMx("nomx.test");
  EXPECT_EQ(nomx.outcome, Outcome::NoData) << nomx.why;
  EXPECT_EQ(nomx.security, Security::Secure) << nomx.why;
  MxAnswer gone = resolver_->lookupMx("nonexistent.test");
  EXPECT_EQ(gone.outcome, Outcome::NxDomain) << gone.why;
  EXPECT_EQ(gone.security, Security::Secure) << gone.why;
}

TEST_P(DnssecModes, UnsignedDelegationIsInsecure) {
  MxAnswer mx = resolver_->lookupMx("insecure.test");
  ASSERT_EQ(mx.outcome, Outcome::Found) << mx.why;
  EXPECT_EQ(mx.security, Security::Insecure) << mx.why;
  TlsaAnswer tlsa = resolver_->lookupTlsa("_25._tcp.mx.insecure.test");
  ASSERT_EQ(tlsa.outcome, Outcome::Found) << tlsa.why;
  EXPECT_EQ(tlsa.security, Security::Insecure) << tlsa.why;
  ASSERT_EQ(tlsa.records.size(), 1u);
  EXPECT_EQ(tlsa.records[0].data, fromHex(kInsecureDigest));
  TlsaAnswer none = resolver_->lookupTlsa("_25._tcp.nope.insecure.test");
  EXPECT_EQ(none.outcome, Outcome::NxDomain) << none.why;
  EXPECT_EQ(none.security, Security::Insecure) << none.why;
}

TEST_P(DnssecModes, CorruptedSignaturesNeverYieldUsableRecords) {
  MxAnswer mx = resolver_->lookupMx("bogus.test");
  TlsaAnswer tlsa = resolver_->lookupTlsa("_25._tcp.bad.example.test");
  if (validating()) {
    // What the wire said, marked bogus with the reason.
    EXPECT_EQ(mx.outcome, Outcome::Found);
    EXPECT_EQ(mx.security, Security::Bogus);
    EXPECT_NE(mx.why.find("bogus"), std::string::npos) << mx.why;
    EXPECT_EQ(tlsa.outcome, Outcome::Found);
    EXPECT_EQ(tlsa.security, Security::Bogus);
    EXPECT_FALSE(tlsa.why.empty());
  } else {
    EXPECT_EQ(mx.outcome, Outcome::TempFail);
    EXPECT_NE(mx.why.find("SERVFAIL"), std::string::npos) << mx.why;
    EXPECT_EQ(mx.security, Security::Bogus) << "unbound's EDE says validation failed";
    EXPECT_EQ(tlsa.outcome, Outcome::TempFail);
    EXPECT_EQ(tlsa.security, Security::Bogus);
  }
  EXPECT_NE(mx.security, Security::Secure);
  EXPECT_NE(tlsa.security, Security::Secure);
  const MxPlan::Kind plan = planMx("bogus.test", mx, [] { return 0u; }).kind;
  EXPECT_TRUE(plan == MxPlan::Kind::Bogus || plan == MxPlan::Kind::TempFail) << toString(plan);
}

TEST_P(DnssecModes, CachedTlsaKeepsItsSecurity) {
  int64_t now = 1000;
  CachingResolver cache(makeLdnsResolver(configFor(GetParam())), [&now] { return now; });
  TlsaAnswer first = cache.lookupTlsa("_25._tcp.mx1.example.test");
  TlsaAnswer none = cache.lookupTlsa("_25._tcp.nonexistent.example.test");
  now += 10;
  TlsaAnswer again = cache.lookupTlsa("_25._TCP.MX1.example.test.");
  EXPECT_EQ(again.security, Security::Secure);
  EXPECT_EQ(again.records, first.records);
  EXPECT_EQ(again.ttl + 10, first.ttl);
  TlsaAnswer none_again = cache.lookupTlsa("_25._tcp.nonexistent.example.test");
  EXPECT_EQ(none_again.outcome, Outcome::NxDomain);
  EXPECT_EQ(none_again.security, Security::Secure);
  EXPECT_LE(none.ttl, 300u);  // RFC 2308: the SOA minimum of example.test
  EXPECT_EQ(cache.size(), 2u);
}

TEST_P(DnssecModes, OneResolverServesFourThreads) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t, &failures] {
      for (int i = 0; i < 10; ++i) {
        TlsaAnswer tlsa =
            resolver_->lookupTlsa(t % 2 ? "_25._tcp.mx1.example.test" : "_25._tcp.a.multi.test");
        MxAnswer mx = resolver_->lookupMx("insecure.test");
        if (tlsa.outcome != Outcome::Found || tlsa.security != Security::Secure ||
            mx.security != Security::Insecure)
          ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Modes, DnssecModes,
                         ::testing::Values(ModeCase{"TrustAd", DnssecMode::TrustAd, ""},
                                           ModeCase{"ValidateRootKey", DnssecMode::Validate, "ROOT_KEY_FILE"},
                                           ModeCase{"ValidateRootDs", DnssecMode::Validate, "ROOT_DS_FILE"},
                                           ModeCase{"ValidateViaRecursor", DnssecMode::Validate,
                                                    "ROOT_DS_FILE", true}),
                         [](const auto& info) { return std::string(info.param.label); });

class OwnValidation : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(g_dns.started) << "DNS fixture not running"; }

  static ResolverConfig validating(const std::string& anchor_file) {
    ModeCase c{"", DnssecMode::Validate, "ROOT_KEY_FILE"};
    ResolverConfig config = configFor(c);
    config.trust_anchor_file = anchor_file;
    return config;
  }

  // The fixture's root anchor with one base64/hex character changed: same
  // owner and shape, some other key.
  static std::string otherAnchor(const char* variable, const std::string& file_name) {
    std::ifstream in(g_dns.env[variable]);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t at =
        variable == std::string("ROOT_DS_FILE") ? text.rfind(' ') + 5 : text.find("257 3 13 ") + 20;
    text[at] = text[at] == 'a' ? 'b' : 'a';
    const std::string path = g_dns.workdir + "/" + file_name;
    std::ofstream(path) << text;
    return path;
  }
};

TEST_F(OwnValidation, WrongTrustAnchorMakesEverythingBogus) {
  for (const auto& [variable, file] :
       {std::pair{"ROOT_KEY_FILE", "other.key"}, std::pair{"ROOT_DS_FILE", "other.ds"}}) {
    auto resolver = makeLdnsResolver(validating(otherAnchor(variable, file)));
    MxAnswer mx = resolver->lookupMx("example.test");
    EXPECT_EQ(mx.outcome, Outcome::Found) << variable << ": " << mx.why;
    EXPECT_EQ(mx.security, Security::Bogus) << variable;
    EXPECT_NE(mx.why.find("trust anchor"), std::string::npos) << mx.why;
    // Even the unsigned part: its insecurity cannot be proven without the root.
    EXPECT_EQ(resolver->lookupMx("insecure.test").security, Security::Bogus) << variable;
    TlsaAnswer tlsa = resolver->lookupTlsa("_25._tcp.nonexistent.example.test");
    EXPECT_EQ(tlsa.outcome, Outcome::NxDomain) << variable;
    EXPECT_EQ(tlsa.security, Security::Bogus) << variable;
  }
}

TEST_F(OwnValidation, UnusableTrustAnchorFileIsTempFailAndAConfigError) {
  const std::string empty = g_dns.workdir + "/empty.key";
  std::ofstream(empty) << "; nothing here\n";
  for (const std::string& path : {empty, g_dns.workdir + "/missing.key"}) {
    MxAnswer mx = makeLdnsResolver(validating(path))->lookupMx("example.test");
    EXPECT_EQ(mx.outcome, Outcome::TempFail) << path;
    EXPECT_NE(mx.why.find("trust anchor"), std::string::npos) << mx.why;
    EXPECT_FALSE(checkTrustAnchorFile(path).ok()) << path;
  }
  EXPECT_TRUE(checkTrustAnchorFile(g_dns.env["ROOT_KEY_FILE"]).ok());
  EXPECT_TRUE(checkTrustAnchorFile(g_dns.env["ROOT_DS_FILE"]).ok());
}

TEST_F(OwnValidation, ValidatedKeysAreCachedPerZone) {
  DnssecValidator validator(g_dns.env["ROOT_DS_FILE"]);
  ServerAddress server{g_dns.env["DNS_AUTH_ADDR"], static_cast<uint16_t>(std::stoi(g_dns.env["DNS_PORT"])),
                       false};
  int queries = 0;
  RawQuery query = [&](const std::string& name, uint16_t type) {
    ++queries;
    return exchangeDns(server, name, type, std::chrono::milliseconds(2000), true);
  };
  RawResponse mx = exchangeDns(server, "example.test.", kTypeMx, std::chrono::milliseconds(2000), true);
  ASSERT_TRUE(mx.error.empty()) << mx.error;
  DnssecVerdict first = validator.validate(mx.wire, "example.test.", kTypeMx, query);
  EXPECT_EQ(first.security, Security::Secure) << first.why;
  EXPECT_GE(queries, 5);  // root DNSKEY, DS+DNSKEY of test. and of example.test.
  EXPECT_GE(validator.cachedZoneCount(), 3u);
  const int after_first = queries;
  DnssecVerdict second = validator.validate(mx.wire, "example.test.", kTypeMx, query);
  EXPECT_EQ(second.security, Security::Secure) << second.why;
  EXPECT_EQ(queries, after_first);
  // An answer for another type, or a truncated response, is not "secure".
  DnssecVerdict wrong_type = validator.validate(mx.wire, "example.test.", kTypeTxt, query);
  EXPECT_NE(wrong_type.security, Security::Secure);
  std::vector<uint8_t> cut(mx.wire.begin(), mx.wire.begin() + static_cast<long>(mx.wire.size() / 2));
  EXPECT_NE(validator.validate(cut, "example.test.", kTypeMx, query).security, Security::Secure);
}

// Offset just past a (possibly compressed) name starting at `at`.
size_t skipName(const std::vector<uint8_t>& wire, size_t at) {
  while (at < wire.size()) {
    const uint8_t length = wire[at];
    if ((length & 0xc0) == 0xc0) return at + 2;
    at += 1 + length;
    if (length == 0) break;
  }
  return at;
}

// The response cut after its first answer record: the RRset without RRSIG.
std::vector<uint8_t> firstAnswerOnly(const std::vector<uint8_t>& wire) {
  size_t at = skipName(wire, 12) + 4;  // question
  at = skipName(wire, at) + 8;         // owner, type, class, TTL
  const size_t rdlength = (size_t{wire.at(at)} << 8) | wire.at(at + 1);
  std::vector<uint8_t> out(wire.begin(), wire.begin() + static_cast<long>(at + 2 + rdlength));
  out[6] = 0;  // ANCOUNT 1, nothing else
  out[7] = 1;
  for (size_t i = 8; i < 12; ++i) out[i] = 0;
  return out;
}

TEST_F(OwnValidation, StrippedSignatureAndReplayedDenialAreBogus) {
  DnssecValidator validator(g_dns.env["ROOT_KEY_FILE"]);
  ServerAddress server{g_dns.env["DNS_AUTH_ADDR"], static_cast<uint16_t>(std::stoi(g_dns.env["DNS_PORT"])),
                       false};
  RawQuery query = [&](const std::string& name, uint16_t type) {
    return exchangeDns(server, name, type, std::chrono::milliseconds(2000), true);
  };
  RawResponse tlsa =
      exchangeDns(server, "_25._tcp.mx1.example.test.", kTypeTlsa, std::chrono::milliseconds(2000), true);
  ASSERT_TRUE(tlsa.error.empty()) << tlsa.error;
  ASSERT_EQ(validator.validate(tlsa.wire, "_25._tcp.mx1.example.test.", kTypeTlsa, query).security,
            Security::Secure);
  std::vector<uint8_t> stripped = firstAnswerOnly(tlsa.wire);
  ASSERT_EQ(parseTlsaResponse(stripped, "_25._tcp.mx1.example.test", false).outcome, Outcome::Found);
  DnssecVerdict unsigned_tlsa = validator.validate(stripped, "_25._tcp.mx1.example.test.", kTypeTlsa, query);
  EXPECT_EQ(unsigned_tlsa.security, Security::Bogus);
  EXPECT_NE(unsigned_tlsa.why.find("RRSIG"), std::string::npos) << unsigned_tlsa.why;

  // A valid denial of another name does not deny this one (NSEC and NSEC3).
  for (const auto& [denied, wanted] :
       {std::pair{"_25._tcp.nonexistent.example.test.", "_25._tcp.mx1.example.test."},
        std::pair{"_25._tcp.nope.multi.test.", "_25._tcp.a.multi.test."}}) {
    RawResponse nx = exchangeDns(server, denied, kTypeTlsa, std::chrono::milliseconds(2000), true);
    ASSERT_TRUE(nx.error.empty()) << nx.error;
    EXPECT_EQ(validator.validate(nx.wire, denied, kTypeTlsa, query).security, Security::Secure) << denied;
    DnssecVerdict replayed = validator.validate(nx.wire, wanted, kTypeTlsa, query);
    EXPECT_EQ(replayed.security, Security::Bogus) << wanted;
    EXPECT_NE(replayed.why.find("not proven"), std::string::npos) << replayed.why;
  }
}

TEST_F(OwnValidation, ModeNamesAndConfigCheck) {
  EXPECT_EQ(parseDnssecMode("trust-ad"), DnssecMode::TrustAd);
  EXPECT_EQ(parseDnssecMode("validate"), DnssecMode::Validate);
  EXPECT_FALSE(parseDnssecMode("Validate").has_value());
  EXPECT_STREQ(toString(DnssecMode::Validate), "validate");
  ResolverConfig config = validating("");
  EXPECT_FALSE(validateResolverConfig(config).ok());
  config.trust_anchor_file = g_dns.env["ROOT_KEY_FILE"];
  EXPECT_TRUE(validateResolverConfig(config).ok());
}

}  // namespace
}  // namespace tlsrelay::dns
