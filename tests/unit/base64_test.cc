#include "common/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace tlsrelay {
namespace {

TEST(Base64, EncodesAndDecodesRfc4648Vectors) {
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
  EXPECT_EQ(base64Encode(std::string("\0u\0p", 4)), "AHUAcA==");
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto d = base64Decode(base64Encode(s));
    ASSERT_TRUE(d.ok()) << s;
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(*base64Decode("VXNlcm5hbWU6"), "Username:");
  for (const char* bad : {"Zg=", "Zg", "Z===", "Zg==Zg==", "Z!==", "Zm9v\n", "=Zm9"}) {
    EXPECT_FALSE(base64Decode(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace tlsrelay
