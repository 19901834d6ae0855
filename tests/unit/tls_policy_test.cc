// The TLS policy engine as tables: decideTls() for every precedence rule
// (REQUIRETLS > DANE > MTA-STS > policy file > opportunistic, TLS-Required: No,
// smarthosts, DNSSEC failures), classifyAttempt() for each stage x verify mode
// x enforce, and the TLSA helpers.
#include "policy/tls_policy.h"

#include <gtest/gtest.h>

#include <map>
#include <string_view>

namespace tlsrelay {
namespace {

using dns::Security;
using dns::TlsaRecord;

DomainPolicy parsePolicy(std::string_view toml) {
  auto p = parsePolicyString(toml, "policy.d/example.com.toml");
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : DomainPolicy{};
}

// The policy-file floors the rows start from.
struct Floors {
  DomainPolicy opportunistic = builtinDefaultPolicy();
  DomainPolicy starttls = parsePolicy("domain = \"example.com\"\nrequire_starttls = true\n");
  DomainPolicy pkix = parsePolicy("domain = \"example.com\"\nverify = \"pkix\"\n");
  DomainPolicy dane_only = parsePolicy("domain = \"example.com\"\nverify = \"dane\"\n");
  DomainPolicy never = parsePolicy("domain = \"example.com\"\nuse_starttls = false\n");
  DomainPolicy tls_out = parsePolicy("domain = \"example.com\"\nrequire_tls_out = [\"192.0.2.0/24\"]\n");
  DomainPolicy params = parsePolicy(
      "domain = \"example.com\"\nciphers = \"HIGH:!aNULL\"\nmin_tls_version = \"TLSv1.3\"\n"
      "client_certificate = \"/etc/tlsrelay/client.pem\"\nclient_key = \"/etc/tlsrelay/client.key\"\n");
};

const Floors& floors() {
  static const Floors f;
  return f;
}

TlsaRecord tlsa(uint8_t usage, uint8_t selector, uint8_t matching, size_t bytes, char fill = '\xab') {
  return TlsaRecord{usage, selector, matching, std::string(bytes, fill)};
}

const TlsaRecord kDaneEe = tlsa(3, 1, 1, 32);
const TlsaRecord kDaneTa = tlsa(2, 0, 2, 64, '\x01');
const TlsaRecord kPkixEe = tlsa(1, 1, 1, 32);  // usage 1: unusable for SMTP (RFC 7672 §3.1.3)

void setSts(DecisionInput& in, StsMode mode, std::vector<std::string> mx) {
  StsPolicy p;
  p.mode = mode;
  p.mx = std::move(mx);
  p.max_age = 86400;
  p.text = std::string("version: STSv1\r\nmode: ") + toString(mode) + "\r\n";
  for (const auto& m : p.mx) p.text += "mx: " + m + "\r\n";
  p.text += "max_age: 86400\r\n\r\n";
  in.sts.status = StsStatus::Policy;
  in.sts.policy = std::move(p);
}

void setTlsa(DecisionInput& in, TlsaStatus status, std::vector<TlsaRecord> records, const char* why = "") {
  in.hop.mx_security = in.hop.address_security = Security::Secure;  // else DANE is NotLooked
  in.tlsa.status = status;
  in.tlsa.records = std::move(records);
  in.tlsa.why = why;
}

using Setup = void (*)(DecisionInput&);

// The facts a table row can name, applied in the order written. The hop starts
// as mx1.example.com[192.0.2.1] for example.com, insecure MX, built-in policy.
const std::map<std::string_view, Setup>& facts() {
  static const std::map<std::string_view, Setup> m = {
      // policy-file floors
      {"starttls", [](DecisionInput& in) { in.policy_file = &floors().starttls; }},
      {"pkix", [](DecisionInput& in) { in.policy_file = &floors().pkix; }},
      {"dane-only", [](DecisionInput& in) { in.policy_file = &floors().dane_only; }},
      {"never", [](DecisionInput& in) { in.policy_file = &floors().never; }},
      {"tls-out", [](DecisionInput& in) { in.policy_file = &floors().tls_out; }},
      {"params", [](DecisionInput& in) { in.policy_file = &floors().params; }},
      // the hop
      {"other-ip", [](DecisionInput& in) { in.hop.ip = "198.51.100.7"; }},
      {"secure-mx",
       [](DecisionInput& in) { in.hop.mx_security = in.hop.address_security = Security::Secure; }},
      {"wildcard-mx", [](DecisionInput& in) { in.hop.mx_host = "mx2.backup.example.com"; }},
      {"smarthost",
       [](DecisionInput& in) {
         in.hop.mx_host = "relay.isp.example";
         in.hop.ip = "203.0.113.5";
         in.hop.smarthost = true;
       }},
      {"address-secure", [](DecisionInput& in) { in.hop.address_security = Security::Secure; }},
      {"mx-secure-only", [](DecisionInput& in) { in.hop.mx_security = Security::Secure; }},
      {"ip-literal", [](DecisionInput& in) { in.hop.ip_literal = true; }},
      // TLSA
      {"tlsa-none", [](DecisionInput& in) { setTlsa(in, TlsaStatus::None, {}); }},
      {"dane",
       [](DecisionInput& in) {
         setTlsa(in, TlsaStatus::Usable, {kPkixEe, kDaneEe, kDaneTa});
       }},
      {"dane-unusable", [](DecisionInput& in) { setTlsa(in, TlsaStatus::UnusableOnly, {kPkixEe}); }},
      {"tlsa-bogus", [](DecisionInput& in) { setTlsa(in, TlsaStatus::Bogus, {}, "RRSIG expired"); }},
      {"tlsa-tempfail", [](DecisionInput& in) { setTlsa(in, TlsaStatus::TempFail, {}, "SERVFAIL"); }},
      // MTA-STS
      {"sts-enforce",
       [](DecisionInput& in) {
         setSts(in, StsMode::Enforce, {"mx1.example.com", "*.backup.example.com"});
       }},
      {"sts-enforce-other", [](DecisionInput& in) { setSts(in, StsMode::Enforce, {"mx9.example.net"}); }},
      {"sts-enforce-relay", [](DecisionInput& in) { setSts(in, StsMode::Enforce, {"relay.isp.example"}); }},
      {"sts-testing", [](DecisionInput& in) { setSts(in, StsMode::Testing, {"*.example.com"}); }},
      {"sts-testing-other", [](DecisionInput& in) { setSts(in, StsMode::Testing, {"mx9.example.net"}); }},
      {"sts-mode-none", [](DecisionInput& in) { setSts(in, StsMode::None, {}); }},
      {"sts-none", [](DecisionInput& in) { in.sts.status = StsStatus::NoPolicy; }},
      {"sts-exempt", [](DecisionInput& in) { in.sts.status = StsStatus::Exempt; }},
      {"sts-fetch-error",
       [](DecisionInput& in) {
         in.sts.status = StsStatus::FetchError;
         in.sts.why = "HTTP 404";
       }},
      {"sts-invalid", [](DecisionInput& in) { in.sts.status = StsStatus::Invalid; }},
      {"sts-webpki", [](DecisionInput& in) { in.sts.status = StsStatus::WebPkiInvalid; }},
      // the message
      {"requiretls", [](DecisionInput& in) { in.message.requiretls = true; }},
      {"tls-required-no", [](DecisionInput& in) { in.message.tls_required_no = true; }},
  };
  return m;
}

DecisionInput inputFor(std::string_view spec) {
  DecisionInput in;
  in.hop.domain = "example.com";
  in.hop.mx_host = "mx1.example.com";
  in.hop.ip = "192.0.2.1";
  in.policy_file = &floors().opportunistic;
  while (!spec.empty()) {
    size_t space = spec.find(' ');
    std::string_view fact = spec.substr(0, space);
    spec = space == std::string_view::npos ? std::string_view{} : spec.substr(space + 1);
    auto it = facts().find(fact);
    if (it == facts().end()) {
      ADD_FAILURE() << "unknown fact " << fact;
      continue;
    }
    it->second(in);
  }
  return in;
}

TlsDecision decisionFor(std::string_view spec) {
  return decideTls(inputFor(spec));
}

// One line per decision, so a table row states every field it checks:
// "<starttls> <verify> enforce|lenient [requiretls], <source>, report <type> [<policy failure>]
//  [, soft <type>] [, skip <type> <status>] [<requiretls reason>]".
std::string name(const std::optional<TlsResultType>& t) {
  return t ? toString(*t) : "";
}

std::string describe(const TlsDecision& d) {
  std::string s = std::string(toString(d.starttls)) + " " + toString(d.verify) +
                  (d.enforce ? " enforce" : " lenient") + (d.requiretls ? " requiretls" : "");
  s += ", " + d.policy_source + ", report " + toString(d.report.type);
  if (d.report.failure) s += " " + name(d.report.failure);
  if (d.soft_failure) s += ", soft " + name(d.soft_failure);
  if (d.skip) s += ", skip " + name(d.skip_result) + " " + d.skip_status.toString();
  if (d.requiretls_refusal != RequireTlsRefusal::None) s += std::string(" ") + toString(d.requiretls_refusal);
  return s;
}

struct DecisionRow {
  const char* facts;
  const char* want;
};

constexpr const char* kFile = "policy.d/example.com.toml";

const DecisionRow kDecisionRows[] = {
    // --- policy file and the built-in default (the floor) ---
    {"", "opportunistic none enforce, default, report no-policy-found"},
    {"starttls", "required none enforce, policy.d/example.com.toml, report no-policy-found"},
    {"starttls sts-none", "required none enforce, policy.d/example.com.toml, report no-policy-found"},
    {"starttls sts-mode-none", "required none enforce, policy.d/example.com.toml, report no-policy-found"},
    {"pkix", "required pkix enforce, policy.d/example.com.toml, report no-policy-found"},
    {"never", "never none enforce, policy.d/example.com.toml, report no-policy-found"},
    {"tls-out", "required none enforce, require_tls_out 192.0.2.0/24, report no-policy-found"},
    {"tls-out other-ip", "opportunistic none enforce, policy.d/example.com.toml, report no-policy-found"},
    {"tlsa-none", "opportunistic none enforce, default, report no-policy-found"},
    {"sts-exempt", "opportunistic none enforce, default, report no-policy-found"},

    // --- DANE: raises the floor, shuts MTA-STS out; DNSSEC failure defers ---
    {"dane", "required dane enforce, dane, report tlsa"},
    {"never dane", "required dane enforce, dane, report tlsa"},
    {"pkix dane", "required dane enforce, dane, report tlsa"},
    {"dane-unusable", "required none enforce, dane (no usable TLSA), report tlsa"},
    {"pkix dane-unusable", "required pkix enforce, dane (no usable TLSA), report tlsa"},
    {"dane sts-enforce-other", "required dane enforce, dane, report tlsa"},
    {"dane-unusable sts-enforce-other", "required none enforce, dane (no usable TLSA), report tlsa"},
    {"dane sts-fetch-error", "required dane enforce, dane, report tlsa"},
    {"tlsa-bogus", "opportunistic none enforce, default, report tlsa, skip dnssec-invalid 4.7.5"},
    {"tlsa-tempfail", "opportunistic none enforce, default, report tlsa, skip dnssec-invalid 4.7.5"},
    {"tlsa-bogus sts-enforce", "opportunistic none enforce, default, report tlsa, skip dnssec-invalid 4.7.5"},
    {"pkix tlsa-tempfail",
     "required pkix enforce, policy.d/example.com.toml, report tlsa, skip dnssec-invalid 4.7.5"},

    // --- verify = "dane" (dane-only): no usable TLSA, no delivery (RFC 8460 dane-required) ---
    {"dane-only",
     "required none enforce, policy.d/example.com.toml, report no-policy-found, skip dane-required 4.7.5"},
    {"dane-only dane", "required dane enforce, dane, report tlsa"},
    {"dane-only dane-unusable",
     "required none enforce, dane (no usable TLSA), report tlsa, skip dane-required 4.7.5"},
    {"dane-only tlsa-bogus",
     "required none enforce, policy.d/example.com.toml, report tlsa, skip dnssec-invalid 4.7.5"},
    {"dane-only sts-enforce",
     "required none enforce, policy.d/example.com.toml, report no-policy-found, skip dane-required 4.7.5"},
    {"dane-only tls-required-no",
     "opportunistic none lenient, policy.d/example.com.toml (TLS-Required: No), report no-policy-found, soft "
     "dane-required"},
    {"dane-only secure-mx requiretls",
     "required pkix enforce requiretls, requiretls, report no-policy-found, skip dane-required 4.7.10"},
    {"dane-only dane requiretls", "required dane enforce requiretls, requiretls, report tlsa"},

    // --- MTA-STS ---
    {"sts-enforce", "required sts enforce, mta-sts enforce, report sts"},
    {"sts-enforce wildcard-mx", "required sts enforce, mta-sts enforce, report sts"},
    {"sts-enforce-other", "opportunistic none enforce, default, report sts, skip validation-failure 4.7.5"},
    {"never sts-enforce", "required sts enforce, mta-sts enforce, report sts"},
    {"pkix sts-enforce", "required sts enforce, mta-sts enforce, report sts"},
    {"sts-testing", "opportunistic sts lenient, mta-sts testing, report sts"},
    {"sts-testing-other", "opportunistic sts lenient, mta-sts testing, report sts, soft validation-failure"},
    {"pkix sts-testing", "required sts enforce, mta-sts testing, report sts"},
    {"starttls sts-testing", "required sts lenient, mta-sts testing, report sts"},
    {"never sts-testing", "never sts lenient, mta-sts testing, report sts"},
    {"sts-fetch-error", "opportunistic none enforce, default, report sts sts-policy-fetch-error"},
    {"sts-invalid", "opportunistic none enforce, default, report sts sts-policy-invalid"},
    {"pkix sts-webpki", "required pkix enforce, policy.d/example.com.toml, report sts sts-webpki-invalid"},

    // --- smarthost: DANE yes, MTA-STS never ---
    {"smarthost sts-enforce-other", "opportunistic none enforce, default, report no-policy-found"},
    {"smarthost sts-fetch-error", "opportunistic none enforce, default, report no-policy-found"},
    {"smarthost dane", "required dane enforce, dane, report tlsa"},

    // --- TLS-Required: No (RFC 8689 §5) ---
    {"tls-required-no", "opportunistic none lenient, default (TLS-Required: No), report no-policy-found"},
    {"starttls tls-required-no",
     "opportunistic none lenient, policy.d/example.com.toml (TLS-Required: No), report no-policy-found"},
    {"pkix tls-required-no",
     "opportunistic pkix lenient, policy.d/example.com.toml (TLS-Required: No), report no-policy-found"},
    {"never tls-required-no",
     "never none lenient, policy.d/example.com.toml (TLS-Required: No), report no-policy-found"},
    {"dane tls-required-no", "opportunistic dane lenient, dane (TLS-Required: No), report tlsa"},
    {"sts-enforce tls-required-no",
     "opportunistic sts lenient, mta-sts enforce (TLS-Required: No), report sts"},
    {"sts-enforce-other tls-required-no",
     "opportunistic sts lenient, mta-sts enforce (TLS-Required: No), report sts, soft validation-failure"},
    {"tlsa-bogus tls-required-no",
     "opportunistic none lenient, default (TLS-Required: No), report tlsa, soft dnssec-invalid"},
    {"tlsa-tempfail sts-enforce tls-required-no",
     "opportunistic sts lenient, mta-sts enforce (TLS-Required: No), report sts, soft dnssec-invalid"},

    // --- REQUIRETLS (RFC 8689): over everything ---
    {"secure-mx requiretls", "required pkix enforce requiretls, requiretls, report no-policy-found"},
    {"requiretls",
     "required pkix enforce requiretls, requiretls, report no-policy-found, skip validation-failure 4.7.10 "
     "requiretls:insecure-mx"},
    {"secure-mx requiretls tls-required-no",
     "required pkix enforce requiretls, requiretls, report no-policy-found"},
    {"never secure-mx requiretls", "required pkix enforce requiretls, requiretls, report no-policy-found"},
    {"dane requiretls", "required dane enforce requiretls, requiretls, report tlsa"},
    {"dane-unusable requiretls", "required pkix enforce requiretls, requiretls, report tlsa"},
    {"tlsa-bogus requiretls",
     "required none enforce requiretls, requiretls, report tlsa, skip dnssec-invalid 4.7.10 "
     "requiretls:dnssec"},
    {"sts-enforce requiretls", "required sts enforce requiretls, requiretls, report sts"},
    {"sts-testing requiretls", "required sts enforce requiretls, requiretls, report sts"},
    {"sts-testing-other requiretls",
     "required pkix enforce requiretls, requiretls, report sts, skip validation-failure 4.7.10 "
     "requiretls:insecure-mx"},
    {"secure-mx sts-enforce-other requiretls",
     "required pkix enforce requiretls, requiretls, report sts, skip validation-failure 4.7.5"},
    {"secure-mx sts-testing-other requiretls",
     "required pkix enforce requiretls, requiretls, report sts, soft validation-failure"},
    {"secure-mx sts-fetch-error requiretls",
     "required pkix enforce requiretls, requiretls, report sts sts-policy-fetch-error"},
    {"smarthost address-secure requiretls",
     "required pkix enforce requiretls, requiretls, report no-policy-found"},
    {"smarthost ip-literal requiretls",
     "required pkix enforce requiretls, requiretls, report no-policy-found"},
    {"smarthost mx-secure-only requiretls",
     "required pkix enforce requiretls, requiretls, report no-policy-found, skip validation-failure 4.7.10 "
     "requiretls:insecure-mx"},
    {"smarthost sts-enforce-relay requiretls",
     "required pkix enforce requiretls, requiretls, report no-policy-found, skip validation-failure 4.7.10 "
     "requiretls:insecure-mx"},
};

TEST(TlsPolicyTest, DecisionTable) {
  for (const auto& row : kDecisionRows) {
    SCOPED_TRACE(std::string("facts: ") + row.facts);
    DecisionInput in = inputFor(row.facts);
    TlsDecision d = decideTls(in);
    EXPECT_EQ(describe(d), row.want);
    EXPECT_EQ(d.report.domain, in.hop.smarthost ? "relay.isp.example" : "example.com");
    EXPECT_EQ(d.peer, in.hop.mx_host + "[" + in.hop.ip + "]");
    // Every failure carries its reason, and a skip names the host it skips.
    EXPECT_EQ(d.skip, !d.skip_reason.empty());
    if (d.skip) {
      EXPECT_NE(d.skip_reason.find(in.hop.mx_host), std::string::npos) << d.skip_reason;
    }
    EXPECT_EQ(!d.soft_failure, d.soft_failure_reason.empty());
    EXPECT_EQ(!d.report.failure, d.report.failure_reason.empty());
    EXPECT_EQ(d.verify == VerifyMode::Dane, !d.tlsa.empty());
  }
}

TEST(TlsPolicyTest, DaneCarriesUsableRecordsAndReferenceNames) {
  TlsDecision d = decisionFor("dane");
  EXPECT_EQ(d.tlsa, (std::vector<TlsaRecord>{kDaneEe, kDaneTa}));  // the PKIX-EE record dropped
  EXPECT_EQ(d.tlsa_base, "mx1.example.com");
  EXPECT_EQ(d.dane_names, (std::vector<std::string>{"mx1.example.com", "example.com"}));
  // The report shows the whole RRset, usable or not.
  std::string ab;
  for (int i = 0; i < 32; ++i) ab += "ab";
  std::string ones;
  for (int i = 0; i < 64; ++i) ones += "01";
  EXPECT_EQ(d.report.strings, (std::vector<std::string>{"1 1 1 " + ab, "3 1 1 " + ab, "2 0 2 " + ones}));
  EXPECT_TRUE(d.report.mx_host.empty());
}

TEST(TlsPolicyTest, DaneNamesForSmarthostAndImplicitMx) {
  // RFC 7672 §3.2.2: for a smarthost the next-hop domain is the smarthost itself.
  EXPECT_EQ(decisionFor("smarthost dane").dane_names, std::vector<std::string>{"relay.isp.example"});
  DecisionInput implicit = inputFor("dane");
  implicit.hop.mx_host = "example.com";  // RFC 5321 §5.1 implicit MX: the domain itself
  EXPECT_EQ(decideTls(implicit).dane_names, std::vector<std::string>{"example.com"});
}

TEST(TlsPolicyTest, UsableStatusWithoutUsableRecordsIsUnusableOnly) {
  DecisionInput in = inputFor("dane");
  in.tlsa.records = {kPkixEe, tlsa(3, 1, 1, 20)};  // a SHA2-256 digest of 20 bytes is no digest
  TlsDecision d = decideTls(in);
  EXPECT_EQ(describe(d), "required none enforce, dane (no usable TLSA), report tlsa");
  EXPECT_TRUE(d.tlsa.empty());
}

TEST(TlsPolicyTest, StsReportCarriesPolicyLinesAndPatterns) {
  TlsDecision d = decisionFor("sts-enforce");
  EXPECT_EQ(d.report.strings,
            (std::vector<std::string>{"version: STSv1", "mode: enforce", "mx: mx1.example.com",
                                      "mx: *.backup.example.com", "max_age: 86400"}));
  EXPECT_EQ(d.report.mx_host, (std::vector<std::string>{"mx1.example.com", "*.backup.example.com"}));
  EXPECT_TRUE(d.tlsa.empty());
}

TEST(TlsPolicyTest, StsPolicyWithoutTextIsReportedFromItsFields) {
  DecisionInput in = inputFor("sts-testing");
  in.sts.policy->text.clear();
  EXPECT_EQ(decideTls(in).report.strings, (std::vector<std::string>{"version: STSv1", "mode: testing",
                                                                    "mx: *.example.com", "max_age: 86400"}));
}

TEST(TlsPolicyTest, DecisionReasonsNameHostAndPolicy) {
  EXPECT_EQ(decisionFor("tlsa-bogus").skip_reason,
            "TLSA lookup for _25._tcp.mx1.example.com is DNSSEC-bogus: RRSIG expired");
  EXPECT_EQ(decisionFor("tlsa-tempfail").skip_reason,
            "TLSA lookup for _25._tcp.mx1.example.com failed: SERVFAIL");
  EXPECT_EQ(decisionFor("sts-enforce-other").skip_reason,
            "mx host mx1.example.com not in the MTA-STS policy of example.com");
  TlsDecision fetch = decisionFor("sts-fetch-error");
  EXPECT_EQ(fetch.report.failure_reason, "the MTA-STS policy of example.com could not be fetched: HTTP 404");
  EXPECT_EQ(
      decisionFor("requiretls").skip_reason,
      "REQUIRETLS: mx host mx1.example.com of example.com is neither DNSSEC-secure nor in an MTA-STS policy");
}

TEST(TlsPolicyTest, FloorTlsParametersCarryOver) {
  for (const char* facts : {"params", "params dane", "params dane-unusable", "params sts-enforce",
                            "params sts-testing", "params secure-mx requiretls", "params tls-required-no"}) {
    SCOPED_TRACE(facts);
    TlsDecision d = decisionFor(facts);
    EXPECT_FALSE(d.skip);
    EXPECT_EQ(d.ciphers, "HIGH:!aNULL");
    EXPECT_EQ(d.min_tls_version, "TLSv1.3");
    EXPECT_EQ(d.client_certificate, "/etc/tlsrelay/client.pem");
    EXPECT_EQ(d.client_key, "/etc/tlsrelay/client.key");
  }
}

// --- classifyAttempt ---

using CC = CertificateCheck;

AttemptObservation ehlo(bool starttls) {
  AttemptObservation o;
  o.stage = AttemptObservation::Stage::Ehlo;
  o.starttls_offered = starttls;
  return o;
}
AttemptObservation handshakeFailed() {
  AttemptObservation o = ehlo(true);
  o.stage = AttemptObservation::Stage::Handshake;
  o.handshake_failed = true;
  o.handshake_error = "alert handshake failure";
  return o;
}
AttemptObservation cert(CC check) {
  AttemptObservation o = ehlo(true);
  o.stage = AttemptObservation::Stage::Handshake;
  o.certificate = check;
  if (check != CC::Verified) o.certificate_error = "openssl says no";
  return o;
}
AttemptObservation tlsEhlo(CC check, bool requiretls) {
  AttemptObservation o = cert(check);
  o.stage = AttemptObservation::Stage::TlsEhlo;
  o.requiretls_offered = requiretls;
  return o;
}

struct VerdictRow {
  const char* facts;  // the decision, as in kDecisionRows
  AttemptObservation seen;
  bool proceed;
  const char* result_type;
  const char* status = "";
  const char* requiretls_reason = "";
};

const VerdictRow kVerdictRows[] = {
    // --- EHLO in clear ---
    {"", ehlo(true), true, ""},
    {"", ehlo(false), true, ""},  // plain opportunistic to a server without STARTTLS: nothing to report
    {"never", ehlo(false), true, ""},
    {"starttls", ehlo(false), false, "starttls-not-supported", "4.7.4"},
    {"pkix", ehlo(false), false, "starttls-not-supported", "4.7.4"},
    {"dane", ehlo(false), false, "starttls-not-supported", "4.7.4"},
    {"dane-unusable", ehlo(false), false, "starttls-not-supported", "4.7.4"},
    {"sts-enforce", ehlo(false), false, "starttls-not-supported", "4.7.4"},
    {"sts-testing", ehlo(false), true, "starttls-not-supported"},
    {"starttls sts-testing", ehlo(false), false, "starttls-not-supported", "4.7.4"},  // the floor holds
    {"sts-fetch-error", ehlo(false), true, "starttls-not-supported"},
    {"dane tls-required-no", ehlo(false), true, "starttls-not-supported"},
    {"tls-required-no", ehlo(false), true, ""},
    {"secure-mx requiretls", ehlo(false), false, "starttls-not-supported", "4.7.10", "requiretls:nostarttls"},
    {"secure-mx requiretls", ehlo(true), true, ""},

    // --- handshake failure: opportunistic retries in clear, required defers ---
    {"", handshakeFailed(), true, "validation-failure"},
    {"starttls", handshakeFailed(), false, "validation-failure", "4.7.5"},
    {"starttls sts-testing", handshakeFailed(), false, "validation-failure", "4.7.5"},
    {"dane tls-required-no", handshakeFailed(), true, "validation-failure"},
    {"secure-mx requiretls", handshakeFailed(), false, "validation-failure", "4.7.10",
     "requiretls:tlsfailed"},

    // --- certificate, verify none: anything goes ---
    {"", cert(CC::NotTrusted), true, "success"},
    {"starttls", cert(CC::NotChecked), true, "success"},
    {"dane-unusable", cert(CC::HostMismatch), true, "success"},
    // verify dane: only the TLSA records count
    {"dane", cert(CC::Verified), true, "success"},
    {"dane", cert(CC::DaneMismatch), false, "tlsa-invalid", "4.7.5"},
    {"dane", cert(CC::HostMismatch), false, "tlsa-invalid", "4.7.5"},
    {"dane", cert(CC::Expired), false, "tlsa-invalid", "4.7.5"},
    {"dane", cert(CC::NotChecked), false, "tlsa-invalid", "4.7.5"},
    {"dane tls-required-no", cert(CC::DaneMismatch), true, "tlsa-invalid"},
    {"dane requiretls", cert(CC::DaneMismatch), false, "tlsa-invalid", "4.7.10", "requiretls:nocertmatch"},
    // verify pkix
    {"pkix", cert(CC::Verified), true, "success"},
    {"pkix", cert(CC::HostMismatch), false, "certificate-host-mismatch", "4.7.5"},
    {"pkix", cert(CC::Expired), false, "certificate-expired", "4.7.5"},
    {"pkix", cert(CC::NotTrusted), false, "certificate-not-trusted", "4.7.5"},
    {"pkix", cert(CC::NotChecked), false, "validation-failure", "4.7.5"},
    {"pkix tls-required-no", cert(CC::NotTrusted), true, "certificate-not-trusted"},
    {"secure-mx requiretls", cert(CC::HostMismatch), false, "certificate-host-mismatch", "4.7.10",
     "requiretls:nocertmatch"},
    // verify sts
    {"sts-enforce", cert(CC::Verified), true, "success"},
    {"sts-enforce", cert(CC::HostMismatch), false, "certificate-host-mismatch", "4.7.5"},
    {"sts-enforce", cert(CC::Expired), false, "certificate-expired", "4.7.5"},
    {"sts-enforce", cert(CC::NotTrusted), false, "certificate-not-trusted", "4.7.5"},
    {"sts-testing", cert(CC::HostMismatch), true, "certificate-host-mismatch"},
    {"starttls sts-testing", cert(CC::Expired), true, "certificate-expired"},
    {"pkix sts-testing", cert(CC::Expired), false, "certificate-expired", "4.7.5"},
    {"sts-testing", cert(CC::Verified), true, "success"},
    {"sts-testing-other", cert(CC::Verified), true, "validation-failure"},  // MX outside, not enforced
    {"sts-enforce-other tls-required-no", cert(CC::Verified), true, "validation-failure"},
    {"tlsa-bogus tls-required-no", cert(CC::Verified), true, "dnssec-invalid"},
    {"sts-enforce requiretls", cert(CC::NotTrusted), false, "certificate-not-trusted", "4.7.10",
     "requiretls:nocertmatch"},
    {"sts-fetch-error", cert(CC::Verified), true, "sts-policy-fetch-error"},
    {"pkix sts-webpki", cert(CC::Verified), true, "sts-webpki-invalid"},

    // --- EHLO over TLS: REQUIRETLS must be offered; the TLS result stands ---
    {"secure-mx requiretls", tlsEhlo(CC::Verified, true), true, "success"},
    {"secure-mx requiretls", tlsEhlo(CC::Verified, false), false, "success", "4.7.10", "requiretls:noext"},
    {"sts-enforce requiretls", tlsEhlo(CC::Verified, false), false, "success", "4.7.10", "requiretls:noext"},
    {"secure-mx requiretls", tlsEhlo(CC::NotTrusted, false), false, "certificate-not-trusted", "4.7.10",
     "requiretls:nocertmatch"},
    {"pkix", tlsEhlo(CC::Verified, false), true, "success"},
    {"sts-testing", tlsEhlo(CC::Expired, false), true, "certificate-expired"},
};

std::string stageName(AttemptObservation::Stage s) {
  switch (s) {
    case AttemptObservation::Stage::Ehlo:
      return "ehlo";
    case AttemptObservation::Stage::Handshake:
      return "handshake";
    case AttemptObservation::Stage::TlsEhlo:
      return "tls-ehlo";
  }
  return "?";
}

TEST(TlsPolicyTest, ClassifierTable) {
  for (const auto& row : kVerdictRows) {
    TlsDecision d = decisionFor(row.facts);
    SCOPED_TRACE(std::string("facts: ") + row.facts + "; " + describe(d) + "; stage " +
                 stageName(row.seen.stage) + ", certificate " +
                 std::to_string(static_cast<int>(row.seen.certificate)));
    ASSERT_FALSE(d.skip);
    AttemptVerdict v = classifyAttempt(d, row.seen);
    EXPECT_EQ(v.proceed, row.proceed);
    EXPECT_EQ(name(v.result), row.result_type);
    if (!v.proceed) {
      EXPECT_EQ(v.status.toString(), row.status);
    }
    EXPECT_EQ(toString(v.requiretls_refusal), std::string(row.requiretls_reason));
    const bool failure = !v.proceed || (v.result && isFailure(*v.result));
    if (failure) {
      EXPECT_NE(v.reason.find("example.com"), std::string::npos) << v.reason;
    } else {
      EXPECT_TRUE(v.reason.empty()) << v.reason;
    }
  }
}

TEST(TlsPolicyTest, ClassifierReasonsNameHostPolicyAndError) {
  AttemptVerdict v = classifyAttempt(decisionFor("sts-enforce"), cert(CC::HostMismatch));
  EXPECT_EQ(v.reason,
            "certificate of mx1.example.com[192.0.2.1] does not match the MX host name (verify sts, policy "
            "mta-sts enforce): openssl says no");

  v = classifyAttempt(decisionFor(""), handshakeFailed());
  EXPECT_EQ(
      v.reason,
      "TLS handshake with mx1.example.com[192.0.2.1] failed: alert handshake failure; retrying in clear "
      "text (opportunistic)");

  v = classifyAttempt(decisionFor("starttls"), ehlo(false));
  EXPECT_EQ(v.reason,
            "mx1.example.com[192.0.2.1] does not offer STARTTLS, required by " + std::string(kFile));

  v = classifyAttempt(decisionFor("sts-testing-other"), cert(CC::Verified));
  EXPECT_EQ(v.reason, "mx host mx1.example.com not in the MTA-STS policy of example.com");

  v = classifyAttempt(decisionFor("secure-mx requiretls"), tlsEhlo(CC::Verified, false));
  EXPECT_EQ(v.reason, "mx1.example.com[192.0.2.1] does not offer REQUIRETLS after STARTTLS");
}

TEST(TlsPolicyTest, ClassifierOnSkippedDecisionRepeatsTheSkip) {
  TlsDecision d = decisionFor("requiretls");  // insecure MX
  ASSERT_TRUE(d.skip);
  AttemptVerdict v = classifyAttempt(d, ehlo(true));
  EXPECT_FALSE(v.proceed);
  EXPECT_EQ(v.result, TlsResultType::ValidationFailure);
  EXPECT_EQ(v.status, status::kRequireTls);
  EXPECT_EQ(v.requiretls_refusal, RequireTlsRefusal::InsecureMx);
  EXPECT_EQ(v.reason, d.skip_reason);
}

// --- TLSA helpers ---

TEST(TlsPolicyTest, IsUsableTlsa) {
  struct Case {
    TlsaRecord record;
    bool usable;
  } cases[] = {
      {tlsa(3, 1, 1, 32), true},  {tlsa(3, 0, 1, 32), true},  {tlsa(2, 1, 2, 64), true},
      {tlsa(2, 0, 0, 300), true}, {tlsa(3, 1, 0, 91), true},  {tlsa(0, 1, 1, 32), false},
      {tlsa(1, 1, 1, 32), false}, {tlsa(4, 1, 1, 32), false}, {tlsa(3, 2, 1, 32), false},
      {tlsa(3, 1, 3, 32), false}, {tlsa(3, 1, 1, 31), false}, {tlsa(3, 1, 1, 64), false},
      {tlsa(3, 1, 2, 32), false}, {tlsa(3, 1, 2, 65), false}, {tlsa(3, 1, 0, 0), false},
  };
  for (const auto& c : cases) EXPECT_EQ(isUsableTlsa(c.record), c.usable) << tlsaPresentation(c.record);
}

TEST(TlsPolicyTest, TlsaPresentationIsLowerHex) {
  EXPECT_EQ(tlsaPresentation(TlsaRecord{3, 1, 1, std::string("\x00\x0f\xA0\xff", 4)}), "3 1 1 000fa0ff");
  EXPECT_EQ(tlsaPresentation(TlsaRecord{2, 0, 2, "\xAB\xCD"}), "2 0 2 abcd");
}

TEST(TlsPolicyTest, TlsaFromAnswer) {
  auto answer = [](dns::Outcome outcome, Security security, std::vector<TlsaRecord> records) {
    dns::TlsaAnswer a;
    a.outcome = outcome;
    a.security = security;
    a.records = std::move(records);
    a.why = outcome == dns::Outcome::TempFail || security == Security::Bogus ? "resolver said so" : "";
    return a;
  };
  using O = dns::Outcome;
  struct Case {
    const char* name;
    dns::TlsaAnswer answer;
    TlsaStatus status;
    size_t records;
  } cases[] = {
      {"secure usable", answer(O::Found, Security::Secure, {kDaneEe, kPkixEe}), TlsaStatus::Usable, 2},
      {"secure unusable", answer(O::Found, Security::Secure, {kPkixEe}), TlsaStatus::UnusableOnly, 1},
      {"insecure records", answer(O::Found, Security::Insecure, {kDaneEe}), TlsaStatus::None, 0},
      {"bogus records", answer(O::Found, Security::Bogus, {kDaneEe}), TlsaStatus::Bogus, 0},
      {"bogus denial", answer(O::NxDomain, Security::Bogus, {}), TlsaStatus::Bogus, 0},
      {"tempfail", answer(O::TempFail, Security::Insecure, {}), TlsaStatus::TempFail, 0},
      {"secure nodata", answer(O::NoData, Security::Secure, {}), TlsaStatus::None, 0},
      {"secure nxdomain", answer(O::NxDomain, Security::Secure, {}), TlsaStatus::None, 0},
      {"insecure nxdomain", answer(O::NxDomain, Security::Insecure, {}), TlsaStatus::None, 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    TlsaInput in = tlsaFromAnswer(c.answer);
    EXPECT_EQ(in.status, c.status) << toString(in.status);
    EXPECT_EQ(in.records.size(), c.records);
    if (c.status == TlsaStatus::Bogus || c.status == TlsaStatus::TempFail) {
      EXPECT_EQ(in.why, "resolver said so");
    }
  }
}

TEST(TlsPolicyTest, StatusNames) {
  EXPECT_STREQ(toString(TlsaStatus::NotLooked), "not-looked");
  EXPECT_STREQ(toString(TlsaStatus::UnusableOnly), "unusable-only");
  EXPECT_STREQ(toString(TlsaStatus::TempFail), "tempfail");
  EXPECT_STREQ(toString(StsStatus::NoPolicy), "no-policy");
  EXPECT_STREQ(toString(StsStatus::WebPkiInvalid), "webpki-invalid");
  EXPECT_STREQ(toString(StsStatus::FetchError), "fetch-error");
}

}  // namespace
}  // namespace tlsrelay
