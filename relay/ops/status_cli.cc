// See status_cli.h.
#include "relay/ops/status_cli.h"

#include <iostream>
#include <nlohmann/json.hpp>

#include "relay/ops/control_socket.h"
#include "relay/ops/daemon_status.h"
#include "relay/ops/runtime_config.h"

namespace tlsrelay {

int runStatus(const std::string& config_path, bool json, int timeout_seconds) {
  auto cfg = loadRelayConfig(config_path);
  if (!cfg.ok()) {
    std::cerr << cfg.error().message << "\n";
    return 1;
  }
  std::string socket = controlSocketPath(cfg->spool_directory);
  auto reply = ControlSocket::send(socket, "status", timeout_seconds);
  if (!reply.ok()) {
    std::cerr << "tlsrelay is not running: " << reply.error().message << "\n";
    return 1;
  }
  if (reply->rfind("ok ", 0) != 0) {
    std::cerr << "the daemon at " << socket << " answered: " << *reply << "\n";
    return 1;
  }
  auto status = decodeDaemonStatus(std::string_view(*reply).substr(3));
  if (!status.ok()) {
    std::cerr << status.error().message << "\n";
    return 1;
  }
  if (json)
    std::cout << nlohmann::json::parse(encodeDaemonStatus(*status)).dump(2) << "\n";
  else
    std::cout << formatDaemonStatus(*status);
  return 0;
}

}  // namespace tlsrelay
