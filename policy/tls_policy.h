// The TLS policy engine as two pure functions (PRODUCT.md "TLS policy engine"):
//
//   decideTls()     inputs known before connecting -> what the attempt must do
//   classifyAttempt() what the attempt saw on the wire -> go on or not, and the
//                   RFC 8460 §4.3 result type the reports need
//
// Precedence: REQUIRETLS > DANE > MTA-STS > policy file > opportunistic. The
// policy file (decideDestinationTls) is the floor; the stronger sources only
// raise it, with two deliberate exceptions: MTA-STS never applies to a host that
// DANE covers (RFC 8461 §2: ours never lets MTA-STS override DANE), and a
// "TLS-Required: No" message (RFC 8689 §5) turns every failure into a report.
// No I/O, no clock: every rule is a table test (tests/unit/tls_policy_test.cc).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dnssec/dns_answer.h"
#include "policy/domain_policy.h"
#include "policy/mta_sts_policy.h"
#include "policy/tls_decision.h"
#include "policy/tls_report.h"

namespace tlsrelay {

// What the TLSA lookup for _25._tcp.<mx host> gave.
enum class TlsaStatus {
  NotLooked,     // MX or address answer not DNSSEC-secure: DANE does not apply (RFC 7672 §2.2)
  None,          // securely absent (NXDOMAIN/NODATA with a secure denial), or insecure answer
  Usable,        // at least one usable record (DANE-TA(2)/DANE-EE(3), selector 0/1, matching 0/1/2)
  UnusableOnly,  // secure records, none usable: TLS mandatory, unauthenticated (RFC 7672 §2.2)
  Bogus,         // validation failed: never deliver to this host on its strength
  TempFail,      // SERVFAIL/timeout (a validating resolver's answer to bogus data too)
};

const char* toString(TlsaStatus s);

struct TlsaInput {
  TlsaStatus status = TlsaStatus::NotLooked;
  std::vector<dns::TlsaRecord> records;  // all records of the secure RRset
  std::string why;                       // for Bogus/TempFail
};

// Splits a secure TLSA RRset into usable records and a status (Usable,
// UnusableOnly or None for an empty set).
TlsaInput tlsaFromAnswer(const dns::TlsaAnswer& answer);
bool isUsableTlsa(const dns::TlsaRecord& r);
std::string tlsaPresentation(const dns::TlsaRecord& r);  // "3 1 1 ab12..."

// What MTA-STS says about the recipient domain.
enum class StsStatus {
  NoPolicy,       // no _mta-sts TXT (and no cached policy), or mode none
  Exempt,         // the domain is on the operator's exempt list
  Policy,         // a valid policy (fresh or from the cache), in `policy`
  FetchError,     // TXT present, fetch failed, nothing cached: sts-policy-fetch-error
  Invalid,        // TXT or policy body malformed, nothing cached: sts-policy-invalid
  WebPkiInvalid,  // the policy host's certificate failed PKIX: sts-webpki-invalid
};

const char* toString(StsStatus s);

struct StsInput {
  StsStatus status = StsStatus::NoPolicy;
  std::optional<StsPolicy> policy;  // when status == Policy
  std::string why;                  // failure text (also when a cached policy was used)
  bool from_cache = false;
};

struct MessageTlsFlags {
  bool requiretls = false;       // RFC 8689 REQUIRETLS on MAIL FROM or +requiretls
  bool tls_required_no = false;  // "TLS-Required: No" header field (ignored with requiretls)
};

struct HopInput {
  std::string domain;                                        // recipient (policy) domain, lower case
  std::string mx_host;                                       // next hop name, lower case, no trailing dot
  std::string ip;                                            // textual address to connect to
  dns::Security mx_security = dns::Security::Insecure;       // of the MX answer
  dns::Security address_security = dns::Security::Insecure;  // of the A/AAAA answer
  bool smarthost = false;   // configured next hop, not an MX of `domain` (no MTA-STS)
  bool ip_literal = false;  // smarthost given as an IP: trusted as configured (no DNS)
  // A configured next hop reached with implicit TLS or sent AUTH credentials:
  // TLS is mandatory whatever the policy file or TLS-Required: No says, and
  // with `verify_required` the certificate is PKIX-checked (at least).
  bool tls_required = false;
  bool verify_required = false;
};

struct DecisionInput {
  MessageTlsFlags message;
  HopInput hop;
  TlsaInput tlsa;
  StsInput sts;
  const DomainPolicy* policy_file = nullptr;  // required: PolicySet::match(domain)
};

TlsDecision decideTls(const DecisionInput& in);

// How the peer's certificate fared (from TlsEngine::verification()).
enum class CertificateCheck { NotChecked, Verified, HostMismatch, Expired, NotTrusted, DaneMismatch };

// What the attempt has seen so far. The adapter calls classifyAttempt() at
// each checkpoint: the EHLO reply in clear, the end of the handshake, the EHLO
// reply over TLS (before MAIL FROM).
struct AttemptObservation {
  enum class Stage { Ehlo, Handshake, TlsEhlo } stage = Stage::Ehlo;
  bool starttls_offered = false;  // EHLO in clear advertised STARTTLS
  bool handshake_failed = false;
  std::string handshake_error;
  CertificateCheck certificate = CertificateCheck::NotChecked;
  std::string certificate_error;    // OpenSSL's text
  bool requiretls_offered = false;  // EHLO over TLS advertised REQUIRETLS (Stage::TlsEhlo)
};

struct AttemptVerdict {
  bool proceed = true;                  // false: give up on this hop (transient; next MX, retry later)
  std::optional<TlsResultType> result;  // RFC 8460: success or the failure type; none = nothing to report yet
  std::string reason;                   // human text for logs, accounting and DSNs
  EnhancedStatus status = status::kCryptoFailure;  // when !proceed: 4.7.5, 4.7.4 or 4.7.10
  RequireTlsRefusal requiretls_refusal = RequireTlsRefusal::None;
};

AttemptVerdict classifyAttempt(const TlsDecision& decision, const AttemptObservation& seen);

}  // namespace tlsrelay
