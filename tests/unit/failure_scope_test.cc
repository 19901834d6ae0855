// The one table that turns replies and local failures into recipient
// outcomes, and the rules that decide where a failed recipient goes: scope,
// soft/hard, the final-server rule, REQUIRETLS precedence and expiry.
#include "relay/outbound/failure_scope.h"

#include <gtest/gtest.h>

#include "relay/smtp/smtp_reply.h"

namespace tlsrelay {
namespace {

SmtpReply reply(int code, std::string enhanced, std::string text) {
  return SmtpReply::local(code, std::move(enhanced), std::move(text));
}

TEST(EnhancedStatus, ParsesAndPrints) {
  EXPECT_EQ(EnhancedStatus::parse("4.7.5"), (EnhancedStatus{4, 7, 5}));
  EXPECT_EQ(EnhancedStatus::parse("5.1.10")->toString(), "5.1.10");
  EXPECT_EQ(EnhancedStatus::parse("2.0.0"), status::kDelivered);
  for (const char* bad : {"", "4", "4.7", "4.7.", "3.0.0", "4.1000.0", "4.7.5 ", "x.7.5", "4..5", "4.7.5.1"})
    EXPECT_FALSE(EnhancedStatus::parse(bad)) << bad;
  EXPECT_TRUE(status::kCryptoFailure.isSecurity());
  EXPECT_FALSE(status::kNoAnswer.isSecurity());
  EXPECT_EQ(status::kRequireTls.withClass(5), status::kRequireTlsFailed);
}

TEST(FailureScope, FirstDigitDecides) {
  struct Row {
    int code;
    const char* enhanced;
    RecipientVerdict verdict;
    const char* status;
  } rows[] = {
      {250, "2.0.0", RecipientVerdict::Delivered, "2.0.0"}, {250, "", RecipientVerdict::Delivered, "2.0.0"},
      {451, "4.7.1", RecipientVerdict::Retry, "4.7.1"},     {421, "", RecipientVerdict::Retry, "4.0.0"},
      {550, "5.1.1", RecipientVerdict::Fail, "5.1.1"},      {554, "", RecipientVerdict::Fail, "5.0.0"},
      {354, "", RecipientVerdict::Retry, "4.0.0"},  // not a final reply: never "delivered"
  };
  for (const auto& r : rows) {
    auto o = outcomeFromReply(reply(r.code, r.enhanced, "text"));
    EXPECT_EQ(o.verdict, r.verdict) << r.code;
    EXPECT_EQ(o.status.toString(), r.status) << r.code;
    EXPECT_NE(o.response.find(std::to_string(r.code)), std::string::npos);
  }
}

TEST(FailureScope, EnhancedCodeOfTheWrongClassIsNotTrusted) {
  // RFC 3463 §3.1: a 4xx reply carrying a 5.x.x code stays transient with a 4.x.x status.
  auto o = outcomeFromReply(reply(450, "5.1.1", "confused server"));
  EXPECT_EQ(o.verdict, RecipientVerdict::Retry);
  EXPECT_EQ(o.status.klass, 4);
  auto p = outcomeFromReply(reply(550, "4.2.2", "confused server"));
  EXPECT_EQ(p.verdict, RecipientVerdict::Fail);
  EXPECT_EQ(p.status.klass, 5);
}

TEST(FailureScope, LocalFailures) {
  auto t = transientFailure("connect refused");
  EXPECT_EQ(t.verdict, RecipientVerdict::Retry);
  EXPECT_EQ(t.status, status::kNoAnswer);
  EXPECT_EQ(t.cause, FailureCause::Connection);
  EXPECT_EQ(transientFailure("tls", status::kCryptoFailure, FailureCause::Tls).status.toString(), "4.7.5");
  // The class always agrees with the verdict.
  EXPECT_EQ(transientFailure("x", EnhancedStatus{5, 1, 1}).status.toString(), "4.1.1");
  auto p = permanentFailure("null MX", status::kNullMx, FailureCause::Dns);
  EXPECT_EQ(p.verdict, RecipientVerdict::Fail);
  EXPECT_EQ(p.status.toString(), "5.1.10");
  EXPECT_EQ(p.response, "null MX");
}

// Postfix smtp_trouble.c: soft + not final = next server; soft + final = defer;
// hard = bounce — except that a site (session) failure never bounces.
TEST(FailureScope, FinalServerRuleTable) {
  const RecipientOutcome ok = outcomeFromReply(reply(250, "2.0.0", "ok"));
  const RecipientOutcome soft = outcomeFromReply(reply(451, "4.3.0", "later"));
  const RecipientOutcome hard = outcomeFromReply(reply(550, "5.1.1", "no such user"));
  struct Row {
    FailureScope scope;
    const RecipientOutcome* outcome;
    bool final;
    Disposition want;
  } rows[] = {
      {FailureScope::Recipient, &ok, false, Disposition::Delivered},
      {FailureScope::Recipient, &soft, false, Disposition::NextHop},
      {FailureScope::Recipient, &soft, true, Disposition::Defer},
      {FailureScope::Recipient, &hard, false, Disposition::Bounce},
      {FailureScope::Recipient, &hard, true, Disposition::Bounce},
      {FailureScope::Message, &soft, false, Disposition::NextHop},
      {FailureScope::Message, &soft, true, Disposition::Defer},
      {FailureScope::Message, &hard, false, Disposition::Bounce},
      {FailureScope::Message, &hard, true, Disposition::Bounce},
      {FailureScope::Site, &soft, false, Disposition::NextHop},
      {FailureScope::Site, &soft, true, Disposition::Defer},
      {FailureScope::Site, &hard, false, Disposition::NextHop},  // smtp_skip_5xx_greeting
      {FailureScope::Site, &hard, true, Disposition::Defer},
  };
  for (const auto& r : rows)
    EXPECT_EQ(dispose(r.scope, *r.outcome, r.final), r.want)
        << static_cast<int>(r.scope) << " " << r.outcome->status.toString() << " final=" << r.final;
}

TEST(FailureScope, SiteFailureIsAlwaysSoft) {
  auto greeting = siteFailure(outcomeFromReply(reply(554, "5.7.1", "go away")));
  EXPECT_EQ(greeting.verdict, RecipientVerdict::Retry);
  EXPECT_EQ(greeting.status.toString(), "4.7.1");
  EXPECT_NE(greeting.response.find("go away"), std::string::npos);
  auto timeout = siteFailure(transientFailure("timeout", status::kBadConnection));
  EXPECT_EQ(timeout.status, status::kBadConnection);
}

TEST(FailureScope, RunFailureIsTheLastHopsUnlessRequireTlsWasRefused) {
  RunFailure<int> plain(/*requiretls=*/false);
  EXPECT_FALSE(plain.any());
  plain.hopFailed(transientFailure("no REQUIRETLS", status::kRequireTls, FailureCause::RequireTls), 1);
  plain.hopFailed(transientFailure("connect refused"), 2);
  EXPECT_EQ(plain.final().second, 2);  // a plain message reports the last hop

  RunFailure<int> rt(/*requiretls=*/true);
  rt.hopFailed(transientFailure("certificate not verified", status::kRequireTls, FailureCause::Tls), 1);
  rt.hopFailed(transientFailure("connect refused"), 2);
  EXPECT_EQ(rt.final().second, 1);  // the sender must learn that TLS was the obstacle
  EXPECT_EQ(rt.final().first.cause, FailureCause::Tls);

  RunFailure<int> no_tls(/*requiretls=*/true);
  no_tls.hopFailed(transientFailure("connect refused"), 1);
  no_tls.hopFailed(transientFailure("timeout", status::kBadConnection), 2);
  EXPECT_EQ(no_tls.final().second, 2);
}

TEST(FailureScope, ExpiryTurnsTheLastErrorIntoAFailure) {
  RecipientOutcome refused_rt =
      outcomeFromReply(reply(450, "4.7.10", "REQUIRETLS message not sent: no REQUIRETLS"));
  refused_rt.cause = FailureCause::RequireTls;
  struct Row {
    const char* name;
    RecipientOutcome last;
    bool requiretls;
    const char* status;
    const char* response_start;
  } rows[] = {
      {"plain message, connect failure", transientFailure("connect refused"), false, "4.4.7",
       "message expired after 3600s; last error: connect refused"},
      {"plain message, TLS failure",
       transientFailure("no STARTTLS", status::kSecurityNotSupported, FailureCause::Tls), false, "4.4.7",
       "message expired after 3600s; last error: no STARTTLS"},
      {"REQUIRETLS, peer without the extension", refused_rt, true, "5.7.10",
       "REQUIRETLS: no MX host offered a TLS session with REQUIRETLS before the message expired after 3600s: "
       "450 4.7.10 REQUIRETLS message not sent: no REQUIRETLS"},
      {"REQUIRETLS, certificate not verified",
       transientFailure("certificate not verified", status::kCryptoFailure, FailureCause::Tls), true,
       "5.7.10", "REQUIRETLS: no MX host offered"},
      {"REQUIRETLS, last error not about TLS", transientFailure("connect refused"), true, "4.4.7",
       "message expired after 3600s; last error: connect refused"},
      // A remote 4.7.x that is not about TLS (greylisting) is no TLS refusal.
      {"REQUIRETLS, remote 4.7.1 greylisting", outcomeFromReply(reply(451, "4.7.1", "greylisted")), true,
       "4.4.7", "message expired"},
  };
  for (const Row& r : rows) {
    RecipientOutcome o = expiryFailure(r.last, 3600, r.requiretls);
    EXPECT_EQ(o.verdict, RecipientVerdict::Fail) << r.name;
    EXPECT_EQ(o.status.toString(), r.status) << r.name;
    EXPECT_EQ(o.response.rfind(r.response_start, 0), 0u) << r.name << ": " << o.response;
    EXPECT_NE(o.response.find(r.last.response), std::string::npos) << r.name;  // the last error is kept
  }
}

}  // namespace
}  // namespace tlsrelay
