// The TLS policy engine's two pure functions; see tls_policy.h. decideTls()
// layers DANE and MTA-STS (or REQUIRETLS) over the policy-file floor;
// classifyAttempt() turns what an attempt saw into go/no-go plus the RFC 8460
// result type the reports need.
#include "policy/tls_policy.h"

#include "common/cidr.h"
#include "common/hex.h"
#include "policy/destination_tls.h"

namespace tlsrelay {
namespace {

using Type = TlsResultType;
constexpr EnhancedStatus kStatusTls = status::kCryptoFailure;
constexpr EnhancedStatus kStatusNoStartTls = status::kSecurityNotSupported;
constexpr EnhancedStatus kStatusRequireTls = status::kRequireTls;

bool isTlsaFailure(TlsaStatus s) {
  return s == TlsaStatus::Bogus || s == TlsaStatus::TempFail;
}

bool daneApplies(TlsaStatus s) {
  return s == TlsaStatus::Usable || s == TlsaStatus::UnusableOnly;
}

// A policy that can say anything about MX hosts: mode none is "no policy" (RFC 8461 §5).
const StsPolicy* activeSts(const StsInput& sts) {
  if (sts.status != StsStatus::Policy || !sts.policy || sts.policy->mode == StsMode::None) return nullptr;
  return &*sts.policy;
}

std::string peerName(const HopInput& hop) {
  return hop.mx_host + "[" + hop.ip + "]";
}

// RFC 8460 §4.4: policy-string is the policy as fetched, one line per string.
std::vector<std::string> stsPolicyStrings(const StsPolicy& p) {
  std::vector<std::string> lines;
  if (p.text.empty()) {  // built, not fetched (cache tests, explain): say the same thing
    lines.push_back("version: STSv1");
    lines.push_back(std::string("mode: ") + toString(p.mode));
    for (const auto& mx : p.mx) lines.push_back("mx: " + mx);
    lines.push_back("max_age: " + std::to_string(p.max_age));
    return lines;
  }
  std::string_view text = p.text;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    if (!line.empty()) lines.emplace_back(line);
  }
  return lines;
}

void reportTlsa(TlsDecision& d, const TlsaInput& tlsa) {
  d.report.type = TlsPolicyType::Tlsa;
  d.report.strings.clear();
  d.report.mx_host.clear();
  for (const auto& r : tlsa.records) d.report.strings.push_back(tlsaPresentation(r));
}

void reportSts(TlsDecision& d, const StsPolicy& p) {
  d.report.type = TlsPolicyType::Sts;
  d.report.strings = stsPolicyStrings(p);
  d.report.mx_host = p.mx;
}

// RFC 8461 §5: a policy that cannot be had means "deliver as before"; only the report says so.
void reportStsFailure(TlsDecision& d, const StsInput& sts, const std::string& domain) {
  Type type;
  const char* what = nullptr;
  switch (sts.status) {
    case StsStatus::FetchError:
      type = Type::StsPolicyFetchError, what = "could not be fetched";
      break;
    case StsStatus::Invalid:
      type = Type::StsPolicyInvalid, what = "is invalid";
      break;
    case StsStatus::WebPkiInvalid:
      type = Type::StsWebpkiInvalid, what = "is served with a certificate that fails PKIX validation";
      break;
    default:
      return;
  }
  d.report.type = TlsPolicyType::Sts;
  d.report.failure = type;
  d.report.failure_reason = "the MTA-STS policy of " + domain + " " + what;
  if (!sts.why.empty()) d.report.failure_reason += ": " + sts.why;
}

void skipHop(TlsDecision& d, Type result_type, std::string reason, EnhancedStatus status) {
  d.skip = true;
  d.skip_result = result_type;
  d.skip_reason = std::move(reason);
  d.skip_status = status;
}

void softFail(TlsDecision& d, Type result_type, std::string reason) {
  if (d.soft_failure) return;  // the first (DNSSEC) failure is the more fundamental one
  d.soft_failure = result_type;
  d.soft_failure_reason = std::move(reason);
}

std::string tlsaFailureReason(const DecisionInput& in) {
  std::string r = "TLSA lookup for _25._tcp." + in.hop.mx_host + " " +
                  (in.tlsa.status == TlsaStatus::Bogus ? "is DNSSEC-bogus" : "failed");
  if (!in.tlsa.why.empty()) r += ": " + in.tlsa.why;
  return r;
}

std::string stsMismatchReason(const HopInput& hop) {
  return "mx host " + hop.mx_host + " not in the MTA-STS policy of " + hop.domain;
}

// RFC 7672 §3.1: usable records authenticate the peer; nothing else does (no PKIX fallback).
// Returns false when the "usable" input holds no usable record after all.
bool applyDane(const DecisionInput& in, TlsDecision& d) {
  d.tlsa.clear();
  for (const auto& r : in.tlsa.records)
    if (isUsableTlsa(r)) d.tlsa.push_back(r);
  if (d.tlsa.empty()) return false;
  d.starttls = StartTlsMode::Required;
  d.verify = VerifyMode::Dane;
  d.enforce = true;
  d.tlsa_base = in.hop.mx_host;
  // RFC 7672 §3.2.2: DANE-TA reference identifiers are the TLSA base domain and
  // the next-hop domain; for a smarthost the next hop is the smarthost itself.
  d.dane_names = {in.hop.mx_host};
  if (!in.hop.smarthost && in.hop.domain != in.hop.mx_host) d.dane_names.push_back(in.hop.domain);
  d.policy_source = "dane";
  reportTlsa(d, in.tlsa);
  return true;
}

// RFC 7672 §2.2: secure but unusable records still make TLS mandatory, unauthenticated.
void applyDaneUnusable(const DecisionInput& in, TlsDecision& d) {
  d.tlsa.clear();
  d.starttls = StartTlsMode::Required;
  if (d.verify != VerifyMode::Pkix) d.verify = VerifyMode::None;  // never below the floor
  d.enforce = true;
  d.policy_source = "dane (no usable TLSA)";
  reportTlsa(d, in.tlsa);
}

void applySts(const DecisionInput& in, TlsDecision& d, bool relaxed) {
  const StsPolicy* sts = activeSts(in.sts);
  if (!sts) {
    reportStsFailure(d, in.sts, in.hop.domain);
    return;
  }
  reportSts(d, *sts);
  const bool matches = stsMxMatches(*sts, in.hop.mx_host);
  if (sts->mode == StsMode::Enforce) {
    // RFC 8461 §5.1: an MX outside an enforced policy is not a valid hop.
    if (!matches && !relaxed) {
      skipHop(d, Type::ValidationFailure, stsMismatchReason(in.hop), kStatusTls);
      return;
    }
    if (!matches) softFail(d, Type::ValidationFailure, stsMismatchReason(in.hop));
    d.starttls = StartTlsMode::Required;
    d.verify = VerifyMode::Sts;
    d.enforce = true;
    d.policy_source = "mta-sts enforce";
    return;
  }
  // Testing (RFC 8461 §5.2): check and report, deliver as the floor says. A floor
  // that already demanded PKIX keeps enforcing it; Sts checks the same things.
  d.enforce = d.verify == VerifyMode::Pkix;
  d.verify = VerifyMode::Sts;
  if (!matches) softFail(d, Type::ValidationFailure, stsMismatchReason(in.hop));
  d.policy_source = "mta-sts testing";
}

// RFC 8689 §5: TLS-Required: No asks for delivery whatever the TLS policy says.
// TLS is still preferred where anything wanted it, and still checked so the
// reports see the failures; an operator's use_starttls = false stays.
void relaxForTlsRequiredNo(TlsDecision& d) {
  if (d.starttls == StartTlsMode::Required) d.starttls = StartTlsMode::Opportunistic;
  d.enforce = false;
  d.policy_source += " (TLS-Required: No)";
}

// RFC 8689 §4: REQUIRETLS replaces every other rule's leniency: TLS, an
// authenticated peer, and an MX host that DNSSEC or MTA-STS vouches for.
void applyRequireTls(const DecisionInput& in, TlsDecision& d) {
  const HopInput& hop = in.hop;
  d.requiretls = true;
  d.starttls = StartTlsMode::Required;
  d.enforce = true;
  if (isTlsaFailure(in.tlsa.status)) {
    reportTlsa(d, in.tlsa);
    skipHop(d, Type::DnssecInvalid, tlsaFailureReason(in), kStatusRequireTls);
    d.requiretls_refusal = RequireTlsRefusal::Dnssec;
    d.policy_source = "requiretls";
    return;
  }
  const bool dane = daneApplies(in.tlsa.status);
  // MTA-STS vouches for the MX even where DANE authenticates the peer; it only
  // sets the authentication where DANE does not apply.
  const StsPolicy* sts_any = hop.smarthost ? nullptr : activeSts(in.sts);
  const bool sts_matches = sts_any && stsMxMatches(*sts_any, hop.mx_host);
  const StsPolicy* sts = dane ? nullptr : sts_any;

  // Authentication: DANE when usable, else PKIX (as demanded by MTA-STS when its policy names the MX).
  d.verify = VerifyMode::Pkix;
  if (in.tlsa.status == TlsaStatus::Usable && applyDane(in, d)) {
    // applyDane set verify Dane and the TLSA report
  } else if (dane) {
    d.tlsa.clear();
    reportTlsa(d, in.tlsa);
  } else if (sts) {
    reportSts(d, *sts);
    if (sts_matches) d.verify = VerifyMode::Sts;
  } else if (!hop.smarthost) {
    reportStsFailure(d, in.sts, hop.domain);
  }
  d.policy_source = "requiretls";

  // RFC 8689 §4.2: the MX must be DNSSEC-secure or validated by MTA-STS.
  const bool mx_secure = hop.smarthost ? hop.address_security == dns::Security::Secure || hop.ip_literal
                                       : hop.mx_security == dns::Security::Secure;
  if (!mx_secure && !sts_matches) {
    skipHop(d, Type::ValidationFailure,
            "REQUIRETLS: mx host " + hop.mx_host + " of " + d.report.domain +
                " is neither DNSSEC-secure nor in an MTA-STS policy",
            kStatusRequireTls);
    d.requiretls_refusal = RequireTlsRefusal::InsecureMx;
    return;
  }
  if (sts && !sts_matches) {
    // The MTA-STS rule itself, not REQUIRETLS, rules this MX out (enforce) or notes it (testing).
    if (sts->mode == StsMode::Enforce)
      skipHop(d, Type::ValidationFailure, stsMismatchReason(hop), kStatusTls);
    else
      softFail(d, Type::ValidationFailure, stsMismatchReason(hop));
  }
}

const char* sourceOf(const TlsDecision& d) {
  return d.policy_source.empty() ? "default" : d.policy_source.c_str();
}

struct CertificateFailure {
  std::optional<Type> result_type;  // none: the certificate is acceptable
  const char* what = "";
};

CertificateFailure certificateFailure(VerifyMode verify, CertificateCheck check) {
  if (verify == VerifyMode::None || check == CertificateCheck::Verified) return {};
  if (verify == VerifyMode::Dane) {
    // RFC 7672 §3.1: only the TLSA records count; any other verdict is a DANE failure.
    switch (check) {
      case CertificateCheck::NotChecked:
        return {Type::TlsaInvalid, "was not checked against the TLSA records"};
      default:
        return {Type::TlsaInvalid, "matches none of the usable TLSA records"};
    }
  }
  switch (check) {
    case CertificateCheck::HostMismatch:
      return {Type::CertificateHostMismatch, "does not match the MX host name"};
    case CertificateCheck::Expired:
      return {Type::CertificateExpired, "has expired"};
    case CertificateCheck::NotTrusted:
      return {Type::CertificateNotTrusted, "does not chain to a trusted CA"};
    default:  // NotChecked, or a DANE verdict where PKIX was asked: nothing vouched for the peer
      return {Type::ValidationFailure, "was not verified"};
  }
}

AttemptVerdict classifyEhlo(const TlsDecision& d, const AttemptObservation& seen) {
  AttemptVerdict v;
  if (seen.starttls_offered || d.starttls == StartTlsMode::Never) return v;  // nothing to report yet
  // Plain opportunistic delivery to a server without STARTTLS is not a
  // failure of anything; once a policy wanted TLS, the report must say so.
  const bool wanted =
      d.starttls == StartTlsMode::Required || d.requiretls || d.report.type != TlsPolicyType::NoPolicyFound;
  if (wanted) v.result = Type::StartTlsNotSupported;
  // Required never falls back to clear text, enforce or not: enforce only
  // governs certificate checks (MTA-STS testing over a require_starttls floor
  // keeps the floor's STARTTLS demand).
  if (d.starttls == StartTlsMode::Required) {
    v.proceed = false;
    v.reason = d.peer + " does not offer STARTTLS, required by " + sourceOf(d);
    if (d.requiretls) {
      v.status = kStatusRequireTls;
      v.requiretls_refusal = RequireTlsRefusal::NoStartTls;
    } else {
      v.status = kStatusNoStartTls;
    }
  } else if (wanted) {
    v.reason = d.peer + " does not offer STARTTLS; delivering in clear text (" + sourceOf(d) + ")";
  }
  return v;
}

AttemptVerdict classifyHandshake(const TlsDecision& d, const AttemptObservation& seen) {
  AttemptVerdict v;
  if (seen.handshake_failed) {
    v.result = Type::ValidationFailure;  // RFC 8460 §4.3.2: no more specific type fits
    v.reason = "TLS handshake with " + d.peer + " failed";
    if (!seen.handshake_error.empty()) v.reason += ": " + seen.handshake_error;
    if (d.starttls == StartTlsMode::Required) {
      v.proceed = false;
      v.reason += std::string("; TLS is required by ") + sourceOf(d);
      v.status = d.requiretls ? kStatusRequireTls : kStatusTls;
      if (d.requiretls) v.requiretls_refusal = RequireTlsRefusal::TlsFailed;
    } else {
      // Opportunistic: the adapter reconnects to the same host without
      // STARTTLS (the session after a failed handshake is unusable).
      v.reason += "; retrying in clear text (opportunistic)";
    }
    return v;
  }
  CertificateFailure failure = certificateFailure(d.verify, seen.certificate);
  if (failure.result_type) {
    v.result = failure.result_type;
    v.reason = "certificate of " + d.peer + " " + failure.what + " (verify " + toString(d.verify) +
               ", policy " + sourceOf(d) + ")";
    if (!seen.certificate_error.empty()) v.reason += ": " + seen.certificate_error;
    if (d.enforce) {
      v.proceed = false;
      v.status = d.requiretls ? kStatusRequireTls : kStatusTls;
      if (d.requiretls) v.requiretls_refusal = RequireTlsRefusal::NoCertMatch;
    } else {
      v.reason += "; delivering anyway (not enforced)";
    }
    return v;
  }
  // TLS is fine; a failure the decision carried (not enforced) is what the report records.
  if (d.soft_failure) {
    v.result = d.soft_failure;
    v.reason = d.soft_failure_reason;
  } else if (d.report.failure) {
    v.result = d.report.failure;
    v.reason = d.report.failure_reason;
  } else {
    v.result = Type::Success;
  }
  return v;
}

}  // namespace

const char* toString(TlsaStatus s) {
  switch (s) {
    case TlsaStatus::NotLooked:
      return "not-looked";
    case TlsaStatus::None:
      return "none";
    case TlsaStatus::Usable:
      return "usable";
    case TlsaStatus::UnusableOnly:
      return "unusable-only";
    case TlsaStatus::Bogus:
      return "bogus";
    case TlsaStatus::TempFail:
      return "tempfail";
  }
  return "unknown";
}

const char* toString(StsStatus s) {
  switch (s) {
    case StsStatus::NoPolicy:
      return "no-policy";
    case StsStatus::Exempt:
      return "exempt";
    case StsStatus::Policy:
      return "policy";
    case StsStatus::FetchError:
      return "fetch-error";
    case StsStatus::Invalid:
      return "invalid";
    case StsStatus::WebPkiInvalid:
      return "webpki-invalid";
  }
  return "unknown";
}

bool isUsableTlsa(const dns::TlsaRecord& r) {
  if (r.usage != 2 && r.usage != 3) return false;  // RFC 7672 §3.1.3: PKIX-TA/PKIX-EE are unusable for SMTP
  if (r.selector > 1) return false;
  switch (r.matching_type) {
    case 0:
      return !r.data.empty();
    case 1:
      return r.data.size() == 32;  // SHA2-256
    case 2:
      return r.data.size() == 64;  // SHA2-512
    default:
      return false;
  }
}

std::string tlsaPresentation(const dns::TlsaRecord& r) {
  return std::to_string(r.usage) + " " + std::to_string(r.selector) + " " + std::to_string(r.matching_type) +
         " " + hexBytes(r.data, HexCase::Lower);
}

TlsaInput tlsaFromAnswer(const dns::TlsaAnswer& answer) {
  TlsaInput in;
  if (answer.security == dns::Security::Bogus) {
    in.status = TlsaStatus::Bogus;
    in.why = answer.why.empty() ? "DNSSEC validation failed" : answer.why;
    return in;
  }
  if (answer.outcome == dns::Outcome::TempFail) {
    in.status = TlsaStatus::TempFail;
    in.why = answer.why.empty() ? "lookup failed" : answer.why;
    return in;
  }
  // RFC 7672 §2.2: only a validated answer counts; an insecure one is no DANE at all.
  if (answer.security != dns::Security::Secure || answer.outcome != dns::Outcome::Found ||
      answer.records.empty()) {
    in.status = TlsaStatus::None;
    return in;
  }
  in.records = answer.records;
  bool usable = false;
  for (const auto& r : in.records) usable = usable || isUsableTlsa(r);
  in.status = usable ? TlsaStatus::Usable : TlsaStatus::UnusableOnly;
  return in;
}

// `verify = "dane"` in a policy file (Postfix's dane-only): a hop without
// usable, DNSSEC-validated TLSA records is not used (RFC 8460 dane-required).
bool daneOnlyUnmet(const DecisionInput& in, const TlsDecision& d) {
  return in.policy_file->verify == VerifyMode::Dane && !d.skip && d.tlsa.empty();
}

std::string daneRequiredReason(const DecisionInput& in) {
  return "DANE required by " + in.policy_file->source + " but _25._tcp." + in.hop.mx_host +
         " has no usable DNSSEC-validated TLSA records";
}

namespace {

TlsDecision decideFromSources(const DecisionInput& in) {
  const HopInput& hop = in.hop;
  // The floor; an unparsable address simply matches no require_tls_out range.
  TlsDecision d = decideDestinationTls(*in.policy_file, IpAddress::parse(hop.ip).value_or(IpAddress{}));
  d.peer = peerName(hop);
  d.report.domain = hop.smarthost ? hop.mx_host : hop.domain;
  if (in.message.requiretls) {  // RFC 8689 §5: TLS-Required: No is ignored with REQUIRETLS
    applyRequireTls(in, d);
    if (daneOnlyUnmet(in, d)) skipHop(d, Type::DaneRequired, daneRequiredReason(in), kStatusRequireTls);
    return d;
  }
  const bool relaxed = in.message.tls_required_no;

  bool dane = false;
  if (isTlsaFailure(in.tlsa.status)) {
    // RFC 7672 §2.1.1: a host whose TLSA records cannot be validated is not used.
    reportTlsa(d, in.tlsa);
    if (!relaxed) {
      skipHop(d, Type::DnssecInvalid, tlsaFailureReason(in), kStatusTls);
      return d;
    }
    softFail(d, Type::DnssecInvalid, tlsaFailureReason(in));
  } else if (in.tlsa.status == TlsaStatus::Usable && applyDane(in, d)) {
    dane = true;
  } else if (daneApplies(in.tlsa.status)) {
    applyDaneUnusable(in, d);
    dane = true;
  }
  if (daneOnlyUnmet(in, d)) {
    if (!relaxed) {
      skipHop(d, Type::DaneRequired, daneRequiredReason(in), kStatusTls);
      return d;
    }
    softFail(d, Type::DaneRequired, daneRequiredReason(in));
    d.verify = VerifyMode::None;  // nothing to verify against; the sender waived TLS
  }
  // RFC 8461 §2: MTA-STS does not apply where DANE does; never to a smarthost.
  if (!dane && !hop.smarthost) applySts(in, d, relaxed);
  if (d.skip) return d;
  if (relaxed) relaxForTlsRequiredNo(d);
  return d;
}

}  // namespace

TlsDecision decideTls(const DecisionInput& in) {
  TlsDecision d = decideFromSources(in);
  if (d.skip || !in.hop.tls_required) return d;
  // Credentials never travel in clear, and an implicit-TLS port speaks nothing
  // else: this floor sits above every source, TLS-Required: No included.
  if (d.starttls != StartTlsMode::Required || !d.enforce) {
    d.starttls = StartTlsMode::Required;
    d.enforce = true;
    d.policy_source = "smarthost";
  }
  if (in.hop.verify_required && d.verify == VerifyMode::None) d.verify = VerifyMode::Pkix;
  return d;
}

AttemptVerdict classifyAttempt(const TlsDecision& decision, const AttemptObservation& seen) {
  if (decision.skip) {  // the caller should not have connected; say why again
    AttemptVerdict v;
    v.proceed = false;
    v.result = decision.skip_result;
    v.reason = decision.skip_reason;
    v.status = decision.skip_status;
    v.requiretls_refusal = decision.requiretls_refusal;
    return v;
  }
  switch (seen.stage) {
    case AttemptObservation::Stage::Ehlo:
      return classifyEhlo(decision, seen);
    case AttemptObservation::Stage::Handshake:
      return classifyHandshake(decision, seen);
    case AttemptObservation::Stage::TlsEhlo: {
      AttemptVerdict v = classifyHandshake(decision, seen);
      if (!v.proceed || !decision.requiretls || seen.requiretls_offered) return v;
      // RFC 8689 §4.2: the peer must offer REQUIRETLS. TLS itself was fine, so
      // result_type stays what the handshake gave; only delivery stops.
      v.proceed = false;
      v.status = kStatusRequireTls;
      v.requiretls_refusal = RequireTlsRefusal::NoExt;
      v.reason = decision.peer + " does not offer REQUIRETLS after STARTTLS";
      return v;
    }
  }
  return {};
}

}  // namespace tlsrelay
