// A Unix socket in the spool directory through which `tlsrelay queue
// flush|delete|bounce` reach the running daemon. One line in, one line out:
// "flush" / "delete ID" / "bounce ID" → "ok ..." or "error ..."; "health" →
// "ok [JSON array of destinations and hosts with connection failures]";
// "status" → "ok {JSON}" (relay/ops/daemon_status.h); and the commands other
// services add (addCommand).
#pragma once

#include <uv.h>

#include <functional>
#include <map>
#include <string>

#include "common/result.h"
#include "relay/ops/daemon_status.h"

namespace tlsrelay {

class DeliveryEngine;

// Where the running daemon's control socket is: in its spool folder.
inline std::string controlSocketPath(const std::string& spool_directory) {
  return spool_directory + "/control.sock";
}

class ControlSocket {
 public:
  ControlSocket(uv_loop_t* loop, std::string path, DeliveryEngine* engine);
  // A command whose answer comes later (the daemon's other services add
  // theirs: `report-send`). `reply` is called once, on the loop thread.
  using Reply = std::function<void(std::string line)>;
  using Command = std::function<void(const std::string& arg, Reply reply)>;
  void addCommand(std::string verb, Command command);
  // What "status" answers with; polled by the container HEALTHCHECK, so it is
  // not logged.
  using StatusSource = std::function<DaemonStatus()>;
  void setStatusSource(StatusSource source) { status_source_ = std::move(source); }
  // The daemon is draining: "status" and "health" are still answered (so
  // `tlsrelay status` can say so), every other command is refused.
  void setDraining() { draining_ = true; }

  Status listen();
  void close();

  // Client side, for the CLI: sends one command, returns the daemon's reply line.
  // `timeout_seconds` > 0: an error when no full reply came in that time.
  static Result<std::string> send(const std::string& path, const std::string& command,
                                  int timeout_seconds = 0);

 private:
  void execute(const std::string& line, Reply reply);
  std::string executeBuiltIn(const std::string& verb, const std::string& arg);
  uv_loop_t* loop_;
  std::string path_;
  DeliveryEngine* engine_;
  std::map<std::string, Command> commands_;
  StatusSource status_source_;
  bool draining_ = false;
  uv_pipe_t pipe_{};
  bool open_ = false;
};

}  // namespace tlsrelay
