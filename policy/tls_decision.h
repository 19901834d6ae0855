// What one outbound delivery attempt must do about TLS, and which rule said so.
// Produced by pure policy functions; consumed by the SMTP client adapter.
#pragma once

#include <string>

namespace tlsrelay {

enum class StartTlsMode {
  Never,          // do not issue STARTTLS (use_starttls = false)
  Opportunistic,  // STARTTLS when offered; fall back to clear text if absent or failing
  Required,       // STARTTLS must succeed, otherwise defer: never send in clear
};

enum class VerifyMode {
  None,  // encrypt only; any certificate is accepted
  Pkix,  // certificate chains to the CA bundle and matches the MX host name
};

const char* toString(StartTlsMode m);
const char* toString(VerifyMode m);

struct TlsDecision {
  StartTlsMode starttls = StartTlsMode::Opportunistic;
  VerifyMode verify = VerifyMode::None;
  std::string ciphers;             // OpenSSL cipher list for TLS <= 1.2; empty = library default
  std::string min_tls_version;     // "TLSv1.2" (default) or "TLSv1.3"
  std::string client_certificate;  // PEM file paths; empty = no client certificate
  std::string client_key;
  std::string policy_source;  // "default", "policy.d/example.com.toml", "require_tls_out 192.0.2.0/24"
};

}  // namespace tlsrelay
