#include "common/gzip.h"

#include <gtest/gtest.h>

namespace tlsrelay {
namespace {

TEST(Gzip, RoundTripsAndRefusesWhatIsNotWhole) {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "{\"policy-type\": \"sts\", \"n\": " + std::to_string(i) + "}\n";
  std::string packed = gzipCompress(text);
  ASSERT_TRUE(looksGzipped(packed));
  EXPECT_LT(packed.size(), text.size() / 5);
  auto back = gzipDecompress(packed, 1 << 20);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, text);

  EXPECT_FALSE(gzipDecompress(packed.substr(0, packed.size() / 2), 1 << 20).ok()) << "truncated";
  EXPECT_FALSE(gzipDecompress("{\"plain\": true}", 1 << 20).ok()) << "not gzip";
  std::string corrupt = packed;
  corrupt[corrupt.size() / 2] ^= 0x55;
  EXPECT_FALSE(gzipDecompress(corrupt, 1 << 20).ok()) << "corrupt";
  EXPECT_TRUE(gzipCompress("").size() > 0);
  EXPECT_EQ(*gzipDecompress(gzipCompress(""), 10), "");
}

TEST(Gzip, ABombStopsAtTheLimit) {
  std::string zeros(50 << 20, '\0');
  std::string bomb = gzipCompress(zeros);
  EXPECT_LT(bomb.size(), 100000u);
  auto r = gzipDecompress(bomb, 1 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("expands beyond"), std::string::npos);
}

TEST(Gzip, ConcatenatedMembersReadAsOne) {
  auto r = gzipDecompress(gzipCompress("first ") + gzipCompress("second"), 100);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "first second");
}

}  // namespace
}  // namespace tlsrelay
