// See off_loop_work.h.
#include "relay/ops/off_loop_work.h"

namespace tlsrelay {

std::shared_ptr<OffLoopWork> OffLoopWork::make(uv_loop_t* loop) {
  return std::shared_ptr<OffLoopWork>(new OffLoopWork(loop));
}

void OffLoopWork::run(AdminHttpServer::Reply reply, std::function<HttpResponse()> work) {
  struct Work {
    uv_work_t req{};
    std::function<HttpResponse()> work;
    AdminHttpServer::Reply reply;
    HttpResponse response;
    std::shared_ptr<OffLoopWork> owner;  // alive until the after-work callback
  };
  auto* w = new Work{{}, std::move(work), std::move(reply), {}, shared_from_this()};
  w->req.data = w;
  ++in_flight_;
  uv_queue_work(
      loop_, &w->req,
      [](uv_work_t* req) {
        auto* w = static_cast<Work*>(req->data);
        w->response = w->work();
      },
      [](uv_work_t* req, int) {
        std::unique_ptr<Work> w(static_cast<Work*>(req->data));
        --w->owner->in_flight_;
        w->reply(std::move(w->response));
      });
}

}  // namespace tlsrelay
