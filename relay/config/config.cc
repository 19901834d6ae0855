// relay.toml parsing and validation; see config.h and docs/configuration.md.
// Each section has one reader function; cross-key checks sit with the section
// that owns the keys.
#include "relay/config/config.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/ascii.h"
#include "common/host_port.h"
#include "common/log.h"
#include "common/toml_reader.h"
#include "policy/domain_policy.h"
#include "relay/config/config_paths.h"
#include "relay/config/dkim_section.h"

namespace tlsrelay {
namespace {

using tomlcfg::TableReader;

constexpr size_t kMaxConfigFileBytes = 4 << 20;

struct Context {
  std::string file;
  std::string base_dir;  // relative paths resolve against this; empty = working directory
  std::vector<ConfigError>& errors;
};

bool validHostName(std::string_view name) {
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.') return false;
  if (name.find("..") != std::string_view::npos) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

std::optional<std::string> readPath(TableReader& r, std::string_view key, const Context& ctx) {
  return readConfigPath(r, key, ctx.base_dir);
}

std::optional<std::string> canonicalTlsVersion(std::string_view text) {
  std::string v = lowerAscii(text);
  if (v == "tlsv1.2" || v == "1.2") return std::string("TLSv1.2");
  if (v == "tlsv1.3" || v == "1.3") return std::string("TLSv1.3");
  return std::nullopt;
}

// "example.com" or "*.example.com", lower case.
std::optional<std::vector<std::string>> readSenderDomains(TableReader& r) {
  auto list = r.getStringList("allowed_sender_domains");
  if (!list) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& d : *list) {
    std::string domain = normalizeDomain(d);
    std::string_view name = domain.rfind("*.", 0) == 0 ? std::string_view(domain).substr(2) : domain;
    if (!validHostName(name))
      r.error("allowed_sender_domains", "bad domain '" + d + "' (\"example.com\" or \"*.example.com\")");
    else
      out.push_back(domain);
  }
  return out;
}

void readServer(TableReader& r, RelayConfig& cfg) {
  if (auto hostname = r.getString("hostname")) {
    if (!validHostName(*hostname))
      r.error("hostname", "bad host name '" + *hostname + "'");
    else
      cfg.hostname = *hostname;
  }
  if (auto domains = readSenderDomains(r)) cfg.inbound.allowed_sender_domains = std::move(*domains);
}

void readListeners(TableReader& top, InboundConfig& cfg, const Context& ctx) {
  bool written = top.contains("listener");
  auto tables = top.getArrayOfTables("listener");
  std::set<std::string> seen;
  for (const toml::table* t : tables) {
    TableReader r(*t, ctx.file, "listener", ctx.errors);
    ListenerConfig listener;
    if (auto address = r.getString("address")) {
      auto hp = parseListenAddress(*address);
      if (!hp) {
        r.error("address",
                "bad address '" + *address + "': " + hp.error().message + " (0.0.0.0:25, [::]:25)");
      } else {
        listener.address = joinHostPort(hp->host, hp->port);
        if (!seen.insert(listener.address).second)
          r.error("address", "listener " + listener.address + " is configured twice");
      }
    } else if (!t->contains("address")) {
      r.error("address", "missing");
    }
    if (auto tls = r.getString("tls")) {
      if (*tls == "starttls")
        listener.tls = ListenerConfig::Tls::StartTls;
      else if (*tls == "implicit")
        listener.tls = ListenerConfig::Tls::Implicit;
      else
        r.error("tls", "expected \"starttls\" or \"implicit\", got '" + *tls + "'");
    }
    if (listener.tls == ListenerConfig::Tls::Implicit && cfg.server_tls.certificate.empty())
      r.error("tls", "an implicit-TLS listener needs [tls] certificate");
    r.reportUnknownKeys();
    cfg.listeners.push_back(std::move(listener));
  }
  if (cfg.listeners.empty()) {
    if (written)
      top.error("listener", "at least one [[listener]] is needed");
    else
      cfg.listeners.push_back({"127.0.0.1:2525", ListenerConfig::Tls::StartTls});
  }
}

void readTls(TableReader& r, InboundConfig& cfg, const Context& ctx) {
  ServerTlsConfig& tls = cfg.server_tls;
  tls.certificate = readPath(r, "certificate", ctx).value_or("");
  tls.key = readPath(r, "key", ctx).value_or("");
  tls.key_password = r.getString("key_password").value_or("");
  tls.key_password_file = readPath(r, "key_password_file", ctx).value_or("");
  if (auto ciphers = r.getString("ciphers")) {
    if (hasControlCharacters(*ciphers))
      r.error("ciphers", "control characters in cipher list");
    else
      tls.ciphers = *ciphers;
  }
  if (auto version = r.getString("min_tls_version")) {
    if (auto canonical = canonicalTlsVersion(*version))
      tls.min_tls_version = *canonical;
    else
      r.error("min_tls_version", "expected \"TLSv1.2\" or \"TLSv1.3\", got '" + *version + "'");
  }
  if (!tls.key.empty() && tls.certificate.empty()) r.error("key", "a key without a certificate");
  if (!tls.key_password.empty() && !tls.key_password_file.empty())
    r.error("key_password_file", "set key_password or key_password_file, not both");
  if (tls.key.empty()) tls.key = tls.certificate;  // combined PEM
  r.reportUnknownKeys();
}

void readSources(TableReader& top, InboundConfig& cfg, const Context& ctx) {
  for (const toml::table* t : top.getArrayOfTables("source")) {
    TableReader r(*t, ctx.file, "source", ctx.errors);
    SourceRule rule;
    rule.relay = r.getBool("relay").value_or(rule.relay);
    rule.allow_starttls = r.getBool("allow_starttls").value_or(rule.allow_starttls);
    rule.require_starttls = r.getBool("require_starttls").value_or(rule.require_starttls);
    rule.require_starttls_before_auth =
        r.getBool("require_starttls_before_auth").value_or(rule.require_starttls_before_auth);
    rule.allow_plaintext_auth = r.getBool("allow_plaintext_auth").value_or(rule.allow_plaintext_auth);
    rule.max_connections = static_cast<int>(r.getInt("max_connections", 0, 1000000).value_or(0));
    rule.allowed_sender_domains = readSenderDomains(r);

    if (rule.require_starttls && !rule.allow_starttls)
      r.error("require_starttls", "contradicts allow_starttls = false");
    if (rule.require_starttls && cfg.server_tls.certificate.empty())
      r.error("require_starttls", "needs [tls] certificate (clients could never start TLS)");
    if (rule.allow_plaintext_auth && rule.require_starttls_before_auth)
      r.error("allow_plaintext_auth",
              "has no effect while require_starttls_before_auth = true; set that to false too");

    std::vector<Cidr> cidrs;
    if (auto list = r.getCidrList("cidr")) {
      cidrs = *list;
      if (cidrs.empty()) r.error("cidr", "empty list");
    } else if (!t->contains("cidr")) {
      r.error("cidr", "missing (e.g. cidr = \"10.0.0.0/8\" or a list)");
    }
    for (const Cidr& cidr : cidrs) {
      if (rule.relay && coversWholeFamily(cidr)) {
        r.error("relay", "relay = true for " + cidr.toString() + " would make an open relay");
        continue;
      }
      SourceRule expanded = rule;
      expanded.cidr = cidr;
      cfg.sources.push_back(expanded);
    }
    r.reportUnknownKeys();
  }
  for (auto& rule : builtinSourceRules()) cfg.sources.push_back(rule);
}

void readLimits(TableReader& r, InboundConfig& cfg) {
  if (auto size = r.getSize("max_message_size")) {
    if (*size < 1024)
      r.error("max_message_size", "must be at least 1k");
    else
      cfg.max_message_size = static_cast<size_t>(*size);
  }
  // RFC 5321 §4.5.3.1.8: a server MUST accept at least 100 recipients per message.
  cfg.max_recipients = static_cast<size_t>(r.getInt("max_recipients", 100, 1000000).value_or(1000));
  cfg.max_errors = static_cast<int>(r.getInt("max_errors", 1, 1000).value_or(cfg.max_errors));
  cfg.max_connections =
      static_cast<int>(r.getInt("max_connections", 0, 1000000).value_or(cfg.max_connections));
  cfg.max_received_headers =
      static_cast<int>(r.getInt("max_received_headers", 10, 1000).value_or(cfg.max_received_headers));
  r.reportUnknownKeys();
}

void readDns(TableReader& r, DnsConfig& cfg, const Context& ctx) {
  auto list = r.getStringList("resolvers").value_or(std::vector<std::string>{});
  for (const auto& text : list) {
    auto hp = parseHostPort(text, 53);
    if (!hp || !IpAddress::parse(hp->host)) {
      r.error("resolvers", "bad resolver '" + text +
                               "' (an IP address with an optional port: \"127.0.0.1:53\", \"[::1]:53\")");
      continue;
    }
    cfg.resolvers.push_back(joinHostPort(hp->host, hp->port));
  }
  if (auto mode = r.getString("dnssec")) {
    if (*mode != "trust-ad" && *mode != "validate")
      r.error("dnssec", "expected \"trust-ad\" or \"validate\", got '" + *mode + "'");
    else
      cfg.dnssec = *mode;
  }
  if (auto anchor = readPath(r, "trust_anchor_file", ctx)) {
    if (anchor->empty())
      r.error("trust_anchor_file", "must not be empty");
    else
      cfg.trust_anchor_file = *anchor;
  }
  r.reportUnknownKeys();
}

void readMtaSts(TableReader& r, MtaStsConfig& sts, const Context& ctx) {
  if (auto enabled = r.getBool("enabled")) sts.enabled = *enabled;
  if (auto dir = readPath(r, "cache_directory", ctx)) sts.cache_directory = *dir;
  if (auto bundle = readPath(r, "ca_bundle", ctx)) sts.ca_bundle = *bundle;
  if (auto list = r.getStringList("exempt")) {
    for (const auto& d : *list) {
      std::string domain = normalizeDomain(d);
      if (domain.empty() || !validHostName(domain))
        r.error("exempt", "bad domain '" + d + "'");
      else
        sts.exempt.push_back(domain);
    }
  }
  if (auto t = r.getDuration("connect_timeout")) sts.connect_timeout = *t;
  if (auto t = r.getDuration("fetch_timeout")) sts.fetch_timeout = *t;
  if (auto t = r.getDuration("refresh_before")) sts.refresh_before = *t;
  r.reportUnknownKeys();
}

void readDelivery(TableReader& r, DeliveryConfig& cfg, const Context& ctx) {
  if (auto smarthost = r.getString("smarthost")) {
    if (!smarthost->empty()) {
      auto hp = parseHostPort(*smarthost, 25);
      if (!hp || (!IpAddress::parse(hp->host) && !validHostName(hp->host)))
        r.error("smarthost", "bad next hop '" + *smarthost + "' (\"host:port\" or \"[ip]:port\")");
      else
        cfg.smarthost = joinHostPort(hp->host, hp->port);
    }
  }
  if (auto mode = r.getString("smarthost_tls")) {
    if (auto m = parseNextHopTls(*mode))
      cfg.smarthost_tls = *m;
    else
      r.error("smarthost_tls", "expected \"auto\", \"starttls\" or \"implicit\", got '" + *mode + "'");
  }
  cfg.smarthost_auth_file = readPath(r, "smarthost_auth_file", ctx).value_or("");
  cfg.smarthost_verify = r.getBool("smarthost_verify").value_or(cfg.smarthost_verify);
  if (cfg.smarthost.empty() && !cfg.smarthost_auth_file.empty())
    r.error("smarthost_auth_file", "needs smarthost (credentials are only ever sent to it)");
  cfg.max_connections_per_destination = static_cast<int>(
      r.getInt("max_connections_per_destination", 1, 10000).value_or(cfg.max_connections_per_destination));
  cfg.max_messages_per_connection = static_cast<int>(
      r.getInt("max_messages_per_connection", 1, 1000000).value_or(cfg.max_messages_per_connection));
  if (auto t = r.getDuration("connect_timeout")) {
    if (t->count() < 1)
      r.error("connect_timeout", "must be at least 1s");
    else
      cfg.connect_timeout = *t;
  }
  cfg.address_literals = r.getBool("address_literals").value_or(cfg.address_literals);
  cfg.backoff.failures =
      static_cast<int>(r.getInt("backoff_after_failures", 1, 1000).value_or(cfg.backoff.failures));
  cfg.backoff.initial = r.getDuration("backoff_initial").value_or(cfg.backoff.initial);
  cfg.backoff.max = r.getDuration("backoff_max").value_or(cfg.backoff.max);
  if (cfg.backoff.initial.count() < 1) r.error("backoff_initial", "must be at least 1s");
  if (cfg.backoff.max < cfg.backoff.initial) r.error("backoff_max", "is shorter than backoff_initial");
  r.reportUnknownKeys();
}

void readRetry(TableReader& r, RetryConfig& retry) {
  if (auto d = r.getDuration("initial")) {
    if (d->count() < 1)
      r.error("initial", "must be at least 1s");
    else
      retry.initial = *d;
  }
  retry.multiplier = r.getDouble("multiplier", 1.0, 100.0).value_or(retry.multiplier);
  retry.max_interval = r.getDuration("max_interval").value_or(retry.max_interval);
  retry.max_lifetime = r.getDuration("max_lifetime").value_or(retry.max_lifetime);
  retry.delay_notice = r.getDuration("delay_notice").value_or(retry.delay_notice);
  if (retry.max_interval < retry.initial) r.error("max_interval", "is shorter than initial");
  if (retry.max_lifetime < retry.initial) r.error("max_lifetime", "is shorter than initial");
  if (retry.delay_notice.count() != 0 && retry.delay_notice >= retry.max_lifetime)
    r.error("delay_notice", "is not shorter than max_lifetime (use 0 to turn delay notices off)");
  r.reportUnknownKeys();
}

// Reads an optional [name] table with a single reader function.
template <class Fn>
void section(TableReader& top, std::string_view name, const Context& ctx, Fn&& fn) {
  const toml::table* t = top.getTable(name);
  if (!t) return;
  TableReader r(*t, ctx.file, std::string(name), ctx.errors);
  fn(r);
}

void readDirectorySection(TableReader& top, std::string_view name, std::string_view key, std::string& out,
                          const Context& ctx) {
  section(top, name, ctx, [&](TableReader& r) {
    if (auto path = readPath(r, key, ctx)) out = *path;
    r.reportUnknownKeys();
  });
}

std::string defaultHostName() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

}  // namespace

Result<RelayConfig> loadConfigString(std::string_view toml, const std::string& name,
                                     const std::string& base_dir, std::vector<ConfigError>& errors) {
  size_t errors_before = errors.size();
  auto document = tomlcfg::parseDocument(toml, name, errors);
  if (!document) return makeError(joinConfigErrors(errors));

  Context ctx{name, base_dir, errors};
  RelayConfig cfg;
  cfg.source_file = name;
  TableReader top(*document, name, "", errors);

  section(top, "server", ctx, [&](TableReader& r) {
    readServer(r, cfg);
    r.reportUnknownKeys();
  });
  // [tls] first: listeners and sources check against the certificate.
  section(top, "tls", ctx, [&](TableReader& r) { readTls(r, cfg.inbound, ctx); });
  readListeners(top, cfg.inbound, ctx);
  readSources(top, cfg.inbound, ctx);
  section(top, "limits", ctx, [&](TableReader& r) { readLimits(r, cfg.inbound); });
  readDirectorySection(top, "spool", "directory", cfg.spool_directory, ctx);
  readDirectorySection(top, "auth", "users_file", cfg.inbound.users_file, ctx);
  section(top, "dns", ctx, [&](TableReader& r) { readDns(r, cfg.dns, ctx); });
  section(top, "mta_sts", ctx, [&](TableReader& r) { readMtaSts(r, cfg.mta_sts, ctx); });
  section(top, "policy", ctx, [&](TableReader& r) {
    if (auto dir = readPath(r, "directory", ctx)) cfg.policy_directory = *dir;
    if (auto bundle = readPath(r, "ca_bundle", ctx)) {
      if (bundle->empty())
        r.error("ca_bundle", "must not be empty");
      else
        cfg.delivery.ca_bundle = *bundle;
    }
    r.reportUnknownKeys();
  });
  section(top, "delivery", ctx, [&](TableReader& r) { readDelivery(r, cfg.delivery, ctx); });
  section(top, "dkim", ctx, [&](TableReader& r) { readDkimSection(r, cfg.dkim, ctx.base_dir); });
  section(top, "retry", ctx, [&](TableReader& r) { readRetry(r, cfg.delivery.retry); });
  section(top, "reporting", ctx, [&](TableReader& r) {
    readReportingSection(r, cfg.reporting, ctx.base_dir);
    r.reportUnknownKeys();
  });
  section(top, "admin", ctx, [&](TableReader& r) { readAdminSection(r, cfg.admin, ctx.base_dir); });
  readDirectorySection(top, "accounting", "directory", cfg.accounting_directory, ctx);
  section(top, "logging", ctx, [&](TableReader& r) {
    if (auto level = r.getString("level")) {
      log::Level parsed;
      if (!log::parseLevel(*level, parsed))
        r.error("level", "expected debug, info, warn or error, got '" + *level + "'");
      else
        cfg.log_level = *level;
    }
    r.reportUnknownKeys();
  });
  top.reportUnknownKeys();

  if (cfg.spool_directory.empty())
    errors.push_back({name, top.lineOf("spool"), "spool.directory", "must not be empty"});
  if (cfg.hostname.empty()) cfg.hostname = defaultHostName();
  // Values several modules need, copied into each module's slice.
  cfg.inbound.hostname = cfg.delivery.helo_name = cfg.hostname;
  cfg.inbound.accept_address_literals = cfg.delivery.address_literals;
  if (cfg.dkim.authserv_id.empty()) cfg.dkim.authserv_id = cfg.hostname;
  // The one rule for where the MTA-STS cache lives.
  if (cfg.mta_sts.cache_directory.empty())
    cfg.mta_sts.cache_directory = (std::filesystem::path(cfg.spool_directory) / "mta-sts").string();
  if (cfg.reporting.store.empty())
    cfg.reporting.store = (std::filesystem::path(cfg.spool_directory) / "tls-reports.sqlite").string();
  // One set of PKIX roots for SMTP and the MTA-STS HTTPS fetch unless [mta_sts] or
  // [reporting] names its own.
  if (cfg.mta_sts.ca_bundle.empty()) cfg.mta_sts.ca_bundle = cfg.delivery.ca_bundle;
  finishReportingDefaults(cfg.reporting, cfg.hostname, cfg.delivery.ca_bundle);
  if (cfg.reporting.enabled) cfg.inbound.local_report_address = cfg.reporting.ingest_address;
  if (errors.size() != errors_before) return makeError(joinConfigErrors(errors));
  return cfg;
}

Result<RelayConfig> loadConfigString(std::string_view toml, const std::string& name) {
  std::vector<ConfigError> errors;
  return loadConfigString(toml, name, "", errors);
}

Result<RelayConfig> loadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError(ConfigError{path, 0, "", "cannot read file"}.toString());
  std::string text;
  text.resize(kMaxConfigFileBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxConfigFileBytes)
    return makeError(ConfigError{path, 0, "", "file is larger than 4 MiB"}.toString());
  std::string base_dir = std::filesystem::path(path).parent_path().string();
  if (base_dir.empty()) base_dir = ".";
  std::vector<ConfigError> errors;
  return loadConfigString(text, path, base_dir, errors);
}

Result<RelayConfig> loadEmbeddedDefaultConfig() {
  return loadConfigString(embeddedDefaultConfig(), "<embedded>");
}

Result<std::vector<std::string>> readResolvConf(const std::string& path) {
  std::ifstream in(path);
  if (!in) return makeError(path + ": cannot read");
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string keyword, address;
    if (!(words >> keyword >> address) || keyword != "nameserver") continue;
    if (auto percent = address.find('%'); percent != std::string::npos) address.resize(percent);  // scope id
    if (!IpAddress::parse(address)) continue;
    out.push_back(joinHostPort(address, 53));
  }
  if (out.empty()) return makeError(path + ": no usable nameserver lines");
  return out;
}

}  // namespace tlsrelay
