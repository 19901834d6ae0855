// Where mail goes when the operator names the next hop: [delivery] smarthost
// with its TLS mode and AUTH credentials, a policy file's next_hop, and the
// TLS floor such a hop puts under every policy source.
#include <gtest/gtest.h>

#include "policy/tls_policy.h"
#include "relay/config/config.h"
#include "relay/config/smarthost_credentials.h"
#include "relay/outbound/next_hops.h"

namespace tlsrelay {
namespace {

TEST(SmarthostCredentials, FirstLineSplitAtTheFirstColon) {
  auto c = parseSmarthostCredentials("relay@example.com:pa:ss word\r\nignored\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->username, "relay@example.com");
  EXPECT_EQ(c->password, "pa:ss word");
}

TEST(SmarthostCredentials, MistakesAreNamedWithoutTheSecret) {
  for (const char* text : {"no-colon-here", ":secretpw", "user:", "user:sec\x01retpw", ""}) {
    auto c = parseSmarthostCredentials(text);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.error().message.find("secret"), std::string::npos) << c.error().message;
  }
  auto missing = readSmarthostCredentials("/nonexistent/smarthost.auth");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/smarthost.auth"), std::string::npos);
}

DeliveryConfig smarthost(const std::string& host_port) {
  DeliveryConfig d;
  d.smarthost = host_port;
  return d;
}

TEST(SmarthostNextHop, PortAndCredentialsDecideTheTlsMode) {
  EXPECT_TRUE(smarthostNextHop(DeliveryConfig{}).empty());

  ConfiguredNextHop plain = smarthostNextHop(smarthost("relay.example.net:25"));
  EXPECT_FALSE(plain.implicit_tls);
  EXPECT_FALSE(plain.tls_required);  // the policy files decide, as for an MX

  ConfiguredNextHop smtps = smarthostNextHop(smarthost("relay.example.net:465"));
  EXPECT_TRUE(smtps.implicit_tls);
  EXPECT_TRUE(smtps.tls_required);
  EXPECT_TRUE(smtps.verify_certificate);

  DeliveryConfig with_auth = smarthost("relay.example.net:587");
  with_auth.smarthost_auth_file = "/etc/tlsrelay/smarthost.auth";
  ConfiguredNextHop submission = smarthostNextHop(with_auth);
  EXPECT_FALSE(submission.implicit_tls);
  EXPECT_TRUE(submission.tls_required);
  EXPECT_TRUE(submission.verify_certificate);

  with_auth.smarthost_verify = false;
  EXPECT_FALSE(smarthostNextHop(with_auth).verify_certificate);
  with_auth.smarthost_tls = NextHopTls::Implicit;
  EXPECT_TRUE(smarthostNextHop(with_auth).implicit_tls);

  DeliveryConfig forced = smarthost("relay.example.net:465");
  forced.smarthost_tls = NextHopTls::StartTls;
  EXPECT_FALSE(smarthostNextHop(forced).implicit_tls);
  EXPECT_TRUE(smarthostNextHop(forced).tls_required);
}

TEST(SmarthostNextHop, APolicyNextHopWinsOverTheSmarthostWithoutItsCredentials) {
  DeliveryConfig d = smarthost("relay.example.net:587");
  d.smarthost_credentials = std::make_shared<const SmtpCredentials>(SmtpCredentials{"u", "p"});
  ConfiguredNextHop global = smarthostNextHop(d);
  DomainPolicy none;
  EXPECT_EQ(nextHopFor(none, global).host_port, "relay.example.net:587");

  DomainPolicy partner;
  partner.next_hop = "192.0.2.7:465";
  ConfiguredNextHop hop = nextHopFor(partner, global);
  EXPECT_EQ(hop.host_port, "192.0.2.7:465");
  EXPECT_TRUE(hop.implicit_tls);
  EXPECT_EQ(hop.credentials, nullptr) << "the smarthost's password never goes to another host";
  EXPECT_FALSE(hop.verify_certificate);  // the partner's policy file says what to verify
}

DecisionInput hopInput(const DomainPolicy& policy, bool tls_required, bool verify_required) {
  DecisionInput in;
  in.hop.domain = "example.org";
  in.hop.mx_host = "relay.example.net";
  in.hop.ip = "192.0.2.25";
  in.hop.smarthost = true;
  in.hop.tls_required = tls_required;
  in.hop.verify_required = verify_required;
  in.policy_file = &policy;
  return in;
}

TEST(SmarthostTlsFloor, RequiredAboveEveryPolicySource) {
  DomainPolicy off;
  off.use_starttls = false;
  TlsDecision d = decideTls(hopInput(off, true, true));
  EXPECT_EQ(d.starttls, StartTlsMode::Required);
  EXPECT_EQ(d.verify, VerifyMode::Pkix);
  EXPECT_TRUE(d.enforce);

  DecisionInput relaxed = hopInput(off, true, false);
  relaxed.message.tls_required_no = true;  // RFC 8689 §5 cannot undo it either
  d = decideTls(relaxed);
  EXPECT_EQ(d.starttls, StartTlsMode::Required);
  EXPECT_EQ(d.verify, VerifyMode::None);

  d = decideTls(hopInput(off, false, false));
  EXPECT_EQ(d.starttls, StartTlsMode::Never) << "without the floor the policy file rules";
}

}  // namespace
}  // namespace tlsrelay
