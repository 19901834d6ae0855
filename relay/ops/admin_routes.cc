#include "relay/ops/admin_routes.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "common/ascii.h"
#include "common/gzip.h"
#include "common/time_format.h"
#include "relay/admin/admin_http_server.h"
#include "relay/admin/url_decoding.h"
#include "relay/ops/admin_api.h"
#include "relay/ops/off_loop_work.h"
#include "relay/ops/report_service.h"
#include "relay/ops/report_views.h"
#include "relay/ops/web_routes.h"
#include "relay/queue/delivery_engine.h"
#include "reporting/report_builder.h"
#include "reporting/report_dispatch.h"
#include "reporting/report_reader.h"
#include "reporting/report_store.h"
#include "reporting/report_summary_json.h"

namespace tlsrelay {
namespace {

using json = nlohmann::json;

std::string dumpJson(const json& j) {
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

HttpResponse jsonResponse(int status, const json& j) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = dumpJson(j);
  return r;
}

HttpResponse jsonError(int status, const std::string& message) {
  return jsonResponse(status, json{{"error", message}});
}

class Routes : public std::enable_shared_from_this<Routes> {
 public:
  Routes(AdminRouteSources sources, std::shared_ptr<OffLoopWork> work)
      : s_(std::move(sources)), work_(std::move(work)) {}

  void add(AdminHttpServer& server) {
    auto self = shared_from_this();
    server.addRoute("GET", "/healthz", [](const HttpRequest&) { return HttpResponse::text(200, "ok\n"); });
    server.addRoute("GET", "/readyz", [self](const HttpRequest&) {
      return self->s_.draining() ? HttpResponse::text(503, "draining\n") : HttpResponse::text(200, "ready\n");
    });
    server.addRoute("GET", "/metrics", [self](const HttpRequest&) {
      HttpResponse r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = renderMetrics(self->s_.metrics());
      return r;
    });
    server.addRoute("GET", "/api/status", [self](const HttpRequest&) {
      HttpResponse r;
      r.content_type = "application/json";
      r.body = encodeDaemonStatus(self->s_.status()) + "\n";
      return r;
    });
    server.addRoute("GET", "/api/queue", [self](const HttpRequest&) {
      return jsonResponse(200, queueJson(*self->s_.engine, static_cast<int64_t>(::time(nullptr))));
    });
    server.addRoute(
        "GET", "/api/queue/",
        [self](const HttpRequest& req) {
          std::string id =
              std::string(std::string_view(req.path).substr(std::string_view("/api/queue/").size()));
          auto message = messageJson(*self->s_.engine, id);
          if (!message) return jsonError(404, "no queued message " + printableAscii(id, 64));
          return jsonResponse(200, *message);
        },
        AdminHttpServer::Match::kPrefix);
    server.addRoute("GET", "/api/destinations", [self](const HttpRequest&) {
      return jsonResponse(200, healthJson(self->s_.engine->health()));
    });
    server.addRoute("GET", "/api/tls-posture", [self](const HttpRequest&) {
      return jsonResponse(200, postureJson(self->s_.tls_posture ? self->s_.tls_posture()
                                                                : std::vector<DestinationPosture>{}));
    });
    if (s_.report_store == nullptr) return;
    server.addAsyncRoute("GET", "/api/reports", [self](HttpRequest req, AdminHttpServer::Reply reply) {
      self->sentReports(std::move(req), std::move(reply));
    });
    server.addAsyncRoute(
        "GET", "/api/reports/",
        [self](HttpRequest req, AdminHttpServer::Reply reply) {
          self->reportDocument(req, std::move(reply));
        },
        AdminHttpServer::Match::kPrefix);
    server.addAsyncRoute("GET", "/api/reports/received", [self](HttpRequest, AdminHttpServer::Reply reply) {
      self->offLoop(std::move(reply), [store = self->s_.report_store] {
        auto view = receivedReportsView(*store);
        if (!view.ok()) return jsonError(503, view.error().message);
        return jsonResponse(200, *view);
      });
    });
    server.addAsyncRoute("GET", "/api/reports/received/report",
                         [self](HttpRequest req, AdminHttpServer::Reply reply) {
                           self->receivedReport(req, std::move(reply));
                         });
    if (s_.reports != nullptr && !s_.report_path.empty())
      server.addAsyncRoute("POST", s_.report_path, [self](HttpRequest req, AdminHttpServer::Reply reply) {
        self->receive(std::move(req), std::move(reply));
      });
  }

  bool busy() const { return in_flight_ > 0 || work_->busy(); }

 private:
  void offLoop(AdminHttpServer::Reply reply, std::function<HttpResponse()> work) {
    work_->run(std::move(reply), std::move(work));
  }

  void sentReports(HttpRequest req, AdminHttpServer::Reply reply) {
    auto days = reportDays(req.query, 7);
    if (!days) {
      reply(jsonError(400, "days must be a number from 1 to 400"));
      return;
    }
    offLoop(std::move(reply),
            [store = s_.report_store, days = *days, now = static_cast<int64_t>(::time(nullptr))] {
              auto view = sentReportsView(*store, days, now);
              if (!view.ok()) return jsonError(503, view.error().message);
              return jsonResponse(200, *view);
            });
  }

  // /api/reports/<day>/<policy-domain>: the RFC 8460 document the counts make.
  void reportDocument(const HttpRequest& req, AdminHttpServer::Reply reply) {
    auto key = reportKey(std::string_view(req.path).substr(std::string_view("/api/reports/").size()));
    if (!key) {
      reply(jsonError(404, "expected /api/reports/YYYY-MM-DD/<policy-domain>"));
      return;
    }
    offLoop(std::move(reply), [store = s_.report_store, sender = s_.report_sender(), day = key->day,
                               domain = key->domain] {
      auto text = sentReportText(*store, sender, day, domain);
      if (!text.ok()) return jsonError(503, text.error().message);
      if (!text->has_value())
        return jsonError(404, "no TLS sessions counted for " + printableAscii(domain, 253) + " on " + day);
      HttpResponse r;
      r.content_type = "application/tlsrpt+json";
      r.body = **text + "\n";
      return r;
    });
  }

  void receivedReport(const HttpRequest& req, AdminHttpServer::Reply reply) {
    auto organization = queryValue(req.query, "organization");
    auto id = queryValue(req.query, "id");
    if (!organization || !id) {
      reply(jsonError(400, "expected ?organization=<organization-name>&id=<report-id>"));
      return;
    }
    offLoop(std::move(reply), [store = s_.report_store, organization = *organization, id = *id] {
      auto text = receivedReportText(*store, organization, id);
      if (!text.ok()) return jsonError(503, text.error().message);
      if (!text->has_value()) return jsonError(404, "no such report");
      HttpResponse r;
      r.content_type = "application/tlsrpt+json";
      r.body = std::move(**text);
      return r;
    });
  }

  // RFC 8460 §5.4: a report POSTed to us. 2xx only once it is safe on disk,
  // so a sender retries when the store is down.
  void receive(HttpRequest req, AdminHttpServer::Reply reply) {
    const std::string* type = req.header("content-type");
    std::string media = type ? lowerAscii(std::string(trimWsp(type->substr(0, type->find(';'))))) : "";
    if (media != "application/tlsrpt+gzip" && media != "application/tlsrpt+json") {
      reply(HttpResponse::text(415,
                               "expected Content-Type application/tlsrpt+gzip or application/tlsrpt+json\n"));
      return;
    }
    if (req.body.empty()) {
      reply(HttpResponse::text(400, "empty report\n"));
      return;
    }
    ++in_flight_;
    auto self = shared_from_this();
    s_.reports->ingest(
        std::make_shared<const std::string>(std::move(req.body)),
        [self, reply = std::move(reply)](IngestOutcome o) {
          --self->in_flight_;
          switch (o.kind) {
            case IngestOutcome::Kind::Stored:
              reply(HttpResponse::text(201, "report " + o.report_id + " stored\n"));
              return;
            case IngestOutcome::Kind::Duplicate:
              reply(HttpResponse::text(200, "report " + o.report_id + " was already stored\n"));
              return;
            case IngestOutcome::Kind::Malformed:
              if (o.kept())
                reply(HttpResponse::text(400, "not a TLS report we can read: " + o.error + "\n"));
              else
                reply(HttpResponse::text(503, "cannot keep the report now; try again later\n"));
              return;
            case IngestOutcome::Kind::StoreError:
              reply(HttpResponse::text(503, "cannot store the report now; try again later\n"));
              return;
          }
        });
  }

  AdminRouteSources s_;
  std::shared_ptr<OffLoopWork> work_;
  int in_flight_ = 0;  // ingests under way; loop thread only
};

}  // namespace

std::function<bool()> addAdminRoutes(AdminHttpServer& server, AdminRouteSources sources) {
  auto work = OffLoopWork::make(sources.loop);
  addWebRoutes(server, sources, work);
  auto routes = std::make_shared<Routes>(std::move(sources), work);
  routes->add(server);
  return [routes] { return routes->busy(); };
}

}  // namespace tlsrelay
