// What one outbound delivery attempt must do about TLS, and which rule said so.
// Produced by pure policy functions (policy/tls_policy.h); consumed by the SMTP
// client adapter and, through DeliveryAttempt, by reporting.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/enhanced_status.h"
#include "dnssec/dns_answer.h"
#include "policy/tls_report.h"

namespace tlsrelay {

enum class StartTlsMode {
  Never,          // do not issue STARTTLS (use_starttls = false)
  Opportunistic,  // STARTTLS when offered; fall back to clear text if absent or failing
  Required,       // STARTTLS must succeed, otherwise defer: never send in clear
};

enum class VerifyMode {
  None,  // encrypt only; any certificate is accepted
  Pkix,  // certificate chains to the CA bundle and matches the MX host name
  Dane,  // RFC 7672: authenticated by the MX host's TLSA records only (no PKIX fallback)
  Sts,   // RFC 8461: PKIX chain and MX host name, demanded by an MTA-STS policy
};

const char* toString(StartTlsMode m);
const char* toString(VerifyMode m);  // "none", "pkix", "dane", "sts"

struct TlsDecision {
  StartTlsMode starttls = StartTlsMode::Opportunistic;
  VerifyMode verify = VerifyMode::None;
  // false: verification failures are recorded but the message still goes
  // (MTA-STS testing mode, "TLS-Required: No" messages). Never false for REQUIRETLS.
  bool enforce = true;
  // RFC 8689: the peer must offer REQUIRETLS after STARTTLS and MAIL FROM carries it.
  bool requiretls = false;
  std::vector<dns::TlsaRecord> tlsa;    // usable TLSA records when verify == Dane
  std::string tlsa_base;                // TLSA base domain: the MX host name (RFC 7672 §2.2.3)
  std::vector<std::string> dane_names;  // extra reference names for DANE-TA: the recipient domain

  // Do not connect to this hop at all (transient; the next MX is tried): a
  // bogus/failed TLSA lookup, an MX outside an enforced MTA-STS policy, an
  // insecure MX for a REQUIRETLS message. `skip_reason` says why.
  bool skip = false;
  std::string skip_reason;
  std::optional<TlsResultType> skip_result;             // RFC 8460 type recorded for the skipped hop
  EnhancedStatus skip_status = status::kCryptoFailure;  // 4.7.5, or 4.7.10 for REQUIRETLS
  RequireTlsRefusal requiretls_refusal = RequireTlsRefusal::None;  // when REQUIRETLS caused the skip

  // A failure that would have stopped this hop but is not enforced (MX outside
  // an MTA-STS testing policy; TLS-Required: No over an enforce policy or a
  // bogus TLSA answer): the attempt proceeds and reports this RFC 8460 type.
  std::optional<TlsResultType> soft_failure;  // validation-failure, dnssec-invalid
  std::string soft_failure_reason;

  std::string peer;  // "mx.example.com[192.0.2.1]": who every reason talks about

  std::string ciphers;             // OpenSSL cipher list for TLS <= 1.2; empty = library default
  std::string min_tls_version;     // "TLSv1.2" (default) or "TLSv1.3"
  std::string client_certificate;  // PEM file paths; empty = no client certificate
  std::string client_key;
  // Which rule decided: "default", "policy.d/example.com.toml",
  // "require_tls_out 192.0.2.0/24", "dane", "mta-sts enforce", "requiretls".
  std::string policy_source;
  ReportPolicy report;
};

}  // namespace tlsrelay
