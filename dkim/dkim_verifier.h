// Verifying every DKIM signature on a message (RFC 6376 §6) through
// libopendkim, with the key records fetched by a KeySource, so the DNSSEC
// status of each key is known and tests answer from a private zone. The
// verdicts are RFC 8601 §2.7.1's; RKEY acceptance and the
// Authentication-Results stage read them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace tlsrelay::dkim {

enum class Verdict { Pass, Fail, Neutral, Policy, TempError, PermError };
const char* verdictName(Verdict v);  // "pass", "fail", … as RFC 8601 writes them

enum class KeyDnssec { Unknown, Secure, Insecure, Bogus };

struct SignatureVerdict {
  Verdict verdict = Verdict::Neutral;
  std::string reason;            // why it is not a pass; empty on pass
  std::string domain;            // d=
  std::string identity;          // i= (defaults to "@" + d=)
  std::string selector;          // s=
  std::string algorithm;         // a=
  std::string signature_prefix;  // the first characters of b= (RFC 6008 header.b)
  bool testing = false;          // the key record says t=y: the domain is testing DKIM
  KeyDnssec key_dnssec = KeyDnssec::Unknown;
  unsigned key_bits = 0;
};

// Where key records come from. BLOCKING; called on the verifying thread.
class KeySource {
 public:
  struct Lookup {
    enum class Status { Found, NotFound, TempFail };
    Status status = Status::NotFound;
    std::vector<std::string> records;  // each TXT record's strings joined
    KeyDnssec dnssec = KeyDnssec::Unknown;
  };
  virtual ~KeySource() = default;
  virtual Lookup lookup(const std::string& name) = 0;  // "<selector>._domainkey.<domain>"
};

struct VerifyOptions {
  unsigned min_rsa_bits = 1024;  // RFC 8301 §3.2; smaller keys give Policy
};

class Verifier {
 public:
  static Result<std::unique_ptr<Verifier>> create(VerifyOptions options = {});
  ~Verifier();
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  // One verdict per DKIM-Signature field, in header order; empty when the
  // message carries none. Thread-safe.
  std::vector<SignatureVerdict> verify(std::string_view message, KeySource& keys) const;

 private:
  struct Impl;
  explicit Verifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tlsrelay::dkim
