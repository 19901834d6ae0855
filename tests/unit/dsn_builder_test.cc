// DSN builder: the output is parsed by a real MIME parser (Python's `email`
// package) to check its structure, plus direct string checks for the details
// a parser forgives (CRLF, header injection, RFC 8689 handling).
#include "message/dsn_builder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "relay/outbound/failure_scope.h"
#include "relay/smtp/smtp_reply.h"

namespace tlsrelay {
namespace {

using nlohmann::json;

constexpr int64_t kArrival = 1795478398;  // Mon, 23 Nov 2026 23:59:58 +0000
constexpr int64_t kNow = kArrival + 3600;

// Prints a JSON summary of a MIME message file. Written without single quotes
// so it can sit inside a shell single-quoted -c argument.
const char* kParser = R"PY(
import email, json, sys
from email import policy
with open(sys.argv[1], "rb") as f:
    raw = f.read()
msg = email.message_from_bytes(raw, policy=policy.compat32)
out = {
  "content_type": msg.get_content_type(),
  "report_type": msg.get_param("report-type"),
  "boundary": msg.get_boundary(),
  "defects": [type(d).__name__ for d in msg.defects],
  "headers": {k: str(v) for k, v in msg.items()},
  "header_names": [k for k, v in msg.items()],
  "parts": [], "part_defects": [], "status_blocks": [],
}
parts = msg.get_payload() if msg.is_multipart() else []
for p in parts:
    out["parts"].append(p.get_content_type())
    out["part_defects"].append([type(d).__name__ for d in p.defects])
if len(parts) > 1 and parts[1].get_content_type() == "message/delivery-status":
    for block in parts[1].get_payload():
        out["status_blocks"].append([[k, str(v)] for k, v in block.items()])
if len(parts) > 2:
    third = parts[2]
    if third.get_content_type() == "message/rfc822":
        inner = third.get_payload()[0]
        out["inner_subject"] = inner["Subject"]
        out["inner_body"] = inner.get_payload()
    else:
        out["third_text"] = third.get_payload()
if parts:
    out["human"] = parts[0].get_payload(decode=True).decode("utf-8", "replace")
print(json.dumps(out))
)PY";

json parseWithPython(const std::string& message) {
  char path[] = "/tmp/dsn_test_XXXXXX";
  int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  ::close(fd);
  {
    std::ofstream f(path, std::ios::binary);
    f << message;
  }
  std::string cmd = std::string("/usr/bin/python3 -c '") + kParser + "' " + path;
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string output;
  char buf[4096];
  size_t n;
  while (p && (n = std::fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, n);
  int rc = p ? ::pclose(p) : -1;
  ::unlink(path);
  EXPECT_EQ(rc, 0) << output;
  return json::parse(output, nullptr, /*allow_exceptions=*/false);
}

// The value of `name` in one delivery-status block, or "" when absent.
std::string field(const json& block, const std::string& name) {
  for (const auto& kv : block) {
    if (kv[0].get<std::string>() == name) return kv[1].get<std::string>();
  }
  return "";
}

const char* kOriginal =
    "From: Alice <alice@example.org>\r\n"
    "To: bob@example.net\r\n"
    "Subject: quarterly numbers\r\n"
    "Message-ID: <orig-1@example.org>\r\n"
    "\r\n"
    "The secret body.\r\n"
    "Second line.\r\n";

DsnInput bounceInput() {
  DsnInput in;
  in.reporting_mta = "relay.example.org";
  in.original_queue_id = "A1B2C3";
  in.original_sender = "alice@example.org";
  in.envid = "env+2B42";
  in.arrival_date = kArrival;
  in.now = kNow;
  in.original_message = kOriginal;
  in.boundary_seed = "s33d";
  DsnRecipient bob;
  bob.address = "bob@example.net";
  bob.orcpt = "rfc822;Bob+2Bsales@example.net";
  bob.action = "failed";
  bob.status = "5.1.1";
  bob.remote_mta = "mx1.example.net";
  bob.diagnostic = "smtp; 550 5.1.1 <bob@example.net>: no such user";
  DsnRecipient carol;
  carol.address = "carol@example.net";
  carol.action = "failed";
  carol.status = "5.4.4";
  carol.diagnostic = "null MX: domain does not accept mail";
  in.recipients = {bob, carol};
  return in;
}

TEST(DsnBuilder, BounceIsMultipartReportWithThreeParts) {
  DsnMessage dsn = buildDsn(bounceInput());
  json j = parseWithPython(dsn.data);
  ASSERT_FALSE(j.is_discarded()) << dsn.data;
  EXPECT_EQ(j["content_type"], "multipart/report");
  EXPECT_EQ(j["report_type"], "delivery-status");
  EXPECT_TRUE(j["defects"].empty()) << j["defects"].dump();
  ASSERT_EQ(j["parts"].size(), 3u);
  EXPECT_EQ(j["parts"][0], "text/plain");
  EXPECT_EQ(j["parts"][1], "message/delivery-status");
  EXPECT_EQ(j["parts"][2], "message/rfc822");
  for (const auto& d : j["part_defects"]) EXPECT_TRUE(d.empty()) << d.dump();

  EXPECT_EQ(j["headers"]["From"], "Mail Delivery System <MAILER-DAEMON@relay.example.org>");
  EXPECT_EQ(j["headers"]["To"], "<alice@example.org>");
  EXPECT_EQ(j["headers"]["Subject"], "Undelivered Mail Returned to Sender");
  EXPECT_EQ(j["headers"]["Auto-Submitted"], "auto-replied");
  EXPECT_EQ(j["headers"]["MIME-Version"], "1.0");
  EXPECT_EQ(j["headers"]["Date"], "Tue, 24 Nov 2026 00:59:58 +0000");
  EXPECT_NE(j["headers"]["Message-ID"].get<std::string>().find("@relay.example.org>"), std::string::npos);

  // Per-message block, then one block per recipient.
  const json& blocks = j["status_blocks"];
  ASSERT_EQ(blocks.size(), 3u) << blocks.dump();
  EXPECT_EQ(field(blocks[0], "Reporting-MTA"), "dns; relay.example.org");
  EXPECT_EQ(field(blocks[0], "Original-Envelope-Id"), "env+42");  // xtext "+2B" decoded
  EXPECT_EQ(field(blocks[0], "Arrival-Date"), "Mon, 23 Nov 2026 23:59:58 +0000");
  EXPECT_EQ(field(blocks[0], "X-Tlsrelay-Queue-ID"), "A1B2C3");

  EXPECT_EQ(field(blocks[1], "Final-Recipient"), "rfc822; bob@example.net");
  EXPECT_EQ(field(blocks[1], "Original-Recipient"), "rfc822; Bob+sales@example.net");
  EXPECT_EQ(field(blocks[1], "Action"), "failed");
  EXPECT_EQ(field(blocks[1], "Status"), "5.1.1");
  EXPECT_EQ(field(blocks[1], "Remote-MTA"), "dns; mx1.example.net");
  EXPECT_EQ(field(blocks[1], "Diagnostic-Code"), "smtp; 550 5.1.1 <bob@example.net>: no such user");
  EXPECT_EQ(field(blocks[1], "Last-Attempt-Date"), "Tue, 24 Nov 2026 00:59:58 +0000");
  EXPECT_EQ(field(blocks[1], "Will-Retry-Until"), "");

  EXPECT_EQ(field(blocks[2], "Final-Recipient"), "rfc822; carol@example.net");
  EXPECT_EQ(field(blocks[2], "Original-Recipient"), "");
  EXPECT_EQ(field(blocks[2], "Status"), "5.4.4");
  EXPECT_EQ(field(blocks[2], "Remote-MTA"), "");
  EXPECT_EQ(field(blocks[2], "Diagnostic-Code"), "X-tlsrelay; null MX: domain does not accept mail");

  EXPECT_EQ(j["inner_subject"], "quarterly numbers");
  EXPECT_EQ(j["inner_body"], "The secret body.\r\nSecond line.\r\n");
  std::string human = j["human"];
  EXPECT_NE(human.find("<bob@example.net>: failed (host mx1.example.net)"), std::string::npos) << human;
  EXPECT_NE(human.find("no such user"), std::string::npos);

  EXPECT_FALSE(dsn.requiretls);
  EXPECT_FALSE(dsn.headers_only);
  EXPECT_FALSE(dsn.body_8bit);
  EXPECT_FALSE(dsn.smtputf8);
}

TEST(DsnBuilder, EveryLineEndsInCrlfAndIsShort) {
  DsnInput in = bounceInput();
  std::string lf_original = "Subject: lf\nX: y\n\nbody\nmore\n";
  in.original_message = lf_original;
  in.recipients[0].diagnostic = "smtp; 550 " + std::string(5000, 'x');
  DsnMessage dsn = buildDsn(in);
  const std::string& m = dsn.data;
  size_t start = 0;
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\n') {
      ASSERT_GT(i, 0u);
      EXPECT_EQ(m[i - 1], '\r') << "bare LF at " << i;
      EXPECT_LE(i - start, 1000u) << "line too long at " << start;
      start = i + 1;
    } else if (m[i] == '\r') {
      ASSERT_LT(i + 1, m.size());
      EXPECT_EQ(m[i + 1], '\n') << "bare CR at " << i;
    }
  }
  EXPECT_EQ(m.substr(m.size() - 2), "\r\n");
}

TEST(DsnBuilder, RetHdrsReturnsOnlyHeaders) {
  DsnInput in = bounceInput();
  in.ret = "hdrs";
  DsnMessage dsn = buildDsn(in);
  EXPECT_TRUE(dsn.headers_only);
  json j = parseWithPython(dsn.data);
  ASSERT_FALSE(j.is_discarded());
  ASSERT_EQ(j["parts"].size(), 3u);
  EXPECT_EQ(j["parts"][2], "text/rfc822-headers");
  std::string third = j["third_text"];
  EXPECT_NE(third.find("Subject: quarterly numbers"), std::string::npos);
  EXPECT_EQ(dsn.data.find("The secret body."), std::string::npos);
}

TEST(DsnBuilder, LargeMessageReturnsOnlyHeaders) {
  DsnInput in = bounceInput();
  std::string big = std::string(kOriginal) + std::string(kDsnMaxReturnedMessage, 'b') + "\r\n";
  in.original_message = big;
  DsnMessage dsn = buildDsn(in);
  EXPECT_TRUE(dsn.headers_only);
  EXPECT_LT(dsn.data.size(), 10000u);
  EXPECT_NE(dsn.data.find("Content-Type: text/rfc822-headers"), std::string::npos);
}

TEST(DsnBuilder, RequireTlsOriginalIsRedactedAndFlagged) {
  DsnInput in = bounceInput();
  in.ret = "FULL";  // RFC 8689 §5: RET=FULL is disregarded
  in.requiretls_original = true;
  DsnMessage dsn = buildDsn(in);
  EXPECT_TRUE(dsn.requiretls);
  EXPECT_TRUE(dsn.headers_only);
  EXPECT_EQ(dsn.data.find("The secret body."), std::string::npos);
  EXPECT_EQ(dsn.data.find("message/rfc822"), std::string::npos);
  json j = parseWithPython(dsn.data);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["parts"][2], "text/rfc822-headers");
}

// RFC 8689: a REQUIRETLS message that no hop could take under TLS comes back
// as 5.7.10 with the reason, headers only, and the bounce itself requires TLS.
TEST(DsnBuilder, RequireTlsExpiryBounce) {
  DsnInput in = bounceInput();
  in.requiretls_original = true;
  RecipientOutcome last = outcomeFromReply(SmtpReply::local(
      450, "4.7.10", "REQUIRETLS message not sent: the server does not offer REQUIRETLS over TLS"));
  last.cause = FailureCause::RequireTls;  // what the delivery attempt says of such a hop
  RecipientOutcome final_outcome = expiryFailure(last, 432000, /*requiretls=*/true);
  in.recipients.resize(1);
  in.recipients[0].status = final_outcome.status.toString();
  in.recipients[0].diagnostic = final_outcome.response;
  in.recipients[0].remote_mta.clear();
  DsnMessage dsn = buildDsn(in);
  EXPECT_TRUE(dsn.requiretls);
  EXPECT_TRUE(dsn.headers_only);
  EXPECT_NE(dsn.data.find("\r\nAction: failed\r\nStatus: 5.7.10\r\n"), std::string::npos) << dsn.data;
  EXPECT_NE(dsn.data.find("Diagnostic-Code: X-tlsrelay; REQUIRETLS: no MX host offered a TLS session with "
                          "REQUIRETLS before the message expired after 432000s: 450 4.7.10"),
            std::string::npos)
      << dsn.data;
  EXPECT_NE(dsn.data.find("Subject: Undelivered Mail Returned to Sender"), std::string::npos);
  EXPECT_EQ(dsn.data.find("The secret body."), std::string::npos);
  json j = parseWithPython(dsn.data);
  ASSERT_FALSE(j.is_discarded()) << dsn.data;
  EXPECT_EQ(j["parts"][2], "text/rfc822-headers");
}

TEST(DsnBuilder, DelayNotice) {
  DsnInput in = bounceInput();
  in.recipients.resize(1);
  in.recipients[0].action = "delayed";
  in.recipients[0].status = "4.4.1";
  in.recipients[0].diagnostic = "smtp; 421 4.4.1 try later";
  in.will_retry_until = kArrival + 432000;
  DsnMessage dsn = buildDsn(in);
  json j = parseWithPython(dsn.data);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["headers"]["Subject"], "Delayed Mail (still being retried)");
  const json& blocks = j["status_blocks"];
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(field(blocks[1], "Action"), "delayed");
  EXPECT_EQ(field(blocks[1], "Status"), "4.4.1");
  EXPECT_EQ(field(blocks[1], "Will-Retry-Until"), "Sat, 28 Nov 2026 23:59:58 +0000");
  std::string human = j["human"];
  EXPECT_NE(human.find("retried until Sat, 28 Nov 2026"), std::string::npos) << human;
}

TEST(DsnBuilder, HostileInputCannotInjectHeadersOrParts) {
  DsnInput in = bounceInput();
  in.original_sender = "alice@example.org>\r\nBcc: victim@example.com\r\nX-Evil: <";
  in.envid = "id\r\nX-Injected: 1";
  in.recipients[0].diagnostic =
      "smtp; 550 bad\r\n\r\n--tlsrelay-s33d\r\nContent-Type: text/html\r\n\r\n<b>x</b>";
  in.recipients[0].status = "5.1.1\r\nAction: delivered";
  in.recipients[0].remote_mta = "mx\r\nX-Evil: 1";
  // The returned message contains our would-be boundary line.
  std::string original = std::string(kOriginal) + "--tlsrelay-s33d\r\n--tlsrelay-s33d--\r\n";
  in.original_message = original;
  DsnMessage dsn = buildDsn(in);
  json j = parseWithPython(dsn.data);
  ASSERT_FALSE(j.is_discarded());
  for (const auto& name : j["header_names"]) {
    EXPECT_NE(name, "Bcc");
    EXPECT_NE(name, "X-Evil");
  }
  EXPECT_NE(j["boundary"], "tlsrelay-s33d");
  ASSERT_EQ(j["parts"].size(), 3u);
  EXPECT_EQ(j["parts"][2], "message/rfc822");
  const json& blocks = j["status_blocks"];
  ASSERT_EQ(blocks.size(), 3u);
  for (const auto& block : blocks) {
    for (const auto& kv : block) EXPECT_NE(kv[0], "X-Injected");
  }
  EXPECT_EQ(field(blocks[1], "Action"), "failed");
  EXPECT_EQ(field(blocks[1], "Status"), "5.0.0");  // the malformed status is replaced
  EXPECT_EQ(field(blocks[1], "Remote-MTA"), "dns; mxX-Evil1");
  EXPECT_NE(j["inner_body"].get<std::string>().find("--tlsrelay-s33d--"), std::string::npos);
}

TEST(DsnBuilder, EightBitAndInternationalAddresses) {
  DsnInput in = bounceInput();
  in.original_sender = "jos\xc3\xa9@example.org";
  in.recipients[0].address = "\xe7\x94\xa8\xe6\x88\xb7@example.net";
  std::string original = std::string(kOriginal) + "caf\xc3\xa9\r\n";
  in.original_message = original;
  DsnMessage dsn = buildDsn(in);
  EXPECT_TRUE(dsn.body_8bit);
  EXPECT_TRUE(dsn.smtputf8);
  EXPECT_NE(dsn.data.find("Final-Recipient: utf-8; \\x{7528}\\x{6237}@example.net"), std::string::npos);
  EXPECT_NE(dsn.data.find("Content-Transfer-Encoding: 8bit"), std::string::npos);
  json j = parseWithPython(dsn.data);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["parts"].size(), 3u);
}

TEST(DsnBuilder, NoOriginalMeansTwoParts) {
  DsnInput in = bounceInput();
  in.original_message = {};
  json j = parseWithPython(buildDsn(in).data);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["parts"].size(), 2u);
}

TEST(DsnHelpers, ShouldBounce) {
  Envelope e;
  e.mail_from = "alice@example.org";
  EXPECT_TRUE(shouldBounce(e));
  e.flags.is_bounce = true;
  EXPECT_FALSE(shouldBounce(e));
  e.flags.is_bounce = false;
  e.mail_from = "";
  EXPECT_FALSE(shouldBounce(e)) << "never bounce a null-sender message";
}

TEST(DsnHelpers, NotifyParameter) {
  Recipient r;
  EXPECT_TRUE(recipientWantsNotice(r, false));
  EXPECT_TRUE(recipientWantsNotice(r, true));
  r.notify = "NEVER";
  EXPECT_FALSE(recipientWantsNotice(r, false));
  EXPECT_FALSE(recipientWantsNotice(r, true));
  r.notify = "failure";
  EXPECT_TRUE(recipientWantsNotice(r, false));
  EXPECT_FALSE(recipientWantsNotice(r, true));
  r.notify = "SUCCESS, DELAY";
  EXPECT_FALSE(recipientWantsNotice(r, false));
  EXPECT_TRUE(recipientWantsNotice(r, true));
  r.notify = "SUCCESS";
  EXPECT_FALSE(recipientWantsNotice(r, false));
}

TEST(DsnHelpers, XtextAndHeaderSection) {
  EXPECT_EQ(decodeXtext("a+2Bb+3Dc"), "a+b=c");
  EXPECT_EQ(decodeXtext("trailing+2"), "trailing+2");
  EXPECT_EQ(decodeXtext("bad+ZZ"), "bad+ZZ");
  EXPECT_EQ(decodeXtext("+2b"), "+");
  EXPECT_EQ(headerSection("A: 1\r\nB: 2\r\n\r\nbody"), "A: 1\r\nB: 2\r\n\r\n");
  EXPECT_EQ(headerSection("A: 1\nB: 2\n\nbody\r\n\r\nx"), "A: 1\nB: 2\n\n");
  EXPECT_EQ(headerSection("A: 1\r\n"), "A: 1\r\n");
  EXPECT_EQ(headerSection("\r\nbody"), "\r\n");
  EXPECT_EQ(headerSection(""), "");
}

}  // namespace
}  // namespace tlsrelay
