// DKIM against independent implementations: dkimpy (python3-dkim) verifies
// what we sign and signs what we verify; opendkim-testmsg signs too; the
// RFC 8463 Appendix A.3 message verifies with its published keys.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/base64.h"
#include "dkim/dkim_key_record.h"
#include "dkim/dkim_signer.h"
#include "dkim/dkim_verifier.h"
#include "relay/tls/key_generation.h"

namespace tlsrelay::dkim {
namespace {

namespace fs = std::filesystem;

const std::string kPeer = std::string(TLSRELAY_SOURCE_DIR) + "/tests/tools/dkimpy_peer.py";

class StaticKeys : public KeySource {
 public:
  std::map<std::string, Lookup> answers;
  std::vector<std::string> asked;
  Lookup lookup(const std::string& name) override {
    asked.push_back(name);
    auto it = answers.find(name);
    return it == answers.end() ? Lookup{} : it->second;
  }
  void publish(const std::string& name, const std::string& record, KeyDnssec dnssec = KeyDnssec::Insecure) {
    answers[name] = Lookup{Lookup::Status::Found, {record}, dnssec};
  }
};

struct Workdir {
  fs::path dir;
  Workdir() {
    char tmpl[] = "/tmp/dkim-interop-XXXXXX";
    dir = mkdtemp(tmpl);
  }
  ~Workdir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string write(const std::string& name, const std::string& data) const {
    std::ofstream(dir / name, std::ios::binary) << data;
    return (dir / name).string();
  }
  std::string read(const std::string& name) const {
    std::ifstream in(dir / name, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
};

// Runs a command; returns its exit status and fills `out` with its stdout.
int run(const std::string& command, std::string* out = nullptr) {
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return -1;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  int status = pclose(p);
  if (out) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The messages the issue names: canonicalisation's hard cases.
std::map<std::string, std::string> sampleMessages() {
  std::string head =
      "From: Alice Example <alice@example.com>\r\nTo: bob@example.net\r\n"
      "Date: Mon, 07 Dec 2026 04:00:00 +0000\r\nMessage-ID: <m1@example.com>\r\n";
  return {
      {"plain", head + "Subject: hello\r\n\r\nHello Bob.\r\n"},
      {"folded",
       head + "Subject: a subject that is folded\r\n\tover two lines\r\n   and three\r\n\r\nbody\r\n"},
      {"value-on-continuation", head + "Subject:\r\n  starts on the next line\r\n\r\nbody\r\n"},
      {"empty-body", head + "Subject: empty\r\n\r\n"},
      {"whitespace-lines", head + "Subject: ws\r\n\r\nline\r\n \r\n\t\r\n\r\nlast\r\n\r\n\r\n"},
      {"trailing-whitespace", head + "Subject: trailing   \r\n\r\nline with spaces   \r\nand\ttabs\t\t\r\n"},
      {"eight-bit", head + "Subject: =?utf-8?q?caf=C3=A9?=\r\nContent-Type: text/plain; charset=utf-8\r\n"
                           "Content-Transfer-Encoding: 8bit\r\n\r\nCaf\xC3\xA9 cr\xC3\xA8me br\xC3\xBB"
                           "l\xC3\xA9"
                           "e\r\n"},
      {"long-lines",
       head + "Subject: long\r\n\r\n" + std::string(4000, 'x') + "\r\n" + std::string(998, 'y') + "\r\n"},
  };
}

std::unique_ptr<Signer> makeSigner(KeyAlgorithm alg, KeyRecord& record, SignOptions options = {}) {
  auto key = generateKey(alg, 2048);
  EXPECT_TRUE(key.ok());
  record = {alg == KeyAlgorithm::Rsa ? KeyType::Rsa : KeyType::Ed25519, key->public_key, false};
  auto signer = Signer::create({"example.com", "s1", key->private_key_pem}, options);
  EXPECT_TRUE(signer.ok()) << signer.error().message;
  return std::move(*signer);
}

TEST(DkimInterop, DkimpyVerifiesOurRsaAndEd25519Signatures) {
  Workdir w;
  auto made = Verifier::create();
  ASSERT_TRUE(made.ok());
  const Verifier* verifier = made->get();
  for (KeyAlgorithm alg : {KeyAlgorithm::Rsa, KeyAlgorithm::Ed25519}) {
    for (Canonicalization canon : {Canonicalization::Relaxed, Canonicalization::Simple}) {
      KeyRecord record;
      SignOptions options;
      options.header_canon = options.body_canon = canon;
      options.oversign = defaultOversignedHeaders();
      auto signer = makeSigner(alg, record, options);
      std::string record_file = w.write("record", formatKeyRecord(record));
      for (const auto& [name, message] : sampleMessages()) {
        auto field = signer->sign(message);
        ASSERT_TRUE(field.ok()) << name << ": " << field.error().message;
        EXPECT_EQ(field->rfind("DKIM-Signature: v=1; a=", 0), 0u) << *field;
        EXPECT_EQ(field->find("l="), std::string::npos) << "never l=: " << *field;
        std::string file = w.write(name, *field + message);
        std::string out;
        EXPECT_EQ(run("/usr/bin/python3 " + kPeer + " verify " + file + " " + record_file, &out), 0)
            << name << " (" << signer->algorithmName() << ", "
            << (canon == Canonicalization::Relaxed ? "relaxed" : "simple") << "): " << out << "\n"
            << *field;
        StaticKeys keys;
        keys.publish("s1._domainkey.example.com", formatKeyRecord(record));
        auto ours = verifier->verify(*field + message, keys);
        ASSERT_EQ(ours.size(), 1u);
        EXPECT_EQ(ours[0].verdict, Verdict::Pass) << name << " by our own verifier: " << ours[0].reason;
        // Changing one signed byte must break it for dkimpy too.
        std::string tampered = *field + message;
        tampered.replace(tampered.find("example.net"), 11, "example.org");
        EXPECT_NE(run("/usr/bin/python3 " + kPeer + " verify " + w.write("t", tampered) + " " + record_file),
                  0)
            << name;
      }
    }
  }
}

TEST(DkimInterop, OversignedFromStopsAnAddedFromField) {
  Workdir w;
  KeyRecord record;
  SignOptions options;
  options.oversign = defaultOversignedHeaders();
  auto signer = makeSigner(KeyAlgorithm::Rsa, record, options);
  std::string message = sampleMessages()["plain"];
  auto field = signer->sign(message);
  ASSERT_TRUE(field.ok());
  std::string record_file = w.write("record", formatKeyRecord(record));
  EXPECT_EQ(
      run("/usr/bin/python3 " + kPeer + " verify " + w.write("m", *field + message) + " " + record_file), 0);
  std::string added = *field + "From: mallory@evil.example\r\n" + message;
  EXPECT_NE(run("/usr/bin/python3 " + kPeer + " verify " + w.write("a", added) + " " + record_file), 0);
  StaticKeys keys;
  keys.publish("s1._domainkey.example.com", formatKeyRecord(record));
  auto verifier = Verifier::create();
  ASSERT_TRUE(verifier.ok());
  auto verdicts = (*verifier)->verify(added, keys);
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_NE(verdicts[0].verdict, Verdict::Pass);
}

TEST(DkimInterop, WeVerifyDkimpySignatures) {
  Workdir w;
  auto key = generateKey(KeyAlgorithm::Rsa, 2048);
  ASSERT_TRUE(key.ok());
  std::string pem = w.write("rsa.pem", key->private_key_pem);
  auto verifier = Verifier::create();
  ASSERT_TRUE(verifier.ok());
  for (const auto& [name, message] : sampleMessages()) {
    std::string in = w.write(name, message);
    for (const char* canon : {"relaxed/relaxed", "simple/simple", "relaxed/simple"}) {
      ASSERT_EQ(run("/usr/bin/python3 " + kPeer + " sign-rsa " + in + " " + pem + " py example.org " + canon +
                    " " + (w.dir / "out").string()),
                0);
      StaticKeys keys;
      keys.publish("py._domainkey.example.org", formatKeyRecord({KeyType::Rsa, key->public_key, false}));
      std::string signed_message = w.read("out");
      auto verdicts = (*verifier)->verify(signed_message, keys);
      ASSERT_EQ(verdicts.size(), 1u) << name;
      EXPECT_EQ(verdicts[0].verdict, Verdict::Pass) << name << " " << canon << ": " << verdicts[0].reason;
      EXPECT_EQ(verdicts[0].domain, "example.org");
      EXPECT_EQ(verdicts[0].selector, "py");
      EXPECT_EQ(verdicts[0].key_bits, 2048u);
      // Tampered body: a body-hash failure, not a pass.
      std::string tampered = signed_message + "appended\r\n";
      auto bad = (*verifier)->verify(tampered, keys);
      ASSERT_EQ(bad.size(), 1u);
      EXPECT_EQ(bad[0].verdict, Verdict::Fail) << name;
    }
    std::string out;
    ASSERT_EQ(run("/usr/bin/python3 " + kPeer + " sign-ed25519 " + in + " pyed example.org " +
                      (w.dir / "out").string(),
                  &out),
              0);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    StaticKeys keys;
    keys.publish("pyed._domainkey.example.org", out);
    auto verdicts = (*verifier)->verify(w.read("out"), keys);
    ASSERT_EQ(verdicts.size(), 1u) << name;
    EXPECT_EQ(verdicts[0].verdict, Verdict::Pass) << name << " ed25519: " << verdicts[0].reason;
    EXPECT_EQ(verdicts[0].algorithm, "ed25519-sha256");
  }
}

TEST(DkimInterop, WeVerifyOpendkimTestmsgSignatures) {
  if (!fs::exists("/usr/sbin/opendkim-testmsg")) GTEST_SKIP() << "opendkim-tools not installed";
  Workdir w;
  auto key = generateKey(KeyAlgorithm::Rsa, 2048);
  ASSERT_TRUE(key.ok());
  std::string pem = w.write("k.pem", key->private_key_pem);
  std::string in = w.write("m", sampleMessages()["folded"]);
  std::string out;
  ASSERT_EQ(run("/usr/sbin/opendkim-testmsg -C -d example.com -s od -k " + pem + " < " + in, &out), 0);
  StaticKeys keys;
  keys.publish("od._domainkey.example.com", formatKeyRecord({KeyType::Rsa, key->public_key, false}));
  auto verifier = Verifier::create();
  ASSERT_TRUE(verifier.ok());
  auto verdicts = (*verifier)->verify(out, keys);
  ASSERT_EQ(verdicts.size(), 1u) << out;
  EXPECT_EQ(verdicts[0].verdict, Verdict::Pass) << verdicts[0].reason;
}

// RFC 8463 Appendix A: the message signed twice by football.example.com.
const char* kRfc8463Signed =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
    " date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
    " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
    " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n"
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";

void publishRfc8463Keys(StaticKeys& keys) {
  keys.publish("brisbane._domainkey.football.example.com",
               "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  keys.publish("test._domainkey.football.example.com",
               "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR"
               "iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC"
               "DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3"
               "Ip3G+2kryOTIKT+l/K4w3QIDAQAB");
}

TEST(DkimVerify, Rfc8463ExampleVerifiesBothSignatures) {
  StaticKeys keys;
  publishRfc8463Keys(keys);
  auto verifier = Verifier::create();
  ASSERT_TRUE(verifier.ok());
  auto verdicts = (*verifier)->verify(kRfc8463Signed, keys);
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_EQ(verdicts[0].verdict, Verdict::Pass) << verdicts[0].reason;
  EXPECT_EQ(verdicts[0].algorithm, "ed25519-sha256");
  EXPECT_EQ(verdicts[0].selector, "brisbane");
  EXPECT_EQ(verdicts[0].identity, "@football.example.com");
  EXPECT_EQ(verdicts[0].signature_prefix, "/gCrinpc");
  EXPECT_EQ(verdicts[1].verdict, Verdict::Pass) << verdicts[1].reason;
  EXPECT_EQ(verdicts[1].algorithm, "rsa-sha256");
  EXPECT_EQ(verdicts[1].key_bits, 1024u);

  // One signature broken, the other intact: each gets its own verdict.
  publishRfc8463Keys(keys);
  keys.publish("test._domainkey.football.example.com", "v=DKIM1; k=rsa; p=");  // revoked
  verdicts = (*verifier)->verify(kRfc8463Signed, keys);
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_EQ(verdicts[0].verdict, Verdict::Pass);
  EXPECT_EQ(verdicts[1].verdict, Verdict::PermError) << verdicts[1].reason;
}

TEST(DkimVerify, KeyLookupOutcomesGiveTheirVerdicts) {
  auto verifier = Verifier::create();
  ASSERT_TRUE(verifier.ok());
  StaticKeys none;
  auto verdicts = (*verifier)->verify(kRfc8463Signed, none);
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_EQ(verdicts[0].verdict, Verdict::PermError) << "no key record: " << verdicts[0].reason;
  EXPECT_EQ(none.asked.size(), 2u);
  EXPECT_EQ(none.asked[0], "brisbane._domainkey.football.example.com");

  StaticKeys failing;
  failing.answers["brisbane._domainkey.football.example.com"] = {KeySource::Lookup::Status::TempFail, {}, {}};
  publishRfc8463Keys(failing);
  failing.answers["brisbane._domainkey.football.example.com"] = {KeySource::Lookup::Status::TempFail, {}, {}};
  verdicts = (*verifier)->verify(kRfc8463Signed, failing);
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_EQ(verdicts[0].verdict, Verdict::TempError);
  EXPECT_EQ(verdicts[1].verdict, Verdict::Pass);

  StaticKeys secure;
  publishRfc8463Keys(secure);
  secure.publish("brisbane._domainkey.football.example.com",
                 "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", KeyDnssec::Secure);
  verdicts = (*verifier)->verify(kRfc8463Signed, secure);
  EXPECT_EQ(verdicts[0].key_dnssec, KeyDnssec::Secure);
  EXPECT_EQ(verdicts[1].key_dnssec, KeyDnssec::Insecure);

  EXPECT_TRUE((*verifier)->verify("From: a@b.example\r\n\r\nno signature\r\n", none).empty());
}

TEST(DkimVerify, TestingKeysAreFlaggedAndUnknownTagsTolerated) {
  StaticKeys keys;
  publishRfc8463Keys(keys);
  keys.publish("brisbane._domainkey.football.example.com",
               "v=DKIM1; k=ed25519; t=y; zz=unknown; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  auto verifier = Verifier::create();
  ASSERT_TRUE(verifier.ok());
  auto verdicts = (*verifier)->verify(kRfc8463Signed, keys);
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_EQ(verdicts[0].verdict, Verdict::Pass);
  EXPECT_TRUE(verdicts[0].testing);
  EXPECT_FALSE(verdicts[1].testing);
}

TEST(DkimVerify, ExpiredSignaturesAreNotAPass) {
  const int64_t now = static_cast<int64_t>(::time(nullptr));
  auto key = generateKey(KeyAlgorithm::Ed25519, 0);
  ASSERT_TRUE(key.ok());
  StaticKeys keys;
  keys.publish("s1._domainkey.example.com", formatKeyRecord({KeyType::Ed25519, key->public_key, false}));
  auto verifier = Verifier::create();
  ASSERT_TRUE(verifier.ok());
  std::string message = sampleMessages()["plain"];

  SignOptions fresh;
  fresh.expire_after = std::chrono::hours(1);
  auto signer = Signer::create({"example.com", "s1", key->private_key_pem}, fresh);
  ASSERT_TRUE(signer.ok());
  auto field = (*signer)->sign(message);
  ASSERT_TRUE(field.ok());
  EXPECT_NE(field->find("x="), std::string::npos) << *field;
  EXPECT_EQ((*verifier)->verify(*field + message, keys).at(0).verdict, Verdict::Pass);

  SignOptions old = fresh;
  old.fixed_time = now - 7200;  // signed two hours ago, valid for one
  auto old_signer = Signer::create({"example.com", "s1", key->private_key_pem}, old);
  ASSERT_TRUE(old_signer.ok());
  field = (*old_signer)->sign(message);
  ASSERT_TRUE(field.ok());
  EXPECT_NE(field->find("x=" + std::to_string(now - 3600)), std::string::npos) << *field;
  auto verdicts = (*verifier)->verify(*field + message, keys);
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_EQ(verdicts[0].verdict, Verdict::PermError);
  EXPECT_NE(verdicts[0].reason.find("expired"), std::string::npos) << verdicts[0].reason;
}

TEST(DkimVerify, SmallRsaKeysAndBrokenSignaturesAreNamed) {
  auto verifier = Verifier::create({2048});
  ASSERT_TRUE(verifier.ok());
  StaticKeys keys;
  publishRfc8463Keys(keys);
  auto verdicts = (*verifier)->verify(kRfc8463Signed, keys);
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_EQ(verdicts[1].verdict, Verdict::Policy) << "1024-bit key below a 2048 minimum";

  std::string garbled = kRfc8463Signed;
  garbled.replace(garbled.find("a=ed25519-sha256"), 16, "a=rot13-sha256!!");
  auto v = Verifier::create();
  ASSERT_TRUE(v.ok());
  verdicts = (*v)->verify(garbled, keys);
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_EQ(verdicts[0].verdict, Verdict::Neutral) << verdicts[0].reason;
  EXPECT_EQ(verdicts[1].verdict, Verdict::Pass);
}

TEST(DkimVerify, ANulInTheHeaderSectionIsAPermErrorNotARead) {
  // The fuzzer's find: libopendkim read past a header copy when a field held
  // a NUL. Every signature on such a message is a permerror, and a NUL in the
  // body is no reason for one.
  auto verifier = Verifier::create();
  ASSERT_TRUE(verifier.ok());
  StaticKeys keys;
  publishRfc8463Keys(keys);
  std::string message("DKIM-Signature:v=1;a=rsa-sha256;d=A;s=9;h=from;bh==;b=A+I\nFrom:\0e\r\n\r\nbody\r\n",
                      75);
  auto verdicts = (*verifier)->verify(message, keys);
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_EQ(verdicts[0].verdict, Verdict::PermError);
  EXPECT_NE(verdicts[0].reason.find("NUL"), std::string::npos);
  EXPECT_TRUE(keys.asked.empty()) << "no key is fetched for a signature that cannot be checked";

  std::string nul_body = kRfc8463Signed;
  nul_body += std::string("\0", 1);
  verdicts = (*verifier)->verify(nul_body, keys);
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_NE(verdicts[0].verdict, Verdict::PermError) << "a body NUL is only a changed body";
}

TEST(DkimSign, RefusesBadKeysAndNeverQuotesThem) {
  auto weak = generateKey(KeyAlgorithm::Rsa, 1024);
  ASSERT_TRUE(weak.ok());
  EXPECT_TRUE(Signer::create({"example.com", "s", weak->private_key_pem}, {}).ok())
      << "1024 is the RFC 8301 floor";
  std::string garbage =
      "-----BEGIN PRIVATE KEY-----\nTUlJQ1hBSUJBQUtCZ1FDcXNlY3JldA==\n-----END PRIVATE KEY-----\n";
  auto bad = Signer::create({"example.com", "s", garbage}, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.find("TUlJQ1hB"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(Signer::create({"example.com", "bad selector", weak->private_key_pem}, {}).ok());
  SignOptions odd;
  odd.headers = {"From", "X-(.*)"};
  EXPECT_FALSE(Signer::create({"example.com", "s", weak->private_key_pem}, odd).ok());
}

TEST(DkimSign, HeaderListOversignsFromAndFoldsWithCrlf) {
  KeyRecord record;
  SignOptions options;
  options.oversign = {"From"};
  options.fixed_time = 1'800'000'000;
  auto signer = makeSigner(KeyAlgorithm::Rsa, record, options);
  auto field = signer->sign(sampleMessages()["plain"]);
  ASSERT_TRUE(field.ok());
  // Every line ends CRLF and continuation lines start with WSP.
  for (size_t pos = 0; (pos = field->find('\n', pos)) != std::string::npos; ++pos) {
    EXPECT_EQ((*field)[pos - 1], '\r');
    if (pos + 1 < field->size()) {
      EXPECT_TRUE((*field)[pos + 1] == '\t' || (*field)[pos + 1] == ' ');
    }
  }
  std::string unfolded;
  for (char c : *field)
    if (c != '\r' && c != '\n' && c != '\t' && c != ' ') unfolded.push_back(c);
  size_t h = unfolded.find(";h=");
  ASSERT_NE(h, std::string::npos);
  std::string list = unfolded.substr(h + 1, unfolded.find(';', h + 1) - h - 1);
  size_t first = list.find("From"), second = list.find("From", first + 1);
  EXPECT_NE(first, std::string::npos) << list;
  EXPECT_NE(second, std::string::npos) << "From listed twice (oversigned): " << list;
  EXPECT_NE(unfolded.find("t=1800000000"), std::string::npos);
  EXPECT_NE(unfolded.find("c=relaxed/relaxed"), std::string::npos);
  EXPECT_EQ(unfolded.find("x="), std::string::npos);
}

}  // namespace
}  // namespace tlsrelay::dkim
