// Typed, strict reading of TOML tables for every tlsrelay configuration file.
// Wraps toml++ so that (a) its exceptions never leave this module, (b) every
// mistake becomes a ConfigError naming file, line and dotted key, and (c) keys
// nobody asked for are reported as unknown — a typo must never pass silently.
#pragma once

#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/cidr.h"
#include "common/config_error.h"
#include "common/result.h"

namespace tlsrelay::tomlcfg {

// Parses a whole document. On a syntax error records it (with its line) and
// returns nullopt.
std::optional<toml::table> parseDocument(std::string_view text, const std::string& file,
                                         std::vector<ConfigError>& errors);

// "300" / 300 → 300 s; "30s", "5m", "4h", "5d", "2w". Negative values are refused.
Result<std::chrono::seconds> parseDuration(std::string_view text);
// "1048576" → bytes; "10k", "50M", "1G" (binary multiples, optional trailing
// "B" or "iB", case-insensitive).
Result<uint64_t> parseSize(std::string_view text);

// Reads one table. Each getter marks its key as known and returns nullopt when
// the key is absent or wrong (the mistake is then recorded). Call
// reportUnknownKeys() once all getters ran.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string file, std::string prefix,
              std::vector<ConfigError>& errors);

  std::optional<std::string> getString(std::string_view key);
  std::optional<bool> getBool(std::string_view key);
  std::optional<int64_t> getInt(std::string_view key, int64_t min, int64_t max);
  std::optional<double> getDouble(std::string_view key, double min, double max);
  std::optional<std::chrono::seconds> getDuration(std::string_view key);
  std::optional<uint64_t> getSize(std::string_view key);
  // Accepts one string or an array of strings.
  std::optional<std::vector<std::string>> getStringList(std::string_view key);
  // Accepts one CIDR string or an array of them; every bad entry is reported.
  std::optional<std::vector<Cidr>> getCidrList(std::string_view key);
  const toml::table* getTable(std::string_view key);
  // The tables of a [[key]] array; a non-table element is reported.
  std::vector<const toml::table*> getArrayOfTables(std::string_view key);

  // Records an error about `key` at the line where it is written (or at the
  // table's line when the key is absent).
  void error(std::string_view key, std::string message);
  int lineOf(std::string_view key) const;
  bool contains(std::string_view key) const { return table_.contains(key); }
  int tableLine() const;
  std::string qualified(std::string_view key) const;
  const std::string& file() const { return file_; }
  std::vector<ConfigError>& errors() { return errors_; }

  void reportUnknownKeys();

 private:
  const toml::node* find(std::string_view key);

  const toml::table& table_;
  std::string file_;
  std::string prefix_;
  std::vector<ConfigError>& errors_;
  std::set<std::string, std::less<>> known_;
};

}  // namespace tlsrelay::tomlcfg
