// A Unix socket in the spool directory through which `tlsrelay queue
// flush|delete|bounce` reach the running daemon. One line in, one line out:
// "flush" / "delete ID" / "bounce ID" → "ok ..." or "error ..."; "health" →
// "ok [JSON array of destinations and hosts with connection failures]".
#pragma once

#include <uv.h>

#include <string>

#include "common/result.h"

namespace tlsrelay {

class DeliveryEngine;

class ControlSocket {
 public:
  ControlSocket(uv_loop_t* loop, std::string path, DeliveryEngine* engine);
  Status listen();
  void close();

  // Client side, for the CLI: sends one command, returns the daemon's reply line.
  static Result<std::string> send(const std::string& path, const std::string& command);

 private:
  std::string execute(const std::string& line);
  uv_loop_t* loop_;
  std::string path_;
  DeliveryEngine* engine_;
  uv_pipe_t pipe_{};
  bool open_ = false;
};

}  // namespace tlsrelay
