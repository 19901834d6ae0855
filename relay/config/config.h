// relay.toml: the relay's whole configuration, parsed once into immutable
// structs (a SIGHUP reload builds a new RelayConfig and swaps it in). Every
// mistake — syntax, unknown key, wrong type, bad value — is reported as
// "file:line: key: message"; all mistakes are reported at once.
// Layout and every key: docs/configuration.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/config_error.h"  // ConfigError
#include "common/result.h"
#include "policy/domain_policy.h"            // NextHopTls
#include "relay/config/admin_section.h"      // AdminConfig
#include "relay/config/dkim_section.h"       // DkimConfig
#include "relay/config/reporting_section.h"  // ReportingConfig
#include "relay/config/source_rules.h"       // SourceRule
#include "relay/smtp/smtp_credentials.h"

namespace tlsrelay {

struct ListenerConfig {
  std::string address;  // "127.0.0.1:2525", "[::1]:25" (IP literal and port)
  enum class Tls { StartTls, Implicit } tls = Tls::StartTls;
};

struct ServerTlsConfig {
  std::string certificate;        // PEM path; empty = no inbound TLS (STARTTLS not advertised)
  std::string key;                // PEM path; defaults to `certificate` (combined PEM)
  std::string key_password;       // secret: never log
  std::string key_password_file;  // first line is the password
  std::string ciphers;            // OpenSSL cipher list (TLS <= 1.2); empty = library default
  std::string min_tls_version = "TLSv1.2";
};

struct RetryConfig {
  std::chrono::seconds initial{300};
  double multiplier = 2.0;
  std::chrono::seconds max_interval{3600 * 4};
  std::chrono::seconds max_lifetime{5 * 86400};
  std::chrono::seconds delay_notice{4 * 3600};  // 0 = no delay notices
};

// [[listener]], [tls], [[source]], [limits], [auth]: what the SMTP server needs.
struct InboundConfig {
  std::string hostname;                   // RelayConfig::hostname, copied at load
  std::vector<ListenerConfig> listeners;  // default: one, 127.0.0.1:2525 starttls
  ServerTlsConfig server_tls;
  std::vector<SourceRule> sources;  // first match wins; builtinSourceRules() appended last
  size_t max_message_size = 50 * 1024 * 1024;
  size_t max_recipients = 1000;
  int max_errors = 10;
  int max_connections = 1000;
  // RFC 5321 §6.3: a message that has passed through this many relays (Received
  // fields) is looping; refused with 554 5.4.6 (Postfix: hopcount_limit).
  int max_received_headers = 100;
  std::string users_file;  // empty = AUTH disabled
  // [server] allowed_sender_domains: what a relaying client may use as its
  // MAIL FROM domain ("example.com", "*.example.com"); empty = any. A
  // [[source]] rule's own list replaces it for that rule's clients.
  std::vector<std::string> allowed_sender_domains;
  // [delivery] address_literals, copied at load: RCPT TO:<user@[192.0.2.1]> is
  // accepted (and delivered to that address) only when true.
  bool accept_address_literals = true;
  // [reporting] ingest_address, copied at load when reporting is enabled.
  std::string local_report_address;
};

// [dns]
struct DnsConfig {
  std::vector<std::string> resolvers;  // "127.0.0.53:53", "[::1]:53"; empty = /etc/resolv.conf
  // "trust-ad": Secure = the AD bit of the (loopback, validating) resolvers;
  // "validate": ldns validates the chain itself from trust_anchor_file.
  std::string dnssec = "trust-ad";
  std::string trust_anchor_file = "/usr/share/dns/root.key";
  bool operator==(const DnsConfig&) const = default;
};

// [mta_sts]
struct MtaStsConfig {
  bool enabled = true;
  // One file per domain; filled in at load: "" in the file means <spool>/mta-sts.
  std::string cache_directory;
  std::vector<std::string> exempt;  // domains (lower case) MTA-STS is never applied to
  std::string ca_bundle;            // PKIX roots for the policy host; "" = libcurl's default
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds fetch_timeout{30};
  std::chrono::seconds refresh_before{3600};  // refresh a cached policy this long before it expires
  uint16_t https_port = 443;                  // test hook only: production always fetches from 443
  bool operator==(const MtaStsConfig&) const = default;
};

// How long a destination or host that keeps failing at the connection level
// is left alone (see relay/queue/destination_health.h).
struct BackoffConfig {
  int failures = 1;  // consecutive failed connection runs before the backoff starts
  std::chrono::seconds initial{60};
  std::chrono::seconds max{1800};
};

// [delivery], [retry], [policy] ca_bundle: what the queue manager and the SMTP client need.
struct DeliveryConfig {
  std::string helo_name;  // RelayConfig::hostname, copied at load
  std::string smarthost;  // "host:port" / "[ip]:port"; empty = MX delivery
  NextHopTls smarthost_tls = NextHopTls::Auto;
  // First line "user:password"; read by loadRuntimeConfig into
  // smarthost_credentials (a secret: never logged, never in an error).
  std::string smarthost_auth_file;
  std::shared_ptr<const SmtpCredentials> smarthost_credentials;
  bool smarthost_verify = true;  // PKIX-check the smarthost when TLS to it is mandatory
  int max_connections_per_destination = 10;
  int max_messages_per_connection = 100;
  std::chrono::seconds connect_timeout{30};  // RFC 5321 leaves connect timeouts to us
  std::string ca_bundle = "/etc/ssl/certs/ca-certificates.crt";
  bool address_literals = true;  // deliver to user@[ip] (RFC 5321 §4.1.3); false = refuse at RCPT
  RetryConfig retry;
  BackoffConfig backoff;
};

struct RelayConfig {
  std::string hostname;  // default: gethostname()
  InboundConfig inbound;
  std::string spool_directory = "/var/spool/tlsrelay";
  DnsConfig dns;
  MtaStsConfig mta_sts;
  std::string policy_directory;  // empty = only the built-in `*` opportunistic policy
  DeliveryConfig delivery;
  DkimConfig dkim;
  ReportingConfig reporting;
  AdminConfig admin;
  std::string accounting_directory;  // empty = no CSV accounting
  std::string log_level = "info";
  std::string source_file;  // the file this came from; "<embedded>" for the default
};

// Relative paths in a file resolve against that file's folder.
Result<RelayConfig> loadConfigFile(const std::string& path);
// `name` is used in error messages and as source_file; relative paths stay
// relative (to the working directory).
Result<RelayConfig> loadConfigString(std::string_view toml, const std::string& name);
// Same, collecting every mistake (for check-config and tests).
Result<RelayConfig> loadConfigString(std::string_view toml, const std::string& name,
                                     const std::string& base_dir, std::vector<ConfigError>& errors);

// The embedded default configuration (identical to etc/relay.toml), usable
// without root: 127.0.0.1:2525, ./spool, ./accounting.
std::string_view embeddedDefaultConfig();
// loadConfigString(embeddedDefaultConfig(), "<embedded>").
Result<RelayConfig> loadEmbeddedDefaultConfig();

// "nameserver" lines of a resolv.conf, as "ip:53" / "[ip]:53" (scope ids
// dropped). Used when RelayConfig::resolvers is empty.
Result<std::vector<std::string>> readResolvConf(const std::string& path = "/etc/resolv.conf");

}  // namespace tlsrelay
