#include "relay/tls/private_key.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

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
  int bits = EVP_PKEY_get_bits(impl->key);
  return std::unique_ptr<PrivateKey>(new PrivateKey(std::move(impl), algorithm, bits));
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
