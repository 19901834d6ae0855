// See web_routes.h.
#include "relay/ops/web_routes.h"

#include <ctime>

#include "common/ascii.h"
#include "common/time_format.h"
#include "relay/admin/admin_http_server.h"
#include "relay/admin/url_decoding.h"
#include "relay/ops/admin_api.h"
#include "relay/ops/report_service.h"
#include "relay/ops/report_views.h"
#include "relay/web/web_pages.h"

namespace tlsrelay {
namespace {

using nlohmann::json;

constexpr size_t kMessagesShown = 200;  // of one destination
constexpr int kChartDays = 14;

HttpResponse html(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(body);
  // The pages are rendered by us alone: nothing may load or run from elsewhere.
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse problem(int status, const std::string& title, const std::string& detail) {
  return html(status, web::problemPage(title, printableAscii(detail, 300)));
}

int64_t now() {
  return static_cast<int64_t>(::time(nullptr));
}

json parsedOrText(const std::string& text) {
  json doc = json::parse(text, nullptr, false);
  return doc.is_discarded() ? json("this report is not valid JSON") : doc;
}

class WebRoutes : public std::enable_shared_from_this<WebRoutes> {
 public:
  WebRoutes(const AdminRouteSources& s, std::shared_ptr<OffLoopWork> work) : s_(s), work_(std::move(work)) {}

  void add(AdminHttpServer& server) {
    auto self = shared_from_this();
    server.addAsyncRoute(
        "GET", "/", [self](HttpRequest, AdminHttpServer::Reply reply) { self->overview(std::move(reply)); });
    // Browsers ask for it on every page; "no icon" without a 404 in their console.
    server.addRoute("GET", "/favicon.ico", [](const HttpRequest&) { return HttpResponse::text(204, ""); });
    server.addRoute("GET", "/queue", [self](const HttpRequest&) {
      return html(200, web::queuePage(queueJson(*self->s_.engine, now())));
    });
    server.addRoute("GET", "/queue/destination",
                    [self](const HttpRequest& req) { return self->destinationQueue(req); });
    server.addRoute(
        "GET", "/queue/",
        [self](const HttpRequest& req) {
          const std::string id =
              std::string(std::string_view(req.path).substr(std::string_view("/queue/").size()));
          auto message = messageJson(*self->s_.engine, id);
          if (!message)
            return problem(404, "not in the queue",
                           "no queued message " + id + " (delivered, bounced or never here)");
          return html(200, web::messagePage(*message, now()));
        },
        AdminHttpServer::Match::kPrefix);
    server.addRoute("GET", "/destinations", [self](const HttpRequest&) {
      auto posture = self->s_.tls_posture ? self->s_.tls_posture() : std::vector<DestinationPosture>{};
      return html(200,
                  web::destinationsPage(postureJson(posture), healthJson(self->s_.engine->health()), now()));
    });
    if (s_.report_store == nullptr) {
      for (const char* path : {"/reports", "/reports/received"})
        server.addRoute("GET", path, [](const HttpRequest&) {
          return problem(404, "TLS reporting is off", "the relay has no [reporting] store configured");
        });
      return;
    }
    server.addAsyncRoute("GET", "/reports", [self](HttpRequest req, AdminHttpServer::Reply reply) {
      self->sentReports(req, std::move(reply));
    });
    server.addAsyncRoute(
        "GET", "/reports/",
        [self](HttpRequest req, AdminHttpServer::Reply reply) { self->sentReport(req, std::move(reply)); },
        AdminHttpServer::Match::kPrefix);
    server.addAsyncRoute("GET", "/reports/received", [self](HttpRequest, AdminHttpServer::Reply reply) {
      self->work_->run(std::move(reply), [store = self->s_.report_store] {
        auto view = receivedReportsView(*store);
        if (!view.ok()) return problem(503, "the report store is unavailable", view.error().message);
        return html(200, web::receivedReportsPage((*view)["received"]));
      });
    });
    server.addAsyncRoute("GET", "/reports/received/group",
                         [self](HttpRequest req, AdminHttpServer::Reply reply) {
                           self->receivedGroup(req, std::move(reply));
                         });
  }

 private:
  void overview(AdminHttpServer::Reply reply) {
    json status = daemonStatusJson(s_.status());
    json queue = queueJson(*s_.engine, now());
    if (s_.report_store == nullptr) {
      reply(html(200, web::overviewPage(status, queue, json())));
      return;
    }
    work_->run(std::move(reply), [store = s_.report_store, status, queue] {
      auto sent = sentReportsView(*store, kChartDays, now());
      // The queue is worth showing even when the store is down.
      return html(200, web::overviewPage(status, queue, sent.ok() ? *sent : json()));
    });
  }

  HttpResponse destinationQueue(const HttpRequest& req) {
    auto name = queryValue(req.query, "name");
    if (!name || name->empty())
      return problem(400, "which destination?", "expected /queue/destination?name=<destination>");
    // One pass over the queue: the count and the oldest ids together.
    const auto queued = s_.engine->messagesFor(*name, kMessagesShown);
    json messages = json::array();
    for (const std::string& id : queued.oldest)
      if (auto m = messageJson(*s_.engine, id)) messages.push_back(std::move(*m));
    return html(200, web::destinationQueuePage(*name, messages, queued.total, now()));
  }

  void sentReports(const HttpRequest& req, AdminHttpServer::Reply reply) {
    auto days = reportDays(req.query, kChartDays);
    if (!days) {
      reply(problem(400, "bad period", "days must be a number from 1 to 400"));
      return;
    }
    work_->run(std::move(reply), [store = s_.report_store, days = *days] {
      auto view = sentReportsView(*store, days, now());
      if (!view.ok()) return problem(503, "the report store is unavailable", view.error().message);
      return html(200, web::sentReportsPage(*view));
    });
  }

  void sentReport(const HttpRequest& req, AdminHttpServer::Reply reply) {
    auto key = reportKey(std::string_view(req.path).substr(std::string_view("/reports/").size()));
    if (!key) {
      reply(problem(404, "no such page", "expected /reports/YYYY-MM-DD/<policy-domain>"));
      return;
    }
    work_->run(std::move(reply),
               [store = s_.report_store, sender = s_.report_sender(), day = key->day, domain = key->domain] {
                 auto text = sentReportText(*store, sender, day, domain);
                 if (!text.ok()) return problem(503, "the report store is unavailable", text.error().message);
                 if (!text->has_value())
                   return problem(404, "no report", "no TLS sessions counted for " + domain + " on " + day);
                 return html(200, web::sentReportPage(day, domain, json::parse(**text)));
               });
  }

  void receivedGroup(const HttpRequest& req, AdminHttpServer::Reply reply) {
    auto day = queryValue(req.query, "day");
    auto organization = queryValue(req.query, "organization");
    auto domain = queryValue(req.query, "domain");
    if (!day || !organization || !domain) {
      reply(problem(400, "which reports?",
                    "expected ?day=YYYY-MM-DD&organization=<name>&domain=<policy-domain>"));
      return;
    }
    work_->run(std::move(reply),
               [store = s_.report_store, day = *day, organization = *organization, domain = *domain] {
                 auto ids = store->receivedReportIds(day, organization, domain);
                 if (!ids.ok()) return problem(503, "the report store is unavailable", ids.error().message);
                 json reports = json::array();
                 for (const std::string& id : *ids) {
                   auto text = receivedReportText(*store, organization, id);
                   if (!text.ok())
                     return problem(503, "the report store is unavailable", text.error().message);
                   if (text->has_value()) reports.push_back(parsedOrText(**text));
                 }
                 if (reports.empty())
                   return problem(404, "no reports",
                                  "no reports from " + organization + " for " + domain + " on " + day);
                 return html(200, web::receivedGroupPage(day, organization, domain, reports));
               });
  }

  AdminRouteSources s_;
  std::shared_ptr<OffLoopWork> work_;
};

}  // namespace

void addWebRoutes(AdminHttpServer& server, const AdminRouteSources& sources,
                  std::shared_ptr<OffLoopWork> work) {
  std::make_shared<WebRoutes>(sources, std::move(work))->add(server);
}

}  // namespace tlsrelay
