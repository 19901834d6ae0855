// Server certificates the relay makes for itself: a self-signed certificate
// for a container that has none yet, and a PKCS#10 request to hand to a CA
// (`tlsrelay cert selfsigned | request`). Part of the TLS layer so OpenSSL
// stays behind its headers: callers pass and get PEM text. The inspection
// functions read a certificate or request back, for the CLI's summary and for
// tests that check what was written.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace tlsrelay {

enum class CertificateKeyType {
  EcdsaP256,  // prime256v1: small, fast, accepted by every TLS 1.2+ client
  Rsa2048,    // for peers that still cannot do ECDSA
};

// Who the certificate is for: `host` is the subject CN and always the first
// subject alternative name; `alt_names` are further names, each a host name
// (a leading "*." wildcard label is allowed) or an IP literal.
struct CertificateNames {
  std::string host;
  std::vector<std::string> alt_names;
};

// The subjectAltName entries, in order, without duplicates: DNS names in
// lower case, IP addresses in their canonical text form.
struct SubjectAltNames {
  std::vector<std::string> dns;
  std::vector<std::string> ip;
  bool operator==(const SubjectAltNames&) const = default;
};

// Validates `names` and returns the SAN list the certificate will carry. An
// IP literal as `host` becomes an IP entry (a DNS entry "192.0.2.1" would
// match nothing). The error names the bad entry.
Result<SubjectAltNames> subjectAltNamesFor(const CertificateNames& names);

// A fresh private key as unencrypted PKCS#8 PEM (a secret: never log it).
Result<std::string> generateServerKey(CertificateKeyType type);

// An X.509 v3 end-entity certificate signed with its own key: CN = host, the
// SANs above, valid from `now` for `days` days (1..3650), basicConstraints
// CA:FALSE, keyUsage digitalSignature (+ keyEncipherment for RSA), extended
// key usage serverAuth, a random 128-bit serial; signed with SHA-256.
Result<std::string> makeSelfSignedCertificate(std::string_view key_pem, const CertificateNames& names,
                                              int days, int64_t now);

// A PKCS#10 request (RFC 2986) with CN = host and the SANs above as a requested
// extension, signed with SHA-256 by `key_pem`.
Result<std::string> makeCertificateRequest(std::string_view key_pem, const CertificateNames& names);

// What a certificate or certificate request says about itself.
struct CertificateInfo {
  std::string subject_cn;
  SubjectAltNames alt_names;
  std::string public_key_der;   // DER SubjectPublicKeyInfo
  std::string key_description;  // "EC P-256", "RSA 2048"
  // Certificate: verifies with its own public key (self-signed). Request: the
  // proof of possession verifies.
  bool signature_valid = false;
  // Certificates only:
  int64_t not_before = 0;
  int64_t not_after = 0;  // unix seconds; 0 when the field cannot be read
  bool is_ca = false;
  std::string sha256_fingerprint;  // of the DER, "AB:CD:..."
};

Result<CertificateInfo> inspectCertificate(std::string_view pem);
Result<CertificateInfo> inspectCertificateRequest(std::string_view pem);

// The DER SubjectPublicKeyInfo of a PEM private key, to compare with
// CertificateInfo::public_key_der ("does this key belong to that certificate?").
// The error never quotes the key.
Result<std::string> publicKeyOfPrivateKey(std::string_view key_pem);

}  // namespace tlsrelay
