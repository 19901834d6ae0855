// A private key decoded once and used for many signatures (DKIM today). The
// TLS layer owns it so OpenSSL stays behind these headers. Decoding is the
// expensive part under OpenSSL 3 (~310 µs for RSA-2048, more than the
// signature itself), which is why this object exists: see docs/ARCHITECTURE.md.
// Immutable after fromPem(); sign() may run on several threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "relay/tls/key_generation.h"

namespace tlsrelay {

class PrivateKey {
 public:
  // An unencrypted PEM key (PKCS#8 or traditional RSA). Errors never quote it.
  static Result<std::unique_ptr<PrivateKey>> fromPem(std::string_view pem);
  ~PrivateKey();
  PrivateKey(const PrivateKey&) = delete;
  PrivateKey& operator=(const PrivateKey&) = delete;

  KeyAlgorithm algorithm() const { return algorithm_; }
  int bits() const { return bits_; }
  // The key as generateKey() describes one: PKCS#8 PEM and the public key a
  // DKIM record publishes.
  Result<GeneratedKey> exported() const;

  // The signature DKIM asks for over `data`: RSASSA-PKCS1-v1_5 with SHA-256
  // (RFC 6376 §3.3.1), or Ed25519 over the SHA-256 digest of `data`
  // (RFC 8463 §3: PureEdDSA of the hash).
  Result<std::string> signSha256(std::string_view data) const;

 private:
  friend Result<GeneratedKey> generateKey(KeyAlgorithm algorithm, int bits);
  struct Impl;
  PrivateKey(std::unique_ptr<Impl> impl, KeyAlgorithm algorithm, int bits);
  std::unique_ptr<Impl> impl_;
  KeyAlgorithm algorithm_;
  int bits_;
};

// The raw 32-byte SHA-256 digest.
std::string sha256(std::string_view data);

}  // namespace tlsrelay
