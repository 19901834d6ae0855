// TlsContext + TlsEngine: two engines pumped against each other in memory, with
// certificates from tests/fixtures/test_ca.sh generated once per test run.
#include "relay/tls/tls_engine.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

namespace tlsrelay {
namespace {

namespace fs = std::filesystem;

constexpr const char* kHost = "mx1.example.test";
constexpr const char* kOtherHost = "mx2.example.test";

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class TlsEngineTest : public ::testing::Test {
 protected:
  // ctest runs every test case in its own process: share one certificate
  // directory between them (test_ca.sh is idempotent and locks). The name holds
  // a hash of the script, so changing the script yields fresh certificates.
  static void SetUpTestSuite() {
    const std::string script = std::string(TLSRELAY_SOURCE_DIR) + "/tests/fixtures/test_ca.sh";
    const size_t script_hash = std::hash<std::string>{}(readFile(script));
    dir_ = fs::temp_directory_path() /
           ("tlsrelay-tls-test-ca-" + std::to_string(::getuid()) + "-" + std::to_string(script_hash));
    const std::string cmd = "bash " + script + " " + dir_.string() + " " + kHost + " " + kOtherHost;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  static std::string file(const std::string& name) { return (dir_ / name).string(); }

  static ServerTlsSettings serverSettings(const std::string& host = kHost) {
    ServerTlsSettings s;
    s.certificate_file = file(host + ".pem");
    s.key_file = file(host + ".key");
    return s;
  }
  static ClientTlsSettings clientSettings() {
    ClientTlsSettings c;
    c.ca_bundle = file("ca.pem");
    return c;
  }
  static std::shared_ptr<TlsContext> serverCtx(const ServerTlsSettings& s) {
    auto ctx = TlsContext::makeServer(s);
    EXPECT_TRUE(ctx.ok()) << (ctx.ok() ? "" : ctx.error().message);
    return ctx.ok() ? *ctx : nullptr;
  }
  static std::shared_ptr<TlsContext> clientCtx(const ClientTlsSettings& c) {
    auto ctx = TlsContext::makeClient(c);
    EXPECT_TRUE(ctx.ok()) << (ctx.ok() ? "" : ctx.error().message);
    return ctx.ok() ? *ctx : nullptr;
  }

  // Moves ciphertext both ways and drives both handshakes until neither side
  // makes progress. Returns true if both completed.
  static bool pumpHandshake(TlsEngine& client, TlsEngine& server) {
    for (int round = 0; round < 50; ++round) {
      auto cs = client.handshake();
      std::string to_server = client.takeCiphertext();
      server.feedCiphertext(to_server);
      auto ss = server.handshake();
      std::string to_client = server.takeCiphertext();
      client.feedCiphertext(to_client);
      if (cs == TlsEngine::HandshakeState::Done && ss == TlsEngine::HandshakeState::Done &&
          to_client.empty() && to_server.empty()) {
        return true;
      }
      if (cs == TlsEngine::HandshakeState::Failed || ss == TlsEngine::HandshakeState::Failed) {
        // Deliver the final alert so both sides see the failure.
        client.handshake();
        server.feedCiphertext(client.takeCiphertext());
        server.handshake();
        return false;
      }
    }
    return false;
  }

  // Sends `data` from one engine to the other, returning what the receiver read.
  static std::string transfer(TlsEngine& from, TlsEngine& to, const std::string& data) {
    from.writePlaintext(data);
    std::string received;
    for (int round = 0; round < 1000 && received.size() < data.size(); ++round) {
      to.feedCiphertext(from.takeCiphertext());
      received += to.readPlaintext();
      from.feedCiphertext(to.takeCiphertext());  // e.g. TLS 1.3 session tickets
      from.readPlaintext();
      if (to.failed() || from.failed()) break;
    }
    return received;
  }

  static inline fs::path dir_;
};

TEST_F(TlsEngineTest, HandshakeDataBothWaysAndVerification) {
  auto sctx = serverCtx(serverSettings());
  auto cctx = clientCtx(clientSettings());
  ASSERT_TRUE(sctx && cctx);
  auto server = TlsEngine::server(sctx);
  auto client = TlsEngine::client(cctx, kHost, kHost);
  ASSERT_TRUE(pumpHandshake(*client, *server)) << client->error() << " / " << server->error();
  EXPECT_EQ(client->protocol(), "TLSv1.3");
  EXPECT_EQ(server->protocol(), "TLSv1.3");
  EXPECT_EQ(client->cipher().rfind("TLS_", 0), 0u) << client->cipher();
  EXPECT_EQ(client->cipher(), server->cipher());
  EXPECT_EQ(server->serverName(), kHost);
  PeerVerification v = client->verification();
  EXPECT_TRUE(v.verified) << v.error;
  EXPECT_EQ(v.error_code, 0);
  EXPECT_FALSE(v.dane);

  EXPECT_EQ(transfer(*client, *server, "EHLO client.example\r\n"), "EHLO client.example\r\n");
  EXPECT_EQ(transfer(*server, *client, "250 ok\r\n"), "250 ok\r\n");

  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  EXPECT_EQ(transfer(*client, *server, big), big);
  EXPECT_EQ(transfer(*server, *client, big), big);
  EXPECT_FALSE(client->failed());
  EXPECT_FALSE(server->failed());
}

TEST_F(TlsEngineTest, CloseNotifyIsSeenByPeer) {
  auto server = TlsEngine::server(serverCtx(serverSettings()));
  auto client = TlsEngine::client(clientCtx(clientSettings()), kHost, kHost);
  ASSERT_TRUE(pumpHandshake(*client, *server));
  EXPECT_FALSE(server->peerClosed());
  client->writePlaintext("QUIT\r\n");
  client->shutdown();
  server->feedCiphertext(client->takeCiphertext());
  EXPECT_EQ(server->readPlaintext(), "QUIT\r\n");
  EXPECT_TRUE(server->peerClosed());
  EXPECT_FALSE(server->failed());
  EXPECT_EQ(server->readPlaintext(), "");
}

TEST_F(TlsEngineTest, WriteBeforeHandshakeIsQueued) {
  auto server = TlsEngine::server(serverCtx(serverSettings()));
  auto client = TlsEngine::client(clientCtx(clientSettings()), kHost, kHost);
  client->writePlaintext("early");
  ASSERT_TRUE(pumpHandshake(*client, *server));
  server->feedCiphertext(client->takeCiphertext());
  EXPECT_EQ(server->readPlaintext(), "early");
}

TEST_F(TlsEngineTest, Tls12WhenClientCapsVersion) {
  auto cs = clientSettings();
  cs.max_tls_version = "TLSv1.2";
  auto server = TlsEngine::server(serverCtx(serverSettings()));
  auto client = TlsEngine::client(clientCtx(cs), kHost, kHost);
  ASSERT_TRUE(pumpHandshake(*client, *server)) << client->error() << " / " << server->error();
  EXPECT_EQ(client->protocol(), "TLSv1.2");
  EXPECT_EQ(client->cipher(), "ECDHE-ECDSA-AES256-GCM-SHA384");
  EXPECT_TRUE(client->verification().verified);
  EXPECT_EQ(transfer(*client, *server, "hello"), "hello");
}

TEST_F(TlsEngineTest, HostnameMismatchIsReportedNotFatal) {
  auto server = TlsEngine::server(serverCtx(serverSettings()));
  auto client = TlsEngine::client(clientCtx(clientSettings()), kHost, "wrong.example.test");
  ASSERT_TRUE(pumpHandshake(*client, *server));  // policy, not the handshake, decides
  PeerVerification v = client->verification();
  EXPECT_FALSE(v.verified);
  EXPECT_EQ(v.error, "hostname mismatch");
  EXPECT_EQ(v.error_code, 62);  // X509_V_ERR_HOSTNAME_MISMATCH
}

TEST_F(TlsEngineTest, NoHostNameMeansChainOnly) {
  auto server = TlsEngine::server(serverCtx(serverSettings()));
  auto client = TlsEngine::client(clientCtx(clientSettings()), "", "");
  ASSERT_TRUE(pumpHandshake(*client, *server));
  EXPECT_TRUE(client->verification().verified);
  EXPECT_EQ(server->serverName(), "");
}

TEST_F(TlsEngineTest, IpLiteralIsNotSentAsSni) {
  auto server = TlsEngine::server(serverCtx(serverSettings()));
  auto client = TlsEngine::client(clientCtx(clientSettings()), "127.0.0.1", kHost);
  ASSERT_TRUE(pumpHandshake(*client, *server));
  EXPECT_EQ(server->serverName(), "");
  EXPECT_TRUE(client->verification().verified);
}

TEST_F(TlsEngineTest, UnknownCaIsReported) {
  ServerTlsSettings ss;
  ss.certificate_file = file(std::string("untrusted-") + kHost + ".pem");
  ss.key_file = file(std::string("untrusted-") + kHost + ".key");
  auto server = TlsEngine::server(serverCtx(ss));
  auto client = TlsEngine::client(clientCtx(clientSettings()), kHost, kHost);
  ASSERT_TRUE(pumpHandshake(*client, *server));
  PeerVerification v = client->verification();
  EXPECT_FALSE(v.verified);
  EXPECT_EQ(v.error, "unable to get local issuer certificate");
  EXPECT_EQ(v.error_code, 20);  // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
}

TEST_F(TlsEngineTest, VersionFloorAboveClientCeilingFails) {
  auto ss = serverSettings();
  ss.min_tls_version = "TLSv1.3";
  auto cs = clientSettings();
  cs.max_tls_version = "TLSv1.2";
  auto server = TlsEngine::server(serverCtx(ss));
  auto client = TlsEngine::client(clientCtx(cs), kHost, kHost);
  EXPECT_FALSE(pumpHandshake(*client, *server));
  EXPECT_TRUE(server->failed());
  EXPECT_TRUE(client->failed());
  EXPECT_NE(server->error().find("unsupported protocol"), std::string::npos) << server->error();
  EXPECT_NE(client->error().find("protocol version"), std::string::npos) << client->error();
  EXPECT_EQ(client->handshake(), TlsEngine::HandshakeState::Failed);
  EXPECT_EQ(client->protocol(), "");
  EXPECT_FALSE(client->verification().verified);
}

TEST_F(TlsEngineTest, ServerRefusesWeakCiphers) {
  for (const char* weak : {"ECDHE-ECDSA-AES128-SHA", "AES128-SHA", "aNULL", "DES-CBC3-SHA"}) {
    auto cs = clientSettings();
    cs.max_tls_version = "TLSv1.2";
    cs.ciphers = std::string(weak) + ":@SECLEVEL=0";
    auto cctx = TlsContext::makeClient(cs);
    if (!cctx.ok()) continue;  // the library itself no longer offers it: equally refused
    auto server = TlsEngine::server(serverCtx(serverSettings()));
    auto client = TlsEngine::client(*cctx, kHost, kHost);
    EXPECT_FALSE(pumpHandshake(*client, *server)) << weak << " negotiated " << client->cipher();
    EXPECT_TRUE(server->failed()) << weak;
  }
}

TEST_F(TlsEngineTest, EncryptedKeyWithRightPassword) {
  auto ss = serverSettings();
  ss.key_file = file(std::string(kHost) + ".enc.key");
  ss.key_password = readFile(dir_ / "key-password");
  ASSERT_FALSE(ss.key_password.empty());
  auto sctx = serverCtx(ss);
  ASSERT_TRUE(sctx);
  auto server = TlsEngine::server(sctx);
  auto client = TlsEngine::client(clientCtx(clientSettings()), kHost, kHost);
  EXPECT_TRUE(pumpHandshake(*client, *server));
}

TEST_F(TlsEngineTest, EncryptedKeyWithWrongOrNoPassword) {
  auto ss = serverSettings();
  ss.key_file = file(std::string(kHost) + ".enc.key");
  ss.key_password = "not-the-password-4711";
  auto bad = TlsContext::makeServer(ss);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "cannot read key " + ss.key_file + ": bad password");
  EXPECT_EQ(bad.error().message.find("4711"), std::string::npos);

  ss.key_password = "";
  auto none = TlsContext::makeServer(ss);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("no password"), std::string::npos) << none.error().message;
}

TEST_F(TlsEngineTest, ConfigurationErrorsNameTheProblem) {
  struct Case {
    const char* name;
    void (*mutate)(ServerTlsSettings&);
    const char* expected;
  };
  const Case cases[] = {
      {"missing cert", [](ServerTlsSettings& s) { s.certificate_file = "/nonexistent/cert.pem"; },
       "cannot read certificate /nonexistent/cert.pem: No such file or directory"},
      {"missing key", [](ServerTlsSettings& s) { s.key_file = "/nonexistent/key.pem"; },
       "cannot read key /nonexistent/key.pem: No such file or directory"},
      {"key is a cert", [](ServerTlsSettings& s) { s.key_file = s.certificate_file; },
       "not a PEM private key"},
      {"cert is a key", [](ServerTlsSettings& s) { s.certificate_file = s.key_file; },
       "cannot read certificate"},
      {"key of other host", [](ServerTlsSettings& s) { s.key_file = file(std::string(kOtherHost) + ".key"); },
       "does not match its certificate"},
      {"bad min version", [](ServerTlsSettings& s) { s.min_tls_version = "SSLv3"; },
       "unknown minimum TLS version \"SSLv3\""},
      {"max below min", [](ServerTlsSettings& s) { s.max_tls_version = "TLSv1.1"; }, "is below minimum"},
      {"bad ciphers", [](ServerTlsSettings& s) { s.ciphers = "NO-SUCH-CIPHER"; },
       "invalid cipher list \"NO-SUCH-CIPHER\""},
      {"bad suites", [](ServerTlsSettings& s) { s.tls13_ciphersuites = "TLS_NOPE"; },
       "invalid TLS 1.3 cipher suites"},
      {"no cert", [](ServerTlsSettings& s) { s.certificate_file = ""; },
       "no TLS certificate file configured"},
  };
  for (const Case& c : cases) {
    auto s = serverSettings();
    c.mutate(s);
    auto ctx = TlsContext::makeServer(s);
    ASSERT_FALSE(ctx.ok()) << c.name;
    EXPECT_NE(ctx.error().message.find(c.expected), std::string::npos)
        << c.name << ": " << ctx.error().message;
  }

  auto cs = clientSettings();
  cs.ca_bundle = "/nonexistent/ca.pem";
  auto no_ca = TlsContext::makeClient(cs);
  ASSERT_FALSE(no_ca.ok());
  EXPECT_EQ(no_ca.error().message, "cannot read CA bundle /nonexistent/ca.pem: No such file or directory");

  cs = clientSettings();
  cs.client_certificate = file(std::string(kHost) + ".pem");
  auto half = TlsContext::makeClient(cs);
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.error().message.find("must be set together"), std::string::npos);
}

TEST_F(TlsEngineTest, ClientCertificateIsOptionalAndLoads) {
  auto cs = clientSettings();
  cs.client_certificate = file(std::string(kOtherHost) + ".pem");
  cs.client_key = file(std::string(kOtherHost) + ".key");
  auto cctx = clientCtx(cs);
  ASSERT_TRUE(cctx);
  auto server = TlsEngine::server(serverCtx(serverSettings()));
  auto client = TlsEngine::client(cctx, kHost, kHost);
  EXPECT_TRUE(pumpHandshake(*client, *server));
}

TEST_F(TlsEngineTest, GarbageCiphertextFailsCleanly) {
  auto server = TlsEngine::server(serverCtx(serverSettings()));
  server->feedCiphertext("EHLO this is not TLS\r\n");
  EXPECT_EQ(server->handshake(), TlsEngine::HandshakeState::Failed);
  EXPECT_TRUE(server->failed());
  EXPECT_FALSE(server->error().empty());
  EXPECT_EQ(server->readPlaintext(), "");
  server->writePlaintext("ignored");  // must not crash after failure
  server->shutdown();

  // Noise after a completed handshake, and noise instead of a ServerHello.
  std::string noise;
  for (int i = 0; i < 5000; ++i) noise.push_back(static_cast<char>((i * 7919) ^ (i >> 3)));
  auto server2 = TlsEngine::server(serverCtx(serverSettings()));
  auto client2 = TlsEngine::client(clientCtx(clientSettings()), kHost, kHost);
  ASSERT_TRUE(pumpHandshake(*client2, *server2));
  server2->feedCiphertext(std::string("\x17\x03\x03\x01\x00", 5) + noise);  // 256-byte record, bad MAC
  EXPECT_EQ(server2->readPlaintext(), "");
  EXPECT_TRUE(server2->failed());
  EXPECT_NE(server2->error().find("TLS read failed"), std::string::npos) << server2->error();

  auto client3 = TlsEngine::client(clientCtx(clientSettings()), kHost, kHost);
  client3->handshake();
  client3->feedCiphertext(noise);
  EXPECT_EQ(client3->handshake(), TlsEngine::HandshakeState::Failed);
}

TEST_F(TlsEngineTest, EngineRejectsWrongKindOfContext) {
  auto sctx = serverCtx(serverSettings());
  auto client = TlsEngine::client(sctx, kHost, kHost);
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(client->failed());
  EXPECT_EQ(client->handshake(), TlsEngine::HandshakeState::Failed);
  auto server = TlsEngine::server(nullptr);
  EXPECT_TRUE(server->failed());
  server->feedCiphertext("x");
  EXPECT_EQ(server->takeCiphertext(), "");
}

TEST_F(TlsEngineTest, SessionResumption) {
  auto sctx = serverCtx(serverSettings());
  auto cctx = clientCtx(clientSettings());
  std::string session;
  {
    auto server = TlsEngine::server(sctx);
    auto client = TlsEngine::client(cctx, kHost, kHost);
    EXPECT_EQ(client->exportSession(), "");  // nothing before the handshake
    ASSERT_TRUE(pumpHandshake(*client, *server));
    EXPECT_FALSE(client->sessionReused());
    EXPECT_EQ(transfer(*server, *client, "220 ready\r\n"), "220 ready\r\n");  // tickets arrive
    session = client->exportSession();
    EXPECT_EQ(server->exportSession(), "");  // client side only
  }
  ASSERT_FALSE(session.empty());
  {
    auto server = TlsEngine::server(sctx);
    auto client = TlsEngine::client(cctx, kHost, kHost);
    ASSERT_TRUE(client->importSession(session));
    ASSERT_TRUE(pumpHandshake(*client, *server));
    EXPECT_TRUE(client->sessionReused());
    EXPECT_TRUE(server->sessionReused());
    EXPECT_TRUE(client->verification().verified);
    EXPECT_EQ(transfer(*client, *server, "EHLO x\r\n"), "EHLO x\r\n");
  }
  {
    auto client = TlsEngine::client(cctx, kHost, kHost);
    EXPECT_FALSE(client->importSession("garbage"));
    EXPECT_FALSE(client->importSession(session.substr(0, session.size() / 2)));
    EXPECT_FALSE(client->failed());
    auto server = TlsEngine::server(sctx);
    ASSERT_TRUE(pumpHandshake(*client, *server));  // falls back to a full handshake
    EXPECT_FALSE(client->sessionReused());
  }
}

std::string hexToBytes(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

TEST_F(TlsEngineTest, DaneEeMatchAuthenticatesWithoutCa) {
  std::string hash = readFile(dir_ / (std::string(kHost) + ".tlsa"));
  while (!hash.empty() && (hash.back() == '\n')) hash.pop_back();
  ASSERT_EQ(hash.size(), 64u);

  // Self-issued by an unknown CA, but the TLSA 3 1 1 record pins the key.
  ServerTlsSettings ss;
  ss.certificate_file = file(std::string("untrusted-") + kHost + ".pem");
  ss.key_file = file(std::string("untrusted-") + kHost + ".key");
  auto untrusted_ctx = serverCtx(ss);
  {
    auto server = TlsEngine::server(untrusted_ctx);
    auto client = TlsEngine::client(clientCtx(clientSettings()), kHost, kHost);
    ASSERT_TRUE(client->enableDane(kHost, {TlsaRecord{3, 1, 1, hexToBytes(hash)}}).ok());
    ASSERT_TRUE(pumpHandshake(*client, *server));
    // Different key than the pinned one: no match.
    EXPECT_FALSE(client->verification().verified);
    EXPECT_EQ(client->verification().error_code, 65);  // X509_V_ERR_DANE_NO_MATCH
  }
  {
    auto server = TlsEngine::server(serverCtx(serverSettings()));
    auto client = TlsEngine::client(clientCtx(clientSettings()), kHost, "");
    ASSERT_TRUE(client->enableDane("name.not.in.cert.test", {TlsaRecord{3, 1, 1, hexToBytes(hash)}}).ok());
    ASSERT_TRUE(pumpHandshake(*client, *server));
    PeerVerification v = client->verification();
    EXPECT_TRUE(v.verified) << v.error;
    EXPECT_TRUE(v.dane);  // RFC 7672 §3.1.1: DANE-EE ignores names
  }
  {
    auto client = TlsEngine::client(clientCtx(clientSettings()), kHost, kHost);
    auto st = client->enableDane(kHost, {TlsaRecord{3, 1, 1, "short"}, TlsaRecord{9, 9, 9, "x"}});
    EXPECT_FALSE(st.ok());
    client->handshake();
    EXPECT_FALSE(client->enableDane(kHost, {TlsaRecord{3, 1, 1, hexToBytes(hash)}}).ok());
  }
}

}  // namespace
}  // namespace tlsrelay
