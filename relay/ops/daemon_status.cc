// See daemon_status.h.
#include "relay/ops/daemon_status.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "common/time_format.h"

namespace tlsrelay {

const char* stateName(DaemonStatus::State state) {
  return state == DaemonStatus::State::Draining ? "draining" : "running";
}

nlohmann::json daemonStatusJson(const DaemonStatus& s) {
  nlohmann::json listeners = nlohmann::json::array();
  for (const auto& l : s.listeners) listeners.push_back({{"address", l.address}, {"tls", l.tls}});
  nlohmann::json out = {{"state", stateName(s.state)},
                        {"pid", s.pid},
                        {"started_at", s.started_at},
                        {"uptime_seconds", s.now - s.started_at},
                        {"now", s.now},
                        {"hostname", s.hostname},
                        {"config", s.config_file},
                        {"queued_messages", s.queued_messages},
                        {"listeners", listeners}};
  return out;
}

std::string encodeDaemonStatus(const DaemonStatus& s) {
  return daemonStatusJson(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<DaemonStatus> decodeDaemonStatus(std::string_view json) {
  auto in = nlohmann::json::parse(json, nullptr, false);
  if (!in.is_object()) return makeError("the daemon's status reply is not a JSON object");
  for (const char* key : {"state", "started_at", "now", "queued_messages", "listeners"})
    if (!in.contains(key)) return makeError(std::string("the daemon's status reply has no ") + key);
  DaemonStatus s;
  try {
    std::string state = in.at("state").get<std::string>();
    if (state != "running" && state != "draining")
      return makeError("the daemon's status reply has an unknown state '" + state + "'");
    s.state = state == "draining" ? DaemonStatus::State::Draining : DaemonStatus::State::Running;
    s.pid = in.value("pid", int64_t{0});
    s.started_at = in.at("started_at").get<int64_t>();
    s.now = in.at("now").get<int64_t>();
    s.hostname = in.value("hostname", "");
    s.config_file = in.value("config", "");
    s.queued_messages = in.at("queued_messages").get<size_t>();
    for (const auto& l : in.at("listeners"))
      s.listeners.push_back({l.at("address").get<std::string>(), l.value("tls", "")});
  } catch (const nlohmann::json::exception& e) {
    return makeError(std::string("the daemon's status reply is malformed: ") + e.what());
  }
  return s;
}

std::string formatDaemonStatus(const DaemonStatus& s) {
  std::ostringstream out;
  out << "state:     " << stateName(s.state);
  if (s.state == DaemonStatus::State::Draining) out << " (finishing sessions and deliveries, then exiting)";
  out << "\n"
      << "uptime:    " << formatDuration(s.now - s.started_at) << " (since " << iso8601Utc(s.started_at)
      << ")\n";
  if (s.pid != 0) out << "pid:       " << s.pid << "\n";
  if (!s.hostname.empty()) out << "hostname:  " << s.hostname << "\n";
  if (!s.config_file.empty()) out << "config:    " << s.config_file << "\n";
  out << "queued:    " << s.queued_messages << " message(s)\n";
  if (s.listeners.empty()) out << "listening: none\n";
  for (size_t i = 0; i < s.listeners.size(); ++i)
    out << (i == 0 ? "listening: " : "           ") << s.listeners[i].address
        << (s.listeners[i].tls.empty() ? "" : " (" + s.listeners[i].tls + ")") << "\n";
  return out.str();
}

}  // namespace tlsrelay
