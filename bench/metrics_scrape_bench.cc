// What one scrape of the admin endpoint costs with a large queue: 10,000
// destinations (default) with two messages each in a real DeliveryEngine (no
// spool, DNS or peers; drained so it never delivers), then /metrics
// (renderMetrics), /api/queue (queueJson) and the web view's queue page, each
// timed over repeated runs: wall and CPU milliseconds, min / median / max.
// The loop thread builds these, so a slow scrape is time the relay does not
// spend on mail. Target: /metrics < 50 ms for 10,000 destinations. Not a test.
//
//   build/bench/metrics_scrape_bench [--destinations N] [--runs R]
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "relay/ops/admin_api.h"
#include "relay/ops/metrics_page.h"
#include "relay/queue/delivery_engine.h"
#include "relay/web/web_pages.h"
#include "reporting/delivery_metrics.h"

using namespace tlsrelay;

namespace {

double cpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void measure(const char* name, int runs, const std::function<size_t()>& once) {
  std::vector<double> wall, cpu;
  size_t bytes = 0;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpuMs();
    bytes = once();
    cpu.push_back(cpuMs() - c0);
    wall.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  std::printf("%-22s wall ms min %7.2f median %7.2f max %7.2f | cpu ms median %7.2f | %zu bytes\n", name,
              wall.front(), wall[wall.size() / 2], wall.back(), cpu[cpu.size() / 2], bytes);
}

}  // namespace

int main(int argc, char** argv) {
  size_t destinations = 10000;
  int runs = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--destinations") == 0) destinations = std::strtoul(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--runs") == 0) runs = std::atoi(argv[i + 1]);
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  DeliveryEngine engine(&loop, nullptr, nullptr, nullptr, nullptr);
  engine.configure(std::make_shared<DeliveryConfig>(), std::make_shared<PolicySet>());
  engine.drain([] {});
  const int64_t now = static_cast<int64_t>(::time(nullptr));
  auto body = std::make_shared<const std::string>("Subject: x\r\n\r\nbody\r\n");
  for (size_t d = 0; d < destinations; ++d) {
    for (int m = 0; m < 2; ++m) {
      auto env = std::make_shared<Envelope>();
      env->queue_id = "Q" + std::to_string(d) + "x" + std::to_string(m);
      env->mail_from = "app@example.org";
      env->recipients.push_back(
          Recipient{"user" + std::to_string(m) + "@domain" + std::to_string(d) + ".example", "", "",
                    RecipientState::Pending, 3, "451 4.4.1 connection refused"});
      env->received_at = now - 3600 - static_cast<int64_t>(d % 600);
      env->next_attempt_at = now + 600;
      env->size = 4096;
      engine.enqueue(env, body);
    }
  }
  DeliveryMetrics delivery;
  MetricsSources sources;
  sources.delivery = &delivery;
  sources.engine = &engine;
  sources.now = [now] { return now; };
  std::printf("%zu destinations, %zu messages queued, %d runs each\n", destinations, engine.queuedMessages(),
              runs);
  measure("/metrics", runs, [&] { return renderMetrics(sources).size(); });
  measure("/api/queue (JSON)", runs, [&] { return queueJson(engine, now).dump().size(); });
  measure("/queue (web view)", runs, [&] { return web::queuePage(queueJson(engine, now)).size(); });
  uv_run(&loop, UV_RUN_NOWAIT);
  return 0;
}
