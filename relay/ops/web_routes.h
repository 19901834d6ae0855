// The web view's routes on the admin endpoint: HTML pages (relay/web/) over
// the same data as the JSON API. Queue and posture pages are built on the
// loop (the queue lives there); report pages query the store off the loop.
#pragma once

#include <memory>

#include "relay/ops/admin_routes.h"
#include "relay/ops/off_loop_work.h"

namespace tlsrelay {

void addWebRoutes(AdminHttpServer& server, const AdminRouteSources& sources,
                  std::shared_ptr<OffLoopWork> work);

}  // namespace tlsrelay
