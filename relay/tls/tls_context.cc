// Builds OpenSSL SSL_CTX objects from settings: protocol floor, cipher policy,
// certificates and (possibly encrypted) private keys. All policy about what a
// "sane" TLS configuration is lives here, in one place.
#include "relay/tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "relay/tls/openssl_error.h"

namespace tlsrelay {
std::string takeOpenSslError() {
  std::string text;
  unsigned long code;
  while ((code = ERR_get_error()) != 0) {
    if (!text.empty()) continue;  // the first queued error is the root cause
    const char* reason = ERR_reason_error_string(code);
    if (reason != nullptr) {
      text = reason;
    } else {
      char buf[256];
      ERR_error_string_n(code, buf, sizeof buf);
      text = buf;
    }
  }
  return text;
}

namespace {

// AEAD with forward secrecy only: no anonymous, NULL, RC4, 3DES, export or CBC
// suites (testssl flags CBC as obsolete for a server we control).
constexpr const char* kServerDefaultCiphers =
    "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!eNULL:!PSK:!SRP:!DSS";
// Outbound SMTP meets every kind of server; encrypting with an older suite beats
// falling back to plaintext, but broken ciphers stay excluded.
constexpr const char* kClientDefaultCiphers = "DEFAULT:!aNULL:!eNULL:!EXPORT:!RC4:!3DES:!DES:!MD5:!PSK:!SRP";
constexpr unsigned char kSessionIdContext[] = "tlsrelay";

std::string drainOpenSslError() {
  std::string text = takeOpenSslError();
  return text.empty() ? "unknown error" : text;
}

struct CtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, CtxDeleter>;

Result<int> parseTlsVersion(const std::string& text, const char* which) {
  if (text == "TLSv1" || text == "TLSv1.0" || text == "1.0") return TLS1_VERSION;
  if (text == "TLSv1.1" || text == "1.1") return TLS1_1_VERSION;
  if (text == "TLSv1.2" || text == "1.2") return TLS1_2_VERSION;
  if (text == "TLSv1.3" || text == "1.3") return TLS1_3_VERSION;
  return makeError(std::string("unknown ") + which + " TLS version \"" + text +
                   "\" (expected TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)");
}

Status applyVersions(SSL_CTX* ctx, const std::string& min_text, const std::string& max_text) {
  int min_version = TLS1_2_VERSION;
  if (!min_text.empty()) {
    auto parsed = parseTlsVersion(min_text, "minimum");
    if (!parsed) return parsed.error();
    min_version = *parsed;
  }
  int max_version = 0;  // 0 = highest the library supports
  if (!max_text.empty()) {
    auto parsed = parseTlsVersion(max_text, "maximum");
    if (!parsed) return parsed.error();
    max_version = *parsed;
    if (max_version < min_version) {
      return makeError("maximum TLS version " + max_text + " is below minimum " + min_text);
    }
  }
  if (SSL_CTX_set_min_proto_version(ctx, min_version) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, max_version) != 1) {
    return makeError("cannot set TLS versions: " + drainOpenSslError());
  }
  return okStatus();
}

Status applyCiphers(SSL_CTX* ctx, const std::string& ciphers, const char* default_ciphers,
                    const std::string& tls13_suites) {
  const std::string& list = ciphers.empty() ? std::string(default_ciphers) : ciphers;
  if (SSL_CTX_set_cipher_list(ctx, list.c_str()) != 1) {
    return makeError("invalid cipher list \"" + list + "\": " + drainOpenSslError());
  }
  if (!tls13_suites.empty() && SSL_CTX_set_ciphersuites(ctx, tls13_suites.c_str()) != 1) {
    return makeError("invalid TLS 1.3 cipher suites \"" + tls13_suites + "\": " + drainOpenSslError());
  }
  return okStatus();
}

Status checkReadable(const std::string& path, const char* what) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return makeError(std::string("cannot read ") + what + " " + path + ": " + std::strerror(errno));
  }
  return okStatus();
}

// Supplies the configured password to OpenSSL's PEM decoder without ever
// prompting on a terminal (OpenSSL's default callback would).
int passwordCallback(char* buf, int size, int /*rwflag*/, void* userdata) {
  const auto* password = static_cast<const std::string*>(userdata);
  if (password == nullptr || password->empty() || size <= 0 || password->size() > static_cast<size_t>(size)) {
    return 0;
  }
  std::memcpy(buf, password->data(), password->size());
  return static_cast<int>(password->size());
}

Status loadPrivateKey(SSL_CTX* ctx, const std::string& path, const std::string& password) {
  if (auto st = checkReadable(path, "key"); !st) return st;
  std::string pem;
  {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    if (!in) return makeError("cannot read key " + path + ": read error");
    pem = content.str();
  }
  const bool encrypted = pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string::npos ||
                         pem.find("Proc-Type: 4,ENCRYPTED") != std::string::npos;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return makeError("cannot read key " + path + ": out of memory");
  ERR_clear_error();
  EVP_PKEY* key =
      PEM_read_bio_PrivateKey(bio, nullptr, passwordCallback, const_cast<std::string*>(&password));
  BIO_free(bio);
  OPENSSL_cleanse(pem.data(), pem.size());  // key material should not linger in freed memory
  if (key == nullptr) {
    const std::string reason = drainOpenSslError();
    if (encrypted && password.empty()) {
      return makeError("cannot read key " + path + ": key is encrypted and no password is configured");
    }
    if (encrypted) return makeError("cannot read key " + path + ": bad password");
    return makeError("cannot read key " + path + ": not a PEM private key (" + reason + ")");
  }
  X509* cert = SSL_CTX_get0_certificate(ctx);
  if (cert != nullptr && X509_check_private_key(cert, key) != 1) {
    EVP_PKEY_free(key);
    drainOpenSslError();
    return makeError("key " + path + " does not match its certificate");
  }
  const int used = SSL_CTX_use_PrivateKey(ctx, key);
  EVP_PKEY_free(key);
  if (used != 1) return makeError("cannot use key " + path + ": " + drainOpenSslError());
  if (SSL_CTX_check_private_key(ctx) != 1) {
    drainOpenSslError();
    return makeError("key " + path + " does not match its certificate");
  }
  return okStatus();
}

Status loadCertificateAndKey(SSL_CTX* ctx, const std::string& cert_path, const std::string& key_path,
                             const std::string& password) {
  if (auto st = checkReadable(cert_path, "certificate"); !st) return st;
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_path.c_str()) != 1) {
    return makeError("cannot read certificate " + cert_path + ": " + drainOpenSslError());
  }
  return loadPrivateKey(ctx, key_path, password);
}

CtxPtr newContext(bool server) {
  return CtxPtr(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
}

void applyCommonOptions(SSL_CTX* ctx) {
  // CRIME: no TLS compression. No renegotiation at all (DoS, and never needed by SMTP).
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // Thousands of idle SMTP sessions: give the 34 KiB of buffers back while idle.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

}  // namespace

TlsContext::~TlsContext() {
  SSL_CTX_free(static_cast<SSL_CTX*>(native_));
}

Result<std::shared_ptr<TlsContext>> TlsContext::makeServer(const ServerTlsSettings& settings) {
  if (settings.certificate_file.empty()) return makeError("no TLS certificate file configured");
  if (settings.key_file.empty()) return makeError("no TLS key file configured");
  ERR_clear_error();
  CtxPtr ctx = newContext(true);
  if (!ctx) return makeError("cannot create TLS server context: " + drainOpenSslError());
  applyCommonOptions(ctx.get());
  SSL_CTX_set_options(ctx.get(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_dh_auto(ctx.get(), 1);
  if (auto st = applyVersions(ctx.get(), settings.min_tls_version, settings.max_tls_version); !st) {
    return st.error();
  }
  if (auto st = applyCiphers(ctx.get(), settings.ciphers, kServerDefaultCiphers, settings.tls13_ciphersuites);
      !st) {
    return st.error();
  }
  // Session resumption (cache and tickets) needs an id context on the server.
  SSL_CTX_set_session_id_context(ctx.get(), kSessionIdContext, sizeof kSessionIdContext - 1);
  if (auto st = loadCertificateAndKey(ctx.get(), settings.certificate_file, settings.key_file,
                                      settings.key_password);
      !st) {
    return st.error();
  }
  return std::shared_ptr<TlsContext>(new TlsContext(ctx.release(), true));
}

Result<std::shared_ptr<TlsContext>> TlsContext::makeClient(const ClientTlsSettings& settings) {
  ERR_clear_error();
  CtxPtr ctx = newContext(false);
  if (!ctx) return makeError("cannot create TLS client context: " + drainOpenSslError());
  applyCommonOptions(ctx.get());
  if (auto st = applyVersions(ctx.get(), settings.min_tls_version, settings.max_tls_version); !st) {
    return st.error();
  }
  if (auto st = applyCiphers(ctx.get(), settings.ciphers, kClientDefaultCiphers, settings.tls13_ciphersuites);
      !st) {
    return st.error();
  }
  if (settings.ca_bundle.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
      return makeError("cannot load default CA paths: " + drainOpenSslError());
    }
  } else {
    struct stat st;
    if (::stat(settings.ca_bundle.c_str(), &st) != 0) {
      return makeError("cannot read CA bundle " + settings.ca_bundle + ": " + std::strerror(errno));
    }
    const bool is_dir = S_ISDIR(st.st_mode);
    if (SSL_CTX_load_verify_locations(ctx.get(), is_dir ? nullptr : settings.ca_bundle.c_str(),
                                      is_dir ? settings.ca_bundle.c_str() : nullptr) != 1) {
      return makeError("cannot read CA bundle " + settings.ca_bundle + ": " + drainOpenSslError());
    }
  }
  // The handshake never fails on verification: policy (none/pkix/dane) decides
  // afterwards from TlsEngine::verification(); opportunistic TLS must still encrypt.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  // Allows TlsEngine::enableDane() per connection (RFC 7671); harmless otherwise.
  if (SSL_CTX_dane_enable(ctx.get()) <= 0) {
    return makeError("cannot enable DANE support: " + drainOpenSslError());
  }
  const bool has_cert = !settings.client_certificate.empty();
  const bool has_key = !settings.client_key.empty();
  if (has_cert != has_key) return makeError("client_certificate and client_key must be set together");
  if (has_cert) {
    if (auto st = loadCertificateAndKey(ctx.get(), settings.client_certificate, settings.client_key,
                                        settings.client_key_password);
        !st) {
      return st.error();
    }
  }
  return std::shared_ptr<TlsContext>(new TlsContext(ctx.release(), false));
}

}  // namespace tlsrelay
