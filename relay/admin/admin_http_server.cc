// See admin_http_server.h. H2O 2.2 in its libuv mode: our uv_tcp_t listener
// accepts, h2o_uv_socket_create + h2o_accept hand each connection to H2O
// (HTTP/1.1 parsing, TLS through the SSL_CTX built in relay/tls/, the body
// limit, 100-continue), and one catch-all handler brings every request here
// for authentication and routing. We keep our own list of connections so that
// stop() can end them: H2O 2.2 has no call that closes HTTP/1 connections.
#include "relay/admin/admin_http_server.h"

// h2o.h includes OpenSSL's headers for its own types; nothing here calls OpenSSL.
#include <h2o.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <memory>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "common/ascii.h"
#include "common/base64.h"
#include "common/constant_time.h"
#include "common/host_port.h"
#include "common/log.h"
#include "relay/tls/http_tls_context.h"

namespace tlsrelay {
namespace {

constexpr std::string_view kStage = "admin";
constexpr uint64_t kHardCloseDelayMs = 1000;  // after the grace: cut what still lingers

const char* reasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Request Entity Too Large";  // H2O's own phrase for its limit: one phrase for both
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "";  // RFC 9112 §4: the reason phrase may be empty; a made-up one would mislead
  }
}

bool fieldIsSafe(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// Written by the server itself; a handler's copy would duplicate or contradict it.
bool isServerOwnedHeader(std::string_view name) {
  for (std::string_view owned : {"content-length", "content-type", "connection", "date", "transfer-encoding"})
    if (equalsIgnoreCase(name, owned)) return true;
  return false;
}

std::string_view view(h2o_iovec_t v) {
  return v.base == nullptr ? std::string_view() : std::string_view(v.base, v.len);
}

std::string peerOf(h2o_req_t* req) {
  sockaddr_storage ss{};
  socklen_t len = req->conn->callbacks->get_peername(req->conn, reinterpret_cast<sockaddr*>(&ss));
  if (len == 0) return "";
  char ip[64] = {0};
  uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&ss);
    uv_ip4_name(v4, ip, sizeof ip);
    port = ntohs(v4->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    uv_ip6_name(v6, ip, sizeof ip);
    port = ntohs(v6->sin6_port);
  } else {
    return "";
  }
  return joinHostPort(ip, port);
}

// "127.0.0.1:8025", "[::1]:8025"; port 0 asks for any free port. A missing
// port is an error, not a random one.
Result<sockaddr_storage> parseListen(const std::string& text) {
  auto hp = parseListenAddress(text, /*allow_port_zero=*/true);
  if (!hp) return makeError("admin listen address '" + text + "': " + hp.error().message);
  auto sa = toSockaddr(hp->host, hp->port);
  if (!sa) return makeError("admin listen address '" + text + "': " + sa.error().message);
  return sa;
}

}  // namespace

const std::string* HttpRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (equalsIgnoreCase(n, name)) return &v;
  return nullptr;
}

HttpResponse HttpResponse::text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

struct AdminHttpServer::Core {
  enum class Phase { kIdle, kRunning, kStopping, kClosing, kClosed };

  struct Route {
    std::string method;
    std::string path;
    Match match;
    Handler handler;             // one of the two is set
    AsyncHandler async_handler;  //
  };

  // One accepted socket. `tcp` comes first: H2O takes over tcp.data, so the
  // close callback finds the Connection from the handle's address.
  struct Connection {
    uv_tcp_t tcp;
    Core* core;
  };

  // An asynchronous request waiting for its reply. The request's memory pool
  // carries a pointer back (`slot`), so a request H2O disposes first is known.
  struct Pending {
    h2o_req_t* req;
    Core* core;
    Pending** slot;
    std::thread::id loop_thread;
  };

  // H2O's handler object with a way back to us.
  struct Handler2o {
    h2o_handler_t super;
    Core* core;
  };

  Core(uv_loop_t* l, AdminHttpConfig c) : loop(l), config(std::move(c)) {}

  uv_loop_t* loop;
  AdminHttpConfig config;
  std::vector<Route> routes;
  Phase phase = Phase::kIdle;
  bool orphaned = false;  // the AdminHttpServer is gone: the last close callback frees us
  int closing = 0;        // our uv_close calls whose callback has not run yet
  std::unique_ptr<HttpServerTlsContext> tls;
  h2o_globalconf_t globalconf{};
  h2o_context_t ctx{};
  h2o_accept_ctx_t accept_ctx{};
  uv_tcp_t listener{};
  uv_timer_t stop_timer{};
  int stop_step = 0;  // 0: the grace runs; 1: the hard-close delay runs
  std::unordered_set<Connection*> connections;
  std::unordered_map<Pending*, std::shared_ptr<Pending>> pending;
  std::thread::id loop_thread;

  Status start();
  void stop();
  uint16_t port() const;

  void closeOwned(uv_handle_t* handle);
  void onOwnedClosed();
  void onAccept();
  void onConnectionClosed(Connection* c);
  void onStopTimer();
  void shutdownSockets(int how);
  void maybeFinishStop();
  void disposeContext();

  void handle(h2o_req_t* req);
  void send(h2o_req_t* req, const HttpResponse& response);
  void answer(Pending& p, const HttpResponse& response);
  bool authorized(h2o_req_t* req, std::string_view path, HttpResponse& refusal) const;
  HttpRequest makeRequest(h2o_req_t* req, std::string_view path) const;
};

Status AdminHttpServer::Core::start() {
  if (phase != Phase::kIdle) return makeError("admin HTTP server already started");
  auto addr = parseListen(config.listen);
  if (!addr) return addr.error();
  const bool has_cert = !config.tls_certificate_file.empty(), has_key = !config.tls_key_file.empty();
  if (has_cert != has_key) return makeError("admin TLS needs both a certificate and a key file");
  if (has_cert) {
    ServerTlsSettings settings;
    settings.certificate_file = config.tls_certificate_file;
    settings.key_file = config.tls_key_file;
    auto made = HttpServerTlsContext::make(settings);
    if (!made) return makeError("admin TLS: " + made.error().message);
    tls = std::move(made.value());
  }

  loop_thread = std::this_thread::get_id();
  uv_tcp_init(loop, &listener);
  listener.data = this;
  const auto* sa = reinterpret_cast<const sockaddr*>(&addr.value());
  int rc = uv_tcp_bind(&listener, sa, sa->sa_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
  // libuv reports EADDRINUSE from uv_listen, not from uv_tcp_bind.
  if (rc == 0)
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener), 64, [](uv_stream_t* s, int status) {
      auto* core = static_cast<Core*>(s->data);
      if (status < 0) {
        log::warn(kStage, "accept failed", {{"error", uv_strerror(status)}});
        return;
      }
      core->onAccept();
    });
  if (rc != 0) {
    phase = Phase::kClosing;
    closeOwned(reinterpret_cast<uv_handle_t*>(&listener));
    return makeError("cannot listen on " + config.listen + ": " + uv_strerror(rc));
  }

  h2o_config_init(&globalconf);
  globalconf.server_name = h2o_iovec_init(H2O_STRLIT(""));  // no Server header
  // H2O refuses a chunked body that reaches its limit, a Content-Length that
  // exceeds it; one byte more here and the exact check in handle() give both
  // "more than max_body_bytes is refused".
  globalconf.max_request_entity_size =
      config.max_body_bytes == SIZE_MAX ? SIZE_MAX : config.max_body_bytes + 1;
  globalconf.http1.req_timeout = config.request_timeout_ms;
  globalconf.http1.upgrade_to_http2 = 0;  // HTTP/1.1 only: no h2c upgrade, no "PRI *" preface
  h2o_hostconf_t* host = h2o_config_register_host(&globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  h2o_pathconf_t* root = h2o_config_register_path(host, "/", 0);
  auto* handler = reinterpret_cast<Handler2o*>(h2o_create_handler(root, sizeof(Handler2o)));
  handler->core = this;
  handler->super.on_req = [](h2o_handler_t* self, h2o_req_t* req) {
    reinterpret_cast<Handler2o*>(self)->core->handle(req);
    return 0;
  };
  h2o_context_init(&ctx, loop, &globalconf);
  accept_ctx.ctx = &ctx;
  accept_ctx.hosts = globalconf.hosts;
  accept_ctx.ssl_ctx = tls ? static_cast<SSL_CTX*>(tls->sslCtx()) : nullptr;
  phase = Phase::kRunning;
  log::info(kStage, "admin HTTP server listening",
            {{"address", config.listen},
             {"port", std::to_string(port())},
             {"tls", tls ? "yes" : "no"},
             {"auth", config.bearer_token.empty() ? "none" : "bearer"}});
  return okStatus();
}

uint16_t AdminHttpServer::Core::port() const {
  if (phase != Phase::kRunning) return 0;
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getsockname(&listener, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
}

void AdminHttpServer::Core::closeOwned(uv_handle_t* handle) {
  handle->data = this;
  ++closing;
  uv_close(handle, [](uv_handle_t* h) { static_cast<Core*>(h->data)->onOwnedClosed(); });
}

void AdminHttpServer::Core::onOwnedClosed() {
  --closing;
  if (phase != Phase::kClosing || closing != 0) return;
  phase = Phase::kClosed;
  if (orphaned) delete this;
}

void AdminHttpServer::Core::onAccept() {
  auto* c = new Connection{{}, this};
  uv_tcp_init(loop, &c->tcp);
  connections.insert(c);
  auto on_closed = [](uv_handle_t* h) {
    auto* conn = reinterpret_cast<Connection*>(h);
    conn->core->onConnectionClosed(conn);
  };
  if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener), reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), on_closed);
    return;
  }
  // No phase check: stop() closes the listener first, so nothing is accepted then.
  if (connections.size() > config.max_connections) {
    log::warn(kStage, "too many admin connections; closing a new one",
              {{"limit", std::to_string(config.max_connections)}});
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), on_closed);
    return;
  }
  h2o_socket_t* sock = h2o_uv_socket_create(reinterpret_cast<uv_stream_t*>(&c->tcp), on_closed);
  h2o_accept(&accept_ctx, sock);
}

void AdminHttpServer::Core::onConnectionClosed(Connection* c) {
  connections.erase(c);
  delete c;
  maybeFinishStop();
}

void AdminHttpServer::Core::stop() {
  if (phase == Phase::kIdle) {
    phase = Phase::kClosed;
    return;
  }
  if (phase != Phase::kRunning) return;
  phase = Phase::kStopping;
  closeOwned(reinterpret_cast<uv_handle_t*>(&listener));
  // What HTTP/1 reads to stop keep-alive. Not h2o_context_request_shutdown():
  // its HTTP/2 part links a one-second timer entry into the context (even with
  // no HTTP/2 connection), and the context could then not be disposed.
  ctx.shutdown_requested = 1;
  // An idle connection reads end-of-file and H2O closes it; one with a request
  // in flight is not reading, and closes after its response (stopping: no
  // keep-alive). Data already received is still read: a request in it gets 503.
  shutdownSockets(SHUT_RD);
  log::info(kStage, "admin HTTP server stopping",
            {{"connections", std::to_string(connections.size())},
             {"requests_in_flight", std::to_string(pending.size())}});
  uv_timer_init(loop, &stop_timer);
  stop_timer.data = this;
  uv_timer_start(
      &stop_timer, [](uv_timer_t* t) { static_cast<Core*>(t->data)->onStopTimer(); },
      config.shutdown_grace_ms, 0);
  maybeFinishStop();
}

void AdminHttpServer::Core::onStopTimer() {
  if (stop_step == 0) {
    stop_step = 1;
    if (!pending.empty())
      log::warn(kStage, "admin requests still in flight after the shutdown grace; answering 503",
                {{"requests", std::to_string(pending.size())}});
    std::vector<std::shared_ptr<Pending>> left;
    for (auto& [raw, p] : pending) left.push_back(p);
    for (auto& p : left) answer(*p, HttpResponse::text(503, "shutting down\n"));
    uv_timer_start(
        &stop_timer, [](uv_timer_t* t) { static_cast<Core*>(t->data)->onStopTimer(); }, kHardCloseDelayMs, 0);
    return;
  }
  // A client that reads nothing keeps its response unsent: cut the sockets, so
  // the writes fail and H2O closes the connections.
  log::warn(kStage, "closing admin connections that outlived the shutdown",
            {{"connections", std::to_string(connections.size())}});
  shutdownSockets(SHUT_RDWR);
}

void AdminHttpServer::Core::shutdownSockets(int how) {
  for (Connection* c : connections) {
    uv_os_fd_t fd;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(&c->tcp), &fd) == 0) ::shutdown(fd, how);
  }
}

void AdminHttpServer::Core::maybeFinishStop() {
  if (phase != Phase::kStopping || !connections.empty()) return;
  phase = Phase::kClosing;
  uv_timer_stop(&stop_timer);
  closeOwned(reinterpret_cast<uv_handle_t*>(&stop_timer));
  disposeContext();
  log::info(kStage, "admin HTTP server stopped");
}

// What h2o_context_dispose() does, except its closing uv_run(loop,
// UV_RUN_NOWAIT): libuv forbids running a loop from one of its callbacks, and
// stop() runs in one (the daemon's SIGTERM handler). The context's timers are
// closed with a counted callback instead, and we live until they are closed.
void AdminHttpServer::Core::disposeContext() {
  for (size_t i = 0; globalconf.hosts[i] != nullptr; ++i) {
    h2o_hostconf_t* host = globalconf.hosts[i];
    for (size_t j = 0; j != host->paths.size; ++j)
      h2o_context_dispose_pathconf_context(&ctx, host->paths.entries + j);
    h2o_context_dispose_pathconf_context(&ctx, &host->fallback_path);
  }
  free(ctx._pathconfs_inited.entries);
  free(ctx._module_configs);
  h2o_timeout_t* timeouts[] = {&ctx.zero_timeout,
                               &ctx.one_sec_timeout,
                               &ctx.hundred_ms_timeout,
                               &ctx.handshake_timeout,
                               &ctx.http1.req_timeout,
                               &ctx.http2.idle_timeout,
                               &ctx.http2.graceful_shutdown_timeout,
                               &ctx.proxy.io_timeout};
  for (h2o_timeout_t* t : timeouts) {
    if (!h2o_linklist_is_empty(&t->_entries))
      log::error(kStage, "H2O timeout still has entries after the last connection closed",
                 {{"timeout_ms", std::to_string(t->timeout)}});
    closeOwned(reinterpret_cast<uv_handle_t*>(&t->_backend.timer));
  }
  h2o_filecache_destroy(ctx.filecache);
  ctx.filecache = nullptr;
  for (size_t i = 0; i != ctx.storage.size; ++i)
    if (ctx.storage.entries[i].dispose != nullptr)
      ctx.storage.entries[i].dispose(ctx.storage.entries[i].data);
  free(ctx.storage.entries);
  h2o_multithread_unregister_receiver(ctx.queue, &ctx.receivers.hostinfo_getaddr);
  h2o_multithread_destroy_queue(ctx.queue);  // closes its uv_async_t and frees it in the callback
  if (ctx._timestamp_cache.value != nullptr) h2o_mem_release_shared(ctx._timestamp_cache.value);
  h2o_config_dispose(&globalconf);
}

bool AdminHttpServer::Core::authorized(h2o_req_t* req, std::string_view path, HttpResponse& refusal) const {
  if (config.bearer_token.empty() || path == "/healthz" || path == "/readyz") return true;
  for (const std::string& open : config.public_paths)
    if (path == open) return true;
  ssize_t at = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
  std::string_view value = at == -1 ? std::string_view() : view(req->headers.entries[at].value);
  // RFC 7235 §2.1: the scheme is case-insensitive; RFC 6750 §2.1: "Bearer" 1*SP token.
  bool presented = value.size() > 7 && equalsIgnoreCase(value.substr(0, 7), "bearer ");
  std::string_view token = presented ? trimWsp(value.substr(7)) : std::string_view();
  // A browser cannot send a bearer token; it can ask for a password (RFC 7617
  // Basic), so the token is accepted as the password with any user name.
  std::string basic_password;
  if (!presented && value.size() > 6 && equalsIgnoreCase(value.substr(0, 6), "basic ")) {
    auto decoded = base64Decode(trimWsp(value.substr(6)));
    presented = decoded.ok() && decoded->find(':') != std::string::npos;
    if (presented) basic_password = decoded->substr(decoded->find(':') + 1);
    token = basic_password;
  }
  // RFC 6750 §5.3: guard the token (the comparison takes no early exit).
  if (presented && constantTimeEquals(config.bearer_token, token)) return true;
  refusal = HttpResponse::text(401, "authentication required\n");
  // RFC 6750 §3: a challenge always; error="invalid_token" when one was presented.
  refusal.headers.emplace_back("WWW-Authenticate", presented
                                                       ? "Bearer realm=\"tlsrelay\", error=\"invalid_token\""
                                                       : "Bearer realm=\"tlsrelay\"");
  // Offered second, so a browser asks for the token as a password.
  refusal.headers.emplace_back("WWW-Authenticate", "Basic realm=\"tlsrelay\", charset=\"UTF-8\"");
  return false;
}

HttpRequest AdminHttpServer::Core::makeRequest(h2o_req_t* req, std::string_view path) const {
  HttpRequest r;
  r.method = std::string(view(req->method));
  r.path = std::string(path);
  if (req->query_at != SIZE_MAX && req->query_at < req->path.len)
    r.query = std::string(view(req->path).substr(req->query_at + 1));
  r.headers.reserve(req->headers.size);
  for (size_t i = 0; i != req->headers.size; ++i) {
    const h2o_header_t& h = req->headers.entries[i];
    if (h.name == &H2O_TOKEN_AUTHORIZATION->buf) continue;  // the token stays here
    r.headers.emplace_back(lowerAscii(view(*h.name)), std::string(view(h.value)));
  }
  r.body = std::string(view(req->entity));
  r.peer = peerOf(req);
  return r;
}

void AdminHttpServer::Core::handle(h2o_req_t* req) {
  if (phase != Phase::kRunning) {
    send(req, HttpResponse::text(503, "shutting down\n"));
    return;
  }
  const std::string_view path = view(req->path_normalized);
  const std::string_view method = view(req->method);
  HttpResponse refusal;
  if (!authorized(req, path, refusal)) {
    if (log::enabled(log::Level::Debug))
      log::debug(kStage, "admin request refused: no valid bearer token",
                 {{"path", std::string(path)}, {"peer", peerOf(req)}});
    send(req, refusal);
    return;
  }
  const Route* best = nullptr;
  std::vector<std::string> allowed;
  size_t best_rank = 0;
  for (const Route& r : routes) {
    const bool matches = r.match == Match::kExact ? path == r.path : path.substr(0, r.path.size()) == r.path;
    if (!matches) continue;
    // Exact beats any prefix; a longer prefix beats a shorter one.
    const size_t rank = r.match == Match::kExact ? SIZE_MAX : r.path.size() + 1;
    // RFC 9110 §9.3.2: HEAD is GET without the body (send() leaves it out).
    const bool head_as_get = method == "HEAD" && r.method == "GET";
    if (r.method != method && !head_as_get) {
      allowed.push_back(r.method);
      if (r.method == "GET") allowed.push_back("HEAD");
      continue;
    }
    // At the same rank a route for the method itself beats GET standing in for HEAD.
    if (rank > best_rank || (rank == best_rank && best != nullptr && best->method != method)) {
      best = &r;
      best_rank = rank;
    }
  }
  if (best == nullptr) {
    if (allowed.empty()) {
      send(req, HttpResponse::text(404, "not found\n"));
      return;
    }
    std::sort(allowed.begin(), allowed.end());
    allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
    std::string allow;
    for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
    HttpResponse r = HttpResponse::text(405, "method not allowed\n");
    r.headers.emplace_back("Allow", allow);  // RFC 9110 §15.5.6
    send(req, r);
    return;
  }
  if (req->entity.len > config.max_body_bytes) {
    send(req, HttpResponse::text(413, "request body too large\n"));
    return;
  }
  HttpRequest request = makeRequest(req, path);
  if (log::enabled(log::Level::Debug))
    log::debug(kStage, "admin request",
               {{"method", request.method}, {"path", request.path}, {"peer", request.peer}});
  // Copies: a handler may add routes, which moves the vector.
  if (best->handler) {
    Handler handler = best->handler;
    HttpResponse response;
    try {
      response = handler(request);
    } catch (const std::exception& e) {
      log::error(kStage, "admin handler failed", {{"path", request.path}, {"error", e.what()}});
      response = HttpResponse::text(500, "internal error\n");
    } catch (...) {
      log::error(kStage, "admin handler failed", {{"path", request.path}});
      response = HttpResponse::text(500, "internal error\n");
    }
    send(req, response);
    return;
  }

  auto p = std::make_shared<Pending>(Pending{req, this, nullptr, loop_thread});
  // When H2O disposes the request (its pool is cleared) before we answer, the
  // slot tells the Pending; answering disarms the slot first.
  auto** slot = static_cast<Pending**>(h2o_mem_alloc_shared(&req->pool, sizeof(Pending*), [](void* mem) {
    Pending* gone = *static_cast<Pending**>(mem);
    if (gone == nullptr) return;
    Core* core = gone->core;
    gone->req = nullptr;
    gone->slot = nullptr;
    gone->core = nullptr;       // a later reply does nothing, even after we are gone
    core->pending.erase(gone);  // may free `gone`
  }));
  *slot = p.get();
  p->slot = slot;
  pending.emplace(p.get(), p);
  Reply reply = [p](HttpResponse response) {
    if (std::this_thread::get_id() != p->loop_thread) {
      log::error(kStage, "admin reply called off the loop thread");
      std::abort();  // a data race on H2O's state otherwise
    }
    if (p->core != nullptr) p->core->answer(*p, response);
  };
  AsyncHandler async_handler = best->async_handler;
  try {
    async_handler(std::move(request), std::move(reply));
  } catch (const std::exception& e) {
    log::error(kStage, "admin handler failed", {{"path", std::string(path)}, {"error", e.what()}});
    answer(*p, HttpResponse::text(500, "internal error\n"));
  } catch (...) {
    log::error(kStage, "admin handler failed", {{"path", std::string(path)}});
    answer(*p, HttpResponse::text(500, "internal error\n"));
  }
}

void AdminHttpServer::Core::answer(Pending& p, const HttpResponse& response) {
  // A second answer finds req, slot and the map entry already cleared.
  h2o_req_t* req = p.req;
  if (p.slot != nullptr) *p.slot = nullptr;
  p.slot = nullptr;
  p.req = nullptr;
  p.core = nullptr;
  auto keep = pending.find(&p);
  std::shared_ptr<Pending> hold;  // `p` may be owned by the map alone
  if (keep != pending.end()) {
    hold = std::move(keep->second);
    pending.erase(keep);
  }
  if (req != nullptr) send(req, response);
}

void AdminHttpServer::Core::send(h2o_req_t* req, const HttpResponse& response) {
  if (phase != Phase::kRunning) req->http1_is_persistent = 0;  // stopping: close after this response
  // A final status only: a handler's 1xx would be sent as if it were final.
  const int status = response.status >= 200 && response.status <= 599 ? response.status : 500;
  req->res.status = status;
  req->res.reason = reasonPhrase(status);
  req->res.content_length = response.body.size();
  auto add = [req](std::string_view name, std::string_view value) {
    h2o_iovec_t n = h2o_strdup(&req->pool, name.data(), name.size());
    h2o_iovec_t v = h2o_strdup(&req->pool, value.data(), value.size());
    h2o_add_header_by_str(&req->pool, &req->res.headers, n.base, n.len, 0, nullptr, v.base, v.len);
  };
  if (!response.content_type.empty() && fieldIsSafe(response.content_type))
    add("Content-Type", response.content_type);
  for (const auto& [name, value] : response.headers) {
    if (!isFieldNameToken(name) || !fieldIsSafe(value) || isServerOwnedHeader(name)) {
      log::warn(kStage, "admin handler set a header the server refuses; dropped", {{"header", name}});
      continue;
    }
    add(name, value);
  }
  static h2o_generator_t generator = {nullptr, nullptr};
  h2o_start_response(req, &generator);
  if (view(req->method) == "HEAD") {
    h2o_send(req, nullptr, 0, H2O_SEND_STATE_FINAL);
    return;
  }
  h2o_iovec_t body = h2o_strdup(&req->pool, response.body.data(), response.body.size());
  h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}

AdminHttpServer::AdminHttpServer(uv_loop_t* loop, AdminHttpConfig config)
    : core_(new Core(loop, std::move(config))) {}

AdminHttpServer::~AdminHttpServer() {
  core_->stop();
  if (core_->phase == Core::Phase::kClosed)
    delete core_;
  else
    core_->orphaned = true;
}

void AdminHttpServer::addRoute(std::string method, std::string path, Handler handler, Match match) {
  core_->routes.push_back({std::move(method), std::move(path), match, std::move(handler), nullptr});
}

void AdminHttpServer::addAsyncRoute(std::string method, std::string path, AsyncHandler handler, Match match) {
  core_->routes.push_back({std::move(method), std::move(path), match, nullptr, std::move(handler)});
}

Status AdminHttpServer::start() {
  return core_->start();
}

uint16_t AdminHttpServer::port() const {
  return core_->port();
}

void AdminHttpServer::stop() {
  core_->stop();
}

bool AdminHttpServer::closed() const {
  return core_->phase == Core::Phase::kClosed;
}

}  // namespace tlsrelay
