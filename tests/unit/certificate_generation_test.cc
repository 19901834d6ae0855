// Self-signed certificates and certificate requests: what they carry, read
// back both with our own inspection functions and with the openssl CLI (an
// independent parser), plus `tlsrelay cert` file handling.
#include "relay/tls/certificate_generation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/base64.h"
#include "relay/ops/cert_cli.h"

namespace tlsrelay {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z

std::string mustKey(CertificateKeyType type) {
  auto key = generateServerKey(type);
  EXPECT_TRUE(key.ok()) << (key.ok() ? "" : key.error().message);
  return key.ok() ? *key : std::string();
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Runs a shell command, returns its combined output and sets `status`.
std::string run(const std::string& command, int& status) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    status = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  status = ::pclose(p);
  return out;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tlsrelay-cert-test.XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

class SelfSignedTest : public ::testing::TestWithParam<CertificateKeyType> {};

TEST_P(SelfSignedTest, CarriesNamesValidityAndItsOwnKey) {
  std::string key = mustKey(GetParam());
  CertificateNames names{"Relay.Example.NET",
                         {"mx.example.net", "192.0.2.25", "2001:db8::25", "*.example.org"}};
  auto pem = makeSelfSignedCertificate(key, names, 825, kNow);
  ASSERT_TRUE(pem.ok()) << pem.error().message;
  auto info = inspectCertificate(*pem);
  ASSERT_TRUE(info.ok()) << info.error().message;

  EXPECT_TRUE(info->signature_valid) << "a self-signed certificate verifies with its own key";
  EXPECT_FALSE(info->is_ca);
  EXPECT_EQ(info->subject_cn, "relay.example.net");
  // The host is always the first DNS name; IP literals become IP entries.
  EXPECT_THAT(info->alt_names.dns, ElementsAre("relay.example.net", "mx.example.net", "*.example.org"));
  EXPECT_THAT(info->alt_names.ip, ElementsAre("192.0.2.25", "2001:db8::25"));
  EXPECT_EQ(info->not_before, kNow);
  EXPECT_EQ(info->not_after, kNow + 825 * 86400);

  auto key_spki = publicKeyOfPrivateKey(key);
  ASSERT_TRUE(key_spki.ok()) << key_spki.error().message;
  EXPECT_EQ(*key_spki, info->public_key_der) << "the certificate carries the generated key";
  EXPECT_EQ(info->key_description, GetParam() == CertificateKeyType::Rsa2048 ? "RSA 2048" : "EC P-256");
  EXPECT_EQ(info->sha256_fingerprint.size(), 32u * 3 - 1);
}

TEST_P(SelfSignedTest, OpensslAcceptsItAsATlsServerCertificate) {
  TempDir dir;
  std::string key = mustKey(GetParam());
  auto pem = makeSelfSignedCertificate(key, {"relay.test", {"10.1.2.3"}}, 30, ::time(nullptr));
  ASSERT_TRUE(pem.ok()) << pem.error().message;
  writeFile(dir.file("cert.pem"), *pem);
  writeFile(dir.file("key.pem"), key);
  int status = 0;
  std::string out = run("openssl verify -x509_strict -purpose sslserver -CAfile " + dir.file("cert.pem") +
                            " " + dir.file("cert.pem"),
                        status);
  EXPECT_EQ(status, 0) << out;
  out = run("openssl x509 -noout -text -in " + dir.file("cert.pem"), status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_THAT(out, HasSubstr("DNS:relay.test, IP Address:10.1.2.3"));
  EXPECT_THAT(out, HasSubstr("CA:FALSE"));
  EXPECT_THAT(out, HasSubstr("TLS Web Server Authentication"));
  EXPECT_THAT(out, HasSubstr("Subject: CN = relay.test"));
  // The key and the certificate hold the same public key.
  std::string from_cert = run("openssl x509 -noout -pubkey -in " + dir.file("cert.pem"), status);
  std::string from_key = run("openssl pkey -pubout -in " + dir.file("key.pem"), status);
  EXPECT_EQ(from_cert, from_key);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, SelfSignedTest,
                         ::testing::Values(CertificateKeyType::EcdsaP256, CertificateKeyType::Rsa2048));

TEST(CertificateRequestTest, SignatureVerifiesAndCarriesTheNames) {
  TempDir dir;
  std::string key = mustKey(CertificateKeyType::EcdsaP256);
  auto pem = makeCertificateRequest(key, {"relay.example.net", {"smtp.example.net", "198.51.100.7"}});
  ASSERT_TRUE(pem.ok()) << pem.error().message;
  auto info = inspectCertificateRequest(*pem);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_TRUE(info->signature_valid);
  EXPECT_EQ(info->subject_cn, "relay.example.net");
  EXPECT_THAT(info->alt_names.dns, ElementsAre("relay.example.net", "smtp.example.net"));
  EXPECT_THAT(info->alt_names.ip, ElementsAre("198.51.100.7"));
  EXPECT_EQ(info->public_key_der, publicKeyOfPrivateKey(key).value());

  writeFile(dir.file("req.pem"), *pem);
  int status = 0;
  std::string out = run("openssl req -verify -noout -text -in " + dir.file("req.pem"), status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_THAT(out, HasSubstr("verify OK"));
  EXPECT_THAT(out, HasSubstr("DNS:relay.example.net, DNS:smtp.example.net, IP Address:198.51.100.7"));
}

// The PEM of `pem` with one byte of the DER changed in its first `name`.
std::string tampered(const std::string& pem, const std::string& label, const std::string& name) {
  std::string begin = "-----BEGIN " + label + "-----\n", end = "-----END " + label + "-----";
  std::string body = pem.substr(begin.size(), pem.find(end) - begin.size());
  body.erase(std::remove(body.begin(), body.end(), '\n'), body.end());
  std::string der = base64Decode(body).value();
  size_t at = der.find(name);
  EXPECT_NE(at, std::string::npos);
  der[at] = static_cast<char>(der[at] ^ 1);
  std::string encoded = base64Encode(der), out = begin;
  for (size_t i = 0; i < encoded.size(); i += 64) out += encoded.substr(i, 64) + "\n";
  return out + end + "\n";
}

TEST(CertificateRequestTest, ChangedBytesFailVerification) {
  std::string key = mustKey(CertificateKeyType::EcdsaP256);
  auto csr = makeCertificateRequest(key, {"relay.example.net", {}});
  ASSERT_TRUE(csr.ok());
  auto changed = inspectCertificateRequest(tampered(*csr, "CERTIFICATE REQUEST", "relay.example.net"));
  ASSERT_TRUE(changed.ok()) << changed.error().message;
  EXPECT_FALSE(changed->signature_valid);
  EXPECT_NE(changed->subject_cn, "relay.example.net");

  auto cert = makeSelfSignedCertificate(key, {"relay.example.net", {}}, 10, kNow);
  ASSERT_TRUE(cert.ok());
  auto changed_cert = inspectCertificate(tampered(*cert, "CERTIFICATE", "relay.example.net"));
  ASSERT_TRUE(changed_cert.ok()) << changed_cert.error().message;
  EXPECT_FALSE(changed_cert->signature_valid);
  // A different key's public part differs: the key comparison is not vacuous.
  std::string other = mustKey(CertificateKeyType::EcdsaP256);
  EXPECT_NE(publicKeyOfPrivateKey(other).value(), inspectCertificate(*cert)->public_key_der);
}

TEST(CertificateNamesTest, RefusesWhatIsNotANameOrAddress) {
  for (const char* bad : {"", "relay..example", "relay example", "-relay.example", "relay.example/x", "a\"b",
                          "a\nb", "*.example.com"}) {
    auto sans = subjectAltNamesFor({bad, {}});
    EXPECT_FALSE(sans.ok()) << "host accepted: " << bad;
  }
  for (const char* bad : {"bad name", "*.*.example.com", "x,DNS:evil.example", "10.0.0.0/8"}) {
    auto sans = subjectAltNamesFor({"relay.example", {bad}});
    ASSERT_FALSE(sans.ok()) << "san accepted: " << bad;
    EXPECT_THAT(sans.error().message, HasSubstr("--san"));
  }
  auto sans = subjectAltNamesFor({"relay.example", {"RELAY.example", "relay.example.", "[2001:db8::1]"}});
  ASSERT_TRUE(sans.ok()) << sans.error().message;
  EXPECT_THAT(sans->dns, ElementsAre("relay.example"));
  EXPECT_THAT(sans->ip, ElementsAre("2001:db8::1"));
  // An IP literal host is an IP entry, not a DNS name.
  auto ip_host = subjectAltNamesFor({"192.0.2.1", {}});
  ASSERT_TRUE(ip_host.ok());
  EXPECT_TRUE(ip_host->dns.empty());
  EXPECT_THAT(ip_host->ip, ElementsAre("192.0.2.1"));
}

TEST(CertificateNamesTest, RefusesDaysOutOfRangeAndEncryptedOrBogusKeys) {
  std::string key = mustKey(CertificateKeyType::EcdsaP256);
  EXPECT_FALSE(makeSelfSignedCertificate(key, {"relay.test", {}}, 0, kNow).ok());
  EXPECT_FALSE(makeSelfSignedCertificate(key, {"relay.test", {}}, 3651, kNow).ok());
  auto bogus = makeSelfSignedCertificate("not a key", {"relay.test", {}}, 10, kNow);
  ASSERT_FALSE(bogus.ok());
  EXPECT_THAT(bogus.error().message, HasSubstr("private key"));
  EXPECT_FALSE(inspectCertificate("garbage").ok());
  EXPECT_FALSE(inspectCertificateRequest(key).ok());
}

mode_t modeOf(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_mode & 07777;
}

TEST(CertCliTest, WritesKeyPrivatelyAndRefusesToOverwrite) {
  TempDir dir;
  CertCommandArgs args;
  args.host = "relay.test";
  args.sans = {"127.0.0.1"};
  args.cert_file = dir.file("tls/server.pem");  // the folder is made
  args.key_file = dir.file("tls/server.key");
  args.days = 10;
  ASSERT_EQ(runCertSelfSigned(args), 0);
  EXPECT_EQ(modeOf(args.key_file), 0600u);
  EXPECT_EQ(modeOf(args.cert_file), 0644u);
  std::string cert = readFile(args.cert_file), key = readFile(args.key_file);
  auto info = inspectCertificate(cert);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->public_key_der, publicKeyOfPrivateKey(key).value());
  int64_t now = ::time(nullptr);
  EXPECT_NEAR(static_cast<double>(info->not_after - now), 10.0 * 86400, 120);

  // A second run keeps both files untouched...
  EXPECT_EQ(runCertSelfSigned(args), 1);
  EXPECT_EQ(readFile(args.key_file), key);
  EXPECT_EQ(readFile(args.cert_file), cert);
  // ...unless forced.
  args.force = true;
  args.algorithm = "rsa";
  ASSERT_EQ(runCertSelfSigned(args), 0);
  EXPECT_NE(readFile(args.key_file), key);
  EXPECT_EQ(inspectCertificate(readFile(args.cert_file))->key_description, "RSA 2048");

  CertCommandArgs bad = args;
  bad.algorithm = "dsa";
  EXPECT_EQ(runCertSelfSigned(bad), 2);
  bad = args;
  bad.key_file = bad.cert_file;
  EXPECT_EQ(runCertSelfSigned(bad), 1);
  bad = args;
  bad.days = 0;
  EXPECT_EQ(runCertSelfSigned(bad), 2);
}

TEST(CertCliTest, AForcedReplacementThatCannotWriteTheCertificateKeepsTheOldKey) {
  TempDir dir;
  CertCommandArgs args;
  args.host = "relay.test";
  args.key_file = dir.file("server.key");
  args.cert_file = dir.file("server.pem");
  ASSERT_EQ(runCertSelfSigned(args), 0);
  const std::string key = readFile(args.key_file);
  // The certificate cannot be written (its folder is a file), even as root.
  std::ofstream(dir.file("not-a-folder")) << "x";
  args.cert_file = dir.file("not-a-folder/server.pem");
  args.force = true;
  EXPECT_EQ(runCertSelfSigned(args), 1);
  EXPECT_EQ(readFile(args.key_file), key);  // the old key still matches the old certificate
}

TEST(CertCliTest, RequestWritesKeyAndCsr) {
  TempDir dir;
  CertCommandArgs args;
  args.host = "relay.test";
  args.sans = {"mx.relay.test"};
  args.key_file = dir.file("relay.key");
  args.csr_file = dir.file("relay.csr");
  ASSERT_EQ(runCertRequest(args), 0);
  EXPECT_EQ(modeOf(args.key_file), 0600u);
  auto info = inspectCertificateRequest(readFile(args.csr_file));
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_TRUE(info->signature_valid);
  EXPECT_THAT(info->alt_names.dns, ElementsAre("relay.test", "mx.relay.test"));
  EXPECT_EQ(info->public_key_der, publicKeyOfPrivateKey(readFile(args.key_file)).value());
  EXPECT_EQ(runCertRequest(args), 1) << "existing files are kept";
}

}  // namespace
}  // namespace tlsrelay
