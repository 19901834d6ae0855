// Names of the RFC 8460 vocabulary; see tls_report.h.
#include "policy/tls_report.h"

namespace tlsrelay {
namespace {

constexpr struct {
  TlsResultType type;
  const char* name;
} kResultTypes[] = {
    {TlsResultType::Success, "success"},
    {TlsResultType::StartTlsNotSupported, "starttls-not-supported"},
    {TlsResultType::CertificateHostMismatch, "certificate-host-mismatch"},
    {TlsResultType::CertificateExpired, "certificate-expired"},
    {TlsResultType::CertificateNotTrusted, "certificate-not-trusted"},
    {TlsResultType::ValidationFailure, "validation-failure"},
    {TlsResultType::TlsaInvalid, "tlsa-invalid"},
    {TlsResultType::DnssecInvalid, "dnssec-invalid"},
    {TlsResultType::DaneRequired, "dane-required"},
    {TlsResultType::StsPolicyFetchError, "sts-policy-fetch-error"},
    {TlsResultType::StsPolicyInvalid, "sts-policy-invalid"},
    {TlsResultType::StsWebpkiInvalid, "sts-webpki-invalid"},
};

}  // namespace

const char* toString(TlsResultType t) {
  for (const auto& r : kResultTypes)
    if (r.type == t) return r.name;
  return "validation-failure";
}

std::optional<TlsResultType> parseTlsResultType(std::string_view text) {
  for (const auto& r : kResultTypes)
    if (text == r.name) return r.type;
  return std::nullopt;
}

const char* toString(TlsPolicyType t) {
  switch (t) {
    case TlsPolicyType::NoPolicyFound:
      return "no-policy-found";
    case TlsPolicyType::Tlsa:
      return "tlsa";
    case TlsPolicyType::Sts:
      return "sts";
  }
  return "no-policy-found";
}

std::optional<TlsPolicyType> parseTlsPolicyType(std::string_view text) {
  if (text == "no-policy-found") return TlsPolicyType::NoPolicyFound;
  if (text == "tlsa") return TlsPolicyType::Tlsa;
  if (text == "sts") return TlsPolicyType::Sts;
  return std::nullopt;
}

const char* toString(RequireTlsRefusal r) {
  switch (r) {
    case RequireTlsRefusal::None:
      return "";
    case RequireTlsRefusal::NoStartTls:
      return "requiretls:nostarttls";
    case RequireTlsRefusal::NoCertMatch:
      return "requiretls:nocertmatch";
    case RequireTlsRefusal::NoExt:
      return "requiretls:noext";
    case RequireTlsRefusal::TlsFailed:
      return "requiretls:tlsfailed";
    case RequireTlsRefusal::InsecureMx:
      return "requiretls:insecure-mx";
    case RequireTlsRefusal::Dnssec:
      return "requiretls:dnssec";
  }
  return "";
}

}  // namespace tlsrelay
