// TLS configuration objects (one per listener / per outbound policy), built once
// from settings and then shared read-only by every connection that uses them.
// This file and tls_engine.* are the only places that talk to OpenSSL; no OpenSSL
// type appears in these headers, so the TLS library stays swappable.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"

namespace tlsrelay {

struct ServerTlsSettings {
  std::string certificate_file;    // PEM, leaf first, then intermediates
  std::string key_file;            // PEM, optionally encrypted (PKCS#8 or legacy)
  std::string key_password;        // already read from the password file by the caller
  std::string ciphers;             // TLS <= 1.2 cipher list; "" = safe default (AEAD, forward secrecy)
  std::string tls13_ciphersuites;  // TLS 1.3 suites; "" = OpenSSL default
  std::string min_tls_version = "TLSv1.2";  // "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"
  std::string max_tls_version;              // "" = highest supported
};

struct ClientTlsSettings {
  std::string ca_bundle =
      "/etc/ssl/certs/ca-certificates.crt";  // file or directory; "" = OpenSSL default paths
  std::string client_certificate;            // optional; both or neither
  std::string client_key;
  std::string client_key_password;
  std::string ciphers;             // TLS <= 1.2 cipher list; "" = broad default minus broken ciphers
  std::string tls13_ciphersuites;  // "" = OpenSSL default
  std::string min_tls_version = "TLSv1.2";
  std::string max_tls_version;  // "" = highest supported
};

class TlsEngine;

// Immutable after creation; safe to share between connections and threads.
class TlsContext {
 public:
  // Errors name the file and the reason ("cannot read key /k.pem: bad password"),
  // never the password itself.
  static Result<std::shared_ptr<TlsContext>> makeServer(const ServerTlsSettings& settings);
  static Result<std::shared_ptr<TlsContext>> makeClient(const ClientTlsSettings& settings);

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  bool isServer() const { return is_server_; }

 private:
  friend class TlsEngine;
  friend class HttpServerTlsContext;  // hands the SSL_CTX to H2O (http_tls_context.h)
  TlsContext(void* native, bool is_server) : native_(native), is_server_(is_server) {}
  void* native() const { return native_; }  // the SSL_CTX, for tls_engine.cc only

  void* native_;
  bool is_server_;
};

}  // namespace tlsrelay
