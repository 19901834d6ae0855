// RFC 6376 §3.4 canonicalisation, with the RFC's own example (§3.4.5) and the
// edge cases the signer depends on; dkim_interop_test checks the result
// against dkimpy and libopendkim.
#include <gtest/gtest.h>

#include "dkim/canonicalization.h"

namespace tlsrelay::dkim {
namespace {

TEST(DkimCanonicalization, Rfc6376Section345Example) {
  EXPECT_EQ(canonicalHeader("A: X", Canonicalization::Relaxed), "a:X\r\n");
  EXPECT_EQ(canonicalHeader("B : Y\t\r\n\tZ  ", Canonicalization::Relaxed), "b:Y Z\r\n");
  EXPECT_EQ(canonicalHeader("B : Y\t\r\n\tZ  ", Canonicalization::Simple), "B : Y\t\r\n\tZ  \r\n");
  const std::string body = " C \r\nD \t E\r\n\r\n\r\n";
  EXPECT_EQ(canonicalBody(body, Canonicalization::Relaxed), " C\r\nD E\r\n");
  EXPECT_EQ(canonicalBody(body, Canonicalization::Simple), " C \r\nD \t E\r\n");
}

TEST(DkimCanonicalization, EmptyBodiesAndMissingFinalLineEnd) {
  EXPECT_EQ(canonicalBody("", Canonicalization::Simple), "\r\n");
  EXPECT_EQ(canonicalBody("", Canonicalization::Relaxed), "");
  EXPECT_EQ(canonicalBody("\r\n\r\n", Canonicalization::Simple), "\r\n");
  EXPECT_EQ(canonicalBody(" \t\r\n\r\n", Canonicalization::Relaxed), "");
  EXPECT_EQ(canonicalBody(" \t\r\n\r\n", Canonicalization::Simple), " \t\r\n");
  EXPECT_EQ(canonicalBody("no end", Canonicalization::Simple), "no end\r\n");
  EXPECT_EQ(canonicalBody("a\r\n\r\nb\r\n", Canonicalization::Relaxed), "a\r\n\r\nb\r\n");
}

TEST(DkimCanonicalization, RelaxedHeaderValueStartingOnAContinuationLine) {
  EXPECT_EQ(canonicalHeader("Subject:\r\n  starts here", Canonicalization::Relaxed),
            "subject:starts here\r\n");
  EXPECT_EQ(canonicalHeader("Subject:", Canonicalization::Relaxed), "subject:\r\n");
}

TEST(DkimCanonicalization, SignedFieldsAreTakenFromTheBottom) {
  std::vector<std::string_view> fields = {"Received: 1", "From: a", "Received: 2", "To: b"};
  EXPECT_EQ(selectSignedFields(fields, {"received", "Received", "RECEIVED", "from", "cc"}),
            (std::vector<int>{2, 0, -1, 1, -1}));
  EXPECT_EQ(fieldName("Subject : x"), "Subject");
}

}  // namespace
}  // namespace tlsrelay::dkim
