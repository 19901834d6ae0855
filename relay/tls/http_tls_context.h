// The TLS server context of the admin HTTP endpoint (relay/admin). H2O drives
// OpenSSL itself and wants the SSL_CTX; this hands it out as an opaque pointer,
// so no OpenSSL header or call appears outside relay/tls/. The context is built
// by the same rules as the SMTP server's (tls_context.cc: TLS 1.2 floor, AEAD
// with forward secrecy, the key checked against its certificate), and offers no
// ALPN, so clients speak HTTP/1.1.
#pragma once

#include <memory>

#include "common/result.h"
#include "relay/tls/tls_context.h"

namespace tlsrelay {

class HttpServerTlsContext {
 public:
  // Errors name the file and the reason, never a key password.
  static Result<std::unique_ptr<HttpServerTlsContext>> make(const ServerTlsSettings& settings);

  // The SSL_CTX*, owned by this object and valid while it lives. H2O creates
  // one SSL per connection from it and never frees it.
  void* sslCtx() const;

 private:
  explicit HttpServerTlsContext(std::shared_ptr<TlsContext> context) : context_(std::move(context)) {}
  std::shared_ptr<TlsContext> context_;
};

}  // namespace tlsrelay
