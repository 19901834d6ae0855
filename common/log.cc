// JSON-lines logger; see log.h. A mutex keeps lines from worker threads whole.
#include "common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

namespace tlsrelay::log {
namespace {
std::atomic<Level> g_level{Level::Info};
std::mutex g_mutex;

const char* levelName(Level l) {
  switch (l) {
    case Level::Debug:
      return "debug";
    case Level::Info:
      return "info";
    case Level::Warn:
      return "warn";
    case Level::Error:
      return "error";
  }
  return "info";
}

std::string nowIso8601() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}
}  // namespace

void setLevel(Level l) {
  g_level = l;
}
Level level() {
  return g_level;
}

bool parseLevel(std::string_view text, Level& out) {
  if (text == "debug")
    out = Level::Debug;
  else if (text == "info")
    out = Level::Info;
  else if (text == "warn")
    out = Level::Warn;
  else if (text == "error")
    out = Level::Error;
  else
    return false;
  return true;
}

void write(Level l, std::string_view stage, std::string_view message, std::initializer_list<Field> fields) {
  if (l < g_level.load()) return;
  nlohmann::json j;
  j["ts"] = nowIso8601();
  j["level"] = levelName(l);
  j["stage"] = std::string(stage);
  j["msg"] = std::string(message);
  for (const auto& [k, v] : fields) j[std::string(k)] = v;
  // Peer-supplied text may hold invalid UTF-8; replace rather than throw.
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  std::lock_guard lock(g_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace tlsrelay::log
