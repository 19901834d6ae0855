#include "common/cidr.h"

#include <gtest/gtest.h>

namespace tlsrelay {
namespace {

IpAddress ip(const char* s) {
  auto a = IpAddress::parse(s);
  EXPECT_TRUE(a.has_value()) << s;
  return a.value_or(IpAddress{});
}

TEST(Cidr, V4PrefixMatches) {
  auto c = Cidr::parse("192.0.2.0/24");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->contains(ip("192.0.2.77")));
  EXPECT_FALSE(c->contains(ip("192.0.3.1")));
  EXPECT_FALSE(c->contains(ip("2001:db8::1")));
  EXPECT_EQ(c->toString(), "192.0.2.0/24");
}

TEST(Cidr, V6PrefixMatches) {
  auto c = Cidr::parse("2001:db8::/32");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->contains(ip("2001:db8:1::5")));
  EXPECT_FALSE(c->contains(ip("2001:db9::1")));
  EXPECT_FALSE(c->contains(ip("10.0.0.1")));
}

TEST(Cidr, ZeroSlashZeroMatchesBothFamilies) {
  auto c = Cidr::parse("0/0");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->contains(ip("8.8.8.8")));
  EXPECT_TRUE(c->contains(ip("::1")));
}

TEST(Cidr, BareAddressIsHostRoute) {
  auto c = Cidr::parse("127.0.0.1");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->contains(ip("127.0.0.1")));
  EXPECT_FALSE(c->contains(ip("127.0.0.2")));
}

TEST(Cidr, HostBitsAreCleared) {
  auto c = Cidr::parse("10.1.2.3/8");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->toString(), "10.0.0.0/8");
}

TEST(Cidr, RejectsBadInput) {
  EXPECT_FALSE(Cidr::parse("").ok());
  EXPECT_FALSE(Cidr::parse("300.1.1.1/8").ok());
  EXPECT_FALSE(Cidr::parse("10.0.0.0/33").ok());
  EXPECT_FALSE(Cidr::parse("10.0.0.0/-1").ok());
  EXPECT_FALSE(Cidr::parse("10.0.0.0/8x").ok());
  EXPECT_FALSE(Cidr::parse("::1/129").ok());
  EXPECT_FALSE(Cidr::parse("host.example/24").ok());
}

TEST(IpAddress, LoopbackAndMappedForms) {
  EXPECT_TRUE(ip("127.5.6.7").isLoopback());
  EXPECT_TRUE(ip("::1").isLoopback());
  EXPECT_FALSE(ip("10.0.0.1").isLoopback());
  auto mapped = ip("::ffff:192.0.2.1");
  EXPECT_TRUE(mapped.is_v4);
  EXPECT_EQ(mapped.toString(), "192.0.2.1");
  EXPECT_EQ(ip("[2001:db8::1]").toString(), "2001:db8::1");
}

}  // namespace
}  // namespace tlsrelay
