// Self-signed certificates, certificate requests and reading them back; see
// certificate_generation.h. Every OpenSSL object is owned by a unique_ptr so
// each early error return frees what was built so far.
#include "relay/tls/certificate_generation.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <ctime>
#include <memory>

#include "common/ascii.h"
#include "common/cidr.h"
#include "common/hex.h"
#include "relay/tls/key_generation.h"
#include "relay/tls/openssl_error.h"

namespace tlsrelay {
namespace {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using Ext = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using Names = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;
using Bignum = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using BasicConstraints =
    std::unique_ptr<BASIC_CONSTRAINTS, Deleter<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>>;

void freeExtensions(STACK_OF(X509_EXTENSION) * s) {
  sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}
using Extensions =
    std::unique_ptr<STACK_OF(X509_EXTENSION), Deleter<STACK_OF(X509_EXTENSION), freeExtensions>>;

// ub-common-name (RFC 5280 Appendix A): a longer host cannot be the CN.
constexpr size_t kMaxCommonName = 64;

Bio memoryBio(std::string_view text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string bioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

Result<Pkey> readPrivateKey(std::string_view pem) {
  Bio in = memoryBio(pem);
  if (!in) return makeError("out of memory");
  // An empty passphrase: an encrypted key fails instead of prompting.
  Pkey key(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, const_cast<char*>("")));
  if (!key) {
    takeOpenSslError();
    return makeError("not an unencrypted PEM private key");
  }
  return key;
}

Result<std::string> publicKeyDer(EVP_PKEY* key) {
  int len = i2d_PUBKEY(key, nullptr);
  if (len <= 0) return makeError("cannot encode the public key: " + takeOpenSslError());
  std::string out(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  i2d_PUBKEY(key, &p);
  return out;
}

std::string describeKey(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return "RSA " + std::to_string(EVP_PKEY_get_bits(key));
    case EVP_PKEY_EC: {
      char group[80] = {};
      size_t len = 0;
      if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) != 1) return "EC";
      const char* nist = EC_curve_nid2nist(OBJ_txt2nid(group));
      return std::string("EC ") + (nist != nullptr ? nist : group);
    }
    case EVP_PKEY_ED25519:
      return "Ed25519";
    default:
      return "unknown key type";
  }
}

bool validDnsName(const std::string& name, bool wildcard_allowed) {
  std::string_view rest = name;
  if (wildcard_allowed && rest.substr(0, 2) == "*.") rest.remove_prefix(2);
  return isLdhDomain(rest);
}

Status addName(SubjectAltNames& out, const std::string& text, bool wildcard_allowed) {
  if (auto ip = IpAddress::parse(text)) {
    std::string canonical = ip->toString();
    for (const auto& seen : out.ip)
      if (seen == canonical) return okStatus();
    out.ip.push_back(canonical);
    return okStatus();
  }
  std::string name = normalizeDomain(text);
  if (!validDnsName(name, wildcard_allowed))
    return makeError("'" + printableAscii(text, 80) + "' is neither a host name" +
                     (wildcard_allowed ? " (optionally *.domain)" : "") + " nor an IP address");
  for (const auto& seen : out.dns)
    if (seen == name) return okStatus();
  out.dns.push_back(name);
  return okStatus();
}

Result<Names> generalNames(const SubjectAltNames& sans) {
  Names names(GENERAL_NAMES_new());
  if (!names) return makeError("out of memory");
  auto push = [&](int type, ASN1_STRING* value) {
    GENERAL_NAME* gen = GENERAL_NAME_new();
    if (gen == nullptr) {
      ASN1_STRING_free(value);
      return false;
    }
    GENERAL_NAME_set0_value(gen, type, value);
    if (sk_GENERAL_NAME_push(names.get(), gen) == 0) {
      GENERAL_NAME_free(gen);
      return false;
    }
    return true;
  };
  for (const auto& dns : sans.dns) {
    ASN1_IA5STRING* value = ASN1_IA5STRING_new();
    if (value != nullptr && ASN1_STRING_set(value, dns.data(), static_cast<int>(dns.size())) != 1) {
      ASN1_IA5STRING_free(value);  // push() owns it only once it is called
      value = nullptr;
    }
    if (value == nullptr || !push(GEN_DNS, value)) return makeError("cannot encode the name " + dns);
  }
  for (const auto& ip : sans.ip) {
    auto address = IpAddress::parse(ip);  // canonical text from addName: cannot fail
    const uint8_t* bytes = address->is_v4 ? &address->bytes[12] : address->bytes.data();
    int length = address->is_v4 ? 4 : 16;
    ASN1_OCTET_STRING* value = ASN1_OCTET_STRING_new();
    if (value != nullptr && ASN1_OCTET_STRING_set(value, bytes, length) != 1) {
      ASN1_OCTET_STRING_free(value);
      value = nullptr;
    }
    if (value == nullptr || !push(GEN_IPADD, value)) return makeError("cannot encode the address " + ip);
  }
  return names;
}

Result<SubjectAltNames> readGeneralNames(const GENERAL_NAMES* names) {
  SubjectAltNames out;
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gen = sk_GENERAL_NAME_value(names, i);
    int type = 0;
    auto* value = static_cast<const ASN1_STRING*>(GENERAL_NAME_get0_value(gen, &type));
    if (value == nullptr) continue;
    std::string bytes(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                      static_cast<size_t>(ASN1_STRING_length(value)));
    if (type == GEN_DNS) {
      out.dns.push_back(bytes);
    } else if (type == GEN_IPADD && (bytes.size() == 4 || bytes.size() == 16)) {
      IpAddress ip;
      if (bytes.size() == 4)
        ip = IpAddress::fromV4Bytes(bytes.data());
      else
        std::memcpy(ip.bytes.data(), bytes.data(), 16);
      out.ip.push_back(ip.toString());
    }
  }
  return out;
}

// One extension from OpenSSL's configuration syntax; only ever called with
// constant text, never with a name from the command line.
Result<Ext> configExtension(X509V3_CTX* ctx, int nid, const char* value) {
  Ext ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!ext) return makeError(std::string("cannot build the ") + OBJ_nid2sn(nid) + " extension");
  return ext;
}

Status setSubject(X509_NAME* subject, const std::string& host) {
  if (host.size() > kMaxCommonName)
    return makeError("--host " + host + " is longer than the 64 characters a certificate's CN may have");
  if (X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(host.c_str()), -1, -1, 0) != 1)
    return makeError("cannot set the subject: " + takeOpenSslError());
  return okStatus();
}

// The subject CN: the host as validated (lower case), or the IP text.
std::string commonNameFor(const CertificateNames& names) {
  if (auto ip = IpAddress::parse(names.host)) return ip->toString();
  return normalizeDomain(names.host);
}

Result<std::string> toPem(X509* cert) {
  Bio out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509(out.get(), cert) != 1)
    return makeError("cannot write the certificate: " + takeOpenSslError());
  return bioText(out.get());
}

int64_t unixTime(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

std::string commonNameOf(const X509_NAME* name) {
  int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return "";
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                     static_cast<size_t>(ASN1_STRING_length(value)));
}

}  // namespace

Result<SubjectAltNames> subjectAltNamesFor(const CertificateNames& names) {
  SubjectAltNames out;
  if (names.host.empty()) return makeError("--host is required");
  if (auto s = addName(out, names.host, false); !s.ok()) return makeError("--host: " + s.error().message);
  for (const auto& name : names.alt_names)
    if (auto s = addName(out, name, true); !s.ok()) return makeError("--san: " + s.error().message);
  return out;
}

Result<std::string> generateServerKey(CertificateKeyType type) {
  if (type == CertificateKeyType::Rsa2048) {
    auto key = generateKey(KeyAlgorithm::Rsa, 2048);  // private_key.cc: the one RSA key generator
    if (!key.ok()) return key.error();
    return std::move(key->private_key_pem);
  }
  Pkey key(EVP_EC_gen("P-256"));
  if (!key) return makeError("key generation failed: " + takeOpenSslError());
  Bio out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_PrivateKey(out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return makeError("cannot write the private key as PEM: " + takeOpenSslError());
  return bioText(out.get());
}

Result<std::string> makeSelfSignedCertificate(std::string_view key_pem, const CertificateNames& names,
                                              int days, int64_t now) {
  if (days < 1 || days > 3650) return makeError("--days must be between 1 and 3650");
  auto sans = subjectAltNamesFor(names);
  if (!sans.ok()) return sans.error();
  auto key = readPrivateKey(key_pem);
  if (!key.ok()) return key.error();
  X509Ptr cert(X509_new());
  if (!cert) return makeError("out of memory");
  X509_set_version(cert.get(), X509_VERSION_3);

  // RFC 5280 §4.1.2.2: a positive serial of at most 20 octets; 128 random bits.
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return makeError("no randomness: " + takeOpenSslError());
  serial[0] &= 0x7f;
  serial[0] |= 0x01;  // never zero, never negative
  Bignum bn(BN_bin2bn(serial, sizeof serial, nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) == nullptr)
    return makeError("cannot set the serial number");

  // ASN1_TIME_set picks UTCTime before 2050 and GeneralizedTime after (RFC 5280 §4.1.2.5).
  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(now)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(now + int64_t{days} * 86400)) ==
          nullptr)
    return makeError("cannot set the validity period");

  if (auto s = setSubject(X509_get_subject_name(cert.get()), commonNameFor(names)); !s.ok()) return s.error();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  if (X509_set_pubkey(cert.get(), key->get()) != 1) return makeError("cannot set the public key");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  bool rsa = EVP_PKEY_get_base_id(key->get()) == EVP_PKEY_RSA;
  struct {
    int nid;
    const char* value;
  } constant_extensions[] = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      // RSA key exchange (TLS 1.2 RSA suites) enciphers with the key.
      {NID_key_usage, rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth"},
      {NID_subject_key_identifier, "hash"},
  };
  for (const auto& e : constant_extensions) {
    auto ext = configExtension(&ctx, e.nid, e.value);
    if (!ext.ok()) return ext.error();
    if (X509_add_ext(cert.get(), ext->get(), -1) != 1) return makeError("cannot add an extension");
  }
  auto gens = generalNames(*sans);
  if (!gens.ok()) return gens.error();
  if (X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, gens->get(), 0, X509V3_ADD_DEFAULT) != 1)
    return makeError("cannot add the subjectAltName extension");

  if (X509_sign(cert.get(), key->get(), EVP_sha256()) <= 0)
    return makeError("cannot sign the certificate: " + takeOpenSslError());
  return toPem(cert.get());
}

Result<std::string> makeCertificateRequest(std::string_view key_pem, const CertificateNames& names) {
  auto sans = subjectAltNamesFor(names);
  if (!sans.ok()) return sans.error();
  auto key = readPrivateKey(key_pem);
  if (!key.ok()) return key.error();
  ReqPtr req(X509_REQ_new());
  if (!req) return makeError("out of memory");
  X509_REQ_set_version(req.get(), X509_REQ_VERSION_1);  // RFC 2986 §4.1: version 0
  if (auto s = setSubject(X509_REQ_get_subject_name(req.get()), commonNameFor(names)); !s.ok())
    return s.error();
  if (X509_REQ_set_pubkey(req.get(), key->get()) != 1) return makeError("cannot set the public key");

  auto gens = generalNames(*sans);
  if (!gens.ok()) return gens.error();
  Extensions exts(sk_X509_EXTENSION_new_null());
  Ext san(X509V3_EXT_i2d(NID_subject_alt_name, 0, gens->get()));
  if (!exts || !san || sk_X509_EXTENSION_push(exts.get(), san.get()) == 0)
    return makeError("cannot build the subjectAltName extension");
  san.release();  // owned by `exts` now
  // RFC 2986 §4.1 attributes / RFC 2985 §5.4.2 extensionRequest.
  if (X509_REQ_add_extensions(req.get(), exts.get()) != 1)
    return makeError("cannot add the requested extensions: " + takeOpenSslError());

  if (X509_REQ_sign(req.get(), key->get(), EVP_sha256()) <= 0)
    return makeError("cannot sign the request: " + takeOpenSslError());
  Bio out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509_REQ(out.get(), req.get()) != 1)
    return makeError("cannot write the request: " + takeOpenSslError());
  return bioText(out.get());
}

Result<CertificateInfo> inspectCertificate(std::string_view pem) {
  Bio in = memoryBio(pem);
  X509Ptr cert(in ? PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) {
    takeOpenSslError();
    return makeError("not a PEM certificate");
  }
  CertificateInfo info;
  info.subject_cn = commonNameOf(X509_get_subject_name(cert.get()));
  Names gens(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  auto sans = readGeneralNames(gens.get());
  if (!sans.ok()) return sans.error();
  info.alt_names = std::move(*sans);
  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  if (key == nullptr) return makeError("the certificate's public key cannot be read");
  auto der = publicKeyDer(key);
  if (!der.ok()) return der.error();
  info.public_key_der = std::move(*der);
  info.key_description = describeKey(key);
  info.signature_valid = X509_verify(cert.get(), key) == 1;
  info.not_before = unixTime(X509_get0_notBefore(cert.get()));
  info.not_after = unixTime(X509_get0_notAfter(cert.get()));
  BasicConstraints bc(
      static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(cert.get(), NID_basic_constraints, nullptr, nullptr)));
  info.is_ca = bc && bc->ca;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert.get(), EVP_sha256(), md, &length) == 1) {
    info.sha256_fingerprint =
        hexBytes(std::string_view(reinterpret_cast<const char*>(md), length), HexCase::Upper, ':');
  }
  takeOpenSslError();  // a failed self-signature check leaves errors queued
  return info;
}

Result<CertificateInfo> inspectCertificateRequest(std::string_view pem) {
  Bio in = memoryBio(pem);
  ReqPtr req(in ? PEM_read_bio_X509_REQ(in.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!req) {
    takeOpenSslError();
    return makeError("not a PEM certificate request");
  }
  CertificateInfo info;
  info.subject_cn = commonNameOf(X509_REQ_get_subject_name(req.get()));
  Extensions exts(X509_REQ_get_extensions(req.get()));
  for (int i = 0; exts && i < sk_X509_EXTENSION_num(exts.get()); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts.get(), i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
    Names gens(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext)));
    auto sans = readGeneralNames(gens.get());
    if (!sans.ok()) return sans.error();
    info.alt_names = std::move(*sans);
  }
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (key == nullptr) return makeError("the request's public key cannot be read");
  auto der = publicKeyDer(key);
  if (!der.ok()) return der.error();
  info.public_key_der = std::move(*der);
  info.key_description = describeKey(key);
  info.signature_valid = X509_REQ_verify(req.get(), key) == 1;
  takeOpenSslError();
  return info;
}

Result<std::string> publicKeyOfPrivateKey(std::string_view key_pem) {
  auto key = readPrivateKey(key_pem);
  if (!key.ok()) return key.error();
  return publicKeyDer(key->get());
}

}  // namespace tlsrelay
