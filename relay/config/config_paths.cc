#include "relay/config/config_paths.h"

#include <algorithm>
#include <filesystem>

namespace tlsrelay {

std::string resolvePath(const std::string& path, const std::string& base_dir) {
  if (path.empty() || base_dir.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

bool hasControlCharacters(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::optional<std::string> readConfigPath(tomlcfg::TableReader& r, std::string_view key,
                                          const std::string& base_dir) {
  auto value = r.getString(key);
  if (!value) return std::nullopt;
  if (hasControlCharacters(*value)) {
    r.error(key, "control characters in path");
    return std::nullopt;
  }
  return resolvePath(*value, base_dir);
}

}  // namespace tlsrelay
