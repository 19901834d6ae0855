// Strict TOML reading; see toml_reader.h.
#include "common/toml_reader.h"

#include <cctype>
#include <charconv>
#include <limits>
#include <sstream>

#include "common/ascii.h"

namespace tlsrelay::tomlcfg {
namespace {

const char* typeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

int lineOfNode(const toml::node& node) {
  return static_cast<int>(node.source().begin.line);
}

// Splits "50M" into 50 and "M"; the number must be a non-negative integer.
bool splitNumberUnit(std::string_view text, uint64_t& number, std::string& unit) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, number);
  if (ec != std::errc{} || ptr != text.data() + i) return false;
  unit = lowerAscii(text.substr(i));
  return true;
}

}  // namespace

std::optional<toml::table> parseDocument(std::string_view text, const std::string& file,
                                         std::vector<ConfigError>& errors) {
#if TOML_EXCEPTIONS
  try {
    return toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    errors.push_back(
        {file, static_cast<int>(e.source().begin.line), "", "syntax error: " + std::string(e.description())});
  } catch (const std::exception& e) {
    errors.push_back({file, 0, "", std::string("cannot parse: ") + e.what()});
  }
  return std::nullopt;
#else
  toml::parse_result result = toml::parse(text, file);
  if (result) return std::move(result).table();
  errors.push_back({file, static_cast<int>(result.error().source().begin.line), "",
                    "syntax error: " + std::string(result.error().description())});
  return std::nullopt;
#endif
}

Result<std::chrono::seconds> parseDuration(std::string_view text) {
  uint64_t n = 0;
  std::string unit;
  if (!splitNumberUnit(text, n, unit))
    return makeError("bad duration '" + std::string(text) +
                     "' (use e.g. 300, \"30s\", \"5m\", \"4h\", \"5d\")");
  uint64_t scale = 0;
  if (unit.empty() || unit == "s")
    scale = 1;
  else if (unit == "m")
    scale = 60;
  else if (unit == "h")
    scale = 3600;
  else if (unit == "d")
    scale = 86400;
  else if (unit == "w")
    scale = 7 * 86400;
  else
    return makeError("bad duration unit in '" + std::string(text) + "' (s, m, h, d or w)");
  // Ten years is far beyond any sensible timer and keeps arithmetic safe.
  constexpr uint64_t kMaxSeconds = 10ull * 366 * 86400;
  if (n > kMaxSeconds / scale) return makeError("duration '" + std::string(text) + "' is too large");
  return std::chrono::seconds(static_cast<int64_t>(n * scale));
}

Result<uint64_t> parseSize(std::string_view text) {
  uint64_t n = 0;
  std::string unit;
  if (!splitNumberUnit(text, n, unit))
    return makeError("bad size '" + std::string(text) + "' (use e.g. 1048576, \"10k\", \"50M\", \"1G\")");
  if (unit.size() == 3 && unit.substr(1) == "ib")
    unit = unit.substr(0, 1);
  else if (unit.size() == 2 && unit[1] == 'b')
    unit = unit.substr(0, 1);
  uint64_t scale = 0;
  if (unit.empty() || unit == "b")
    scale = 1;
  else if (unit == "k")
    scale = 1024;
  else if (unit == "m")
    scale = 1024ull * 1024;
  else if (unit == "g")
    scale = 1024ull * 1024 * 1024;
  else
    return makeError("bad size unit in '" + std::string(text) + "' (k, M or G)");
  constexpr uint64_t kMaxBytes = 1ull << 50;
  if (n > kMaxBytes / scale) return makeError("size '" + std::string(text) + "' is too large");
  return n * scale;
}

TableReader::TableReader(const toml::table& table, std::string file, std::string prefix,
                         std::vector<ConfigError>& errors)
    : table_(table), file_(std::move(file)), prefix_(std::move(prefix)), errors_(errors) {}

std::string TableReader::qualified(std::string_view key) const {
  return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
}

int TableReader::tableLine() const {
  return lineOfNode(table_);
}

int TableReader::lineOf(std::string_view key) const {
  if (const toml::node* node = table_.get(key)) {
    int line = lineOfNode(*node);
    if (line > 0) return line;
  }
  return tableLine();
}

void TableReader::error(std::string_view key, std::string message) {
  errors_.push_back({file_, lineOf(key), qualified(key), std::move(message)});
}

const toml::node* TableReader::find(std::string_view key) {
  known_.emplace(key);
  return table_.get(key);
}

std::optional<std::string> TableReader::getString(std::string_view key) {
  const toml::node* node = find(key);
  if (!node) return std::nullopt;
  if (const auto* s = node->as_string()) return s->get();
  error(key, std::string("expected a string, got ") + typeName(*node));
  return std::nullopt;
}

std::optional<bool> TableReader::getBool(std::string_view key) {
  const toml::node* node = find(key);
  if (!node) return std::nullopt;
  if (const auto* b = node->as_boolean()) return b->get();
  error(key, std::string("expected true or false, got ") + typeName(*node));
  return std::nullopt;
}

std::optional<int64_t> TableReader::getInt(std::string_view key, int64_t min, int64_t max) {
  const toml::node* node = find(key);
  if (!node) return std::nullopt;
  const auto* i = node->as_integer();
  if (!i) {
    error(key, std::string("expected an integer, got ") + typeName(*node));
    return std::nullopt;
  }
  if (i->get() < min || i->get() > max) {
    error(key, "value " + std::to_string(i->get()) + " is out of range [" + std::to_string(min) + ", " +
                   std::to_string(max) + "]");
    return std::nullopt;
  }
  return i->get();
}

std::optional<double> TableReader::getDouble(std::string_view key, double min, double max) {
  const toml::node* node = find(key);
  if (!node) return std::nullopt;
  double v = 0;
  if (const auto* f = node->as_floating_point())
    v = f->get();
  else if (const auto* i = node->as_integer())
    v = static_cast<double>(i->get());
  else {
    error(key, std::string("expected a number, got ") + typeName(*node));
    return std::nullopt;
  }
  if (!(v >= min && v <= max)) {  // also refuses NaN
    std::ostringstream os;
    os << "value " << v << " is out of range [" << min << ", " << max << "]";
    error(key, os.str());
    return std::nullopt;
  }
  return v;
}

std::optional<std::chrono::seconds> TableReader::getDuration(std::string_view key) {
  const toml::node* node = find(key);
  if (!node) return std::nullopt;
  Result<std::chrono::seconds> parsed = makeError("");
  if (const auto* i = node->as_integer()) {
    if (i->get() < 0) {
      error(key, "a duration cannot be negative");
      return std::nullopt;
    }
    parsed = parseDuration(std::to_string(i->get()));
  } else if (const auto* s = node->as_string()) {
    parsed = parseDuration(s->get());
  } else {
    error(key, std::string("expected a duration (seconds or \"5m\"), got ") + typeName(*node));
    return std::nullopt;
  }
  if (!parsed) {
    error(key, parsed.error().message);
    return std::nullopt;
  }
  return *parsed;
}

std::optional<uint64_t> TableReader::getSize(std::string_view key) {
  const toml::node* node = find(key);
  if (!node) return std::nullopt;
  Result<uint64_t> parsed = makeError("");
  if (const auto* i = node->as_integer()) {
    if (i->get() < 0) {
      error(key, "a size cannot be negative");
      return std::nullopt;
    }
    parsed = parseSize(std::to_string(i->get()));
  } else if (const auto* s = node->as_string()) {
    parsed = parseSize(s->get());
  } else {
    error(key, std::string("expected a size (bytes or \"50M\"), got ") + typeName(*node));
    return std::nullopt;
  }
  if (!parsed) {
    error(key, parsed.error().message);
    return std::nullopt;
  }
  return *parsed;
}

std::optional<std::vector<std::string>> TableReader::getStringList(std::string_view key) {
  const toml::node* node = find(key);
  if (!node) return std::nullopt;
  if (const auto* s = node->as_string()) return std::vector<std::string>{s->get()};
  const auto* array = node->as_array();
  if (!array) {
    error(key, std::string("expected a string or an array of strings, got ") + typeName(*node));
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (const toml::node& element : *array) {
    if (const auto* s = element.as_string()) {
      out.push_back(s->get());
    } else {
      errors_.push_back({file_, lineOfNode(element) > 0 ? lineOfNode(element) : lineOf(key), qualified(key),
                         std::string("expected an array of strings, found ") + typeName(element)});
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<Cidr>> TableReader::getCidrList(std::string_view key) {
  auto texts = getStringList(key);
  if (!texts) return std::nullopt;
  std::vector<Cidr> out;
  bool ok = true;
  for (const auto& text : *texts) {
    auto cidr = Cidr::parse(text);
    if (!cidr) {
      error(key, "bad CIDR '" + text + "': " + cidr.error().message);
      ok = false;
      continue;
    }
    out.push_back(*cidr);
  }
  if (!ok) return std::nullopt;
  return out;
}

const toml::table* TableReader::getTable(std::string_view key) {
  const toml::node* node = find(key);
  if (!node) return nullptr;
  if (const auto* t = node->as_table()) return t;
  error(key, std::string("expected a table [") + qualified(key) + "], got " + typeName(*node));
  return nullptr;
}

std::vector<const toml::table*> TableReader::getArrayOfTables(std::string_view key) {
  std::vector<const toml::table*> out;
  const toml::node* node = find(key);
  if (!node) return out;
  const auto* array = node->as_array();
  if (!array) {
    error(key, std::string("expected an array of tables [[") + qualified(key) + "]], got " + typeName(*node));
    return out;
  }
  for (const toml::node& element : *array) {
    if (const auto* t = element.as_table()) {
      out.push_back(t);
    } else {
      errors_.push_back({file_, lineOfNode(element) > 0 ? lineOfNode(element) : lineOf(key), qualified(key),
                         std::string("expected a table, found ") + typeName(element)});
    }
  }
  return out;
}

void TableReader::reportUnknownKeys() {
  for (const auto& [key, node] : table_) {
    if (known_.count(key.str())) continue;
    int line = static_cast<int>(key.source().begin.line);
    if (line <= 0) line = lineOfNode(node);
    if (line <= 0) line = tableLine();
    errors_.push_back({file_, line, qualified(key.str()), "unknown key"});
  }
}

}  // namespace tlsrelay::tomlcfg
