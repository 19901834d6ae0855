// See client_tls_cache.h.
#include "relay/outbound/client_tls_cache.h"

#include "common/log.h"
#include "relay/tls/tls_context.h"

namespace tlsrelay {

std::shared_ptr<TlsContext> ClientTlsCache::get(const TlsDecision& d) {
  std::string key = d.client_certificate + "\n" + d.client_key + "\n" + d.ciphers + "\n" + d.min_tls_version;
  auto it = contexts_.find(key);
  if (it != contexts_.end()) return it->second;
  ClientTlsSettings s;
  s.ca_bundle = ca_bundle_;
  s.client_certificate = d.client_certificate;
  s.client_key = d.client_key;
  s.ciphers = d.ciphers;
  if (!d.min_tls_version.empty()) s.min_tls_version = d.min_tls_version;
  auto ctx = TlsContext::makeClient(s);
  if (!ctx.ok()) {
    log::error("tls", "cannot build TLS client context",
               {{"policy", d.policy_source}, {"error", ctx.error().message}});
    return nullptr;
  }
  contexts_[key] = ctx.value();
  return ctx.value();
}

}  // namespace tlsrelay
