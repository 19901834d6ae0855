// The [admin] section of relay.toml: the HTTP endpoint for probes, metrics,
// the JSON API and the web view, and the URL other organisations POST their
// TLS reports to.
//
//   [admin]
//   listen = "127.0.0.1:8025"      # absent section: no admin endpoint
//   bearer_token_file = "/etc/tlsrelay/admin.token"
//   certificate = "/etc/tlsrelay/admin.pem"   # HTTPS when set
//   key = "/etc/tlsrelay/admin.key"
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "common/toml_reader.h"

namespace tlsrelay {

struct AdminConfig {
  bool enabled = false;  // true when the section is present, unless enabled = false
  std::string listen = "127.0.0.1:8025";
  // First line is the token every path but /healthz, /readyz and the report
  // receiver needs. Read by loadRuntimeConfig; "" = no authentication.
  std::string bearer_token_file;
  std::string certificate;  // PEM; with key: HTTPS
  std::string key;          // defaults to certificate (a combined PEM)
  // Where other organisations POST TLS reports (RFC 8460 §3 "https:" rua);
  // needs [reporting]. "" = not received over HTTP.
  std::string report_path = "/tlsrpt";
  bool operator==(const AdminConfig&) const = default;
};

// Every key of the section; mistakes are recorded in `r` with their lines.
void readAdminSection(tomlcfg::TableReader& r, AdminConfig& cfg, const std::string& base_dir);

// An RFC 6750 §2.1 b64token (letters, digits and -._~+/, then only '='s) of at
// least 16 characters: what [admin] bearer_token_file and TLSRELAY_ADMIN_TOKEN
// accept. kBearerTokenRule says so in an error message.
bool isBearerToken(std::string_view text);
inline constexpr std::string_view kBearerTokenRule =
    "16 or more letters, digits or -._~+/ characters, '=' only at the end";

// The token file's first line, checked with isBearerToken. Errors name the
// file, never its content.
Result<std::string> readBearerTokenFile(const std::string& path);

// True when `listen` binds an address other than loopback (0.0.0.0 and [::] included).
bool adminListensBeyondLoopback(const AdminConfig& cfg);

}  // namespace tlsrelay
