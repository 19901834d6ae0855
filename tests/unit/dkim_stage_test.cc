// The DKIM stages in the real message pipeline: who gets signed (eligibility
// by From and recipient patterns, only permitted sources), signed once for
// many destinations, two signatures per domain, deferral when signing fails;
// the Authentication-Results stage and the forged-field removal; [dkim]
// configuration; `tlsrelay dkim keygen`.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <uv.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "common/ascii.h"
#include "common/file_read.h"
#include "common/wildcard.h"
#include "dkim/dkim_key_record.h"
#include "dkim/resolver_key_source.h"
#include "dkim/signing_stage.h"
#include "dkim/verification_stage.h"
#include "message/authentication_results.h"
#include "message/header_section.h"
#include "message/mime.h"
#include "relay/config/config.h"
#include "relay/ops/dkim_cli.h"
#include "relay/outbound/message_pipeline.h"
#include "relay/tls/key_generation.h"

namespace tlsrelay::dkim {
namespace {

namespace fs = std::filesystem;

class StaticKeys : public KeySource {
 public:
  std::map<std::string, std::string> records;
  Lookup lookup(const std::string& name) override {
    auto it = records.find(name);
    if (it == records.end()) return {};
    return {Lookup::Status::Found, {it->second}, KeyDnssec::Insecure};
  }
};

struct TestKey {
  std::shared_ptr<const Signer> signer;
  std::string record;
};

TestKey makeKey(const std::string& domain, const std::string& selector, KeyAlgorithm alg) {
  auto key = generateKey(alg, 2048);
  EXPECT_TRUE(key.ok());
  auto signer = Signer::create({domain, selector, key->private_key_pem}, {});
  EXPECT_TRUE(signer.ok());
  KeyRecord record{alg == KeyAlgorithm::Rsa ? KeyType::Rsa : KeyType::Ed25519, key->public_key, false};
  return {std::shared_ptr<const Signer>(std::move(*signer)), formatKeyRecord(record)};
}

class DkimStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    envelope_ = std::make_shared<Envelope>();
    envelope_->queue_id = "0001A2B3C4D5E6F70000DEADBEEF";
    envelope_->mail_from = "alice@example.com";
    envelope_->client_ip = "192.0.2.10";
    envelope_->auth_user = "alice";
    for (const char* a : {"bob@example.net", "carol@partner.example", "dave@example.org"})
      envelope_->recipients.push_back({a});
  }
  void TearDown() override {
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  // Runs the pipeline to completion (blocking stages finish on the loop).
  PreparedMessage run(MessagePipeline& pipeline, const std::string& data, std::vector<size_t> recipients,
                      const std::string& ip = "192.0.2.1") {
    JobMessage m{envelope_, std::make_shared<const std::string>(data), recipients};
    JobTarget hop;
    hop.mx_host = "mx.example.net";
    hop.ip = ip;
    std::optional<PreparedMessage> out;
    auto ready = pipeline.run(m, hop, [&](PreparedMessage p) { out = std::move(p); });
    if (ready) return std::move(*ready);
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_TRUE(out.has_value());
    return out ? std::move(*out) : PreparedMessage{};
  }

  static size_t countSignatures(const std::string& data) {
    size_t n = 0;
    for (const HeaderField& f : parseHeaderSection(data)) n += f.name == "DKIM-Signature";
    return n;
  }

  uv_loop_t loop_;
  std::shared_ptr<Envelope> envelope_;
};

const std::string kMessage =
    "From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: hi\r\n"
    "Date: Mon, 07 Dec 2026 04:00:00 +0000\r\n\r\nbody\r\n";

TEST_F(DkimStageTest, SignsEligibleMailOnceForEveryDestinationAndTheSignatureVerifies) {
  TestKey rsa = makeKey("example.com", "s1", KeyAlgorithm::Rsa);
  auto stage = std::make_shared<SigningStage>(
      std::vector<SigningStage::KeyedEntry>{{{"example.com", "s1", {}, {}}, rsa.signer}}, nullptr);
  EXPECT_TRUE(stage->blocking()) << "RSA signing belongs on the thread pool";
  MessagePipeline pipeline(&loop_, {stage});
  PreparedMessage first = run(pipeline, kMessage, {0});
  PreparedMessage second = run(pipeline, kMessage, {1}, "198.51.100.7");
  ASSERT_EQ(first.bodies.size(), 1u);
  ASSERT_EQ(second.bodies.size(), 1u);
  // Each run() here hands over a fresh copy of the bytes (as after the
  // message was read again from the spool), so nothing is reused; the next
  // test keeps one copy, as the queue does.
  EXPECT_EQ(stage->signaturesMade(), 2u);
  EXPECT_EQ(pipeline.reused(), 0u);
  EXPECT_EQ(countSignatures(*first.bodies[0].data), 1u);
  EXPECT_EQ(second.bodies[0].recipients, (std::vector<size_t>{1}));

  auto verifier = Verifier::create();
  ASSERT_TRUE(verifier.ok());
  StaticKeys keys;
  keys.records["s1._domainkey.example.com"] = rsa.record;
  auto verdicts = (*verifier)->verify(*first.bodies[0].data, keys);
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_EQ(verdicts[0].verdict, Verdict::Pass) << verdicts[0].reason;
}

TEST_F(DkimStageTest, SameSpooledBytesToManyDestinationsAreSignedOnce) {
  TestKey ed = makeKey("example.com", "e1", KeyAlgorithm::Ed25519);
  auto stage = std::make_shared<SigningStage>(
      std::vector<SigningStage::KeyedEntry>{{{"example.com", "e1", {}, {}}, ed.signer}}, nullptr);
  EXPECT_FALSE(stage->blocking()) << "Ed25519 alone stays on the loop thread";
  MessagePipeline pipeline(&loop_, {stage});
  auto data = std::make_shared<const std::string>(kMessage);
  for (size_t r = 0; r < 3; ++r) {
    JobMessage m{envelope_, data, {r}};
    JobTarget hop;
    hop.ip = "192.0.2." + std::to_string(r + 1);
    auto p = pipeline.run(m, hop, [](PreparedMessage) {});
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(countSignatures(*p->bodies[0].data), 1u);
  }
  EXPECT_EQ(stage->signaturesMade(), 1u);
  EXPECT_EQ(pipeline.reused(), 2u);
}

TEST_F(DkimStageTest, EligibilityFollowsFromAndRecipientPatternsAndTwoKeysGiveTwoSignatures) {
  TestKey rsa = makeKey("example.com", "s1", KeyAlgorithm::Rsa);
  TestKey ed = makeKey("example.com", "e1", KeyAlgorithm::Ed25519);
  TestKey partner = makeKey("relay.example", "p1", KeyAlgorithm::Ed25519);
  std::vector<SigningStage::KeyedEntry> entries = {
      {{"example.com", "s1", {}, {}}, rsa.signer},
      {{"example.com", "e1", {}, {}}, ed.signer},
      {{"relay.example", "p1", {"nobody@*"}, {"*@partner.example"}}, partner.signer},
  };
  auto stage = std::make_shared<SigningStage>(entries, nullptr);
  MessagePipeline pipeline(&loop_, {stage});
  PreparedMessage p = run(pipeline, kMessage, {0, 1, 2});
  ASSERT_EQ(p.bodies.size(), 1u);
  EXPECT_EQ(countSignatures(*p.bodies[0].data), 3u) << *p.bodies[0].data;

  // From a subdomain: the default patterns cover it; from elsewhere: nothing.
  std::string sub = kMessage;
  sub.replace(sub.find("alice@example.com"), 17, "news@mail.example.com");
  envelope_->recipients = {{"bob@example.net"}};
  MessagePipeline p2(&loop_, {stage});
  EXPECT_EQ(countSignatures(*run(p2, sub, {0}).bodies[0].data), 2u);
  std::string other = kMessage;
  other.replace(other.find("alice@example.com"), 17, "alice@elsewhere.test");
  MessagePipeline p3(&loop_, {stage});
  PreparedMessage unsigned_out = run(p3, other, {0});
  EXPECT_EQ(countSignatures(*unsigned_out.bodies[0].data), 0u);
}

TEST_F(DkimStageTest, OnlyPermittedSourcesGetOurSignature) {
  TestKey ed = makeKey("example.com", "e1", KeyAlgorithm::Ed25519);
  auto stage = std::make_shared<SigningStage>(
      std::vector<SigningStage::KeyedEntry>{{{"example.com", "e1", {}, {}}, ed.signer}},
      [](const Envelope& env) { return !env.auth_user.empty() || env.client_ip == "local"; });
  envelope_->auth_user.clear();
  MessagePipeline pipeline(&loop_, {stage});
  EXPECT_EQ(countSignatures(*run(pipeline, kMessage, {0}).bodies[0].data), 0u);
  envelope_->queue_id = "0001A2B3C4D5E6F70000DEADBEF0";
  envelope_->client_ip = "local";
  EXPECT_EQ(countSignatures(*run(pipeline, kMessage, {0}).bodies[0].data), 1u);
}

TEST_F(DkimStageTest, UpdateReplacesKeysForLaterMessages) {
  TestKey ed = makeKey("example.com", "e1", KeyAlgorithm::Ed25519);
  auto stage = std::make_shared<SigningStage>(std::vector<SigningStage::KeyedEntry>{}, nullptr);
  EXPECT_EQ(stage->keys(), 0u);
  MessagePipeline pipeline(&loop_, {stage});
  EXPECT_EQ(countSignatures(*run(pipeline, kMessage, {0}).bodies[0].data), 0u);
  stage->update({{{"example.com", "e1", {}, {}}, ed.signer}}, nullptr);
  EXPECT_EQ(stage->keys(), 1u);
  envelope_->queue_id = "0001A2B3C4D5E6F70000DEADBEF1";
  EXPECT_EQ(countSignatures(*run(pipeline, kMessage, {0}).bodies[0].data), 1u);
}

TEST_F(DkimStageTest, VerificationStageAddsOurResultAndDropsForgedOnes) {
  TestKey ed = makeKey("example.com", "e1", KeyAlgorithm::Ed25519);
  auto signed_field = ed.signer->sign(kMessage);
  ASSERT_TRUE(signed_field.ok());
  std::string forged = "Authentication-Results: relay.test; dkim=pass header.d=paypal.example\r\n";
  std::string foreign = "Authentication-Results: mx.other.example; spf=pass\r\n";
  std::string incoming = forged + foreign + *signed_field + kMessage;
  StaticKeys keys;
  keys.records["e1._domainkey.example.com"] = ed.record;
  auto verifier = Verifier::create();
  ASSERT_TRUE(verifier.ok());
  auto stage = std::make_shared<VerificationStage>(std::shared_ptr<const Verifier>(std::move(*verifier)),
                                                   &keys, VerificationSettings{true, true, "relay.test"});
  EXPECT_TRUE(stage->blocking());
  MessagePipeline pipeline(&loop_, {stage});
  std::string out = *run(pipeline, incoming, {0}).bodies[0].data;
  EXPECT_EQ(out.rfind("Authentication-Results: relay.test;\r\n\tdkim=pass", 0), 0u) << out;
  EXPECT_NE(out.find("header.d=example.com header.i=@example.com header.s=e1 header.a=ed25519-sha256"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("paypal.example"), std::string::npos) << "the forged field is gone: " << out;
  EXPECT_NE(out.find(foreign), std::string::npos) << "another host's field stays";

  // Disabled, or mail from our own AUTH users when asked not to: untouched.
  stage->update({false, false, "relay.test"});
  EXPECT_FALSE(stage->blocking());
  envelope_->queue_id = "0001A2B3C4D5E6F70000DEADBEF2";
  EXPECT_EQ(*run(pipeline, incoming, {0}).bodies[0].data, incoming);
  stage->update({true, false, "relay.test"});
  envelope_->queue_id = "0001A2B3C4D5E6F70000DEADBEF3";
  EXPECT_EQ(*run(pipeline, incoming, {0}).bodies[0].data, incoming);
}

TEST(AuthenticationResults, FormatsResultsAndQuotesWhatNeedsIt) {
  EXPECT_EQ(authenticationResultsField("relay.test", {}), "Authentication-Results: relay.test; none\r\n");
  std::string f = authenticationResultsField(
      "relay.test",
      {{"dkim",
        "fail",
        "signature did not \"verify\"",
        {{"header.d", "example.com"}, {"header.i", "joe@example.com"}, {"header.b", "ab/+=cd"}}}});
  EXPECT_EQ(f,
            "Authentication-Results: relay.test;\r\n\tdkim=fail reason=\"signature did not \\\"verify\\\"\" "
            "header.d=example.com header.i=joe@example.com header.b=\"ab/+=cd\"\r\n");
  EXPECT_TRUE(claimsAuthservId(" Relay.Test; dkim=pass", "relay.test"));
  EXPECT_TRUE(claimsAuthservId("relay.test 1; none", "relay.test"));
  EXPECT_FALSE(claimsAuthservId("relay.test.evil; none", "relay.test"));
}

TEST(Wildcard, StarsAndQuestionMarksIgnoringCase) {
  EXPECT_TRUE(wildcardMatch("*@example.com", "Alice@Example.COM"));
  EXPECT_FALSE(wildcardMatch("*@example.com", "alice@example.com.evil"));
  EXPECT_TRUE(wildcardMatch("*@*.example.com", "a@mail.example.com"));
  EXPECT_FALSE(wildcardMatch("*@*.example.com", "a@example.com"));
  EXPECT_TRUE(wildcardMatch("news-??@*", "news-01@x"));
  EXPECT_FALSE(wildcardMatch("news-??@*", "news-1@x"));
  EXPECT_TRUE(wildcardMatch("*", ""));
  EXPECT_FALSE(wildcardMatch("", "a"));
  // No exponential backtracking on hostile patterns.
  EXPECT_FALSE(wildcardMatch("*a*a*a*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

TEST(RawHeaderFields, KeepsFoldingAndFindsTheBody) {
  std::string m = "A: 1\r\nB: two\r\n\tlines\r\nC:3\r\n\r\nbody\r\n";
  RawHeaderFields split = splitRawHeaderFields(m);
  ASSERT_EQ(split.fields.size(), 3u);
  EXPECT_EQ(split.fields[1], "B: two\r\n\tlines");
  EXPECT_EQ(split.body, "body\r\n");
  EXPECT_EQ(splitRawHeaderFields("A: 1\r\n\r\n").body, "");
  EXPECT_EQ(splitRawHeaderFields("A: 1\r\nnot a field\r\nmore\r\n").body, "not a field\r\nmore\r\n");
  EXPECT_TRUE(splitRawHeaderFields("").fields.empty());
  EXPECT_EQ(splitRawHeaderFields("A: 1\nB: 2\n\nlf body\n").fields.size(), 2u);
}

TEST(MailboxList, AddrSpecsFromDisplayFormsAndGroups) {
  EXPECT_EQ(parseMailboxList("\"Bob, Jr\" <bob@b.example>, carol@c.example"),
            (std::vector<std::string>{"bob@b.example", "carol@c.example"}));
  EXPECT_EQ(parseMailboxList("team: dan@d.example, eve@e.example;"),
            (std::vector<std::string>{"dan@d.example", "eve@e.example"}));
  EXPECT_TRUE(parseMailboxList("undisclosed-recipients:;").empty());
  EXPECT_TRUE(parseMailboxList("garbage <<<").empty());
}

TEST(SigningPolicy, DefaultPatternsCoverTheDomainAndItsSubdomains) {
  SigningEntry e{"example.com", "s1", {}, {}};
  EXPECT_EQ(fromPatterns(e), (std::vector<std::string>{"*@example.com", "*@*.example.com"}));
  std::vector<SigningEntry> entries = {e, {"other.example", "s", {"ceo@example.com"}, {"*@bank.example"}}};
  EXPECT_EQ(eligibleEntries(entries, {"x@example.com"}, {}), (std::vector<size_t>{0}));
  EXPECT_EQ(eligibleEntries(entries, {"ceo@example.com"}, {}), (std::vector<size_t>{0, 1}));
  EXPECT_EQ(eligibleEntries(entries, {}, {"a@bank.example"}), (std::vector<size_t>{1}));
  EXPECT_TRUE(eligibleEntries(entries, {"x@notexample.com"}, {"a@b.example"}).empty());
}

TEST(DkimKeyRecord, SplitsLongRecordsIntoQuotedStrings) {
  KeyRecord rsa{KeyType::Rsa, std::string(294, 'k'), true};
  std::string text = formatKeyRecord(rsa);
  EXPECT_EQ(text.rfind("v=DKIM1; k=rsa; s=tlsrpt; p=", 0), 0u);
  auto parts = splitTxtStrings(text);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].size(), 255u);
  EXPECT_EQ(parts[0] + parts[1], text);
  std::string zone = zoneFileEntry("S1", "Example.COM.", rsa);
  EXPECT_EQ(zone.rfind("s1._domainkey.example.com. 3600 IN TXT ( \"v=DKIM1;", 0), 0u) << zone;
  EXPECT_TRUE(isValidSelector("2026-12.eu"));
  EXPECT_FALSE(isValidSelector("-bad"));
  EXPECT_FALSE(isValidSelector("a..b"));
  EXPECT_FALSE(isValidSelector("under_score"));
}

TEST(DkimConfig, ReadsSigningEntriesAndNamesMistakes) {
  auto cfg = loadConfigString(
      "[server]\nhostname = \"relay.test\"\n[dkim]\ncanonicalization = \"relaxed/simple\"\nexpire_after = "
      "\"7d\"\n"
      "oversign = [\"From\"]\n"
      "[[dkim.sign]]\ndomain = \"Example.COM\"\nselector = \"S1\"\nkey_file = \"/etc/tlsrelay/s1.key\"\n"
      "to = [\"*@partner.example\"]\n"
      "[dkim.verify]\nauthentication_results = true\n",
      "t.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  ASSERT_EQ(cfg->dkim.sign.size(), 1u);
  EXPECT_EQ(cfg->dkim.sign[0].domain, "example.com");
  EXPECT_EQ(cfg->dkim.sign[0].selector, "s1");
  EXPECT_EQ(cfg->dkim.sign[0].to, (std::vector<std::string>{"*@partner.example"}));
  EXPECT_TRUE(cfg->dkim.header_relaxed);
  EXPECT_FALSE(cfg->dkim.body_relaxed);
  EXPECT_EQ(cfg->dkim.expire_after, std::chrono::hours(24 * 7));
  EXPECT_EQ(cfg->dkim.oversign, (std::vector<std::string>{"From"}));
  EXPECT_TRUE(cfg->dkim.authentication_results);
  EXPECT_EQ(cfg->dkim.authserv_id, "relay.test");

  for (const char* bad : {
           "[dkim]\ncanonicalization = \"loose\"\n",
           "[dkim]\nheaders = [\"Subject\"]\n",
           "[dkim]\nheaders = [\"From\", \"X-(.*)\"]\n",
           "[[dkim.sign]]\nselector = \"s\"\nkey_file = \"k\"\n",
           "[[dkim.sign]]\ndomain = \"example.com\"\nselector = \"s\"\n",
           "[[dkim.sign]]\ndomain = \"example.com\"\nselector = \"s\"\nkey_file = \"k\"\nfrom = "
           "[\"example.com\"]\n",
           "[[dkim.sign]]\ndomain = \"example.com\"\nselector = \"s\"\nkey_file = \"k\"\n"
           "[[dkim.sign]]\ndomain = \"example.com\"\nselector = \"s\"\nkey_file = \"k2\"\n",
           "[dkim]\nsurprise = 1\n",
       }) {
    auto r = loadConfigString(bad, "bad.toml");
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.error().message.find("bad.toml:"), std::string::npos) << r.error().message;
    }
  }
}

TEST(DkimKeygen, WritesAPrivateKeyFileAndRefusesToOverwrite) {
  char tmpl[] = "/tmp/dkim-keygen-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  DkimCommandArgs args;
  args.domain = "example.com";
  args.selector = "s2026";
  args.out = (dir / "k.pem").string();
  testing::internal::CaptureStdout();
  ASSERT_EQ(runDkimKeygen(args), 0);
  std::string printed = testing::internal::GetCapturedStdout();
  struct stat st {};
  ASSERT_EQ(::stat(args.out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(args.out);
  std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto key = inspectPrivateKey(pem);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->bits, 2048);
  EXPECT_EQ(printed, zoneFileEntry("s2026", "example.com", {KeyType::Rsa, key->public_key, false}) + "\n");
  EXPECT_NE(runDkimKeygen(args), 0) << "an existing key is not replaced";
  args.force = true;
  args.algorithm = "ed25519";
  args.tlsrpt = true;
  testing::internal::CaptureStdout();
  ASSERT_EQ(runDkimKeygen(args), 0);
  printed = testing::internal::GetCapturedStdout();
  EXPECT_NE(printed.find("k=ed25519; s=tlsrpt; p="), std::string::npos) << printed;
  args.bits = 512;
  args.algorithm = "rsa";
  EXPECT_EQ(runDkimKeygen(args), 2);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tlsrelay::dkim

namespace tlsrelay::dkim {
namespace {

// Key lookups through our DNS layer: each outcome and DNSSEC status becomes
// the verdict's input; a bogus answer is never used as a key.
class TxtOnlyResolver : public dns::Resolver {
 public:
  dns::TxtAnswer answer;
  dns::MxAnswer lookupMx(const std::string&) override { return {}; }
  dns::AddressAnswer lookupAddresses(const std::string&) override { return {}; }
  dns::TxtAnswer lookupTxt(const std::string&) override { return answer; }
  dns::TlsaAnswer lookupTlsa(const std::string&) override { return {}; }
};

TEST(ResolverKeySource, MapsOutcomesAndDnssecStatus) {
  TxtOnlyResolver dns;
  ResolverKeySource keys(dns);
  dns.answer = {dns::Outcome::Found, dns::Security::Secure, {"v=DKIM1; p=abc"}, 300, ""};
  auto found = keys.lookup("s._domainkey.example.com");
  EXPECT_EQ(found.status, KeySource::Lookup::Status::Found);
  EXPECT_EQ(found.records, (std::vector<std::string>{"v=DKIM1; p=abc"}));
  EXPECT_EQ(found.dnssec, KeyDnssec::Secure);
  dns.answer = {dns::Outcome::Found, dns::Security::Bogus, {"v=DKIM1; p=forged"}, 300, "bad RRSIG"};
  auto bogus = keys.lookup("s._domainkey.example.com");
  EXPECT_EQ(bogus.status, KeySource::Lookup::Status::TempFail);
  EXPECT_TRUE(bogus.records.empty()) << "a bogus record is never handed on";
  EXPECT_EQ(bogus.dnssec, KeyDnssec::Bogus);
  dns.answer = {dns::Outcome::NxDomain, dns::Security::Insecure, {}, 300, ""};
  EXPECT_EQ(keys.lookup("x").status, KeySource::Lookup::Status::NotFound);
  dns.answer = {dns::Outcome::NoData, dns::Security::Secure, {}, 300, ""};
  EXPECT_EQ(keys.lookup("x").status, KeySource::Lookup::Status::NotFound);
  dns.answer = {dns::Outcome::TempFail, dns::Security::Insecure, {}, 0, "timeout"};
  EXPECT_EQ(keys.lookup("x").status, KeySource::Lookup::Status::TempFail);
}

TEST(ReadWholeFile, ReadsSmallFilesAndRefusesLargeOrMissingOnes) {
  char tmpl[] = "/tmp/read-whole-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  std::string path = (dir / "f").string();
  std::ofstream(path, std::ios::binary) << std::string(20000, 'x') << '\0' << "tail";
  auto whole = readWholeFile(path, 1 << 20);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->size(), 20005u) << "NUL bytes and the part after them are kept";
  auto big = readWholeFile(path, 20004);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("larger than 20004"), std::string::npos) << big.error().message;
  EXPECT_TRUE(readWholeFile(path, 20005).ok());
  auto missing = readWholeFile((dir / "none").string(), 10);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("none"), std::string::npos);
  fs::remove_all(dir);
}

TEST(FieldNameToken, LettersDigitsAndHyphensOnly) {
  EXPECT_TRUE(isFieldNameToken("List-Unsubscribe-Post"));
  EXPECT_FALSE(isFieldNameToken(""));
  EXPECT_FALSE(isFieldNameToken("X-(.*)"));
  EXPECT_FALSE(isFieldNameToken("Subject:"));
  EXPECT_FALSE(isFieldNameToken(std::string(77, 'a')));
}

}  // namespace
}  // namespace tlsrelay::dkim
