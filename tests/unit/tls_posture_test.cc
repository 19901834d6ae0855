// Which TLS posture a finished session counts under, and the bounded tally
// the web view's destination page shows.
#include "reporting/tls_posture.h"

#include <gtest/gtest.h>

namespace tlsrelay {
namespace {

SessionEvent outcome(const std::string& domain, TlsPosture want, int64_t time = 100) {
  auto s = std::make_shared<SessionRecord>();
  s->domain = domain;
  s->connected = true;
  s->protocol = "TLSv1.3";
  s->result = TlsResultType::Success;
  switch (want) {
    case TlsPosture::Dane:
      s->verified_by = VerifyMode::Dane;
      break;
    case TlsPosture::MtaSts:
      s->verified_by = VerifyMode::Sts;
      break;
    case TlsPosture::Policy:
      s->policy_source = "policy.d/partner.toml";
      s->verified_by = VerifyMode::Pkix;
      break;
    case TlsPosture::Opportunistic:
      break;
    case TlsPosture::Plaintext:
      s->protocol.clear();
      s->result.reset();
      break;
    case TlsPosture::Failed:
      s->result = TlsResultType::ValidationFailure;
      break;
  }
  SessionEvent e;
  e.kind = SessionEvent::Kind::TlsOutcome;
  e.time = time;
  e.session = s;
  return e;
}

TEST(TlsPosture, EachSessionCountsUnderOnePosture) {
  for (size_t i = 0; i < kTlsPostureCount; ++i) {
    const auto want = static_cast<TlsPosture>(i);
    EXPECT_EQ(tlsPostureOf(*outcome("x.example", want).session), want) << toString(want);
  }
  SessionRecord refused;  // no connection at all
  refused.result.reset();
  EXPECT_EQ(tlsPostureOf(refused), TlsPosture::Failed);
}

TEST(TlsPosture, TheTallyCountsPerDomainAndForgetsTheLongestQuietBeyondItsLimit) {
  TlsPostureTally tally(2);
  tally.onSession(outcome("a.example", TlsPosture::Dane, 10));
  tally.onSession(outcome("a.example", TlsPosture::Failed, 11));
  tally.onSession(outcome("b.example", TlsPosture::Plaintext, 5));
  SessionEvent connected = outcome("a.example", TlsPosture::Dane);
  connected.kind = SessionEvent::Kind::Connected;  // not a finished session
  tally.onSession(connected);
  SessionEvent own_report = outcome("a.example", TlsPosture::Dane);
  std::const_pointer_cast<SessionRecord>(own_report.session)->carries_own_reports = true;
  tally.onSession(own_report);
  auto rows = tally.snapshot();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].domain, "a.example");  // most sessions first
  EXPECT_EQ(rows[0].total(), 2u);
  EXPECT_EQ(rows[0].sessions[static_cast<size_t>(TlsPosture::Dane)], 1u);
  EXPECT_EQ(rows[0].last_session, 11);
  tally.onSession(outcome("c.example", TlsPosture::MtaSts, 20));  // b.example was quiet longest
  rows = tally.snapshot();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].domain, "c.example");
}

}  // namespace
}  // namespace tlsrelay
