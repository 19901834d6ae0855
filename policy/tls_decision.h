// What one outbound delivery attempt must do about TLS, and which rule said so.
// Produced by pure policy functions (policy/tls_policy.h); consumed by the SMTP
// client adapter and, through DeliveryAttempt, by reporting.
#pragma once

#include <string>
#include <vector>

#include "dnssec/dns_answer.h"

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

// The policy that governed an attempt, as RFC 8460 §4.4 reports it.
struct ReportPolicy {
  std::string policy_type = "no-policy-found";  // "sts", "tlsa" or "no-policy-found"
  std::string policy_domain;                    // the recipient domain (or the smarthost name)
  std::vector<std::string> policy_strings;      // STS: the policy lines; TLSA: records in presentation form
  std::vector<std::string> mx_host;             // STS: the mx patterns
  // A failure of the policy itself that does not stop delivery (RFC 8461 §5:
  // no usable policy means deliver as before): "sts-policy-fetch-error",
  // "sts-policy-invalid", "sts-webpki-invalid"; "" when none.
  std::string policy_failure;
  std::string policy_failure_reason;
};

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
  std::string skip_result_type;   // RFC 8460 type recorded for the skipped hop
  std::string skip_status;        // enhanced status for the deferral: "4.7.5", or "4.7.10" for REQUIRETLS
  std::string requiretls_reason;  // "requiretls:insecure-mx" etc. when REQUIRETLS caused the skip

  // A failure that would have stopped this hop but is not enforced (MX outside
  // an MTA-STS testing policy; TLS-Required: No over an enforce policy or a
  // bogus TLSA answer): the attempt proceeds and reports this RFC 8460 type.
  std::string soft_failure;  // "validation-failure", "dnssec-invalid"; "" when none
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
