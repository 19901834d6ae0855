#include "dkim/dkim_verifier.h"

#include <cstring>
#include <map>

#include "common/ascii.h"
#include "dkim/dkim_key_record.h"
#include "dkim/opendkim_library.h"
#include "message/header_section.h"

namespace tlsrelay::dkim {
namespace {

// What our key lookup learned about one signature: libopendkim's callback
// protocol has no "temporary failure" a signature keeps (TRYAGAIN aborts the
// whole message), so a DNS failure is reported as "no key" and noted here.
struct LookupNote {
  bool temp_failure = false;
  KeyDnssec dnssec = KeyDnssec::Unknown;
};

struct Context {
  KeySource* keys = nullptr;
  std::map<const DKIM_SIGINFO*, LookupNote> notes;
};

std::string_view chosenRecord(const std::vector<std::string>& records) {
  // RFC 6376 §3.6.2.2 leaves the choice among several records to us: the
  // first that says it is a DKIM key, else the first (v= is optional).
  for (const std::string& r : records) {
    if (r.rfind("v=DKIM1", 0) == 0) return r;
  }
  return records.front();
}

DKIM_CBSTAT lookupKey(DKIM* handle, DKIM_SIGINFO* sig, u_char* buf, size_t buflen) {
  auto* ctx = static_cast<Context*>(dkim_get_user_context(handle));
  const char* selector = reinterpret_cast<const char*>(dkim_sig_getselector(sig));
  const char* domain = reinterpret_cast<const char*>(dkim_sig_getdomain(sig));
  if (ctx == nullptr || selector == nullptr || domain == nullptr) return DKIM_CBSTAT_NOTFOUND;
  KeySource::Lookup found = ctx->keys->lookup(keyRecordName(selector, domain));
  LookupNote& note = ctx->notes[sig];
  note.dnssec = found.dnssec;
  if (found.status == KeySource::Lookup::Status::TempFail) {
    note.temp_failure = true;
    return DKIM_CBSTAT_NOTFOUND;
  }
  if (found.status == KeySource::Lookup::Status::NotFound || found.records.empty())
    return DKIM_CBSTAT_NOTFOUND;
  std::string_view record = chosenRecord(found.records);
  if (record.size() + 1 > buflen) return DKIM_CBSTAT_NOTFOUND;
  std::memcpy(buf, record.data(), record.size());
  buf[record.size()] = '\0';
  return DKIM_CBSTAT_CONTINUE;
}

bool isSignatureSyntaxError(int error) {
  switch (error) {
    case DKIM_SIGERROR_VERSION:
    case DKIM_SIGERROR_DOMAIN:
    case DKIM_SIGERROR_TIMESTAMPS:
    case DKIM_SIGERROR_INVALID_HC:
    case DKIM_SIGERROR_INVALID_BC:
    case DKIM_SIGERROR_MISSING_A:
    case DKIM_SIGERROR_INVALID_A:
    case DKIM_SIGERROR_MISSING_H:
    case DKIM_SIGERROR_INVALID_L:
    case DKIM_SIGERROR_INVALID_Q:
    case DKIM_SIGERROR_INVALID_QO:
    case DKIM_SIGERROR_MISSING_D:
    case DKIM_SIGERROR_EMPTY_D:
    case DKIM_SIGERROR_MISSING_S:
    case DKIM_SIGERROR_EMPTY_S:
    case DKIM_SIGERROR_MISSING_B:
    case DKIM_SIGERROR_EMPTY_B:
    case DKIM_SIGERROR_CORRUPT_B:
    case DKIM_SIGERROR_MISSING_BH:
    case DKIM_SIGERROR_EMPTY_BH:
    case DKIM_SIGERROR_CORRUPT_BH:
    case DKIM_SIGERROR_SUBDOMAIN:
    case DKIM_SIGERROR_EMPTY_H:
    case DKIM_SIGERROR_TOOLARGE_L:
    case DKIM_SIGERROR_MISSING_V:
    case DKIM_SIGERROR_EMPTY_V:
      return true;
    default:
      return false;
  }
}

// RFC 8601 §2.7.1 for one signature. Syntax errors in the signature are
// "neutral" (it could not be processed); a key that is absent, revoked or
// unusable, or an expired signature, is "permerror" (RFC 6376 §6.1 PERMFAIL
// that no retry changes); only a hash or signature mismatch is "fail".
Verdict verdictOf(DKIM_SIGINFO* sig, const LookupNote* note) {
  unsigned flags = dkim_sig_getflags(sig);
  int error = dkim_sig_geterror(sig);
  if ((flags & DKIM_SIGFLAG_PASSED) != 0 && dkim_sig_getbh(sig) == DKIM_SIGBH_MATCH) return Verdict::Pass;
  if (note != nullptr && note->temp_failure) return Verdict::TempError;
  if (note != nullptr && note->dnssec == KeyDnssec::Bogus) return Verdict::TempError;
  switch (error) {
    case DKIM_SIGERROR_KEYFAIL:
    case DKIM_SIGERROR_MULTIREPLY:
      return Verdict::TempError;
    case DKIM_SIGERROR_KEYTOOSMALL:
      return Verdict::Policy;
    case DKIM_SIGERROR_BADSIG:
      return Verdict::Fail;
    default:
      break;
  }
  if (isSignatureSyntaxError(error)) return Verdict::Neutral;
  if (error != DKIM_SIGERROR_OK && error != DKIM_SIGERROR_UNKNOWN) return Verdict::PermError;
  if ((flags & DKIM_SIGFLAG_PROCESSED) != 0) return Verdict::Fail;  // body hash mismatch
  return Verdict::Neutral;
}

std::string reasonOf(DKIM_SIGINFO* sig, Verdict verdict, const LookupNote* note) {
  if (verdict == Verdict::Pass) return "";
  if (note != nullptr && note->temp_failure) return "key lookup failed temporarily";
  if (note != nullptr && note->dnssec == KeyDnssec::Bogus) return "key record failed DNSSEC validation";
  int error = dkim_sig_geterror(sig);
  if (error == DKIM_SIGERROR_OK || error == DKIM_SIGERROR_UNKNOWN) {
    if (dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH) return "body hash did not verify";
    return verdict == Verdict::Fail ? "signature did not verify" : "signature not processed";
  }
  const char* text = dkim_sig_geterrorstr(error);
  return text != nullptr ? text : "unknown error";
}

std::string tagValue(DKIM_SIGINFO* sig, const char* tag) {
  u_char* v = dkim_sig_gettagvalue(sig, false, reinterpret_cast<u_char*>(const_cast<char*>(tag)));
  return v != nullptr ? reinterpret_cast<const char*>(v) : "";
}

std::string signaturePrefix(const std::string& b) {
  std::string out;
  for (char c : b) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    out.push_back(c);
    if (out.size() == 8) break;
  }
  return out;
}

}  // namespace

const char* verdictName(Verdict v) {
  switch (v) {
    case Verdict::Pass:
      return "pass";
    case Verdict::Fail:
      return "fail";
    case Verdict::Neutral:
      return "neutral";
    case Verdict::Policy:
      return "policy";
    case Verdict::TempError:
      return "temperror";
    case Verdict::PermError:
      return "permerror";
  }
  return "neutral";
}

struct Verifier::Impl {
  Library lib;
};

Verifier::Verifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Verifier::~Verifier() = default;

Result<std::unique_ptr<Verifier>> Verifier::create(VerifyOptions options) {
  auto lib = openLibrary();
  if (!lib.ok()) return lib.error();
  auto impl = std::make_unique<Impl>();
  impl->lib = std::move(*lib);
  DKIM_LIB* l = impl->lib.get();
  unsigned bits = options.min_rsa_bits;
  if (dkim_options(l, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &bits, sizeof bits) != DKIM_STAT_OK)
    return makeError("libopendkim refused the minimum key size");
  if (dkim_set_key_lookup(l, lookupKey) != DKIM_STAT_OK)
    return makeError("libopendkim refused the key lookup");
  return std::unique_ptr<Verifier>(new Verifier(std::move(impl)));
}

std::vector<SignatureVerdict> Verifier::verify(std::string_view message, KeySource& keys) const {
  std::vector<SignatureVerdict> out;
  // libopendkim measures header fields with strlen in places and copies them
  // by length in others: a NUL in the header section reads past its buffers.
  // RFC 5322 forbids NUL there, so no signature over such a header can be
  // checked; each one is a permerror.
  if (headerSection(message).find('\0') != std::string_view::npos) {
    for (std::string_view field : splitRawHeaderFields(message).fields) {
      size_t colon = field.find(':');
      // trimWsp: obs-field-name allows WSP before the colon.
      std::string_view name = trimWsp(field.substr(0, colon == std::string_view::npos ? 0 : colon));
      if (!equalsIgnoreCase(name, "DKIM-Signature")) continue;
      SignatureVerdict v;
      v.verdict = Verdict::PermError;
      v.reason = "the header section contains a NUL byte";
      out.push_back(std::move(v));
    }
    return out;
  }
  DKIM_STAT st = DKIM_STAT_OK;
  Handle handle(dkim_verify(impl_->lib.get(), reinterpret_cast<const u_char*>("tlsrelay"), nullptr, &st));
  if (!handle) return out;
  Context ctx;
  ctx.keys = &keys;
  dkim_set_user_context(handle.get(), &ctx);
  st = feedMessage(handle.get(), message);
  // NOSIG at the end of the header: nothing to verify. Other statuses still
  // leave a signature list to read.
  if (st == DKIM_STAT_OK) dkim_eom(handle.get(), nullptr);
  DKIM_SIGINFO** sigs = nullptr;
  int count = 0;
  if (dkim_getsiglist(handle.get(), &sigs, &count) != DKIM_STAT_OK || sigs == nullptr) return out;
  for (int i = 0; i < count; ++i) {
    DKIM_SIGINFO* sig = sigs[i];
    auto it = ctx.notes.find(sig);
    const LookupNote* note = it == ctx.notes.end() ? nullptr : &it->second;
    SignatureVerdict v;
    v.verdict = verdictOf(sig, note);
    v.reason = reasonOf(sig, v.verdict, note);
    v.domain = tagValue(sig, "d");
    v.selector = tagValue(sig, "s");
    v.algorithm = tagValue(sig, "a");
    v.signature_prefix = signaturePrefix(tagValue(sig, "b"));
    u_char identity[512] = {0};
    if (dkim_sig_getidentity(handle.get(), sig, identity, sizeof identity - 1) == DKIM_STAT_OK)
      v.identity = reinterpret_cast<const char*>(identity);
    v.testing = (dkim_sig_getflags(sig) & DKIM_SIGFLAG_TESTKEY) != 0;
    if (note != nullptr) v.key_dnssec = note->dnssec;
    unsigned bits = 0;
    if (dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK) v.key_bits = bits;
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace tlsrelay::dkim
