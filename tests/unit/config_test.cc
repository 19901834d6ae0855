// relay.toml parsing: the embedded default, every section, and bad input
// reported as file:line: key: message.
#include "relay/config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "relay/config/default_config.h"

namespace tlsrelay {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

RelayConfig mustLoad(std::string_view text) {
  auto cfg = loadConfigString(text, "relay.toml");
  EXPECT_TRUE(cfg.ok()) << (cfg.ok() ? "" : cfg.error().message);
  return cfg.ok() ? *cfg : RelayConfig{};
}

std::string mustFail(std::string_view text) {
  auto cfg = loadConfigString(text, "relay.toml");
  EXPECT_FALSE(cfg.ok()) << "accepted:\n" << text;
  return cfg.ok() ? std::string() : cfg.error().message;
}

TEST(ConfigTest, EmbeddedDefaultParsesAndIsUsableWithoutRoot) {
  auto cfg = loadEmbeddedDefaultConfig();
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  ASSERT_EQ(cfg->inbound.listeners.size(), 1u);
  EXPECT_EQ(cfg->inbound.listeners[0].address, "127.0.0.1:2525");
  EXPECT_EQ(cfg->inbound.listeners[0].tls, ListenerConfig::Tls::StartTls);
  EXPECT_EQ(cfg->spool_directory, "./spool");
  EXPECT_EQ(cfg->accounting_directory, "./accounting");
  EXPECT_TRUE(cfg->dns.resolvers.empty());
  EXPECT_TRUE(cfg->policy_directory.empty());
  EXPECT_TRUE(cfg->inbound.users_file.empty());
  EXPECT_EQ(cfg->source_file, "<embedded>");
  EXPECT_FALSE(cfg->hostname.empty());
  EXPECT_EQ(cfg->inbound.max_message_size, 50u * 1024 * 1024);
  EXPECT_EQ(cfg->delivery.retry.initial.count(), 300);
  EXPECT_EQ(cfg->delivery.retry.max_lifetime.count(), 5 * 86400);
  // Only the built-in never-open-relay rules.
  ASSERT_EQ(cfg->inbound.sources.size(), 3u);
  EXPECT_EQ(cfg->inbound.sources.back().cidr.prefix_bits, 0);
  EXPECT_FALSE(cfg->inbound.sources.back().relay);
}

TEST(ConfigTest, EmbeddedDefaultIsIdenticalToEtcRelayToml) {
  std::ifstream in(std::string(TLSRELAY_SOURCE_DIR) + "/etc/relay.toml", std::ios::binary);
  ASSERT_TRUE(in) << "etc/relay.toml missing";
  std::stringstream buf;
  buf << in.rdbuf();
  EXPECT_EQ(buf.str(), std::string(embeddedDefaultConfig()));
}

TEST(ConfigTest, EtcRelayTomlLoadsFromFileWithPathsRelativeToIt) {
  std::string path = std::string(TLSRELAY_SOURCE_DIR) + "/etc/relay.toml";
  auto cfg = loadConfigFile(path);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->source_file, path);
  EXPECT_EQ(std::filesystem::path(cfg->spool_directory),
            (std::filesystem::path(TLSRELAY_SOURCE_DIR) / "etc" / "spool").lexically_normal());
  EXPECT_EQ(cfg->delivery.ca_bundle, "/etc/ssl/certs/ca-certificates.crt");  // absolute stays
}

TEST(ConfigTest, EmptyDocumentGivesDefaults) {
  RelayConfig cfg = mustLoad("");
  ASSERT_EQ(cfg.inbound.listeners.size(), 1u);
  EXPECT_EQ(cfg.inbound.listeners[0].address, "127.0.0.1:2525");
  EXPECT_EQ(cfg.spool_directory, "/var/spool/tlsrelay");
  EXPECT_EQ(cfg.inbound.max_recipients, 1000u);
  EXPECT_EQ(cfg.delivery.max_connections_per_destination, 10);
  EXPECT_EQ(cfg.inbound.server_tls.min_tls_version, "TLSv1.2");
  EXPECT_EQ(cfg.log_level, "info");
}

TEST(ConfigTest, FullConfigIsRead) {
  RelayConfig cfg = mustLoad(R"(
[server]
hostname = "relay.example.net"

[tls]
certificate = "/etc/tlsrelay/cert.pem"
key_password = "secret"
ciphers = "HIGH:!aNULL"
min_tls_version = "TLSv1.3"

[[listener]]
address = "0.0.0.0:25"

[[listener]]
address = "[::1]:465"
tls = "implicit"

[[source]]
cidr = ["10.0.0.0/8", "2001:db8::/32"]
relay = true
require_starttls = true
max_connections = 20

[limits]
max_message_size = "10k"
max_recipients = 100
max_errors = 3
max_connections = 0

[spool]
directory = "/srv/spool"

[auth]
users_file = "/etc/tlsrelay/users"

[dns]
resolvers = ["127.0.0.1:5353", "::1", "192.0.2.1"]

[policy]
directory = "/etc/tlsrelay/policy.d"
ca_bundle = "/etc/tlsrelay/ca.pem"

[delivery]
smarthost = "mail.example.net"
max_connections_per_destination = 2
max_messages_per_connection = 7

[retry]
initial = 60
multiplier = 1.5
max_interval = "2h"
max_lifetime = "3d"
delay_notice = 0

[accounting]
directory = "/var/log/tlsrelay"

[logging]
level = "debug"
)");
  EXPECT_EQ(cfg.hostname, "relay.example.net");
  EXPECT_EQ(cfg.inbound.server_tls.certificate, "/etc/tlsrelay/cert.pem");
  EXPECT_EQ(cfg.inbound.server_tls.key, "/etc/tlsrelay/cert.pem");  // combined PEM by default
  EXPECT_EQ(cfg.inbound.server_tls.key_password, "secret");
  EXPECT_EQ(cfg.inbound.server_tls.ciphers, "HIGH:!aNULL");
  EXPECT_EQ(cfg.inbound.server_tls.min_tls_version, "TLSv1.3");
  ASSERT_EQ(cfg.inbound.listeners.size(), 2u);
  EXPECT_EQ(cfg.inbound.listeners[0].address, "0.0.0.0:25");
  EXPECT_EQ(cfg.inbound.listeners[0].tls, ListenerConfig::Tls::StartTls);
  EXPECT_EQ(cfg.inbound.listeners[1].address, "[::1]:465");
  EXPECT_EQ(cfg.inbound.listeners[1].tls, ListenerConfig::Tls::Implicit);
  ASSERT_EQ(cfg.inbound.sources.size(),
            2u + 3u);  // a list expands into one rule per CIDR, then the built-ins
  EXPECT_EQ(cfg.inbound.sources[0].cidr.toString(), "10.0.0.0/8");
  EXPECT_EQ(cfg.inbound.sources[1].cidr.toString(), "2001:db8::/32");
  EXPECT_TRUE(cfg.inbound.sources[1].relay);
  EXPECT_TRUE(cfg.inbound.sources[1].require_starttls);
  EXPECT_EQ(cfg.inbound.sources[1].max_connections, 20);
  EXPECT_EQ(cfg.inbound.max_message_size, 10u * 1024);
  EXPECT_EQ(cfg.inbound.max_recipients, 100u);
  EXPECT_EQ(cfg.inbound.max_errors, 3);
  EXPECT_EQ(cfg.inbound.max_connections, 0);
  EXPECT_EQ(cfg.spool_directory, "/srv/spool");
  EXPECT_EQ(cfg.inbound.users_file, "/etc/tlsrelay/users");
  EXPECT_THAT(cfg.dns.resolvers, ::testing::ElementsAre("127.0.0.1:5353", "[::1]:53", "192.0.2.1:53"));
  EXPECT_EQ(cfg.policy_directory, "/etc/tlsrelay/policy.d");
  EXPECT_EQ(cfg.delivery.ca_bundle, "/etc/tlsrelay/ca.pem");
  EXPECT_EQ(cfg.delivery.smarthost, "mail.example.net:25");
  EXPECT_EQ(cfg.delivery.max_connections_per_destination, 2);
  EXPECT_EQ(cfg.delivery.max_messages_per_connection, 7);
  EXPECT_EQ(cfg.delivery.retry.initial.count(), 60);
  EXPECT_DOUBLE_EQ(cfg.delivery.retry.multiplier, 1.5);
  EXPECT_EQ(cfg.delivery.retry.max_interval.count(), 7200);
  EXPECT_EQ(cfg.delivery.retry.max_lifetime.count(), 3 * 86400);
  EXPECT_EQ(cfg.delivery.retry.delay_notice.count(), 0);
  EXPECT_EQ(cfg.accounting_directory, "/var/log/tlsrelay");
  EXPECT_EQ(cfg.log_level, "debug");
}

TEST(ConfigTest, SyntaxErrorNamesFileAndLine) {
  std::string err = mustFail("[server]\nhostname = \"a\"\n\nmax = = 3\n");
  EXPECT_THAT(err, HasSubstr("relay.toml:4:"));
  EXPECT_THAT(err, HasSubstr("syntax error"));
}

TEST(ConfigTest, UnknownKeyNamesFileLineAndKey) {
  std::string err = mustFail("[limits]\nmax_recipients = 200\nmax_recipient = 100\n");
  EXPECT_THAT(err, HasSubstr("relay.toml:3: limits.max_recipient: unknown key"));
}

TEST(ConfigTest, UnknownSectionAndUnknownKeyInArrayTable) {
  std::string err =
      mustFail("[spoool]\ndirectory = \"x\"\n\n[[listener]]\naddress = \"127.0.0.1:25\"\nport = 25\n");
  EXPECT_THAT(err, HasSubstr("relay.toml:1: spoool: unknown key"));
  EXPECT_THAT(err, HasSubstr("relay.toml:6: listener.port: unknown key"));
}

TEST(ConfigTest, AllMistakesAreReportedAtOnce) {
  std::string err = mustFail(
      "[limits]\nmax_errors = \"ten\"\n[retry]\ninitial = \"5 minutes\"\n[logging]\nlevel = \"loud\"\n");
  EXPECT_THAT(err, HasSubstr("relay.toml:2: limits.max_errors: expected an integer, got a string"));
  EXPECT_THAT(err, HasSubstr("relay.toml:4: retry.initial:"));
  EXPECT_THAT(err, HasSubstr("relay.toml:6: logging.level:"));
}

TEST(ConfigTest, WrongTypes) {
  EXPECT_THAT(mustFail("[server]\nhostname = 42\n"),
              HasSubstr("relay.toml:2: server.hostname: expected a string, got an integer"));
  EXPECT_THAT(mustFail("[[source]]\ncidr = \"10.0.0.0/8\"\nrelay = \"yes\"\n"),
              HasSubstr("relay.toml:3: source.relay: expected true or false"));
  EXPECT_THAT(mustFail("server = 3\n"), HasSubstr("relay.toml:1: server: expected a table"));
  EXPECT_THAT(mustFail("[listener]\naddress = \"127.0.0.1:25\"\n"),
              HasSubstr("listener: expected an array of tables"));
  EXPECT_THAT(mustFail("[dns]\nresolvers = [1, 2]\n"),
              HasSubstr("dns.resolvers: expected an array of strings"));
  EXPECT_THAT(mustFail("[retry]\nmultiplier = \"2\"\n"), HasSubstr("retry.multiplier: expected a number"));
}

TEST(ConfigTest, BadDurations) {
  for (const char* bad :
       {"\"5 m\"", "\"5y\"", "\"-5m\"", "-1", "\"\"", "\"m\"", "true", "\"99999999999d\""}) {
    std::string text = std::string("[retry]\nmax_lifetime = ") + bad + "\n";
    EXPECT_THAT(mustFail(text), HasSubstr("relay.toml:2: retry.max_lifetime:")) << bad;
  }
}

TEST(ConfigTest, DurationsAndSizesAcceptUnits) {
  RelayConfig cfg = mustLoad(
      "[retry]\ninitial = \"30s\"\nmax_interval = \"5m\"\nmax_lifetime = \"2w\"\ndelay_notice = \"1d\"\n"
      "[limits]\nmax_message_size = \"1G\"\n");
  EXPECT_EQ(cfg.delivery.retry.initial.count(), 30);
  EXPECT_EQ(cfg.delivery.retry.max_interval.count(), 300);
  EXPECT_EQ(cfg.delivery.retry.max_lifetime.count(), 14 * 86400);
  EXPECT_EQ(cfg.delivery.retry.delay_notice.count(), 86400);
  EXPECT_EQ(cfg.inbound.max_message_size, 1024u * 1024 * 1024);
  EXPECT_EQ(mustLoad("[limits]\nmax_message_size = \"512KiB\"\n").inbound.max_message_size, 512u * 1024);
  EXPECT_EQ(mustLoad("[limits]\nmax_message_size = 2048\n").inbound.max_message_size, 2048u);
}

TEST(ConfigTest, BadSizes) {
  for (const char* bad : {"\"50X\"", "\"M\"", "-5", "\"1.5M\"", "100", "\"99999999999G\""}) {
    std::string text = std::string("[limits]\nmax_message_size = ") + bad + "\n";
    EXPECT_THAT(mustFail(text), HasSubstr("relay.toml:2: limits.max_message_size:")) << bad;
  }
}

TEST(ConfigTest, RetryConsistency) {
  EXPECT_THAT(mustFail("[retry]\ninitial = \"1h\"\nmax_interval = \"5m\"\n"),
              HasSubstr("retry.max_interval: is shorter than initial"));
  EXPECT_THAT(mustFail("[retry]\nmax_lifetime = \"1h\"\ndelay_notice = \"4h\"\n"),
              HasSubstr("retry.delay_notice"));
  EXPECT_THAT(mustFail("[retry]\nmultiplier = 0.5\n"),
              HasSubstr("retry.multiplier: value 0.5 is out of range"));
  EXPECT_THAT(mustFail("[retry]\ninitial = 0\n"), HasSubstr("retry.initial: must be at least 1s"));
}

TEST(ConfigTest, BadListeners) {
  EXPECT_THAT(mustFail("[[listener]]\naddress = \"127.0.0.1\"\n"),
              HasSubstr("relay.toml:2: listener.address: bad address"));
  EXPECT_THAT(mustFail("[[listener]]\naddress = \"localhost:25\"\n"), HasSubstr("IP literal"));
  EXPECT_THAT(mustFail("[[listener]]\naddress = \"127.0.0.1:99999\"\n"),
              HasSubstr("listener.address: bad address"));
  EXPECT_THAT(mustFail("[[listener]]\naddress = \"[::1:25\"\n"), HasSubstr("listener.address"));
  EXPECT_THAT(mustFail("[[listener]]\ntls = \"starttls\"\n"), HasSubstr("listener.address: missing"));
  EXPECT_THAT(mustFail("[[listener]]\naddress = \"127.0.0.1:25\"\ntls = \"ssl\"\n"),
              HasSubstr("relay.toml:3: listener.tls"));
  EXPECT_THAT(mustFail("[[listener]]\naddress = \"127.0.0.1:465\"\ntls = \"implicit\"\n"),
              HasSubstr("needs [tls] certificate"));
  EXPECT_THAT(
      mustFail("[[listener]]\naddress = \"127.0.0.1:25\"\n[[listener]]\naddress = \"127.0.0.1:25\"\n"),
      HasSubstr("relay.toml:4: listener.address: listener 127.0.0.1:25 is configured twice"));
  EXPECT_THAT(mustFail("listener = []\n"), HasSubstr("at least one"));
}

TEST(ConfigTest, BadTls) {
  EXPECT_THAT(mustFail("[tls]\nmin_tls_version = \"TLSv1.0\"\n"),
              HasSubstr("relay.toml:2: tls.min_tls_version"));
  EXPECT_THAT(mustFail("[tls]\nkey = \"/k.pem\"\n"), HasSubstr("tls.key: a key without a certificate"));
  EXPECT_THAT(mustFail("[tls]\ncertificate = \"/c.pem\"\nkey_password = \"x\"\nkey_password_file = \"/p\"\n"),
              HasSubstr("tls.key_password_file: set key_password or key_password_file, not both"));
}

TEST(ConfigTest, PasswordNeverAppearsInErrors) {
  std::string err =
      mustFail("[tls]\nkey_password = \"hunter2-secret\"\nkey_password_file = \"/p\"\ncertificate = 5\n");
  EXPECT_THAT(err, ::testing::Not(HasSubstr("hunter2-secret")));
}

// [reporting] store: a SQLite path (relative to the file's folder) or the
// PostgreSQL URI a fleet shares, taken as written; a URI that libpq would not
// read as one is refused without echoing it (it may hold the password).
TEST(ConfigTest, ReportingStoreIsASqlitePathOrAPostgresqlUri) {
  EXPECT_EQ(mustLoad("[reporting]\nstore = \"/var/lib/tlsrelay/reports.sqlite\"\n").reporting.store,
            "/var/lib/tlsrelay/reports.sqlite");
  EXPECT_EQ(mustLoad("[spool]\ndirectory = \"/srv/spool\"\n").reporting.store,
            "/srv/spool/tls-reports.sqlite");
  for (const char* uri :
       {"postgresql://tlsrelay@db.example:5432/tlsrelay?sslmode=verify-full",
        "postgres://db1.example,db2.example:6432/reports", "postgresql:///tlsrelay",
        "postgresql://[2001:db8::5]:5432/tlsrelay", "postgresql://%2Frun%2Fpostgresql/tlsrelay"})
    EXPECT_EQ(mustLoad(std::string("[reporting]\nstore = \"") + uri + "\"\n").reporting.store, uri);
  std::vector<ConfigError> errors;  // with a base folder, a path would be resolved against it
  auto relative = loadConfigString("[reporting]\nstore = \"postgresql://db.example/x\"\n", "relay.toml",
                                   "/etc/tlsrelay", errors);
  ASSERT_TRUE(relative.ok()) << relative.error().message;
  EXPECT_EQ(relative->reporting.store, "postgresql://db.example/x");

  const std::string secret = "Hunter2-pg-secret";
  for (std::string bad : {"postgresql:db.example/x", "postgres:/db.example/x", "PostgreSQL://db.example/x"})
    EXPECT_THAT(mustFail("[reporting]\nstore = \"" + bad + "\"\n"),
                HasSubstr("relay.toml:2: reporting.store: a PostgreSQL store is a URI that starts with "
                          "postgresql:// or postgres://"))
        << bad;
  std::string spaced = mustFail("[reporting]\nstore = \"postgresql://u:" + secret + "@db.example /x\"\n");
  EXPECT_THAT(spaced, HasSubstr("reporting.store: spaces or control characters in the PostgreSQL URI"));
  EXPECT_THAT(spaced, Not(HasSubstr(secret)));
  for (const char* port : {"0", "65536", "54x", ""}) {
    std::string err =
        mustFail("[reporting]\nstore = \"postgresql://u:" + secret + "@db.example:" + port + "/x\"\n");
    EXPECT_THAT(err, HasSubstr("reporting.store: bad port in the PostgreSQL URI")) << port;
    EXPECT_THAT(err, Not(HasSubstr(secret)));
  }
}

TEST(ConfigTest, BadSourceRules) {
  EXPECT_THAT(mustFail("[[source]]\ncidr = \"10.0.0.0/33\"\n"),
              HasSubstr("relay.toml:2: source.cidr: bad CIDR '10.0.0.0/33'"));
  EXPECT_THAT(mustFail("[[source]]\ncidr = [\"10.0.0.0/8\", \"10.0.0.300\"]\n"),
              HasSubstr("bad CIDR '10.0.0.300'"));
  EXPECT_THAT(mustFail("[[source]]\nrelay = true\n"), HasSubstr("source.cidr: missing"));
  EXPECT_THAT(mustFail("[[source]]\ncidr = []\n"), HasSubstr("source.cidr: empty list"));
  EXPECT_THAT(mustFail("[[source]]\ncidr = \"10.0.0.0/8\"\nmax_connections = -1\n"),
              HasSubstr("source.max_connections: value -1"));
  EXPECT_THAT(mustFail("[[source]]\ncidr = \"10.0.0.0/8\"\nrequire_starttls = true\n"),
              HasSubstr("needs [tls] certificate"));
  EXPECT_THAT(mustFail("[tls]\ncertificate = \"/c\"\n[[source]]\ncidr = \"10.0.0.0/8\"\nrequire_starttls = "
                       "true\nallow_starttls = false\n"),
              HasSubstr("source.require_starttls: contradicts allow_starttls = false"));
  EXPECT_THAT(mustFail("[[source]]\ncidr = \"10.0.0.0/8\"\nallow_plaintext_auth = true\n"),
              HasSubstr("source.allow_plaintext_auth"));
}

TEST(ConfigTest, NeverAnOpenRelay) {
  for (const char* everyone : {"0/0", "::/0", "0.0.0.0/0"}) {
    std::string text = std::string("[[source]]\ncidr = \"") + everyone + "\"\nrelay = true\n";
    EXPECT_THAT(mustFail(text), HasSubstr("open relay")) << everyone;
  }
  // Refusing relay for everybody is fine, and then loopback may not relay either.
  RelayConfig cfg = mustLoad("[[source]]\ncidr = \"0/0\"\nrelay = false\n");
  EXPECT_FALSE(matchSource(cfg.inbound.sources, *IpAddress::parse("127.0.0.1")).relay);
}

TEST(ConfigTest, BadLimitsAndDelivery) {
  // RFC 5321 §4.5.3.1.8: at least 100 recipients.
  EXPECT_THAT(mustFail("[limits]\nmax_recipients = 10\n"),
              HasSubstr("limits.max_recipients: value 10 is out of range"));
  EXPECT_THAT(mustFail("[delivery]\nmax_connections_per_destination = 0\n"),
              HasSubstr("delivery.max_connections_per_destination"));
  EXPECT_THAT(mustFail("[delivery]\nsmarthost = \"bad host:25\"\n"),
              HasSubstr("delivery.smarthost: bad next hop"));
  EXPECT_THAT(mustFail("[delivery]\nsmarthost = \"host:0\"\n"), HasSubstr("delivery.smarthost"));
  EXPECT_THAT(mustFail("[dns]\nresolvers = [\"dns.example\"]\n"), HasSubstr("dns.resolvers: bad resolver"));
  EXPECT_THAT(mustFail("[spool]\ndirectory = \"\"\n"), HasSubstr("spool.directory: must not be empty"));
  EXPECT_THAT(mustFail("[server]\nhostname = \"bad host\"\n"), HasSubstr("server.hostname: bad host name"));
}

TEST(ConfigTest, DnssecAndMtaStsSettings) {
  // [dns] without resolvers still reads its other keys.
  RelayConfig cfg = mustLoad(R"(
[dns]
dnssec = "validate"
trust_anchor_file = "/etc/tlsrelay/root.key"

[mta_sts]
enabled = false
exempt = ["Broken.Example.", "other.example"]
cache_directory = "/var/cache/tlsrelay-sts"
ca_bundle = "/etc/tlsrelay/roots.pem"
connect_timeout = "3s"
fetch_timeout = "1m"
refresh_before = "2h"
)");
  EXPECT_TRUE(cfg.dns.resolvers.empty());
  EXPECT_EQ(cfg.dns.dnssec, "validate");
  EXPECT_EQ(cfg.dns.trust_anchor_file, "/etc/tlsrelay/root.key");
  EXPECT_FALSE(cfg.mta_sts.enabled);
  EXPECT_EQ(cfg.mta_sts.exempt, (std::vector<std::string>{"broken.example", "other.example"}));
  EXPECT_EQ(cfg.mta_sts.cache_directory, "/var/cache/tlsrelay-sts");
  EXPECT_EQ(cfg.mta_sts.ca_bundle, "/etc/tlsrelay/roots.pem");
  EXPECT_EQ(cfg.mta_sts.connect_timeout, std::chrono::seconds(3));
  EXPECT_EQ(cfg.mta_sts.fetch_timeout, std::chrono::seconds(60));
  EXPECT_EQ(cfg.mta_sts.refresh_before, std::chrono::seconds(7200));

  RelayConfig defaults = mustLoad("");
  EXPECT_EQ(defaults.dns.dnssec, "trust-ad");
  EXPECT_TRUE(defaults.mta_sts.enabled);
  EXPECT_EQ(defaults.mta_sts.cache_directory, defaults.spool_directory + "/mta-sts");

  EXPECT_THAT(mustFail("[dns]\ndnssec = \"yes\"\n"), HasSubstr("dns.dnssec: expected"));
  EXPECT_THAT(mustFail("[dns]\ntrust_anchor_file = \"\"\n"),
              HasSubstr("dns.trust_anchor_file: must not be empty"));
  EXPECT_THAT(mustFail("[mta_sts]\nexempt = [\"bad domain\"]\n"), HasSubstr("mta_sts.exempt: bad domain"));
  EXPECT_THAT(mustFail("[mta_sts]\nfetch_timeout = \"soon\"\n"), HasSubstr("mta_sts.fetch_timeout"));
  EXPECT_THAT(mustFail("[mta_sts]\nrefresh = \"1h\"\n"), HasSubstr("mta_sts.refresh: unknown key"));
}

TEST(ConfigTest, SmarthostSpellings) {
  EXPECT_EQ(mustLoad("[delivery]\nsmarthost = \"[192.0.2.1]:2525\"\n").delivery.smarthost, "192.0.2.1:2525");
  EXPECT_EQ(mustLoad("[delivery]\nsmarthost = \"[2001:db8::1]:25\"\n").delivery.smarthost,
            "[2001:db8::1]:25");
  EXPECT_EQ(mustLoad("[delivery]\nsmarthost = \"mx.example.net:587\"\n").delivery.smarthost,
            "mx.example.net:587");
  EXPECT_EQ(mustLoad("[delivery]\nsmarthost = \"\"\n").delivery.smarthost, "");
}

TEST(ConfigTest, FileErrorsUseThePathAndRelativePathsResolveAgainstItsFolder) {
  auto dir = std::filesystem::temp_directory_path() / ("tlsrelay_config_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = (dir / "relay.toml").string();
  {
    std::ofstream out(path);
    out << "[spool]\ndirectory = \"spool\"\n[policy]\ndirectory = \"policy.d\"\n[auth]\nusers_file = "
           "\"users\"\n";
  }
  auto cfg = loadConfigFile(path);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->spool_directory, (dir / "spool").string());
  EXPECT_EQ(cfg->policy_directory, (dir / "policy.d").string());
  EXPECT_EQ(cfg->inbound.users_file, (dir / "users").string());
  {
    std::ofstream out(path);
    out << "\n[spool]\ndirectroy = \"x\"\n";
  }
  auto bad = loadConfigFile(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, path + ":3: spool.directroy: unknown key");
  auto missing = loadConfigFile((dir / "nope.toml").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("nope.toml: cannot read file"));
  std::filesystem::remove_all(dir);
}

TEST(ConfigTest, ReadResolvConf) {
  auto dir = std::filesystem::temp_directory_path() / ("tlsrelay_resolv_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = (dir / "resolv.conf").string();
  {
    std::ofstream out(path);
    out << "# comment\nsearch example.net\nnameserver 127.0.0.53\nnameserver fe80::1%eth0\nnameserver junk\n";
  }
  auto servers = readResolvConf(path);
  ASSERT_TRUE(servers.ok()) << servers.error().message;
  EXPECT_THAT(*servers, ::testing::ElementsAre("127.0.0.53:53", "[fe80::1]:53"));
  {
    std::ofstream out(path);
    out << "search example.net\n";
  }
  EXPECT_FALSE(readResolvConf(path).ok());
  std::filesystem::remove_all(dir);
}

TEST(ConfigErrorTest, Format) {
  EXPECT_EQ((ConfigError{"relay.toml", 12, "listener.address", "bad address"}).toString(),
            "relay.toml:12: listener.address: bad address");
  EXPECT_EQ((ConfigError{"relay.toml", 0, "", "cannot read file"}).toString(),
            "relay.toml: cannot read file");
}

// [reporting]: the keys that send and receive reports, and their defaults.
TEST(ReportingSection, DefaultsFollowTheHostNameAndSendingIsOff) {
  RelayConfig c =
      mustLoad("[server]\nhostname = \"mx1.example.net\"\n[policy]\nca_bundle = \"/etc/ca.pem\"\n");
  const ReportingConfig& r = c.reporting;
  EXPECT_FALSE(r.send) << "mailing other organisations is opt-in";
  EXPECT_EQ(r.submitter, "mx1.example.net");
  EXPECT_EQ(r.organization_name, "mx1.example.net");
  EXPECT_EQ(r.contact_info, "postmaster@mx1.example.net");
  EXPECT_EQ(r.from, "tlsrpt-noreply@mx1.example.net");
  EXPECT_EQ(r.node, "mx1.example.net");
  EXPECT_EQ(r.send_after.count(), 3600);
  EXPECT_EQ(r.send_window.count(), 4 * 3600);
  EXPECT_EQ(r.claim_timeout.count(), 900);
  EXPECT_EQ(r.https_ca_bundle, "/etc/ca.pem");
  EXPECT_EQ(r.ingest_address, "");
  EXPECT_EQ(c.inbound.local_report_address, "");
}

TEST(ReportingSection, EveryKeyIsRead) {
  RelayConfig c = mustLoad(R"([server]
hostname = "mx1.example.net"
[reporting]
send = true
organization_name = "Example Org"
submitter = "Example.NET"
contact_info = "mailto:tls@example.net"
from = "TLSRPT@example.net"
node = "mx1"
send_after = "30m"
send_window = "2h"
claim_timeout = "5m"
https_ca_bundle = "/etc/other.pem"
ingest_address = "reports@example.net"
)");
  const ReportingConfig& r = c.reporting;
  EXPECT_TRUE(r.send);
  EXPECT_EQ(r.organization_name, "Example Org");
  EXPECT_EQ(r.submitter, "example.net");
  EXPECT_EQ(r.contact_info, "mailto:tls@example.net");
  EXPECT_EQ(r.from, "tlsrpt@example.net");
  EXPECT_EQ(r.node, "mx1");
  EXPECT_EQ(r.send_after.count(), 1800);
  EXPECT_EQ(r.send_window.count(), 7200);
  EXPECT_EQ(r.claim_timeout.count(), 300);
  EXPECT_EQ(r.https_ca_bundle, "/etc/other.pem");
  EXPECT_EQ(c.inbound.local_report_address, "reports@example.net") << "the SMTP server needs it";
}

TEST(ReportingSection, TheIngestAddressIsClosedWhenReportingIsOff) {
  RelayConfig c = mustLoad("[reporting]\nenabled = false\ningest_address = \"reports@example.net\"\n");
  EXPECT_EQ(c.inbound.local_report_address, "") << "no store to read reports into";
}

TEST(ReportingSection, MistakesAreRefusedWithTheirLine) {
  EXPECT_THAT(mustFail("[reporting]\nfrom = \"not an address\"\n"),
              HasSubstr("relay.toml:2: reporting.from"));
  EXPECT_THAT(mustFail("[reporting]\ningest_address = \"a@b@c\"\n"), HasSubstr("reporting.ingest_address"));
  EXPECT_THAT(mustFail("[reporting]\nsubmitter = \"exa mple.net\"\n"), HasSubstr("reporting.submitter"));
  EXPECT_THAT(mustFail("[reporting]\norganization_name = \"\"\n"), HasSubstr("reporting.organization_name"));
  EXPECT_THAT(mustFail("[reporting]\nsend_after = \"20h\"\nsend_window = \"4h\"\n"),
              HasSubstr("must end by 23:00 UTC"));
  EXPECT_THAT(mustFail("[reporting]\nsend_window = \"10s\"\n"), HasSubstr("at least 1m"));
  EXPECT_THAT(mustFail("[reporting]\nclaim_timeout = \"5s\"\n"), HasSubstr("at least 10s"));
  EXPECT_THAT(mustFail("[reporting]\nsend = \"yes\"\n"), HasSubstr("reporting.send"));
}

TEST(AdminSection, OffWithoutTheSectionOnWithIt) {
  EXPECT_FALSE(mustLoad("").admin.enabled);
  RelayConfig c = mustLoad("[admin]\n");
  EXPECT_TRUE(c.admin.enabled);
  EXPECT_EQ(c.admin.listen, "127.0.0.1:8025");
  EXPECT_EQ(c.admin.report_path, "/tlsrpt");
  EXPECT_FALSE(adminListensBeyondLoopback(c.admin));
  EXPECT_FALSE(mustLoad("[admin]\nenabled = false\n").admin.enabled);
}

TEST(AdminSection, EveryKeyIsRead) {
  RelayConfig c = mustLoad(
      "[admin]\nlisten = \"[::]:9025\"\nbearer_token_file = \"/etc/tlsrelay/admin.token\"\n"
      "certificate = \"/etc/tlsrelay/admin.pem\"\nreport_path = \"/.well-known/tlsrpt\"\n");
  EXPECT_EQ(c.admin.listen, "[::]:9025");
  EXPECT_EQ(c.admin.bearer_token_file, "/etc/tlsrelay/admin.token");
  EXPECT_EQ(c.admin.certificate, "/etc/tlsrelay/admin.pem");
  EXPECT_EQ(c.admin.key, "/etc/tlsrelay/admin.pem") << "a combined PEM by default";
  EXPECT_EQ(c.admin.report_path, "/.well-known/tlsrpt");
  EXPECT_TRUE(adminListensBeyondLoopback(c.admin));
  EXPECT_EQ(mustLoad("[admin]\nreport_path = \"\"\n").admin.report_path, "");
}

TEST(AdminSection, MistakesAreRefusedWithTheirLine) {
  EXPECT_THAT(mustFail("[admin]\nlisten = \"localhost:8025\"\n"), HasSubstr("relay.toml:2: admin.listen"));
  EXPECT_THAT(mustFail("[admin]\nlisten = \"127.0.0.1\"\n"), HasSubstr("a port is required"));
  EXPECT_THAT(mustFail("[admin]\nkey = \"/k.pem\"\n"), HasSubstr("needs certificate"));
  EXPECT_THAT(mustFail("[admin]\nreport_path = \"tlsrpt\"\n"), HasSubstr("admin.report_path"));
  EXPECT_THAT(mustFail("[admin]\nreport_path = \"/metrics\"\n"), HasSubstr("endpoint's own paths"));
  EXPECT_THAT(mustFail("[admin]\nport = 8025\n"), HasSubstr("admin.port"));
}

TEST(AdminSection, TheBearerTokenFileHoldsOneToken) {
  auto dir = std::filesystem::temp_directory_path() / ("admin-token-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& text) {
    std::ofstream(dir / "token", std::ios::trunc) << text;
    return (dir / "token").string();
  };
  auto good = readBearerTokenFile(write("Zm9vYmFyLWJhei0xMjM0NTY=\n"));
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(*good, "Zm9vYmFyLWJhei0xMjM0NTY=");
  auto short_token = readBearerTokenFile(write("abc\n"));
  ASSERT_FALSE(short_token.ok());
  EXPECT_THAT(short_token.error().message, HasSubstr("16 or more"));
  auto spaced = readBearerTokenFile(write("secret with spaces inside\n"));
  ASSERT_FALSE(spaced.ok());
  EXPECT_THAT(spaced.error().message, Not(HasSubstr("secret")));  // never the content
  EXPECT_FALSE(readBearerTokenFile((dir / "missing").string()).ok());
  std::filesystem::remove_all(dir);
}

TEST(ConfigTest, SmarthostTlsAuthAndVerify) {
  RelayConfig cfg = mustLoad(
      "[delivery]\nsmarthost = \"smtp.example.net:587\"\nsmarthost_tls = \"starttls\"\n"
      "smarthost_auth_file = \"/etc/tlsrelay/smarthost.auth\"\nsmarthost_verify = false\n");
  EXPECT_EQ(cfg.delivery.smarthost_tls, NextHopTls::StartTls);
  EXPECT_EQ(cfg.delivery.smarthost_auth_file, "/etc/tlsrelay/smarthost.auth");
  EXPECT_FALSE(cfg.delivery.smarthost_verify);
  EXPECT_EQ(cfg.delivery.smarthost_credentials, nullptr);  // read by loadRuntimeConfig, not here
  EXPECT_EQ(mustLoad("").delivery.smarthost_tls, NextHopTls::Auto);
  EXPECT_TRUE(mustLoad("").delivery.smarthost_verify);
  EXPECT_THAT(mustFail("[delivery]\nsmarthost = \"a.example:25\"\nsmarthost_tls = \"ssl\"\n"),
              HasSubstr("delivery.smarthost_tls"));
  EXPECT_THAT(mustFail("[delivery]\nsmarthost_auth_file = \"/x\"\n"), HasSubstr("needs smarthost"));
}

TEST(ConfigTest, AllowedSenderDomainsGlobalAndPerSource) {
  RelayConfig cfg = mustLoad(
      "[server]\nallowed_sender_domains = [\"Example.COM\", \"*.apps.example.com\"]\n"
      "[[source]]\ncidr = \"10.0.0.0/8\"\nrelay = true\nallowed_sender_domains = [\"partner.example\"]\n"
      "[[source]]\ncidr = \"10.1.0.0/16\"\nrelay = true\n");
  EXPECT_EQ(cfg.inbound.allowed_sender_domains,
            (std::vector<std::string>{"example.com", "*.apps.example.com"}));
  ASSERT_GE(cfg.inbound.sources.size(), 2u);
  EXPECT_EQ(cfg.inbound.sources[0].allowed_sender_domains, std::vector<std::string>{"partner.example"});
  EXPECT_FALSE(cfg.inbound.sources[1].allowed_sender_domains.has_value());
  EXPECT_THAT(mustFail("[server]\nallowed_sender_domains = [\"bad domain\"]\n"),
              HasSubstr("server.allowed_sender_domains"));
}

}  // namespace
}  // namespace tlsrelay
