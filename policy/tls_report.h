// The RFC 8460 vocabulary as types: result types (§4.3), policy types (§4.4)
// and the policy a TLS session was governed by. The policy engine produces
// these, delivery attaches what happened on the wire, and reporting stores and
// aggregates them; nothing on the way converts them to strings and back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlsrelay {

// RFC 8460 §4.3 result types ("success" and the failure types).
enum class TlsResultType : uint8_t {
  Success,
  // §4.3.1 negotiation failures
  StartTlsNotSupported,
  CertificateHostMismatch,
  CertificateExpired,
  CertificateNotTrusted,
  ValidationFailure,
  // §4.3.2 policy failures
  TlsaInvalid,
  DnssecInvalid,
  DaneRequired,
  StsPolicyFetchError,
  StsPolicyInvalid,
  StsWebpkiInvalid,
};

const char* toString(TlsResultType t);  // "starttls-not-supported", ...
std::optional<TlsResultType> parseTlsResultType(std::string_view text);
inline bool isFailure(TlsResultType t) {
  return t != TlsResultType::Success;
}

// RFC 8460 §4.4 policy-type.
enum class TlsPolicyType : uint8_t { NoPolicyFound, Tlsa, Sts };
const char* toString(TlsPolicyType t);  // "no-policy-found", "tlsa", "sts"
std::optional<TlsPolicyType> parseTlsPolicyType(std::string_view text);

// Why a REQUIRETLS message (RFC 8689) was not sent over a hop. Logged and
// written to the accounting log as "requiretls:<reason>".
enum class RequireTlsRefusal : uint8_t {
  None,
  NoStartTls,   // the hop does not offer STARTTLS
  NoCertMatch,  // the certificate did not authenticate the hop
  NoExt,        // REQUIRETLS not offered after STARTTLS
  TlsFailed,    // the handshake failed
  InsecureMx,   // MX neither DNSSEC-secure nor in an MTA-STS policy
  Dnssec,       // TLSA lookup bogus or failed
};
const char* toString(RequireTlsRefusal r);  // "" for None, else "requiretls:nostarttls", ...

// The policy that governed a session, as RFC 8460 §4.4 reports it.
struct ReportPolicy {
  TlsPolicyType type = TlsPolicyType::NoPolicyFound;
  std::string domain;                // policy-domain: the recipient domain (or the smarthost name)
  std::vector<std::string> strings;  // policy-string: STS policy lines, or TLSA records
  std::vector<std::string> mx_host;  // mx-host: STS mx patterns
  // A failure of the policy itself that does not stop delivery (RFC 8461 §5: no
  // usable policy means deliver as before): sts-policy-fetch-error,
  // sts-policy-invalid or sts-webpki-invalid.
  std::optional<TlsResultType> failure;
  std::string failure_reason;

  bool operator==(const ReportPolicy&) const = default;
};

}  // namespace tlsrelay
