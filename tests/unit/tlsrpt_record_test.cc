// RFC 8460 §3 TLSRPT record parsing and selection, as tables: what each
// record yields, which ones are refused, and which notes explain a left-out URI.
#include "reporting/tlsrpt_record.h"

#include <gtest/gtest.h>

namespace tlsrelay {
namespace {

using Kind = ReportDestination::Kind;

ReportDestination mailto(std::string a) {
  return {Kind::Mailto, std::move(a)};
}
ReportDestination https(std::string a) {
  return {Kind::Https, std::move(a)};
}

std::string joined(const std::vector<std::string>& notes) {
  std::string out;
  for (const auto& n : notes) out += n + "\n";
  return out;
}

struct GoodCase {
  const char* txt;
  std::vector<ReportDestination> rua;
  const char* note;  // a substring one of the notes must contain; "" for no notes at all
};

TEST(TlsRptRecordTest, ParsesValidRecords) {
  const GoodCase cases[] = {
      {"v=TLSRPTv1; rua=mailto:tlsrpt@example.com", {mailto("tlsrpt@example.com")}, ""},
      {"v=TLSRPTv1;rua=https://reports.example.com/tlsrpt",
       {https("https://reports.example.com/tlsrpt")},
       ""},
      {"v=TLSRPTv1; rua=mailto:a@x.example,https://r.example/path",
       {mailto("a@x.example"), https("https://r.example/path")},
       ""},
      // Whitespace around delimiters, '=' and ','; a trailing ';'.
      {"v=TLSRPTv1 ;  rua = mailto:a@x.example , https://r.example:8443/p?q=1 ;",
       {mailto("a@x.example"), https("https://r.example:8443/p?q=1")},
       ""},
      {"v=TLSRPTv1;\trua=mailto:a@x.example\t", {mailto("a@x.example")}, ""},
      // Scheme names are case-insensitive (RFC 3986 §3.1); https keeps its URL, scheme lowered.
      {"v=TLSRPTv1; rua=MAILTO:a@x.example,HTTPS://R.example/P",
       {mailto("a@x.example"), https("https://R.example/P")},
       ""},
      // %-escapes decoded in mailto; an encoded comma separates two addresses (RFC 6068).
      {"v=TLSRPTv1; rua=mailto:tls%2Brpt@x.example", {mailto("tls+rpt@x.example")}, ""},
      {"v=TLSRPTv1; rua=mailto:a@x.example%2Cb@y.example",
       {mailto("a@x.example"), mailto("b@y.example")},
       ""},
      // RFC 8460 §3 ABNF allows several rua fields.
      {"v=TLSRPTv1; rua=mailto:a@x.example; rua=https://r.example/",
       {mailto("a@x.example"), https("https://r.example/")},
       ""},
      // Unknown extension fields are ignored (RFC 8460 §3), with a note.
      {"v=TLSRPTv1; ext.1=yes; rua=mailto:a@x.example", {mailto("a@x.example")}, "unknown field ext.1="},
      {"v=TLSRPTv1; rua=mailto:a@x.example; RUA=mailto:b@y.example",
       {mailto("a@x.example")},
       "case-sensitive"},
      // Unsupported schemes are left out with a note; the rest is kept.
      {"v=TLSRPTv1; rua=http://r.example/,mailto:a@x.example",
       {mailto("a@x.example")},
       "scheme http not supported"},
      {"v=TLSRPTv1; rua=ftp://r.example/,https://r.example/", {https("https://r.example/")}, "scheme ftp"},
      {"v=TLSRPTv1; rua=a@x.example,mailto:b@y.example", {mailto("b@y.example")}, "not a URI"},
      // DMARC's "!10m" size suffix is not TLSRPT: dropped, URI kept.
      {"v=TLSRPTv1; rua=mailto:a@x.example!10m", {mailto("a@x.example")}, "size suffix"},
      {"v=TLSRPTv1; rua=mailto:a@x.example!x,mailto:b@y.example", {mailto("b@y.example")}, "unencoded '!'"},
      // mailto header fields are not ours to honour.
      {"v=TLSRPTv1; rua=mailto:a@x.example?subject=hi", {mailto("a@x.example")}, "header fields ignored"},
      {"v=TLSRPTv1; rua=mailto:a@x.example,,mailto:b@y.example",
       {mailto("a@x.example"), mailto("b@y.example")},
       "empty URI"},
      {"v=TLSRPTv1; rua=mailto:a@x.example,mailto:a@x.example", {mailto("a@x.example")}, "listed twice"},
      // Hostile or broken URIs are dropped, never passed on.
      {"v=TLSRPTv1; rua=mailto:a@x.example%0D%0ABcc:evil@e.example,mailto:b@y.example",
       {mailto("b@y.example")},
       "not a usable mailbox"},
      {"v=TLSRPTv1; rua=mailto:a%4@x.example,mailto:b@y.example", {mailto("b@y.example")}, "bad %-escape"},
      {"v=TLSRPTv1; rua=https:///nohost,mailto:b@y.example",
       {mailto("b@y.example")},
       "not a usable https URL"},
      {"v=TLSRPTv1; rua=https://r.example:99999/,mailto:b@y.example", {mailto("b@y.example")}, "https URL"},
      {"v=TLSRPTv1; rua=https://r.example/a b,mailto:b@y.example", {mailto("b@y.example")}, "https URL"},
      {"v=TLSRPTv1; rua=https:r.example/,mailto:b@y.example", {mailto("b@y.example")}, "https URL"},
      {"v=TLSRPTv1; rua=mailto:@x.example,mailto:b@y.example", {mailto("b@y.example")}, "mailbox"},
      {"v=TLSRPTv1; rua=mailto:a<b@x.example,mailto:b@y.example", {mailto("b@y.example")}, "mailbox"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.txt);
    auto r = parseTlsRptRecord(c.txt);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->rua, c.rua);
    if (std::string_view(c.note).empty()) {
      EXPECT_TRUE(r->notes.empty()) << joined(r->notes);
    } else {
      EXPECT_NE(joined(r->notes).find(c.note), std::string::npos) << joined(r->notes);
    }
  }
}

struct BadCase {
  const char* txt;
  const char* error;  // a substring of the error message
};

TEST(TlsRptRecordTest, RefusesMalformedRecords) {
  const BadCase cases[] = {
      {"", "not a TLSRPTv1 record"},
      {"v=TLSRPTv1", "not a TLSRPTv1 record"},  // no field at all
      {"v=TLSRPTv2; rua=mailto:a@x.example", "not a TLSRPTv1"},
      {"v=TLSRPTv10; rua=mailto:a@x.example", "not a TLSRPTv1"},
      {"v=tlsrptv1; rua=mailto:a@x.example", "not a TLSRPTv1"},  // %s: case-sensitive
      {"V=TLSRPTv1; rua=mailto:a@x.example", "not a TLSRPTv1"},
      {"v = TLSRPTv1; rua=mailto:a@x.example", "not a TLSRPTv1"},
      {" v=TLSRPTv1; rua=mailto:a@x.example", "not a TLSRPTv1"},  // the record begins with v=
      {"rua=mailto:a@x.example; v=TLSRPTv1", "not a TLSRPTv1"},   // v must come first
      {"v=TLSRPTv1 rua=mailto:a@x.example", "not a TLSRPTv1"},
      {"v=spf1 -all", "not a TLSRPTv1"},
      {"v=TLSRPTv1;", "no rua= field"},
      {"v=TLSRPTv1; ext=1", "no rua= field"},
      {"v=TLSRPTv1; RUA=mailto:a@x.example", "no rua= field"},
      {"v=TLSRPTv1; rua=", "names no URI"},
      {"v=TLSRPTv1; rua", "field without '='"},
      {"v=TLSRPTv1; rua=mailto:a@x.example; junk", "field without '='"},
      {"v=TLSRPTv1; =x; rua=mailto:a@x.example", "malformed field name"},
      {"v=TLSRPTv1; _x=1; rua=mailto:a@x.example", "malformed field name"},
      {"v=TLSRPTv1; rua=http://r.example/", "no usable rua destination; rua http://r.example/: scheme http"},
      {"v=TLSRPTv1; rua=mailto:not-an-address", "no usable rua destination"},
      {"v=TLSRPTv1; rua=,", "no usable rua destination"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.txt);
    auto r = parseTlsRptRecord(c.txt);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find(c.error), std::string::npos) << r.error().message;
  }
}

TEST(TlsRptRecordTest, ChoosesTheOneTlsRptRecord) {
  // Nothing, or nothing that is TLSRPT: not published.
  for (const std::vector<std::string>& none : std::vector<std::vector<std::string>>{
           {}, {"v=spf1 -all"}, {"v=TLSRPTv1"}, {"v=TLSRPTv10; rua=mailto:a@x.example"}, {"hello", ""}}) {
    auto r = chooseTlsRptRecord(none);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_FALSE(r->has_value());
  }

  // RFC 8460 §3: other TXT records at the name are discarded.
  auto one =
      chooseTlsRptRecord({"v=spf1 -all", "v=TLSRPTv1; rua=mailto:a@x.example", "google-site-verification=x"});
  ASSERT_TRUE(one.ok()) << one.error().message;
  ASSERT_TRUE(one->has_value());
  EXPECT_EQ((*one)->rua, std::vector<ReportDestination>{mailto("a@x.example")});

  // ... and if more than one TLSRPT record is left, there is none, and we say why.
  auto two =
      chooseTlsRptRecord({"v=TLSRPTv1; rua=mailto:a@x.example", "v=TLSRPTv1 ; rua=https://r.example/"});
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.error().message.find("2 TLSRPT records"), std::string::npos) << two.error().message;

  // A single malformed TLSRPT record is published-but-unusable, not absent.
  auto bad = chooseTlsRptRecord({"v=TLSRPTv1; rua=ftp://r.example/"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("unusable TLSRPT record"), std::string::npos) << bad.error().message;
}

TEST(TlsRptRecordTest, RecordName) {
  EXPECT_EQ(tlsRptRecordName("example.com"), "_smtp._tls.example.com");
  EXPECT_EQ(tlsRptRecordName("Example.COM."), "_smtp._tls.example.com");
}

}  // namespace
}  // namespace tlsrelay
