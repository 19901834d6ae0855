// The one table that turns replies and local failures into recipient verdicts.
#include "relay/outbound/failure_scope.h"

#include <gtest/gtest.h>

#include "relay/smtp/smtp_reply.h"

namespace tlsrelay {
namespace {

SmtpReply reply(int code, std::string enhanced, std::string text) {
  return SmtpReply::local(code, std::move(enhanced), std::move(text));
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
  };
  for (const auto& r : rows) {
    auto o = outcomeFromReply(reply(r.code, r.enhanced, "text"));
    EXPECT_EQ(o.verdict, r.verdict) << r.code;
    EXPECT_EQ(o.status, r.status) << r.code;
    EXPECT_NE(o.response.find(std::to_string(r.code)), std::string::npos);
  }
}

TEST(FailureScope, EnhancedCodeOfTheWrongClassIsNotTrusted) {
  // A 4xx reply carrying a 5.x.x code stays transient with a 4.x.x status.
  auto o = outcomeFromReply(reply(450, "5.1.1", "confused server"));
  EXPECT_EQ(o.verdict, RecipientVerdict::Retry);
  EXPECT_EQ(o.status[0], '4');
  auto p = outcomeFromReply(reply(550, "4.2.2", "confused server"));
  EXPECT_EQ(p.verdict, RecipientVerdict::Fail);
  EXPECT_EQ(p.status[0], '5');
}

TEST(FailureScope, LocalFailures) {
  auto t = transientFailure("connect refused");
  EXPECT_EQ(t.verdict, RecipientVerdict::Retry);
  EXPECT_EQ(t.status, "4.4.1");
  EXPECT_EQ(transientFailure("tls", "4.7.5").status, "4.7.5");
  auto p = permanentFailure("null MX", "5.1.10");
  EXPECT_EQ(p.verdict, RecipientVerdict::Fail);
  EXPECT_EQ(p.status, "5.1.10");
  EXPECT_EQ(p.response, "null MX");
}

TEST(FailureScope, ExpiryTurnsTheLastErrorIntoAFailure) {
  struct Row {
    const char* name;
    RecipientOutcome last;
    bool requiretls;
    const char* status;
    const char* response_start;
  } rows[] = {
      {"plain message, connect failure", transientFailure("connect refused"), false, "4.4.7",
       "message expired after 3600s; last error: connect refused"},
      {"plain message, TLS failure", transientFailure("no STARTTLS", "4.7.4"), false, "4.4.7",
       "message expired after 3600s; last error: no STARTTLS"},
      {"REQUIRETLS, peer without the extension",
       outcomeFromReply(reply(450, "4.7.10", "REQUIRETLS message not sent: no REQUIRETLS")), true, "5.7.10",
       "REQUIRETLS: no MX host offered a TLS session with REQUIRETLS before the message expired after 3600s: "
       "450 4.7.10 REQUIRETLS message not sent: no REQUIRETLS"},
      {"REQUIRETLS, certificate not verified", transientFailure("certificate not verified", "4.7.5"), true,
       "5.7.10", "REQUIRETLS: no MX host offered"},
      {"REQUIRETLS, last error not about TLS", transientFailure("connect refused"), true, "4.4.7",
       "message expired after 3600s; last error: connect refused"},
      {"REQUIRETLS, remote 4xx not about TLS", outcomeFromReply(reply(451, "4.3.0", "try later")), true,
       "4.4.7", "message expired"},
  };
  for (const Row& r : rows) {
    RecipientOutcome o = expiryFailure(r.last, 3600, r.requiretls);
    EXPECT_EQ(o.verdict, RecipientVerdict::Fail) << r.name;
    EXPECT_EQ(o.status, r.status) << r.name;
    EXPECT_EQ(o.response.rfind(r.response_start, 0), 0u) << r.name << ": " << o.response;
    EXPECT_NE(o.response.find(r.last.response), std::string::npos) << r.name;  // the last error is kept
  }
}

}  // namespace
}  // namespace tlsrelay
