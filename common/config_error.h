// One configuration mistake, located by file, line and key, and a collector for
// them. Shared by relay.toml (relay/config) and policy.d/*.toml
// (policy/domain_policy) so every check-config message has the same shape:
//   relay.toml:12: listener.address: bad address '1.2.3:25'
#pragma once

#include <string>
#include <vector>

namespace tlsrelay {

struct ConfigError {
  std::string file;
  int line = 0;  // 1-based; 0 = the whole file (e.g. it cannot be read)
  std::string key;
  std::string message;

  std::string toString() const;
};

// Joins errors, one per line, in the order they were found (a caller that
// needs a single Error.message gets all mistakes at once, not just the first).
std::string joinConfigErrors(const std::vector<ConfigError>& errors);

}  // namespace tlsrelay
