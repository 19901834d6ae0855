// Blocking work for the admin endpoint (store queries): run on libuv's thread
// pool, the reply sent from the loop thread once it is done. Shared by the
// JSON API and the web view; busy() tells the daemon's drain to wait, since
// the work holds the store and the loop. Create and use on the loop thread.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>

#include "relay/admin/admin_http_server.h"

namespace tlsrelay {

class OffLoopWork : public std::enable_shared_from_this<OffLoopWork> {
 public:
  static std::shared_ptr<OffLoopWork> make(uv_loop_t* loop);
  // `work` runs on a pool thread; `reply` gets its response on the loop.
  void run(AdminHttpServer::Reply reply, std::function<HttpResponse()> work);
  bool busy() const { return in_flight_ > 0; }

 private:
  explicit OffLoopWork(uv_loop_t* loop) : loop_(loop) {}
  uv_loop_t* loop_;
  int in_flight_ = 0;  // loop thread only
};

}  // namespace tlsrelay
