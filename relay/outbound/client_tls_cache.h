// TLS client contexts for outbound sessions, one per distinct set of the
// decision's TLS settings (client certificate, ciphers, minimum version) and
// built once: loading a CA bundle costs milliseconds, a connection must not.
// Loop thread only; rebuilt on reload (the CA bundle or certificates may change).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "policy/tls_decision.h"

namespace tlsrelay {

class TlsContext;

class ClientTlsCache {
 public:
  explicit ClientTlsCache(std::string ca_bundle) : ca_bundle_(std::move(ca_bundle)) {}
  // Null when the context cannot be built (logged once per attempt).
  std::shared_ptr<TlsContext> get(const TlsDecision& decision);

 private:
  std::string ca_bundle_;
  std::map<std::string, std::shared_ptr<TlsContext>> contexts_;
};

}  // namespace tlsrelay
