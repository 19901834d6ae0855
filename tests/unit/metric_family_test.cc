// The Prometheus text format as scrapers parse it, and the counters behind it.
#include "common/metric_family.h"

#include <gtest/gtest.h>

#include <thread>

#include "reporting/delivery_metrics.h"

namespace tlsrelay {
namespace {

TEST(PrometheusText, HelpTypeAndEscapedLabels) {
  MetricFamily f{"tlsrelay_queue_messages",
                 "Queued messages\nper destination",
                 MetricFamily::Type::Gauge,
                 {"destination"},
                 {{{"example.com"}, 3}, {{"we\"ird\\dest\n"}, 1.5}}};
  EXPECT_EQ(renderPrometheusText({f}),
            "# HELP tlsrelay_queue_messages Queued messages per destination\n"
            "# TYPE tlsrelay_queue_messages gauge\n"
            "tlsrelay_queue_messages{destination=\"example.com\"} 3\n"
            "tlsrelay_queue_messages{destination=\"we\\\"ird\\\\dest\\n\"} 1.5\n");
  MetricFamily plain{
      "tlsrelay_up", "1 while running", MetricFamily::Type::Counter, {}, {{{}, 12345678901.0}}};
  EXPECT_EQ(renderPrometheusText({plain}),
            "# HELP tlsrelay_up 1 while running\n# TYPE tlsrelay_up counter\ntlsrelay_up 12345678901\n");
}

TEST(LabelledCounter, CountsFromManyThreads) {
  LabelledCounter c("x_total", "x", {"kind"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&c] {
      for (int i = 0; i < 10000; ++i) c.add({i % 2 ? "odd" : "even"});
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value({"odd"}), 20000u);
  EXPECT_EQ(c.value({"even"}), 20000u);
  EXPECT_EQ(c.snapshot().samples.size(), 2u);
}

TEST(DeliveryMetrics, SessionsByResultVerificationAndProtocol) {
  DeliveryMetrics m;
  auto session = [](std::optional<TlsResultType> result, VerifyMode verified, std::string protocol) {
    auto s = std::make_shared<SessionRecord>();
    s->connected = true;
    s->result = result;
    s->verified_by = verified;
    s->protocol = std::move(protocol);
    return s;
  };
  SessionEvent e;
  e.kind = SessionEvent::Kind::TlsOutcome;
  e.session = session(TlsResultType::Success, VerifyMode::Dane, "TLSv1.3");
  m.onSession(e);
  m.onSession(e);
  e.session = session(TlsResultType::ValidationFailure, VerifyMode::None, "");  // handshake failed
  m.onSession(e);
  e.session = session(TlsResultType::StartTlsNotSupported, VerifyMode::None, "");
  m.onSession(e);
  e.kind = SessionEvent::Kind::Connected;
  m.onSession(e);
  EXPECT_EQ(m.tlsSessions().value({"success", "dane", "TLSv1.3"}), 2u);
  EXPECT_EQ(m.tlsSessions().value({"validation-failure", "none", "plaintext"}), 1u);
  std::string text = renderPrometheusText(m.families());
  EXPECT_NE(text.find("tlsrelay_tls_handshake_failures_total{result_type=\"validation-failure\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("tlsrelay_tls_handshake_failures_total{result_type=\"starttls-not-supported\"}"),
            std::string::npos);
  EXPECT_NE(text.find("tlsrelay_outbound_connections_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("tlsrelay_delivery_attempts_total{result=\"bounced\"} 0\n"), std::string::npos);

  RecipientAttempt a;
  a.result = AttemptResult::Deferred;
  m.onAttempt(a);
  EXPECT_EQ(m.attempts().value({"deferred"}), 1u);
}

}  // namespace
}  // namespace tlsrelay
