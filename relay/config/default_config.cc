// The embedded default configuration; see default_config.h. Keep this text
// identical to etc/relay.toml: tests/unit/config_test.cc fails otherwise.
#include "relay/config/default_config.h"

namespace tlsrelay {
namespace {

constexpr std::string_view kDefaultConfig = R"tlsrelay_toml(
# tlsrelay configuration (relay.toml). Every key is described in
# docs/configuration.md. This file is also the embedded default that
# `tlsrelay serve` uses when no --config is given: it runs without root.
#
# Relative paths resolve against this file's folder; in the embedded default
# they resolve against the working directory.

[server]
# Name used in the greeting, in EHLO and in DSNs. Default: the machine's host name.
# hostname = "relay.example.net"
# Relay mail only from these sender domains (empty: any).
# allowed_sender_domains = ["example.com", "*.example.com"]

# One table per listening socket. tls = "starttls" (plain SMTP that offers
# STARTTLS when [tls] has a certificate) or "implicit" (TLS from the first byte,
# port 465 style; needs a certificate).
[[listener]]
address = "127.0.0.1:2525"
tls = "starttls"

[tls]
# Server certificate for inbound TLS. Without one, STARTTLS is not offered.
# certificate = "/etc/tlsrelay/server.pem"
# key = "/etc/tlsrelay/server.key"          # default: the certificate file
# key_password_file = "/etc/tlsrelay/key.pass"
# ciphers = "HIGH:!aNULL:!MD5"
min_tls_version = "TLSv1.2"

# Per-source rules, first match wins. Loopback (127.0.0.0/8, ::1) may relay and
# everybody else may not: those built-in rules always follow the ones below, so
# the relay is never open.
# [[source]]
# cidr = ["10.0.0.0/8", "192.168.0.0/16"]
# relay = true
# require_starttls = false
# max_connections = 50

[limits]
max_message_size = "50M"
max_recipients = 1000
max_errors = 10
max_connections = 1000

[spool]
directory = "./spool"

[auth]
# Users for AUTH PLAIN/LOGIN (`tlsrelay user add FILE USER`). Empty: AUTH off.
users_file = ""

[dns]
# Empty: the nameserver lines of /etc/resolv.conf.
resolvers = []
# "trust-ad": trust the AD bit of the resolvers above (use a validating
# resolver on loopback). "validate": check every DNSSEC chain here, from
# trust_anchor_file (DS or DNSKEY records of the root).
dnssec = "trust-ad"
trust_anchor_file = "/usr/share/dns/root.key"

[mta_sts]
# RFC 8461. Policies are cached in cache_directory (default: <spool>/mta-sts).
enabled = true
exempt = []
connect_timeout = "10s"
fetch_timeout = "30s"
refresh_before = "1h"

[policy]
# Folder of per-domain policy files (*.toml). Empty: only the built-in `*`
# policy, opportunistic STARTTLS.
directory = ""
ca_bundle = "/etc/ssl/certs/ca-certificates.crt"

[delivery]
# Send everything to one next hop instead of looking up MX records.
# smarthost = "[192.0.2.25]:25"
# An upstream provider with AUTH: port 587 (STARTTLS) or 465 (implicit TLS).
# Credentials go only over TLS, to a verified certificate; the file holds one
# line "user:password" (mode 0600).
# smarthost = "smtp.provider.example:587"
# smarthost_auth_file = "/etc/tlsrelay/smarthost.auth"
max_connections_per_destination = 10
max_messages_per_connection = 100

[retry]
initial = "5m"
multiplier = 2.0
max_interval = "4h"
max_lifetime = "5d"
delay_notice = "4h"

[dkim]
# DKIM signing of outbound mail (RFC 6376; Ed25519 per RFC 8463) and checking
# of inbound signatures. Make a key with
#   tlsrelay dkim keygen --domain example.com --selector s2026
# publish the TXT record it prints, then add one [[dkim.sign]] per key.
# canonicalization = "relaxed/relaxed"
# expire_after = "0"          # x= this long after signing; 0 = no expiry
# [[dkim.sign]]
# domain = "example.com"
# selector = "s2026"
# key_file = "/etc/tlsrelay/dkim/example.com.s2026.key"
# from = ["*@example.com", "*@*.example.com"]   # the default
# to = []                                       # recipient patterns that also qualify
# [dkim.verify]
# authentication_results = false   # check inbound signatures, add Authentication-Results

[reporting]
# RFC 8460 TLS reporting: every outbound TLS session is counted per day,
# policy domain, MX and outcome (successes and failures alike).
enabled = true
# store = "/var/spool/tlsrelay/tls-reports.sqlite"   # default: <spool>/tls-reports.sqlite
# store = "postgresql://tlsrelay@db.example.net/tlsrpt"  # one store for a fleet
# Sending the daily reports to the domains that ask for them (_smtp._tls):
# send = true
# submitter = "example.net"                  # default: the host name
# from = "tlsrpt-noreply@example.net"        # sign it: a [[dkim.sign]] for its domain
# Reports others mail to us are read, never relayed:
# ingest_address = "tlsrpt@example.net"

[admin]
# Probes (/healthz, /readyz), /metrics (Prometheus), the JSON API (/api/...)
# and the URL other organisations POST TLS reports to (https: rua).
listen = "127.0.0.1:8025"
# Needed for every path but the probes and report_path; one line, 16+ characters.
# Set it before listening beyond loopback.
# bearer_token_file = "/etc/tlsrelay/admin.token"
# certificate = "/etc/tlsrelay/admin.pem"   # HTTPS; key defaults to the same file
# key = "/etc/tlsrelay/admin.key"
# report_path = "/tlsrpt"                   # "" = no report receiver

[accounting]
directory = "./accounting"

[logging]
level = "info"
)tlsrelay_toml";

}  // namespace

// The raw string starts with a newline so the file text begins on its own line.
std::string_view embeddedDefaultConfig() {
  return kDefaultConfig.substr(1);
}

}  // namespace tlsrelay
