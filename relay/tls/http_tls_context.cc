// See http_tls_context.h.
#include "relay/tls/http_tls_context.h"

namespace tlsrelay {

Result<std::unique_ptr<HttpServerTlsContext>> HttpServerTlsContext::make(const ServerTlsSettings& settings) {
  auto context = TlsContext::makeServer(settings);
  if (!context) return context.error();
  return std::unique_ptr<HttpServerTlsContext>(new HttpServerTlsContext(std::move(context.value())));
}

void* HttpServerTlsContext::sslCtx() const {
  return context_->native();
}

}  // namespace tlsrelay
