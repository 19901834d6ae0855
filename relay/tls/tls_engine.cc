// OpenSSL over a pair of memory BIOs: the socket side writes into rbio and
// drains wbio; SSL_* calls never block and never see a file descriptor.
// Every call clears the thread's OpenSSL error queue first, because many
// engines share one loop thread and a stale error would be blamed on the wrong
// connection.
#include "relay/tls/tls_engine.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "relay/tls/openssl_error.h"

namespace tlsrelay {
namespace {

bool isIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

constexpr size_t kReadChunk = 16 * 1024;  // one maximal TLS record of plaintext

}  // namespace

struct TlsEngine::Impl {
  std::shared_ptr<TlsContext> ctx;
  SSL* ssl = nullptr;
  BIO* rbio = nullptr;  // network -> SSL (owned by ssl)
  BIO* wbio = nullptr;  // SSL -> network (owned by ssl)
  bool is_server = false;
  bool handshake_done = false;
  bool peer_closed = false;
  bool failed = false;
  bool dane_enabled = false;
  std::string error;
  std::string queued_plaintext;  // written before the handshake completed

  ~Impl() { SSL_free(ssl); }

  // Creates the SSL object and its memory BIOs; on failure the engine starts failed.
  bool setUp(std::shared_ptr<TlsContext> context, bool server) {
    ctx = std::move(context);
    is_server = server;
    ERR_clear_error();
    if (!ctx || ctx->isServer() != server) {
      fail("TLS setup failed",
           server ? "server engine needs a server context" : "client engine needs a client context");
      return false;
    }
    ssl = SSL_new(static_cast<SSL_CTX*>(ctx->native()));
    rbio = BIO_new(BIO_s_mem());
    wbio = BIO_new(BIO_s_mem());
    if (ssl == nullptr || rbio == nullptr || wbio == nullptr) {
      BIO_free(rbio);
      BIO_free(wbio);
      rbio = wbio = nullptr;
      fail("TLS setup failed", takeOpenSslError());
      return false;
    }
    SSL_set_bio(ssl, rbio, wbio);
    if (server) {
      SSL_set_accept_state(ssl);
    } else {
      SSL_set_connect_state(ssl);
    }
    return true;
  }

  void fail(const std::string& what, const std::string& detail) {
    if (failed) return;  // keep the first error: later ones are consequences
    failed = true;
    error = detail.empty() ? what : what + ": " + detail;
  }

  // Classifies a failed SSL_* return; true if it only wants more I/O.
  bool wouldBlock(int ret, const char* what) {
    const int code = SSL_get_error(ssl, ret);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) return true;
    if (code == SSL_ERROR_ZERO_RETURN) {
      peer_closed = true;
      return false;
    }
    std::string detail = takeOpenSslError();
    if (detail.empty()) detail = code == SSL_ERROR_SYSCALL ? "unexpected end of stream" : "protocol error";
    fail(what, detail);
    return false;
  }

  void flushQueuedPlaintext() {
    if (queued_plaintext.empty() || failed) return;
    std::string bytes;
    bytes.swap(queued_plaintext);
    write(bytes);
  }

  void write(std::string_view bytes) {
    // Memory BIOs grow without bound, so SSL_write_ex consumes everything at once.
    while (!bytes.empty() && !failed) {
      size_t written = 0;
      ERR_clear_error();
      const int ret = SSL_write_ex(ssl, bytes.data(), bytes.size(), &written);
      if (ret != 1) {
        if (!wouldBlock(ret, "TLS write failed")) return;
        queued_plaintext.append(bytes);  // renegotiation-like state: retry after the next read
        return;
      }
      bytes.remove_prefix(written);
    }
  }
};

TlsEngine::TlsEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsEngine::~TlsEngine() = default;

std::unique_ptr<TlsEngine> TlsEngine::server(std::shared_ptr<TlsContext> ctx) {
  auto impl = std::make_unique<Impl>();
  impl->setUp(std::move(ctx), true);
  return std::unique_ptr<TlsEngine>(new TlsEngine(std::move(impl)));
}

std::unique_ptr<TlsEngine> TlsEngine::client(std::shared_ptr<TlsContext> ctx, const std::string& sni_host,
                                             const std::string& verify_host) {
  auto impl = std::make_unique<Impl>();
  if (!impl->setUp(std::move(ctx), false)) return std::unique_ptr<TlsEngine>(new TlsEngine(std::move(impl)));
  // RFC 6066 §3: literal IPv4 and IPv6 addresses are not permitted in SNI.
  if (!sni_host.empty() && !isIpLiteral(sni_host) &&
      SSL_set_tlsext_host_name(impl->ssl, sni_host.c_str()) != 1) {
    impl->fail("TLS setup failed", "invalid SNI host name");
  }
  if (!verify_host.empty()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(impl->ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    // A smarthost configured by address is checked against the certificate's
    // IP SANs (RFC 6125 §1.7.2), the way a browser checks https://192.0.2.1/.
    const bool ip = isIpLiteral(verify_host);
    if ((ip ? X509_VERIFY_PARAM_set1_ip_asc(param, verify_host.c_str())
            : X509_VERIFY_PARAM_set1_host(param, verify_host.c_str(), verify_host.size())) != 1) {
      impl->fail("TLS setup failed", "invalid verification host name");
    }
  }
  return std::unique_ptr<TlsEngine>(new TlsEngine(std::move(impl)));
}

Status TlsEngine::enableDane(const std::string& base_domain, const std::vector<TlsaRecord>& records,
                             const std::vector<std::string>& extra_names) {
  Impl& s = *impl_;
  if (s.is_server || s.ssl == nullptr) return makeError("DANE applies to client engines only");
  if (s.handshake_done || SSL_in_before(s.ssl) != 1)
    return makeError("DANE must be enabled before the handshake");
  ERR_clear_error();
  if (!s.dane_enabled) {
    if (SSL_dane_enable(s.ssl, base_domain.c_str()) <= 0) {
      return makeError("cannot enable DANE: " + takeOpenSslError());
    }
    // RFC 7672 §3.1.1: with DANE-EE(3) the server's names are not checked.
    SSL_dane_set_flags(s.ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
    for (const auto& name : extra_names)
      if (name != base_domain && SSL_add1_host(s.ssl, name.c_str()) != 1)
        return makeError("cannot add DANE reference name " + name + ": " + takeOpenSslError());
    s.dane_enabled = true;
  }
  int usable = 0;
  for (const TlsaRecord& r : records) {
    const int ret = SSL_dane_tlsa_add(s.ssl, r.usage, r.selector, r.matching_type,
                                      reinterpret_cast<const unsigned char*>(r.data.data()), r.data.size());
    if (ret > 0) ++usable;  // 0 = unusable record (RFC 7672 §2.2: ignore), < 0 = malformed
  }
  ERR_clear_error();
  if (usable == 0) return makeError("no usable TLSA records");
  return okStatus();
}

std::string TlsEngine::exportSession() const {
  const Impl& s = *impl_;
  if (s.is_server || !s.handshake_done || s.failed) return "";
  SSL_SESSION* session = SSL_get1_session(s.ssl);
  std::string out;
  if (session != nullptr && SSL_SESSION_is_resumable(session) == 1) {
    const int len = i2d_SSL_SESSION(session, nullptr);
    if (len > 0) {
      out.resize(static_cast<size_t>(len));
      auto* p = reinterpret_cast<unsigned char*>(out.data());
      if (i2d_SSL_SESSION(session, &p) != len) out.clear();
    }
  }
  SSL_SESSION_free(session);
  return out;
}

bool TlsEngine::importSession(std::string_view opaque) {
  Impl& s = *impl_;
  if (s.is_server || s.ssl == nullptr || s.failed || SSL_in_before(s.ssl) != 1 || opaque.empty())
    return false;
  ERR_clear_error();
  const auto* p = reinterpret_cast<const unsigned char*>(opaque.data());
  SSL_SESSION* session = d2i_SSL_SESSION(nullptr, &p, static_cast<long>(opaque.size()));
  bool ok =
      session != nullptr && SSL_SESSION_is_resumable(session) == 1 && SSL_set_session(s.ssl, session) == 1;
  SSL_SESSION_free(session);
  ERR_clear_error();
  return ok;
}

void TlsEngine::feedCiphertext(std::string_view bytes) {
  if (impl_->rbio == nullptr || bytes.empty()) return;
  BIO_write(impl_->rbio, bytes.data(), static_cast<int>(bytes.size()));
}

std::string TlsEngine::takeCiphertext() {
  std::string out;
  if (impl_->wbio == nullptr) return out;
  const size_t pending = BIO_ctrl_pending(impl_->wbio);
  if (pending == 0) return out;
  out.resize(pending);
  const int got = BIO_read(impl_->wbio, out.data(), static_cast<int>(pending));
  out.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return out;
}

TlsEngine::HandshakeState TlsEngine::handshake() {
  Impl& s = *impl_;
  if (s.failed) return HandshakeState::Failed;
  if (s.handshake_done) return HandshakeState::Done;
  ERR_clear_error();
  const int ret = SSL_do_handshake(s.ssl);
  if (ret == 1) {
    s.handshake_done = true;
    s.flushQueuedPlaintext();
    return s.failed ? HandshakeState::Failed : HandshakeState::Done;
  }
  if (s.wouldBlock(ret, "TLS handshake failed")) return HandshakeState::Pending;
  if (s.peer_closed) s.fail("TLS handshake failed", "peer closed the connection");
  return HandshakeState::Failed;
}

std::string TlsEngine::readPlaintext() {
  Impl& s = *impl_;
  std::string out;
  if (s.failed || s.peer_closed || s.ssl == nullptr) return out;
  char buf[kReadChunk];
  for (;;) {
    size_t got = 0;
    ERR_clear_error();
    const int ret = SSL_read_ex(s.ssl, buf, sizeof buf, &got);
    if (ret == 1) {
      out.append(buf, got);
      continue;
    }
    s.wouldBlock(ret, "TLS read failed");  // sets peer_closed / failed as appropriate
    break;
  }
  // SSL_read may have completed an implicit handshake.
  if (!s.handshake_done && !s.failed && SSL_is_init_finished(s.ssl)) {
    s.handshake_done = true;
    s.flushQueuedPlaintext();
  } else if (s.handshake_done && !s.queued_plaintext.empty()) {
    s.flushQueuedPlaintext();
  }
  return out;
}

void TlsEngine::writePlaintext(std::string_view bytes) {
  Impl& s = *impl_;
  if (s.failed || bytes.empty()) return;
  if (!s.handshake_done || !s.queued_plaintext.empty()) {
    s.queued_plaintext.append(bytes);
    if (s.handshake_done) s.flushQueuedPlaintext();
    return;
  }
  s.write(bytes);
}

void TlsEngine::shutdown() {
  Impl& s = *impl_;
  if (s.ssl == nullptr || s.failed) return;
  if (!s.handshake_done) return;  // nothing to close cleanly; the socket close says it all
  ERR_clear_error();
  SSL_shutdown(s.ssl);  // 0 = close_notify sent, peer's not yet seen: fine for SMTP
  ERR_clear_error();
}

bool TlsEngine::handshakeDone() const {
  return impl_->handshake_done;
}
bool TlsEngine::peerClosed() const {
  return impl_->peer_closed;
}
bool TlsEngine::failed() const {
  return impl_->failed;
}
std::string TlsEngine::error() const {
  return impl_->error;
}

std::string TlsEngine::protocol() const {
  if (!impl_->handshake_done) return "";
  return SSL_get_version(impl_->ssl);
}

std::string TlsEngine::cipher() const {
  if (!impl_->handshake_done) return "";
  const char* name = SSL_get_cipher_name(impl_->ssl);
  return name != nullptr ? name : "";
}

std::string TlsEngine::serverName() const {
  if (impl_->ssl == nullptr) return "";
  const char* name = SSL_get_servername(impl_->ssl, TLSEXT_NAMETYPE_host_name);
  return name != nullptr ? name : "";
}

bool TlsEngine::sessionReused() const {
  return impl_->handshake_done && SSL_session_reused(impl_->ssl) == 1;
}

PeerVerification TlsEngine::verification() const {
  PeerVerification v;
  const Impl& s = *impl_;
  if (!s.handshake_done) {
    v.error = "handshake not completed";
    v.error_code = X509_V_ERR_UNSPECIFIED;
    v.failure = PeerVerification::Failure::NotTrusted;
    return v;
  }
  if (SSL_get0_peer_certificate(s.ssl) == nullptr) {
    v.error = "no peer certificate";
    v.error_code = X509_V_ERR_UNSPECIFIED;
    v.failure = PeerVerification::Failure::NotTrusted;
    return v;
  }
  const long result = SSL_get_verify_result(s.ssl);
  v.error_code = static_cast<int>(result);
  if (result != X509_V_OK) {
    v.error = X509_verify_cert_error_string(result);
    if (s.dane_enabled)
      v.failure = PeerVerification::Failure::DaneMismatch;
    else if (result == X509_V_ERR_HOSTNAME_MISMATCH)
      v.failure = PeerVerification::Failure::HostMismatch;
    else if (result == X509_V_ERR_CERT_HAS_EXPIRED)
      v.failure = PeerVerification::Failure::Expired;
    else
      v.failure = PeerVerification::Failure::NotTrusted;
    return v;
  }
  v.verified = true;
  v.dane = s.dane_enabled && SSL_get0_dane_authority(s.ssl, nullptr, nullptr) >= 0;
  return v;
}

}  // namespace tlsrelay
