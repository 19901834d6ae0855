#include "relay/tls/private_key.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "relay/tls/openssl_error.h"

namespace tlsrelay {
namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// Fetched once: an implicit fetch per signature costs a provider-store lock.
const EVP_MD* sha256Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

}  // namespace

struct PrivateKey::Impl {
  EVP_PKEY* key = nullptr;
  ~Impl() { EVP_PKEY_free(key); }
};

PrivateKey::PrivateKey(std::unique_ptr<Impl> impl, KeyAlgorithm algorithm, int bits)
    : impl_(std::move(impl)), algorithm_(algorithm), bits_(bits) {}
PrivateKey::~PrivateKey() = default;

Result<std::unique_ptr<PrivateKey>> PrivateKey::fromPem(std::string_view pem) {
  BIO* mem = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (mem == nullptr) return makeError("out of memory");
  auto impl = std::make_unique<Impl>();
  impl->key = PEM_read_bio_PrivateKey(mem, nullptr, nullptr, const_cast<char*>(""));
  BIO_free(mem);
  if (impl->key == nullptr) {
    takeOpenSslError();
    return makeError("not an unencrypted PEM private key");
  }
  KeyAlgorithm algorithm;
  switch (EVP_PKEY_get_base_id(impl->key)) {
    case EVP_PKEY_RSA:
      algorithm = KeyAlgorithm::Rsa;
      break;
    case EVP_PKEY_ED25519:
      algorithm = KeyAlgorithm::Ed25519;
      break;
    default:
      return makeError("the key is neither RSA nor Ed25519");
  }
  int bits = algorithm == KeyAlgorithm::Ed25519 ? 256 : EVP_PKEY_get_bits(impl->key);
  return std::unique_ptr<PrivateKey>(new PrivateKey(std::move(impl), algorithm, bits));
}

Result<GeneratedKey> PrivateKey::exported() const {
  GeneratedKey out;
  out.algorithm = algorithm_;
  out.bits = bits_;
  EVP_PKEY* key = impl_->key;
  if (algorithm_ == KeyAlgorithm::Rsa) {
    int len = i2d_PUBKEY(key, nullptr);
    if (len <= 0) return makeError("cannot encode the RSA public key: " + takeOpenSslError());
    out.public_key.resize(static_cast<size_t>(len));
    auto* p = reinterpret_cast<unsigned char*>(out.public_key.data());
    i2d_PUBKEY(key, &p);
  } else {
    size_t len = 0;
    if (EVP_PKEY_get_raw_public_key(key, nullptr, &len) != 1)
      return makeError("cannot read the Ed25519 public key: " + takeOpenSslError());
    out.public_key.resize(len);
    EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(out.public_key.data()), &len);
  }
  BIO* mem = BIO_new(BIO_s_mem());
  if (mem == nullptr || PEM_write_bio_PrivateKey(mem, key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    BIO_free(mem);
    return makeError("cannot write the private key as PEM: " + takeOpenSslError());
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(mem, &data);
  out.private_key_pem.assign(data, static_cast<size_t>(n));
  BIO_free(mem);
  return out;
}

Result<GeneratedKey> generateKey(KeyAlgorithm algorithm, int bits) {
  EVP_PKEY* raw = nullptr;
  if (algorithm == KeyAlgorithm::Rsa) {
    if (bits < 1024 || bits > 8192) return makeError("RSA keys must have 1024 to 8192 bits");
    raw = EVP_RSA_gen(static_cast<unsigned>(bits));
  } else {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  }
  if (raw == nullptr) return makeError("key generation failed: " + takeOpenSslError());
  auto impl = std::make_unique<PrivateKey::Impl>();
  impl->key = raw;
  int size = algorithm == KeyAlgorithm::Ed25519 ? 256 : EVP_PKEY_get_bits(raw);
  return PrivateKey(std::move(impl), algorithm, size).exported();
}

Result<GeneratedKey> inspectPrivateKey(std::string_view pem) {
  auto key = PrivateKey::fromPem(pem);
  if (!key.ok()) return key.error();
  return (*key)->exported();
}

Result<std::string> PrivateKey::signSha256(std::string_view data) const {
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) return makeError("out of memory");
  std::string digest;
  std::string_view input = data;
  const EVP_MD* md = sha256Md();
  if (algorithm_ == KeyAlgorithm::Ed25519) {
    digest = sha256(data);
    input = digest;
    md = nullptr;  // Ed25519 takes no digest parameter: it signs the bytes it is given
  }
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, impl_->key) != 1)
    return makeError("signature set-up failed: " + takeOpenSslError());
  size_t length = 0;
  auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &length, in, input.size()) != 1)
    return makeError("signature failed: " + takeOpenSslError());
  std::string out(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &length, in, input.size()) != 1)
    return makeError("signature failed: " + takeOpenSslError());
  out.resize(length);
  return out;
}

std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), md, &length, sha256Md(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), length);
}

}  // namespace tlsrelay
