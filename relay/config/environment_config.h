// relay.toml from environment variables, for a container configured without
// a file (`tlsrelay config from-env`). Pure: the caller passes the variables
// and a file reader (for the X_FILE forms) and writes what comes back. Every
// value is validated and written as a TOML basic string or a canonical form
// (CIDRs, addresses), so no variable can add a key or a table. Secrets
// (the smarthost password) never go into the TOML: they come back as files to
// write, and no error message quotes them.
// The variables: docs/configuration.md, "Container environment variables".
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace tlsrelay {

// Where things live when a variable does not say; the CLI passes the
// container's layout.
struct EnvironmentDefaults {
  std::string secrets_dir = "/var/lib/tlsrelay";
  std::string tls_certificate = "/etc/tlsrelay/tls/server.pem";  // "" = no [tls] unless set
  std::string tls_key = "/etc/tlsrelay/tls/server.key";
  std::string spool_dir = "/var/spool/tlsrelay";
  std::string policy_dir = "/etc/tlsrelay/policy.d";
  std::string listen = "0.0.0.0:25";
};

struct SecretFile {
  std::string path;
  std::string content;  // a secret: never log it
  mode_t mode = 0600;
};

struct EnvironmentConfig {
  std::string toml;
  std::vector<SecretFile> secrets;
  // TLSRELAY_* variables that mean nothing here (a typo?): names only.
  std::vector<std::string> ignored;
};

using Environment = std::map<std::string, std::string>;
// Reads a TLSRELAY_X_FILE; the error must not quote the content.
using SecretFileReader = std::function<Result<std::string>(const std::string& path)>;

// The error names the variable (never a secret's value).
Result<EnvironmentConfig> configFromEnvironment(const Environment& env, const EnvironmentDefaults& defaults,
                                                const SecretFileReader& read_file);

// The names configFromEnvironment reads (without the _FILE forms), in the
// order the documentation lists them.
const std::vector<std::string>& environmentVariableNames();

}  // namespace tlsrelay
