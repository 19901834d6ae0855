// Per-domain outbound TLS policy files (policy.d/*.toml, PowerMTA <domain>
// style) and their lookup by destination domain. Files are parsed once into
// immutable DomainPolicy values; PolicySet::match() is pure and cheap.
//
// Inheritance (as PowerMTA's <domain *>): a file for a specific domain takes
// every setting it does not write from the `*` file, if one exists, else from
// the built-in default. Settings that only make sense together are inherited
// as a group: {use_starttls, require_starttls, verify}, {client_certificate,
// client_key}, {require_tls_out, require_tls_except} and {next_hop, next_hop_tls}.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ascii.h"  // normalizeDomain
#include "common/cidr.h"
#include "common/config_error.h"
#include "common/result.h"
#include "policy/tls_decision.h"

namespace tlsrelay {

// How a configured next hop (a policy file's next_hop, [delivery] smarthost)
// is reached. Auto: implicit TLS on port 465, else STARTTLS as the policy says
// (and required when credentials are sent).
enum class NextHopTls { Auto, StartTls, Implicit };
const char* toString(NextHopTls mode);
std::optional<NextHopTls> parseNextHopTls(std::string_view text);  // "auto", "starttls", "implicit"

// A resolved, self-contained policy for one domain pattern.
struct DomainPolicy {
  std::string domain = "*";  // "example.com", "*.example.com" or "*"; lower case, no trailing dot
  bool use_starttls = true;
  bool require_starttls = false;            // implies use_starttls
  VerifyMode verify = VerifyMode::None;     // Pkix or Dane (dane-only) imply require_starttls
  std::string client_certificate;           // PEM paths; empty = none
  std::string client_key;                   // defaults to client_certificate (combined PEM)
  std::string ciphers;                      // OpenSSL cipher list (TLS <= 1.2); empty = library default
  std::string min_tls_version = "TLSv1.2";  // "TLSv1.2" or "TLSv1.3"
  std::vector<Cidr> require_tls_out;        // destination IPs that must get TLS (DMail)
  std::vector<Cidr> require_tls_except;     // ...unless also listed here
  // A transport map entry: mail for these domains goes to this host instead of
  // their MX (and instead of [delivery] smarthost). "host:port" / "[ip]:port".
  std::string next_hop;
  NextHopTls next_hop_tls = NextHopTls::Auto;
  std::string source = "default";  // "policy.d/example.com.toml"; "default" = built in
};

// One parsed file before inheritance: unset settings are nullopt.
struct PolicyFile {
  std::string domain;
  std::string file;    // name used in error messages (the path as read)
  std::string source;  // short name used in decisions and logs, e.g. "policy.d/example.com.toml"
  std::optional<bool> use_starttls;
  std::optional<bool> require_starttls;
  std::optional<VerifyMode> verify;
  std::optional<std::string> client_certificate;
  std::optional<std::string> client_key;
  std::optional<std::string> ciphers;
  std::optional<std::string> min_tls_version;
  std::optional<std::vector<Cidr>> require_tls_out;
  std::optional<std::vector<Cidr>> require_tls_except;
  std::optional<std::string> next_hop;  // "" = the MX records (undoes an inherited next hop)
  std::optional<NextHopTls> next_hop_tls;
  int domain_line = 0;  // for duplicate-domain errors
};

// The built-in `*` policy: opportunistic STARTTLS, no verification.
DomainPolicy builtinDefaultPolicy();

// Parses one policy file. `name` is used in errors (file:line:key) and, by
// default, as the policy source; relative certificate paths are resolved
// against `base_dir` when it is not empty. Never throws.
Result<PolicyFile> parsePolicyFile(std::string_view toml, const std::string& name,
                                   const std::string& base_dir = "");
// Same, collecting errors instead of joining them.
std::optional<PolicyFile> parsePolicyFile(std::string_view toml, const std::string& name,
                                          const std::string& base_dir, std::vector<ConfigError>& errors);

// Fills the unset settings of `file` from `parent` (group-wise, see above).
DomainPolicy resolvePolicy(const PolicyFile& file, const DomainPolicy& parent);

// Parses and resolves one file against the built-in default.
Result<DomainPolicy> parsePolicyString(std::string_view toml, const std::string& name);

class PolicySet {
 public:
  PolicySet();  // only the built-in `*`

  // Builds a set from parsed files; the `*` file (if any) becomes the parent of
  // all others. Duplicate domains are errors naming both files.
  static Result<PolicySet> build(const std::vector<PolicyFile>& files);

  // Most specific policy for a destination domain: exact > longest `*.suffix`
  // (any depth, never the suffix itself) > `*`. Case-insensitive, trailing dot ignored.
  const DomainPolicy& match(std::string_view domain) const;

  const DomainPolicy& wildcardDefault() const { return default_; }
  size_t size() const { return exact_.size() + suffix_.size() + 1; }

 private:
  DomainPolicy default_;
  std::map<std::string, DomainPolicy, std::less<>> exact_;   // key: "example.com"
  std::map<std::string, DomainPolicy, std::less<>> suffix_;  // key: "example.com" for "*.example.com"
};

}  // namespace tlsrelay
