// Formatting of configuration errors; see config_error.h.
#include "common/config_error.h"

namespace tlsrelay {

std::string ConfigError::toString() const {
  // Appended piece by piece: GCC 12 at -O3 reports a false -Werror=restrict
  // for `":" + std::to_string(line)` (GCC bug 105329).
  std::string out = file.empty() ? std::string("<config>") : file;
  if (line > 0) {
    out += ':';
    out += std::to_string(line);
  }
  out += ": ";
  if (!key.empty()) {
    out += key;
    out += ": ";
  }
  out += message;
  return out;
}

std::string joinConfigErrors(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += '\n';
    out += e.toString();
  }
  return out;
}

}  // namespace tlsrelay
