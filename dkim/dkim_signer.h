// Signing one message with one DKIM key (RFC 6376 §5; rsa-sha256, and
// ed25519-sha256 of RFC 8463). Written here rather than through libopendkim,
// which decodes the private key again for every message (3.6× short of the
// RSA sign rate, 16.7× for Ed25519: docs/ARCHITECTURE.md); the key is decoded
// once (relay/tls/private_key.h) and canonicalisation is dkim/canonicalization.h.
// libopendkim still verifies, and the tests have it, dkimpy and opendkim
// check what this signs. The private key lives in this object only: no
// accessor returns it and no error quotes it. A Signer is immutable after
// create(), and sign() may run on several threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "dkim/canonicalization.h"
#include "dkim/dkim_key_record.h"

namespace tlsrelay::dkim {

struct SigningKey {
  std::string domain;           // d=
  std::string selector;         // s=
  std::string private_key_pem;  // secret
};

struct SignOptions {
  Canonicalization header_canon = Canonicalization::Relaxed;
  Canonicalization body_canon = Canonicalization::Relaxed;
  // Fields signed when present (every instance). Empty: defaultSignedHeaders().
  std::vector<std::string> headers;
  // Fields listed once more than they occur, so that adding one breaks the
  // signature (RFC 6376 §8.15). Signed even when absent.
  std::vector<std::string> oversign;
  std::chrono::seconds expire_after{0};  // x= this long after t=; 0: no x=
  std::optional<int64_t> fixed_time;     // t= for tests; nullopt: the clock
};

// RFC 6376 §5.4.1's list, plus the RFC 8460 report fields and List-Unsubscribe-Post.
const std::vector<std::string>& defaultSignedHeaders();
// The fields a message carries at most once (RFC 5322 §3.6) that a replay
// or a mailing list would most like to add: From first.
const std::vector<std::string>& defaultOversignedHeaders();

class Signer {
 public:
  // Checks the key (type, size ≥ 1024 bits for RSA) and the header names.
  static Result<std::unique_ptr<Signer>> create(SigningKey key, SignOptions options);
  ~Signer();
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;

  // The DKIM-Signature field for `message` (CRLF line ends, not
  // dot-stuffed): "DKIM-Signature: v=1; a=…\r\n", folded, ready to prepend.
  Result<std::string> sign(std::string_view message) const;

  const std::string& domain() const { return key_.domain; }
  const std::string& selector() const { return key_.selector; }
  KeyType keyType() const { return type_; }
  int keyBits() const { return bits_; }
  const char* algorithmName() const { return type_ == KeyType::Rsa ? "rsa-sha256" : "ed25519-sha256"; }

 private:
  struct Impl;
  Signer(SigningKey key, SignOptions options, std::unique_ptr<Impl> impl, KeyType type, int bits);

  SigningKey key_;
  SignOptions options_;
  std::unique_ptr<Impl> impl_;
  KeyType type_;
  int bits_;
};

}  // namespace tlsrelay::dkim
