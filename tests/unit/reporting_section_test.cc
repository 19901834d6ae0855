// The [reporting] keys of relay.toml that send and receive reports: their
// defaults, which follow the host name, and the mistakes refused with a line.
#include "relay/config/reporting_section.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "relay/config/config.h"

namespace tlsrelay {
namespace {

using ::testing::HasSubstr;

RelayConfig mustLoad(std::string_view text) {
  auto cfg = loadConfigString(text, "relay.toml");
  EXPECT_TRUE(cfg.ok()) << (cfg.ok() ? "" : cfg.error().message);
  return cfg.ok() ? *cfg : RelayConfig{};
}

std::string mustFail(std::string_view text) {
  auto cfg = loadConfigString(text, "relay.toml");
  EXPECT_FALSE(cfg.ok()) << "accepted:\n" << text;
  return cfg.ok() ? std::string() : cfg.error().message;
}

TEST(ReportingSection, DefaultsFollowTheHostNameAndSendingIsOff) {
  RelayConfig c =
      mustLoad("[server]\nhostname = \"mx1.example.net\"\n[policy]\nca_bundle = \"/etc/ca.pem\"\n");
  const ReportingConfig& r = c.reporting;
  EXPECT_FALSE(r.send) << "mailing other organisations is opt-in";
  EXPECT_EQ(r.submitter, "mx1.example.net");
  EXPECT_EQ(r.organization_name, "mx1.example.net");
  EXPECT_EQ(r.contact_info, "postmaster@mx1.example.net");
  EXPECT_EQ(r.from, "tlsrpt-noreply@mx1.example.net");
  EXPECT_EQ(r.node, "mx1.example.net");
  EXPECT_EQ(r.send_after.count(), 3600);
  EXPECT_EQ(r.send_window.count(), 4 * 3600);
  EXPECT_EQ(r.claim_timeout.count(), 900);
  EXPECT_EQ(r.https_ca_bundle, "/etc/ca.pem");
  EXPECT_EQ(r.ingest_address, "");
  EXPECT_EQ(c.inbound.local_report_address, "");
}

TEST(ReportingSection, EveryKeyIsRead) {
  RelayConfig c = mustLoad(R"([server]
hostname = "mx1.example.net"
[reporting]
send = true
organization_name = "Example Org"
submitter = "Example.NET"
contact_info = "mailto:tls@example.net"
from = "TLSRPT@example.net"
node = "mx1"
send_after = "30m"
send_window = "2h"
claim_timeout = "5m"
https_ca_bundle = "/etc/other.pem"
ingest_address = "reports@example.net"
)");
  const ReportingConfig& r = c.reporting;
  EXPECT_TRUE(r.send);
  EXPECT_EQ(r.organization_name, "Example Org");
  EXPECT_EQ(r.submitter, "example.net");
  EXPECT_EQ(r.contact_info, "mailto:tls@example.net");
  EXPECT_EQ(r.from, "tlsrpt@example.net");
  EXPECT_EQ(r.node, "mx1");
  EXPECT_EQ(r.send_after.count(), 1800);
  EXPECT_EQ(r.send_window.count(), 7200);
  EXPECT_EQ(r.claim_timeout.count(), 300);
  EXPECT_EQ(r.https_ca_bundle, "/etc/other.pem");
  EXPECT_EQ(c.inbound.local_report_address, "reports@example.net") << "the SMTP server needs it";
}

TEST(ReportingSection, TheIngestAddressIsClosedWhenReportingIsOff) {
  RelayConfig c = mustLoad("[reporting]\nenabled = false\ningest_address = \"reports@example.net\"\n");
  EXPECT_EQ(c.inbound.local_report_address, "") << "no store to read reports into";
}

TEST(ReportingSection, MistakesAreRefusedWithTheirLine) {
  EXPECT_THAT(mustFail("[reporting]\nfrom = \"not an address\"\n"),
              HasSubstr("relay.toml:2: reporting.from"));
  EXPECT_THAT(mustFail("[reporting]\ningest_address = \"a@b@c\"\n"), HasSubstr("reporting.ingest_address"));
  EXPECT_THAT(mustFail("[reporting]\nsubmitter = \"exa mple.net\"\n"), HasSubstr("reporting.submitter"));
  EXPECT_THAT(mustFail("[reporting]\norganization_name = \"\"\n"), HasSubstr("reporting.organization_name"));
  EXPECT_THAT(mustFail("[reporting]\nsend_after = \"20h\"\nsend_window = \"4h\"\n"),
              HasSubstr("must end by 23:00 UTC"));
  EXPECT_THAT(mustFail("[reporting]\nsend_window = \"10s\"\n"), HasSubstr("at least 1m"));
  EXPECT_THAT(mustFail("[reporting]\nclaim_timeout = \"5s\"\n"), HasSubstr("at least 10s"));
  EXPECT_THAT(mustFail("[reporting]\nsend = \"yes\"\n"), HasSubstr("reporting.send"));
}

}  // namespace
}  // namespace tlsrelay
