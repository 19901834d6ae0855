// What `tlsrelay status` shows about a running daemon, and the one encoding
// of it on the control socket ("status" → "ok {JSON}"). Pure: the daemon
// fills a DaemonStatus, the CLI parses and prints one; both sides are here so
// they cannot drift apart.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace tlsrelay {

struct DaemonStatus {
  enum class State { Running, Draining } state = State::Running;
  int64_t pid = 0;
  int64_t started_at = 0;  // unix seconds
  int64_t now = 0;         // the daemon's clock when it answered
  std::string hostname;
  std::string config_file;  // "<embedded>" for the default
  size_t queued_messages = 0;
  struct Listener {
    std::string address;  // "0.0.0.0:25"
    std::string tls;      // "starttls" | "implicit"
  };
  std::vector<Listener> listeners;
};

const char* stateName(DaemonStatus::State state);

// The JSON object the control socket's "status" verb answers with (and the
// web view's overview shows), as a value and as its text.
nlohmann::json daemonStatusJson(const DaemonStatus& status);
std::string encodeDaemonStatus(const DaemonStatus& status);
// The reverse; the error says what was missing.
Result<DaemonStatus> decodeDaemonStatus(std::string_view json);

// The human-readable form `tlsrelay status` prints, one fact per line.
std::string formatDaemonStatus(const DaemonStatus& status);

}  // namespace tlsrelay
