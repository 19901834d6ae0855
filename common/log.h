// Structured logging: one JSON object per line on stderr, e.g.
//   {"ts":"2026-11-23T14:00:00.123Z","level":"info","stage":"spool","id":"...","msg":"..."}
// Every line carries a stage and, where one exists, the session or queue id.
// Callers must never pass secrets (passwords, keys) in fields or messages.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace tlsrelay::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

using Field = std::pair<std::string_view, std::string>;

void setLevel(Level level);
Level level();
// For hot paths: build a line's fields only when it will be written.
inline bool enabled(Level l) {
  return l >= level();
}
bool parseLevel(std::string_view text, Level& out);

void write(Level level, std::string_view stage, std::string_view message,
           std::initializer_list<Field> fields = {});

inline void debug(std::string_view stage, std::string_view message,
                  std::initializer_list<Field> fields = {}) {
  if (level() <= Level::Debug) write(Level::Debug, stage, message, fields);
}
inline void info(std::string_view stage, std::string_view message, std::initializer_list<Field> fields = {}) {
  write(Level::Info, stage, message, fields);
}
inline void warn(std::string_view stage, std::string_view message, std::initializer_list<Field> fields = {}) {
  write(Level::Warn, stage, message, fields);
}
inline void error(std::string_view stage, std::string_view message,
                  std::initializer_list<Field> fields = {}) {
  write(Level::Error, stage, message, fields);
}

}  // namespace tlsrelay::log
