// check-config's "your relay network contains the default gateway" warning:
// /proc/net/route parsing and the first-match check, from sample text.
#include "relay/ops/gateway_relay_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace tlsrelay {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A Docker container on the default bridge (gateway 172.17.0.1), as a
// little-endian kernel prints it.
constexpr const char* kDockerRoutes =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
    "eth0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";

std::vector<SourceRule> rules(const std::vector<std::pair<std::string, bool>>& configured) {
  std::vector<SourceRule> out;
  for (const auto& [cidr, relay] : configured) {
    SourceRule r;
    r.cidr = Cidr::parse(cidr).value();
    r.relay = relay;
    out.push_back(r);
  }
  for (auto& r : builtinSourceRules()) out.push_back(r);
  return out;
}

TEST(DefaultRouteParseTest, FindsTheDefaultGateway) {
  auto routes = parseDefaultRoutes(kDockerRoutes);
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].interface, "eth0");
  EXPECT_EQ(routes[0].gateway.toString(), "172.17.0.1");
}

TEST(DefaultRouteParseTest, SkipsRoutesThatAreNotDefaultOrNotUp) {
  std::string text =
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
      "eth0\t00000000\t010011AC\t0002\t0\t0\t0\t00000000\t0\t0\t0\n"  // not RTF_UP
      "eth1\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n"  // default, but no gateway
      "eth2\t0000A8C0\t0100A8C0\t0003\t0\t0\t0\t0000FFFF\t0\t0\t0\n"  // a network route via a gateway
      "garbage line\n"
      "eth3\t00000000\tZZZZZZZZ\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"     // junk
      "wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"  // 192.168.1.1
      "tun0\t00000000\t0100080A\t0003\t0\t0\t50\t00000000\t0\t0\t0\n";   // 10.8.0.1
  auto routes = parseDefaultRoutes(text);
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].interface, "wlan0");
  EXPECT_EQ(routes[0].gateway.toString(), "192.168.1.1");
  EXPECT_EQ(routes[1].gateway.toString(), "10.8.0.1");
  EXPECT_THAT(parseDefaultRoutes(""), IsEmpty());
}

TEST(GatewayRelayCheckTest, WarnsWhenARelayNetworkHoldsTheGateway) {
  auto warnings = gatewayRelayWarnings(rules({{"172.16.0.0/12", true}}), parseDefaultRoutes(kDockerRoutes));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("[[source]] 172.16.0.0/12 has relay = true"));
  EXPECT_THAT(warnings[0], HasSubstr("172.17.0.1, this machine's default gateway (eth0)"));
  EXPECT_THAT(warnings[0], HasSubstr("Docker or podman NAT"));
  EXPECT_THAT(warnings[0], HasSubstr("open relay"));
}

TEST(GatewayRelayCheckTest, QuietWhenTheGatewayIsOutsideOrShadowed) {
  auto routes = parseDefaultRoutes(kDockerRoutes);
  EXPECT_THAT(gatewayRelayWarnings(rules({}), routes), IsEmpty()) << "built-in rules only";
  EXPECT_THAT(gatewayRelayWarnings(rules({{"10.0.0.0/8", true}, {"192.168.0.0/16", true}}), routes),
              IsEmpty());
  EXPECT_THAT(gatewayRelayWarnings(rules({{"172.17.0.0/16", false}}), routes), IsEmpty());
  // First match wins: a deny rule for the gateway before the wide relay rule.
  EXPECT_THAT(gatewayRelayWarnings(rules({{"172.17.0.1", false}, {"172.16.0.0/12", true}}), routes),
              IsEmpty());
  // ...and the other way round the relay rule is what the gateway gets.
  EXPECT_THAT(gatewayRelayWarnings(rules({{"172.17.0.0/16", true}, {"172.17.0.1", false}}), routes),
              ElementsAre(HasSubstr("172.17.0.0/16")));
  EXPECT_THAT(gatewayRelayWarnings(rules({{"172.16.0.0/12", true}}), {}), IsEmpty()) << "no default route";
}

TEST(GatewayRelayCheckTest, ReadsTheRouteFile) {
  char tmpl[] = "/tmp/tlsrelay-route-test.XXXXXX";
  int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(tmpl) << kDockerRoutes;
  EXPECT_EQ(gatewayRelayWarningsForHost(rules({{"172.17.0.0/16", true}}), tmpl).size(), 1u);
  ::unlink(tmpl);
  EXPECT_THAT(gatewayRelayWarningsForHost(rules({{"172.17.0.0/16", true}}), tmpl), IsEmpty())
      << "an unreadable file gives no warning";
}

}  // namespace
}  // namespace tlsrelay
