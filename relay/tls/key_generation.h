// Private-key generation and inspection for the keys tlsrelay signs with
// (DKIM today; the certificate request of the operations issue next). Part of
// the TLS layer so that OpenSSL stays behind its headers: callers get PEM text
// and raw public-key bytes, never a library type.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace tlsrelay {

enum class KeyAlgorithm { Rsa, Ed25519 };

struct GeneratedKey {
  std::string private_key_pem;  // PKCS#8, unencrypted: a secret, never log it
  // What a DKIM key record publishes in p= (RFC 6376 §3.6.1, RFC 8463 §4.2):
  // the DER SubjectPublicKeyInfo for RSA, the bare 32-byte key for Ed25519.
  std::string public_key;
  KeyAlgorithm algorithm = KeyAlgorithm::Rsa;
  int bits = 0;  // RSA modulus size; 256 for Ed25519
};

// RSA with 1024..8192 bits (public exponent 65537); `bits` is ignored for Ed25519.
Result<GeneratedKey> generateKey(KeyAlgorithm algorithm, int bits);

// Reads a PEM private key (PKCS#8 or traditional RSA) and derives what
// generateKey returns for it, so a configured key file can be checked and its
// DNS record printed again. The error never quotes the key.
// (Both functions live in private_key.cc, the one place that handles keys.)
Result<GeneratedKey> inspectPrivateKey(std::string_view pem);

}  // namespace tlsrelay
