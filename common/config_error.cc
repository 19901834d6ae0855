// Formatting of configuration errors; see config_error.h.
#include "common/config_error.h"

namespace tlsrelay {

std::string ConfigError::toString() const {
  std::string out = file.empty() ? std::string("<config>") : file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!key.empty()) out += key + ": ";
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
