// Paths in configuration files: relative ones resolve against the folder of
// the file that names them; control characters are refused (they would end
// up in log lines and error messages).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/toml_reader.h"

namespace tlsrelay {

std::string resolvePath(const std::string& path, const std::string& base_dir);
bool hasControlCharacters(std::string_view s);
// The path at `key`, resolved; nullopt (with the mistake recorded) when absent or bad.
std::optional<std::string> readConfigPath(tomlcfg::TableReader& r, std::string_view key,
                                          const std::string& base_dir);

}  // namespace tlsrelay
