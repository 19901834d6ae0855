#include "relay/tls/key_generation.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "relay/tls/openssl_error.h"

namespace tlsrelay {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Bio = std::unique_ptr<BIO, BioFree>;

Result<GeneratedKey> describe(EVP_PKEY* key) {
  GeneratedKey out;
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: {
      out.algorithm = KeyAlgorithm::Rsa;
      out.bits = EVP_PKEY_get_bits(key);
      int len = i2d_PUBKEY(key, nullptr);
      if (len <= 0) return makeError("cannot encode the RSA public key: " + takeOpenSslError());
      out.public_key.resize(static_cast<size_t>(len));
      auto* p = reinterpret_cast<unsigned char*>(out.public_key.data());
      i2d_PUBKEY(key, &p);
      break;
    }
    case EVP_PKEY_ED25519: {
      out.algorithm = KeyAlgorithm::Ed25519;
      out.bits = 256;
      size_t len = 0;
      if (EVP_PKEY_get_raw_public_key(key, nullptr, &len) != 1)
        return makeError("cannot read the Ed25519 public key: " + takeOpenSslError());
      out.public_key.resize(len);
      EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(out.public_key.data()), &len);
      break;
    }
    default:
      return makeError("the key is neither RSA nor Ed25519");
  }
  Bio mem(BIO_new(BIO_s_mem()));
  if (!mem || PEM_write_bio_PrivateKey(mem.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return makeError("cannot write the private key as PEM: " + takeOpenSslError());
  char* data = nullptr;
  long n = BIO_get_mem_data(mem.get(), &data);
  out.private_key_pem.assign(data, static_cast<size_t>(n));
  return out;
}

}  // namespace

Result<GeneratedKey> generateKey(KeyAlgorithm algorithm, int bits) {
  EVP_PKEY* raw = nullptr;
  if (algorithm == KeyAlgorithm::Rsa) {
    if (bits < 1024 || bits > 8192) return makeError("RSA keys must have 1024 to 8192 bits");
    raw = EVP_RSA_gen(static_cast<unsigned>(bits));
  } else {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  }
  Pkey key(raw);
  if (!key) return makeError("key generation failed: " + takeOpenSslError());
  return describe(key.get());
}

Result<GeneratedKey> inspectPrivateKey(std::string_view pem) {
  Bio mem(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!mem) return makeError("out of memory");
  // A null password callback with an empty password: an encrypted key fails
  // instead of prompting on the terminal.
  Pkey key(PEM_read_bio_PrivateKey(mem.get(), nullptr, nullptr, const_cast<char*>("")));
  if (!key) {
    takeOpenSslError();
    return makeError("not an unencrypted PEM private key");
  }
  return describe(key.get());
}

}  // namespace tlsrelay
