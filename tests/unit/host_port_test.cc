// host:port parsing shared by listeners, resolvers and the smarthost.
#include "common/host_port.h"

#include <gtest/gtest.h>

namespace tlsrelay {
namespace {

TEST(HostPort, ParsesTheUsualSpellings) {
  auto a = parseHostPort("127.0.0.1:2525", 25);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 2525);
  auto b = parseHostPort("[::1]:587", 25);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 587);
  auto c = parseHostPort("mail.example.com", 25);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 25);
  auto d = parseHostPort("2001:db8::5", 53);  // bare IPv6: host only
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->host, "2001:db8::5");
  EXPECT_EQ(d->port, 53);
  auto e = parseHostPort("[192.0.2.25]:25", 0);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "192.0.2.25");
}

TEST(HostPort, RejectsBadInput) {
  for (const char* bad :
       {"", ":25", "[::1", "[::1]x", "[::1]:", "host:", "host:0", "host:65536", "host:2x", "[]:25"}) {
    EXPECT_FALSE(parseHostPort(bad, 25).ok()) << bad;
  }
}

TEST(HostPort, JoinAndSockaddrRoundTrip) {
  EXPECT_EQ(joinHostPort("::1", 25), "[::1]:25");
  EXPECT_EQ(joinHostPort("127.0.0.1", 25), "127.0.0.1:25");
  auto v4 = toSockaddr("127.0.0.1", 2525);
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->ss_family, AF_INET);
  auto v6 = toSockaddr("::1", 25);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->ss_family, AF_INET6);
  EXPECT_FALSE(toSockaddr("example.com", 25).ok());
}

TEST(HostPort, ListenAddressesAreIpLiteralsWithAPort) {
  auto v4 = parseListenAddress("0.0.0.0:25");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(joinHostPort(v4->host, v4->port), "0.0.0.0:25");
  auto v6 = parseListenAddress("[::1]:8025");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(joinHostPort(v6->host, v6->port), "[::1]:8025");
  auto message = [](std::string_view text, bool zero = false) {
    auto r = parseListenAddress(text, zero);
    return r.ok() ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(message("127.0.0.1"), "a port is required");
  EXPECT_EQ(message("[::1]"), "a port is required");
  EXPECT_EQ(message("::1"), "a port is required");  // a bare IPv6 literal has no port
  EXPECT_EQ(message("127.0.0.1:80:0"), "a port is required");
  EXPECT_EQ(message("mail.example:25"), "the host must be an IP literal");
  EXPECT_NE(message("127.0.0.1:0"), "ok");  // port 0 only where asked for
  EXPECT_EQ(message("127.0.0.1:0", true), "ok");
  EXPECT_EQ(message("[::1]:0", true), "ok");
  EXPECT_NE(message("127.0.0.1:65536", true), "ok");
}

}  // namespace
}  // namespace tlsrelay
