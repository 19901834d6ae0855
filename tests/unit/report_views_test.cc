// What the JSON API and the web view share beyond the store queries: reading
// the report period and the report key from a request, and one destination's
// queued messages from a real DeliveryEngine (no spool, DNS or peers; drained,
// so it never delivers).
#include "relay/ops/report_views.h"

#include <gtest/gtest.h>
#include <uv.h>

#include "relay/queue/delivery_engine.h"

namespace tlsrelay {
namespace {

TEST(ReportViews, TheReportPeriodIsOneTo400DaysOrTheFallback) {
  EXPECT_EQ(reportDays("", 7), 7);
  EXPECT_EQ(reportDays("other=1", 14), 14);
  EXPECT_EQ(reportDays("days=30", 7), 30);
  EXPECT_EQ(reportDays("a=b&days=400", 7), 400);
  for (const char* bad : {"days=0", "days=401", "days=-1", "days=3x", "days=", "days=%33%30x"})
    EXPECT_EQ(reportDays(bad, 7), std::nullopt) << bad;
  EXPECT_EQ(reportDays("days=%33%30", 7), 30);  // escapes are decoded
}

TEST(ReportViews, TheReportKeyIsADayAndADomain) {
  auto key = reportKey("2026-12-06/Example.COM");
  ASSERT_TRUE(key);
  EXPECT_EQ(key->day, "2026-12-06");
  EXPECT_EQ(key->domain, "example.com");
  for (const char* bad :
       {"", "2026-12-06", "2026-12-06/", "2026-13-40/example.com", "received/report", "2026-12-06/a/b"})
    EXPECT_FALSE(reportKey(bad)) << bad;
}

TEST(DestinationMessages, CountsEveryPendingMessageAndListsTheOldestFirst) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  {
    DeliveryEngine engine(&loop, nullptr, nullptr, nullptr, nullptr);
    engine.configure(std::make_shared<DeliveryConfig>(), std::make_shared<PolicySet>());
    engine.drain([] {});
    auto add = [&](const std::string& id, const std::string& rcpt, int64_t received, RecipientState state) {
      auto env = std::make_shared<Envelope>();
      env->queue_id = id;
      env->mail_from = "app@example.org";
      env->recipients.push_back(Recipient{rcpt, "", "", state, 1, ""});
      env->received_at = received;
      env->next_attempt_at = received + 86400;
      engine.enqueue(env, std::make_shared<const std::string>("Subject: x\r\n\r\nbody\r\n"));
    };
    add("NEW", "a@stuck.example", 3000, RecipientState::Pending);
    add("OLD", "b@stuck.example", 1000, RecipientState::Pending);
    add("MID", "c@stuck.example", 2000, RecipientState::Pending);
    add("ELSE", "d@other.example", 500, RecipientState::Pending);
    auto two = engine.messagesFor("stuck.example", 2);
    EXPECT_EQ(two.total, 3u);
    EXPECT_EQ(two.oldest, (std::vector<std::string>{"OLD", "MID"}));
    auto all = engine.messagesFor("stuck.example", 10);
    EXPECT_EQ(all.oldest, (std::vector<std::string>{"OLD", "MID", "NEW"}));
    EXPECT_EQ(engine.messagesFor("nothing.example", 10).total, 0u);
    uv_run(&loop, UV_RUN_NOWAIT);
  }
  uv_run(&loop, UV_RUN_NOWAIT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace tlsrelay
