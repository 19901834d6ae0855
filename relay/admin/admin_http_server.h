// The admin HTTP endpoint: whatever routes the daemon registers (health and
// readiness probes, metrics, TLS reports POSTed by other senders). HTTP/1.1,
// optionally over TLS, through libh2o on the relay's own libuv loop. This file
// owns the listener and its connections, routing (404 / 405), bearer-token
// authentication, the request body limit and a shutdown that closes every
// handle; H2O and OpenSSL types never leave the .cc. Everything runs on the
// loop thread, and the process must ignore SIGPIPE (the daemon does).
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace tlsrelay {

struct AdminHttpConfig {
  // An IPv4 or [IPv6] literal and a port; port 0 = any free one (see port()).
  std::string listen = "127.0.0.1:8025";
  // HTTPS when both are set (PEM; the certificate file may carry intermediates).
  std::string tls_certificate_file;
  std::string tls_key_file;
  // When set, every path but /healthz, /readyz and public_paths needs
  // "Authorization: Bearer <token>" (RFC 6750 §2.1). Never logged.
  std::string bearer_token;
  // Exact paths anyone may use despite a token (where other organisations
  // POST their TLS reports).
  std::vector<std::string> public_paths;
  size_t max_body_bytes = 10 << 20;  // a larger request body gets 413
  size_t max_connections = 64;       // further connections are closed at once
  // A request's head and body must arrive within this (H2O's HTTP/1 request
  // timeout, which is also how long an idle keep-alive connection stays).
  uint64_t request_timeout_ms = 10000;
  // How long stop() lets requests in flight finish before answering them 503.
  uint64_t shutdown_grace_ms = 5000;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;
  std::string path;     // normalized and percent-decoded by H2O ("/a/../b" is "/b", "%41" is "A"), no query
  std::string query;    // what follows '?', as sent; "" when there is none
  HttpHeaders headers;  // names in lower case; Authorization is never included
  std::string body;     // the bytes as received (chunked coding removed)
  std::string peer;     // "ip:port" of the client
  // The first header of that name (case-insensitive), or null.
  const std::string* header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";  // "" = no Content-Type
  std::string body;
  // Extra header fields. Ones the server writes itself (Content-Length,
  // Content-Type, Connection, Date, Transfer-Encoding), names other than
  // letters, digits and hyphens, and values with CR, LF or NUL are dropped.
  HttpHeaders headers;

  static HttpResponse text(int status, std::string body);
};

class AdminHttpServer {
 public:
  enum class Match { kExact, kPrefix };
  using Handler = std::function<HttpResponse(const HttpRequest& request)>;
  // Call once, on the loop thread (after thread-pool work: from its after-work
  // callback or a uv_async). A call after the request is gone (answered 503 by
  // stop(), client vanished) does nothing; a call from another thread aborts.
  using Reply = std::function<void(HttpResponse response)>;
  using AsyncHandler = std::function<void(HttpRequest request, Reply reply)>;

  AdminHttpServer(uv_loop_t* loop, AdminHttpConfig config);
  // Calls stop(); if handles are still closing, their memory is freed by the
  // last close callback, so the loop must run on for that (or the process end).
  ~AdminHttpServer();
  AdminHttpServer(const AdminHttpServer&) = delete;
  AdminHttpServer& operator=(const AdminHttpServer&) = delete;

  // `path` is matched against the normalized request path: exactly, or as a
  // prefix (Match::kPrefix; "/reports/" matches "/reports/x"). The most
  // specific route wins (exact, then the longest prefix); a path whose routes
  // lack the method gets 405 with Allow. May be called before or after start().
  void addRoute(std::string method, std::string path, Handler handler, Match match = Match::kExact);
  void addAsyncRoute(std::string method, std::string path, AsyncHandler handler, Match match = Match::kExact);

  // Binds and listens. Errors name the address and the reason ("cannot listen
  // on 127.0.0.1:8025: address already in use"). Call once.
  Status start();
  // The bound port (useful with port 0); 0 when not listening.
  uint16_t port() const;
  // Stops accepting, closes idle connections, lets requests in flight finish
  // for shutdown_grace_ms (their responses close the connection), then answers
  // the rest 503 and, a second later, cuts connections that still linger. When
  // the last one is gone H2O's context is disposed and every handle closed, so
  // uv_run returns and uv_loop_close succeeds. Safe to call more than once.
  void stop();
  // True once stop() has closed every handle (or start() was never called).
  bool closed() const;

 private:
  struct Core;
  Core* core_;  // freed here when closed, else by its last close callback
};

}  // namespace tlsrelay
