// DATA payload production: RFC 5321 §4.5.2 transparency and line-end hygiene.
#include "relay/smtp/dot_stuffing.h"

#include <gtest/gtest.h>

namespace tlsrelay {
namespace {

TEST(DotStuffing, PlainMessage) {
  EXPECT_EQ(dotStuffForData("Subject: hi\r\n\r\nbody\r\n"), "Subject: hi\r\n\r\nbody\r\n.\r\n");
}

TEST(DotStuffing, EmptyMessage) {
  EXPECT_EQ(dotStuffForData(""), ".\r\n");
}

TEST(DotStuffing, LeadingDotsAreDoubled) {
  EXPECT_EQ(dotStuffForData(".\r\n"), "..\r\n.\r\n");
  EXPECT_EQ(dotStuffForData("a\r\n.b\r\n..c\r\nd.e\r\n"), "a\r\n..b\r\n...c\r\nd.e\r\n.\r\n");
  EXPECT_EQ(dotStuffForData(".first line"), "..first line\r\n.\r\n");
}

TEST(DotStuffing, BareLfBecomesCrlf) {
  EXPECT_EQ(dotStuffForData("a\nb\n"), "a\r\nb\r\n.\r\n");
  EXPECT_EQ(dotStuffForData("a\n.\nb"), "a\r\n..\r\nb\r\n.\r\n");
}

TEST(DotStuffing, BareCrBecomesCrlf) {
  // "\r.\r" must not survive as anything a receiver could read as end of data.
  EXPECT_EQ(dotStuffForData("a\r.\rb\r\n"), "a\r\n..\r\nb\r\n.\r\n");
}

TEST(DotStuffing, FinalLineWithoutCrlf) {
  EXPECT_EQ(dotStuffForData("last"), "last\r\n.\r\n");
}

TEST(DotStuffing, EmptyLinesKept) {
  EXPECT_EQ(dotStuffForData("\r\n\r\n\n"), "\r\n\r\n\r\n.\r\n");
}

TEST(DotStuffing, AppendKeepsPrefix) {
  std::string out = "DATA-prefix|";
  appendDotStuffed(".x", out);
  EXPECT_EQ(out, "DATA-prefix|..x\r\n.\r\n");
}

// Property: whatever the input, no line of the payload except the terminator is
// exactly ".", there is no bare CR or LF, and the payload ends with "\r\n.\r\n" or is ".\r\n".
TEST(DotStuffing, NoEarlyTerminatorForHostileInputs) {
  const std::string inputs[] = {".",
                                "\n.\n",
                                "\r.\r",
                                "\r\n.\r\n",
                                "x\r\n.\r\nRCPT TO:<evil>\r\n",
                                "..\n\r\r\n",
                                std::string("a\0.\n", 4)};
  for (const auto& in : inputs) {
    std::string out = dotStuffForData(in);
    ASSERT_GE(out.size(), 3u);
    EXPECT_EQ(out.substr(out.size() - 3), ".\r\n");
    std::string body = out.substr(0, out.size() - 3);
    EXPECT_EQ(body.find("\r\n.\r\n"), std::string::npos) << in;
    EXPECT_NE(body.substr(0, 3), ".\r\n") << in;
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i] == '\r') {
        EXPECT_EQ(out[i + 1], '\n') << in;
      }
      if (out[i] == '\n') {
        EXPECT_EQ(out[i - 1], '\r') << in;
      }
    }
  }
}

}  // namespace
}  // namespace tlsrelay
