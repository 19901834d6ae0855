// Response interpretation from hand-built wire packets: outcomes, AD bit,
// question matching, CNAME chains and loops, caps, hostile names, truncated
// and random bytes (must never crash). Also A/AAAA merging, name and server
// address parsing.
#include "dnssec/dns_response.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "dnssec/dns_name.h"
#include "dnssec/ldns_packet.h"
#include "dnssec/server_address.h"

namespace tlsrelay::dns {
namespace {

constexpr uint16_t kQr = 0x8000, kTc = 0x0200, kRd = 0x0100, kRa = 0x0080, kAd = 0x0020;
constexpr uint16_t kNxDomainRcode = 3, kServFail = 2, kRefused = 5;
constexpr uint16_t kTypeCname = 5, kTypeSoa = 6;

// Builds DNS messages (RFC 1035 §4.1) without compression.
class Wire {
 public:
  Wire(uint16_t flags, std::string qname, uint16_t qtype)
      : flags_(flags), qname_(std::move(qname)), qtype_(qtype) {}

  Wire& answer(const std::string& owner, uint16_t type, uint32_t ttl, std::vector<uint8_t> rdata) {
    answers_.push_back(rr(owner, type, ttl, rdata));
    return *this;
  }
  Wire& authority(const std::string& owner, uint16_t type, uint32_t ttl, std::vector<uint8_t> rdata) {
    authority_.push_back(rr(owner, type, ttl, rdata));
    return *this;
  }
  Wire& additional(const std::string& owner, uint16_t type, uint32_t ttl, std::vector<uint8_t> rdata) {
    additional_.push_back(rr(owner, type, ttl, rdata));
    return *this;
  }
  // An OPT record (RFC 6891) carrying one RFC 8914 Extended DNS Error.
  Wire& ede(uint16_t info_code, const std::string& text = "") {
    std::vector<uint8_t> b;
    b.push_back(0);      // root owner
    u16(b, 41);          // OPT
    u16(b, 1232);        // UDP payload size
    u32(b, 0x00008000);  // extended rcode 0, version 0, DO
    u16(b, static_cast<uint16_t>(4 + 2 + text.size()));
    u16(b, 15);  // EDE
    u16(b, static_cast<uint16_t>(2 + text.size()));
    u16(b, info_code);
    b.insert(b.end(), text.begin(), text.end());
    additional_.push_back(b);
    return *this;
  }
  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> b;
    u16(b, 0x1234);
    u16(b, flags_);
    u16(b, 1);
    u16(b, static_cast<uint16_t>(answers_.size()));
    u16(b, static_cast<uint16_t>(authority_.size()));
    u16(b, static_cast<uint16_t>(additional_.size()));
    name(b, qname_);
    u16(b, qtype_);
    u16(b, 1);
    for (const auto& r : answers_) b.insert(b.end(), r.begin(), r.end());
    for (const auto& r : authority_) b.insert(b.end(), r.begin(), r.end());
    for (const auto& r : additional_) b.insert(b.end(), r.begin(), r.end());
    return b;
  }

  static void u16(std::vector<uint8_t>& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
  }
  static void u32(std::vector<uint8_t>& b, uint32_t v) {
    u16(b, static_cast<uint16_t>(v >> 16));
    u16(b, static_cast<uint16_t>(v));
  }
  static void name(std::vector<uint8_t>& b, const std::string& dotted) {
    size_t start = 0;
    while (start < dotted.size()) {
      size_t dot = dotted.find('.', start);
      if (dot == std::string::npos) dot = dotted.size();
      b.push_back(static_cast<uint8_t>(dot - start));
      b.insert(b.end(), dotted.begin() + static_cast<long>(start), dotted.begin() + static_cast<long>(dot));
      start = dot + 1;
    }
    b.push_back(0);
  }
  static std::vector<uint8_t> mx(uint16_t pref, const std::string& host) {
    std::vector<uint8_t> b;
    u16(b, pref);
    name(b, host);
    return b;
  }
  static std::vector<uint8_t> nameRdata(const std::string& host) {
    std::vector<uint8_t> b;
    name(b, host);
    return b;
  }
  static std::vector<uint8_t> soa(uint32_t minimum) {
    std::vector<uint8_t> b;
    name(b, "ns.test");
    name(b, "hostmaster.test");
    for (uint32_t v : {1u, 3600u, 600u, 86400u}) u32(b, v);
    u32(b, minimum);
    return b;
  }

 private:
  std::vector<uint8_t> rr(const std::string& owner, uint16_t type, uint32_t ttl,
                          const std::vector<uint8_t>& rdata) {
    std::vector<uint8_t> b;
    name(b, owner);
    u16(b, type);
    u16(b, 1);
    u32(b, ttl);
    u16(b, static_cast<uint16_t>(rdata.size()));
    b.insert(b.end(), rdata.begin(), rdata.end());
    return b;
  }

  uint16_t flags_;
  std::string qname_;
  uint16_t qtype_;
  std::vector<std::vector<uint8_t>> answers_, authority_, additional_;
};

constexpr uint16_t kOk = kQr | kRd | kRa;

TEST(DnsResponse, MxFoundSecureWithAdBit) {
  auto wire = Wire(kOk | kAd, "example.test", kTypeMx)
                  .answer("example.test", kTypeMx, 300, Wire::mx(10, "MX1.Example.Test"))
                  .answer("example.test", kTypeMx, 200, Wire::mx(20, "mx2.example.test"))
                  .bytes();
  MxAnswer a = parseMxResponse(wire, "example.test", true);
  ASSERT_EQ(a.outcome, Outcome::Found) << a.why;
  EXPECT_EQ(a.security, Security::Secure);
  EXPECT_EQ(a.ttl, 200u);
  ASSERT_EQ(a.records.size(), 2u);
  EXPECT_EQ(a.records[0].host, "mx1.example.test");
  EXPECT_EQ(a.records[0].preference, 10);
  EXPECT_EQ(parseMxResponse(wire, "example.test", false).security, Security::Insecure);
}

TEST(DnsResponse, NoAdBitIsInsecure) {
  auto wire = Wire(kOk, "example.test", kTypeMx)
                  .answer("example.test", kTypeMx, 300, Wire::mx(10, "mx.test"))
                  .bytes();
  EXPECT_EQ(parseMxResponse(wire, "example.test", true).security, Security::Insecure);
}

TEST(DnsResponse, NullMx) {
  auto wire =
      Wire(kOk | kAd, "nullmx.test", kTypeMx).answer("nullmx.test", kTypeMx, 300, Wire::mx(0, "")).bytes();
  MxAnswer a = parseMxResponse(wire, "nullmx.test", true);
  ASSERT_EQ(a.outcome, Outcome::Found) << a.why;
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].host, "");
}

TEST(DnsResponse, NegativeAnswersUseSoaMinimum) {
  auto nx = Wire(kOk | kAd | kNxDomainRcode, "gone.test", kTypeMx)
                .authority("test", kTypeSoa, 3600, Wire::soa(300))
                .bytes();
  MxAnswer a = parseMxResponse(nx, "gone.test", true);
  EXPECT_EQ(a.outcome, Outcome::NxDomain);
  EXPECT_EQ(a.security, Security::Secure);
  EXPECT_EQ(a.ttl, 300u);
  auto nodata = Wire(kOk, "nomx.test", kTypeMx).authority("nomx.test", kTypeSoa, 120, Wire::soa(300)).bytes();
  MxAnswer b = parseMxResponse(nodata, "nomx.test", true);
  EXPECT_EQ(b.outcome, Outcome::NoData);
  EXPECT_EQ(b.security, Security::Insecure);
  EXPECT_EQ(b.ttl, 120u);
  auto bare = Wire(kOk, "nomx.test", kTypeMx).bytes();
  EXPECT_EQ(parseMxResponse(bare, "nomx.test", true).ttl, 0u);
}

TEST(DnsResponse, ServfailWithDnssecExtendedErrorIsBogusOnlyFromATrustedResolver) {
  // RFC 8914: 6 DNSSEC Bogus, 7 Signature Expired, 10 RRSIGs Missing; 22 No Reachable Authority.
  for (uint16_t code : {6, 7, 10}) {
    auto wire = Wire(kOk | kServFail, "x.test", kTypeMx).ede(code, "validation failure").bytes();
    MxAnswer trusted = parseMxResponse(wire, "x.test", true);
    EXPECT_EQ(trusted.outcome, Outcome::TempFail) << code;
    EXPECT_EQ(trusted.security, Security::Bogus) << code;
    EXPECT_NE(trusted.why.find("EDE " + std::to_string(code) + " (validation failure)"), std::string::npos)
        << trusted.why;
    EXPECT_EQ(parseMxResponse(wire, "x.test", false).security, Security::Insecure) << code;
    EXPECT_EQ(parseTlsaResponse(wire, "x.test", true).security, Security::Insecure)
        << "question mismatch (type) must not be read as bogus";
  }
  auto outage = Wire(kOk | kServFail, "x.test", kTypeMx).ede(22).bytes();
  MxAnswer a = parseMxResponse(outage, "x.test", true);
  EXPECT_EQ(a.outcome, Outcome::TempFail);
  EXPECT_EQ(a.security, Security::Insecure);
  EXPECT_NE(a.why.find("EDE 22"), std::string::npos) << a.why;
}

TEST(DnsResponse, FailuresAreTempFail) {
  struct Case {
    const char* name;
    std::vector<uint8_t> wire;
    const char* why_contains;
  };
  // Every case is asked as a question for x.test.
  const std::vector<Case> cases = {
      {"servfail", Wire(kOk | kServFail, "x.test", kTypeMx).bytes(), "SERVFAIL"},
      {"refused", Wire(kOk | kRefused, "x.test", kTypeMx).bytes(), "REFUSED"},
      {"truncated", Wire(kOk | kTc, "x.test", kTypeMx).bytes(), "truncated"},
      {"not a response", Wire(kRd, "x.test", kTypeMx).bytes(), "not a response"},
      {"other name",
       Wire(kOk, "y.test", kTypeMx).answer("y.test", kTypeMx, 60, Wire::mx(1, "m.test")).bytes(), "question"},
      {"other type", Wire(kOk, "x.test", kTypeTxt).bytes(), "question"},
      {"empty", {}, "malformed"},
      {"garbage", std::vector<uint8_t>(40, 0xff), "malformed"},
  };
  for (const auto& c : cases) {
    MxAnswer a = parseMxResponse(c.wire, "x.test", true);
    EXPECT_EQ(a.outcome, Outcome::TempFail) << c.name;
    EXPECT_EQ(a.security, Security::Insecure) << c.name;
    EXPECT_TRUE(a.records.empty()) << c.name;
    EXPECT_NE(a.why.find(c.why_contains), std::string::npos) << c.name << ": " << a.why;
  }
}

TEST(DnsResponse, CnameChainIsFollowed) {
  auto wire = Wire(kOk | kAd, "alias.example.test", kTypeA)
                  .answer("alias.example.test", kTypeCname, 100, Wire::nameRdata("mid.example.test"))
                  .answer("mid.example.test", kTypeCname, 300, Wire::nameRdata("mx1.example.test"))
                  .answer("mx1.example.test", kTypeA, 200, {127, 0, 1, 1})
                  .answer("other.example.test", kTypeA, 200, {10, 0, 0, 1})  // not on the chain
                  .bytes();
  AddressAnswer a = parseAddressResponse(wire, "alias.example.test", kTypeA, true);
  ASSERT_EQ(a.outcome, Outcome::Found) << a.why;
  EXPECT_EQ(a.records, std::vector<std::string>{"127.0.1.1"});
  EXPECT_EQ(a.ttl, 100u);  // the shortest link of the chain
}

TEST(DnsResponse, CnameLoopAndLongChainsAreTempFail) {
  auto loop = Wire(kOk, "a.test", kTypeA)
                  .answer("a.test", kTypeCname, 60, Wire::nameRdata("b.test"))
                  .answer("b.test", kTypeCname, 60, Wire::nameRdata("a.test"))
                  .bytes();
  AddressAnswer a = parseAddressResponse(loop, "a.test", kTypeA, true);
  EXPECT_EQ(a.outcome, Outcome::TempFail);
  EXPECT_NE(a.why.find("loop"), std::string::npos) << a.why;
  Wire chain(kOk, "c0.test", kTypeA);
  for (int i = 0; i < 20; ++i) {
    chain.answer("c" + std::to_string(i) + ".test", kTypeCname, 60,
                 Wire::nameRdata("c" + std::to_string(i + 1) + ".test"));
  }
  chain.answer("c20.test", kTypeA, 60, {127, 0, 0, 1});
  AddressAnswer b = parseAddressResponse(chain.bytes(), "c0.test", kTypeA, true);
  EXPECT_EQ(b.outcome, Outcome::TempFail);
  EXPECT_NE(b.why.find("too long"), std::string::npos) << b.why;
}

TEST(DnsResponse, RecordsPerAnswerAreCapped) {
  Wire wire(kOk, "big.test", kTypeMx);
  for (int i = 0; i < 150; ++i)
    wire.answer("big.test", kTypeMx, 60,
                Wire::mx(static_cast<uint16_t>(i), "h" + std::to_string(i) + ".test"));
  MxAnswer a = parseMxResponse(wire.bytes(), "big.test", true);
  ASSERT_EQ(a.outcome, Outcome::Found);
  EXPECT_EQ(a.records.size(), kMaxRecordsPerAnswer);
  EXPECT_NE(a.why.find("capped"), std::string::npos);
}

TEST(DnsResponse, HostileNamesAreRejected) {
  // A space and a NUL inside a label: presentation form needs escapes.
  auto bad_only = Wire(kOk, "x.test", kTypeMx)
                      .answer("x.test", kTypeMx, 60, Wire::mx(10, std::string("a b\0c.test", 10)))
                      .bytes();
  MxAnswer a = parseMxResponse(bad_only, "x.test", true);
  EXPECT_EQ(a.outcome, Outcome::TempFail);  // records existed, none usable: not NoData
  auto mixed = Wire(kOk, "x.test", kTypeMx)
                   .answer("x.test", kTypeMx, 60, Wire::mx(10, "we\"ird.test"))
                   .answer("x.test", kTypeMx, 60, Wire::mx(20, "ok.test"))
                   .bytes();
  MxAnswer b = parseMxResponse(mixed, "x.test", true);
  ASSERT_EQ(b.outcome, Outcome::Found);
  ASSERT_EQ(b.records.size(), 1u);
  EXPECT_EQ(b.records[0].host, "ok.test");
  EXPECT_NE(b.why.find("malformed"), std::string::npos);
}

TEST(DnsResponse, AddressesAndTxt) {
  auto v6 = Wire(kOk | kAd, "b.multi.test", kTypeAaaa)
                .answer("b.multi.test", kTypeAaaa, 60, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
                .bytes();
  AddressAnswer a = parseAddressResponse(v6, "b.multi.test", kTypeAaaa, true);
  ASSERT_EQ(a.outcome, Outcome::Found) << a.why;
  EXPECT_EQ(a.records, std::vector<std::string>{"::1"});
  std::vector<uint8_t> txt = {3, 'a', 'b', 'c', 0, 2, 'd', 'e'};
  auto t = Wire(kOk, "t.test", kTypeTxt).answer("t.test", kTypeTxt, 60, txt).bytes();
  TxtAnswer ta = parseTxtResponse(t, "t.test", true);
  ASSERT_EQ(ta.outcome, Outcome::Found) << ta.why;
  EXPECT_EQ(ta.records, std::vector<std::string>{"abcde"});
}

TEST(DnsResponse, EveryTruncationAndRandomBytesAreSafe) {
  auto wire = Wire(kOk | kAd, "example.test", kTypeMx)
                  .answer("example.test", kTypeMx, 300, Wire::mx(10, "mx1.example.test"))
                  .authority("example.test", kTypeSoa, 300, Wire::soa(300))
                  .bytes();
  for (size_t n = 0; n < wire.size(); ++n) {
    std::vector<uint8_t> prefix(wire.begin(), wire.begin() + static_cast<long>(n));
    MxAnswer a = parseMxResponse(prefix, "example.test", true);
    EXPECT_EQ(a.outcome, Outcome::TempFail) << n;
  }
  std::mt19937 rng(42);
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> mutated = wire;
    for (int k = 0; k < 1 + i % 4; ++k) mutated[rng() % mutated.size()] = static_cast<uint8_t>(rng());
    MxAnswer a = parseMxResponse(mutated, "example.test", true);
    EXPECT_LE(a.records.size(), kMaxRecordsPerAnswer);
    for (const auto& r : a.records) EXPECT_TRUE(r.host.empty() || normalizeDnsName(r.host).has_value());
    std::vector<uint8_t> noise(rng() % 600);
    for (auto& byte : noise) byte = static_cast<uint8_t>(rng());
    (void)parseTxtResponse(noise, "example.test", true);
    (void)parseAddressResponse(noise, "example.test", kTypeAaaa, true);
  }
}

std::vector<uint8_t> tlsaRdata(uint8_t usage, uint8_t selector, uint8_t matching, size_t data_size,
                               uint8_t fill) {
  std::vector<uint8_t> b = {usage, selector, matching};
  b.insert(b.end(), data_size, fill);
  return b;
}

// ldns keeps one TSIG per message and leaks the others (found by the fuzzer):
// we never sign queries, so any TSIG in an answer is refused before ldns.
TEST(DnsResponse, TsigRecordsAreRefusedBeforeLdnsSeesThem) {
  constexpr uint16_t kTypeTsig = 250;
  // Root algorithm name, time, fudge, empty MAC, original id, error, empty other data.
  const std::vector<uint8_t> tsig_rdata(17, 0);
  auto plain =
      Wire(kOk, "example.test", kTypeMx).answer("example.test", kTypeMx, 300, Wire::mx(10, "mx.test"));
  EXPECT_FALSE(carriesTsigRecord(plain.bytes()));
  EXPECT_EQ(parseMxResponse(plain.bytes(), "example.test", true).outcome, Outcome::Found);

  auto signed_twice = plain;
  signed_twice.additional("key.test", kTypeTsig, 0, tsig_rdata)
      .additional("key.test", kTypeTsig, 0, tsig_rdata);
  EXPECT_TRUE(carriesTsigRecord(signed_twice.bytes()));
  MxAnswer a = parseMxResponse(signed_twice.bytes(), "example.test", true);
  EXPECT_EQ(a.outcome, Outcome::TempFail);
  EXPECT_NE(a.why.find("TSIG"), std::string::npos) << a.why;

  auto tsig_in_answer = Wire(kOk, "example.test", kTypeMx).answer("example.test", kTypeTsig, 0, tsig_rdata);
  EXPECT_TRUE(carriesTsigRecord(tsig_in_answer.bytes()));

  // A record whose length runs past the end is ldns's to refuse, not ours.
  std::vector<uint8_t> cut = signed_twice.bytes();
  cut.resize(cut.size() - 60);  // into the first TSIG's fixed fields
  EXPECT_FALSE(carriesTsigRecord(cut));
  EXPECT_FALSE(carriesTsigRecord(std::vector<uint8_t>(5, 0)));
}

TEST(DnsResponse, TlsaRecordsDecoded) {
  auto wire = Wire(kOk | kAd, "_25._tcp.mx1.example.test", kTypeTlsa)
                  .answer("_25._tcp.mx1.example.test", kTypeTlsa, 600, tlsaRdata(3, 1, 1, 32, 0xab))
                  .answer("_25._tcp.mx1.example.test", kTypeTlsa, 300, tlsaRdata(2, 0, 2, 64, 0x01))
                  .answer("_25._tcp.mx1.example.test", kTypeTlsa, 300, tlsaRdata(3, 0, 0, 5, 0x30))
                  .bytes();
  TlsaAnswer a = parseTlsaResponse(wire, "_25._tcp.mx1.example.test", true);
  ASSERT_EQ(a.outcome, Outcome::Found) << a.why;
  EXPECT_EQ(a.security, Security::Secure);
  EXPECT_EQ(a.ttl, 300u);
  ASSERT_EQ(a.records.size(), 3u);
  EXPECT_EQ(a.records[0], (TlsaRecord{3, 1, 1, std::string(32, '\xab')}));
  EXPECT_EQ(a.records[1], (TlsaRecord{2, 0, 2, std::string(64, '\x01')}));
  EXPECT_EQ(a.records[2], (TlsaRecord{3, 0, 0, "00000"}));
  EXPECT_EQ(parseTlsaResponse(wire, "_25._tcp.mx1.example.test", false).security, Security::Insecure);
  // Another owner or type in the answer is not a TLSA record for this name.
  auto other = Wire(kOk, "_25._tcp.mx1.example.test", kTypeTlsa)
                   .answer("_25._tcp.mx2.example.test", kTypeTlsa, 60, tlsaRdata(3, 1, 1, 32, 1))
                   .authority("example.test", kTypeSoa, 300, Wire::soa(120))
                   .bytes();
  TlsaAnswer none = parseTlsaResponse(other, "_25._tcp.mx1.example.test", true);
  EXPECT_EQ(none.outcome, Outcome::NoData);
  EXPECT_EQ(none.ttl, 120u);  // RFC 2308
}

TEST(DnsResponse, MalformedTlsaRdataIsRejected) {
  // Digest lengths that cannot be SHA2-256 / SHA2-512, and no data at all.
  for (auto rdata : {tlsaRdata(3, 1, 1, 31, 1), tlsaRdata(3, 1, 1, 33, 1), tlsaRdata(3, 1, 2, 32, 1),
                     tlsaRdata(3, 1, 0, 0, 1)}) {
    auto only_bad =
        Wire(kOk | kAd, "_25._tcp.x.test", kTypeTlsa).answer("_25._tcp.x.test", kTypeTlsa, 60, rdata).bytes();
    TlsaAnswer a = parseTlsaResponse(only_bad, "_25._tcp.x.test", true);
    EXPECT_EQ(a.outcome, Outcome::TempFail) << rdata.size();  // records existed: never "no TLSA"
    EXPECT_TRUE(a.records.empty());
  }
  auto mixed = Wire(kOk | kAd, "_25._tcp.x.test", kTypeTlsa)
                   .answer("_25._tcp.x.test", kTypeTlsa, 60, tlsaRdata(3, 1, 1, 20, 1))
                   .answer("_25._tcp.x.test", kTypeTlsa, 60, tlsaRdata(3, 1, 1, 32, 2))
                   .bytes();
  TlsaAnswer b = parseTlsaResponse(mixed, "_25._tcp.x.test", true);
  ASSERT_EQ(b.outcome, Outcome::Found) << b.why;
  ASSERT_EQ(b.records.size(), 1u);
  EXPECT_EQ(b.records[0].data, std::string(32, '\x02'));
  EXPECT_NE(b.why.find("malformed"), std::string::npos);
  // Shorter than the three fixed fields: the packet itself is malformed.
  auto truncated =
      Wire(kOk, "_25._tcp.x.test", kTypeTlsa).answer("_25._tcp.x.test", kTypeTlsa, 60, {3, 1}).bytes();
  EXPECT_EQ(parseTlsaResponse(truncated, "_25._tcp.x.test", true).outcome, Outcome::TempFail);
}

TEST(DnsResponse, TlsaRecordsAreCappedAndRandomBytesSafe) {
  Wire wire(kOk, "_25._tcp.big.test", kTypeTlsa);
  for (int i = 0; i < 150; ++i)
    wire.answer("_25._tcp.big.test", kTypeTlsa, 60, tlsaRdata(3, 1, 1, 32, static_cast<uint8_t>(i)));
  const auto bytes = wire.bytes();
  TlsaAnswer a = parseTlsaResponse(bytes, "_25._tcp.big.test", true);
  ASSERT_EQ(a.outcome, Outcome::Found);
  EXPECT_EQ(a.records.size(), kMaxRecordsPerAnswer);
  EXPECT_NE(a.why.find("capped"), std::string::npos);
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> mutated(bytes.begin(), bytes.begin() + 200);
    for (int k = 0; k < 1 + i % 4; ++k) mutated[rng() % mutated.size()] = static_cast<uint8_t>(rng());
    TlsaAnswer m = parseTlsaResponse(mutated, "_25._tcp.big.test", true);
    for (const auto& r : m.records) {
      EXPECT_FALSE(r.data.empty());
      if (r.matching_type == 1) {
        EXPECT_EQ(r.data.size(), 32u);
      }
    }
  }
}

AddressAnswer half(Outcome o, std::vector<std::string> records, Security s = Security::Secure,
                   uint32_t ttl = 300) {
  AddressAnswer a;
  a.outcome = o;
  a.records = std::move(records);
  a.security = s;
  a.ttl = ttl;
  if (o == Outcome::TempFail) a.why = "timeout";
  return a;
}

TEST(MergeAddressAnswers, Table) {
  using V = std::vector<std::string>;
  auto both = mergeAddressAnswers(half(Outcome::Found, {"127.0.1.12"}, Security::Secure, 200),
                                  half(Outcome::Found, {"::1"}));
  EXPECT_EQ(both.outcome, Outcome::Found);
  EXPECT_EQ(both.records, (V{"127.0.1.12", "::1"}));
  EXPECT_EQ(both.security, Security::Secure);
  EXPECT_EQ(both.ttl, 200u);

  auto v4_only =
      mergeAddressAnswers(half(Outcome::Found, {"127.0.1.1"}), half(Outcome::NoData, {}, Security::Insecure));
  EXPECT_EQ(v4_only.records, V{"127.0.1.1"});
  EXPECT_EQ(v4_only.security, Security::Insecure);

  auto partial = mergeAddressAnswers(half(Outcome::TempFail, {}), half(Outcome::Found, {"::1"}));
  EXPECT_EQ(partial.outcome, Outcome::Found);
  EXPECT_EQ(partial.records, V{"::1"});
  EXPECT_LE(partial.ttl, 30u);
  EXPECT_NE(partial.why.find("A: timeout"), std::string::npos);

  EXPECT_EQ(mergeAddressAnswers(half(Outcome::TempFail, {}), half(Outcome::NoData, {})).outcome,
            Outcome::TempFail);
  EXPECT_EQ(mergeAddressAnswers(half(Outcome::NoData, {}), half(Outcome::NoData, {})).outcome,
            Outcome::NoData);
  EXPECT_EQ(mergeAddressAnswers(half(Outcome::NxDomain, {}), half(Outcome::TempFail, {})).outcome,
            Outcome::NxDomain);
  auto bogus =
      mergeAddressAnswers(half(Outcome::Found, {"1.2.3.4"}, Security::Bogus), half(Outcome::Found, {"::1"}));
  EXPECT_EQ(bogus.security, Security::Bogus);
  EXPECT_TRUE(bogus.records.empty());
}

TEST(DnsName, Normalize) {
  EXPECT_EQ(normalizeDnsName("Example.TEST."), "example.test");
  EXPECT_EQ(normalizeDnsName("_25._tcp.mx1.example.test"), "_25._tcp.mx1.example.test");
  for (const std::string& bad :
       std::vector<std::string>{"", ".", "..", "a..b", ".a", "a b.test", "a\\032b.test", "\xc3\xa9.test",
                                "a.test..", std::string(64, 'a') + ".test", std::string("a\0b", 3)}) {
    EXPECT_FALSE(normalizeDnsName(bad).has_value()) << bad;
  }
  std::string long_ok;
  for (int i = 0; i < 25; ++i) long_ok += (i ? ".abcdefghi" : "abcdefghi");
  long_ok += ".abc";
  ASSERT_EQ(long_ok.size(), 253u);
  EXPECT_TRUE(normalizeDnsName(long_ok).has_value());
  EXPECT_FALSE(normalizeDnsName(long_ok + "x").has_value());  // 254 characters
}

TEST(ServerAddress, Parse) {
  auto a = parseServerAddress("127.0.53.2:53");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->ip, "127.0.53.2");
  EXPECT_EQ(a->port, 53);
  EXPECT_FALSE(a->ipv6);
  auto b = parseServerAddress("[::1]:5353");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->ip, "::1");
  EXPECT_EQ(b->port, 5353);
  EXPECT_TRUE(b->ipv6);
  auto c = parseServerAddress("127.0.0.1");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 53);
  auto d = parseServerAddress("::1");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->ipv6);
  for (const char* bad : {"", "localhost", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:5x",
                          "[::1", "[::1]x", "1.2.3:53", "[::1]:"}) {
    EXPECT_FALSE(parseServerAddress(bad).ok()) << bad;
  }
  // The bracketed form is the one smarthost uses too ("[192.0.2.25]:25").
  auto e = parseServerAddress("[127.0.0.1]:5353");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->ip, "127.0.0.1");
  EXPECT_EQ(e->port, 5353);
  EXPECT_FALSE(e->ipv6);
  ResolverConfig config;
  EXPECT_FALSE(validateResolverConfig(config).ok());
  config.servers = {"127.0.0.1", "[::1]:53"};
  EXPECT_TRUE(validateResolverConfig(config).ok());
  config.retries = -1;
  EXPECT_FALSE(validateResolverConfig(config).ok());
}

}  // namespace
}  // namespace tlsrelay::dns
