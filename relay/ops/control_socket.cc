// See control_socket.h.
#include "relay/ops/control_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "relay/ops/admin_api.h"
#include "relay/queue/delivery_engine.h"

namespace tlsrelay {
namespace {

struct Client {
  uv_pipe_t pipe;
  ControlSocket* owner;
  std::string buffer;
};

struct Write {
  uv_write_t req;
  std::string data;
};

void closeClient(Client* c) {
  uv_close(reinterpret_cast<uv_handle_t*>(&c->pipe),
           [](uv_handle_t* h) { delete static_cast<Client*>(h->data); });
}

}  // namespace

ControlSocket::ControlSocket(uv_loop_t* loop, std::string path, DeliveryEngine* engine)
    : loop_(loop), path_(std::move(path)), engine_(engine) {}

Status ControlSocket::listen() {
  ::unlink(path_.c_str());  // a stale socket from a killed daemon
  uv_pipe_init(loop_, &pipe_, 0);
  pipe_.data = this;
  int rc = uv_pipe_bind(&pipe_, path_.c_str());
  if (rc == 0) {
    ::chmod(path_.c_str(), 0600);  // only the relay's own user may steer the queue
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&pipe_), 16, [](uv_stream_t* server, int status) {
      if (status < 0) return;
      auto* self = static_cast<ControlSocket*>(server->data);
      auto* c = new Client{{}, self, {}};
      uv_pipe_init(self->loop_, &c->pipe, 0);
      c->pipe.data = c;
      if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->pipe)) != 0) {
        closeClient(c);
        return;
      }
      uv_read_start(
          reinterpret_cast<uv_stream_t*>(&c->pipe),
          [](uv_handle_t*, size_t n, uv_buf_t* b) {
            b->base = new char[n];
            b->len = n;
          },
          [](uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
            std::unique_ptr<char[]> owned(b->base);
            auto* cl = static_cast<Client*>(s->data);
            if (n < 0 || cl->buffer.size() > 4096) {
              uv_read_stop(s);
              closeClient(cl);
              return;
            }
            cl->buffer.append(b->base, static_cast<size_t>(n));
            auto nl = cl->buffer.find('\n');
            if (nl == std::string::npos) return;
            uv_read_stop(s);
            cl->owner->execute(cl->buffer.substr(0, nl), [s, cl](std::string line) {
              auto* w = new Write;
              w->data = std::move(line) + "\n";
              w->req.data = cl;
              uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
              uv_write(&w->req, s, &buf, 1, [](uv_write_t* req, int) {
                auto* wr = reinterpret_cast<Write*>(req);
                closeClient(static_cast<Client*>(req->data));
                delete wr;
              });
            });
          });
    });
  }
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&pipe_), nullptr);
    return makeError("cannot listen on " + path_ + ": " + uv_strerror(rc));
  }
  open_ = true;
  return okStatus();
}

void ControlSocket::close() {
  if (!open_) return;
  open_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&pipe_), nullptr);
  ::unlink(path_.c_str());
}

void ControlSocket::addCommand(std::string verb, Command command) {
  commands_[std::move(verb)] = std::move(command);
}

void ControlSocket::execute(const std::string& line, Reply reply) {
  auto space = line.find(' ');
  std::string verb = line.substr(0, space);
  std::string arg = space == std::string::npos ? "" : line.substr(space + 1);
  if (draining_ && verb != "status" && verb != "health") {
    reply("error the daemon is draining (shutting down); '" + verb + "' refused");
    return;
  }
  auto added = commands_.find(verb);
  if (added == commands_.end()) {
    reply(executeBuiltIn(verb, arg));
    return;
  }
  log::info("control", "operator command", {{"command", verb}, {"id", arg}});
  added->second(arg, std::move(reply));
}

std::string ControlSocket::executeBuiltIn(const std::string& verb, const std::string& arg) {
  if (verb == "status") {
    if (!status_source_) return "error status unavailable";
    return "ok " + encodeDaemonStatus(status_source_());
  }
  if (verb == "health") {
    // Read-only and polled by `queue list`: not worth a log line.
    return "ok " +
           healthJson(engine_->health()).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  log::info("control", "operator command", {{"command", verb}, {"id", arg}});
  if (verb == "flush") {
    engine_->flush();
    return "ok flushed " + std::to_string(engine_->queuedMessages()) + " message(s)";
  }
  if (verb == "delete" || verb == "bounce") {
    auto s = verb == "delete" ? engine_->deleteMessage(arg) : engine_->bounceMessage(arg);
    return s.ok() ? "ok " + verb + " " + arg : "error " + s.error().message;
  }
  return "error unknown command '" + verb + "'";
}

Result<std::string> ControlSocket::send(const std::string& path, const std::string& command,
                                        int timeout_seconds) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return makeError(std::string("socket: ") + std::strerror(errno));
  if (timeout_seconds > 0) {
    timeval tv{timeout_seconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    ::close(fd);
    return makeError("control socket path too long: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::string err = std::strerror(errno);
    ::close(fd);
    return makeError("cannot reach the daemon at " + path + " (" + err + "); is `tlsrelay serve` running?");
  }
  std::string line = command + "\n";
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    ::close(fd);
    return makeError("cannot write to " + path);
  }
  std::string reply;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) reply.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (n < 0 && timeout_seconds > 0)
    return makeError("the daemon at " + path + " did not answer within " + std::to_string(timeout_seconds) +
                     "s");
  while (!reply.empty() && (reply.back() == '\n' || reply.back() == '\r')) reply.pop_back();
  return reply;
}

}  // namespace tlsrelay
