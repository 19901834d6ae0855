// relay.toml from TLSRELAY_* variables; see environment_config.h. One reader
// per variable validates its value into a canonical form; the writer at the
// end prints every section of the embedded default, with those values in.
#include "relay/config/environment_config.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <sstream>

#include "common/ascii.h"
#include "common/cidr.h"
#include "common/hex.h"
#include "common/host_port.h"
#include "relay/config/admin_section.h"
#include "relay/config/source_rules.h"

namespace tlsrelay {
namespace {

constexpr std::string_view kPrefix = "TLSRELAY_";

struct Listener {
  std::string address;
  bool implicit = false;
};

// What the variables said, validated. Empty / nullopt = not set.
struct Settings {
  std::string hostname;
  std::vector<Listener> listeners;
  std::vector<std::string> relay_networks;
  std::optional<std::vector<std::string>> allowed_sender_domains;
  std::string smarthost, smarthost_tls, smarthost_auth_file;
  std::string tls_certificate, tls_key;
  std::string spool_dir, policy_dir, log_level = "info";
  std::string admin_listen = "127.0.0.1:8025";  // "" = no admin endpoint
  std::string admin_token_file;
};

Error variableError(const std::string& name, const std::string& message) {
  return makeError(name + ": " + message);
}

// A value as it may appear in an error message: printable, bounded.
std::string shown(std::string_view value) {
  return "'" + printableAscii(value, 80) + "'";
}

bool printable(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// TOML basic string (TOML 1.0 §String). Values are printable ASCII by the
// time they get here; the escapes cover the rest anyway.
std::string quoted(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += "\\u00";
      appendHexByte(out, static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string quotedList(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + quoted(values[i]);
  return out + "]";
}

std::vector<std::string> splitList(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    out.emplace_back(trimWsp(text.substr(start, comma == std::string_view::npos ? comma : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

class Reader {
 public:
  Reader(const Environment& env, const SecretFileReader& read_file) : env_(env), read_file_(read_file) {}

  // The value of `name` or of the file `name`_FILE names; nullopt when
  // neither is set (an empty value counts as not set). Non-secret values
  // must be printable ASCII.
  Result<std::optional<std::string>> get(const std::string& name, bool secret = false) {
    known_.insert(name);
    known_.insert(name + "_FILE");
    std::string direct = lookup(name), file = lookup(name + "_FILE");
    if (!direct.empty() && !file.empty())
      return variableError(name, "both " + name + " and " + name + "_FILE are set; set one of them");
    std::string value = direct;
    if (!file.empty()) {
      auto content = read_file_(file);
      if (!content.ok()) return variableError(name + "_FILE", content.error().message);
      value = std::move(*content);
      // A secrets file usually ends with a line break; it is not part of the value.
      while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    }
    if (value.empty()) return std::optional<std::string>();
    if (secret) {
      // The credentials file is one line, and SASL takes no control characters.
      if (std::any_of(value.begin(), value.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
        return variableError(name, "contains a line break or another control character");
    } else if (!printable(value)) {
      return variableError(name, "only printable ASCII is accepted (a line break or control character?)");
    }
    return std::optional<std::string>(std::move(value));
  }

  std::vector<std::string> ignored() const {
    std::vector<std::string> out;
    for (const auto& [name, value] : env_)
      if (name.rfind(kPrefix, 0) == 0 && !known_.count(name)) out.push_back(name);
    return out;
  }

 private:
  std::string lookup(const std::string& name) const {
    auto it = env_.find(name);
    return it == env_.end() ? std::string() : it->second;
  }
  const Environment& env_;
  const SecretFileReader& read_file_;
  std::set<std::string> known_;
};

Result<std::string> absolutePath(const std::string& name, const std::string& value) {
  if (value.front() != '/') return variableError(name, "must be an absolute path, got " + shown(value));
  return value;
}

Status readListeners(const std::string& name, const std::string& text, Settings& s) {
  std::set<std::string> seen;
  for (const std::string& item : splitList(text)) {
    if (item.empty()) return variableError(name, "empty entry in the list " + shown(text));
    std::string_view spec = item;
    Listener listener;
    if (auto slash = spec.rfind('/'); slash != std::string_view::npos) {
      std::string mode = lowerAscii(spec.substr(slash + 1));
      if (mode == "implicit")
        listener.implicit = true;
      else if (mode != "starttls")
        return variableError(name, shown(item) + ": after '/' expected implicit or starttls");
      spec = spec.substr(0, slash);
    }
    auto hp = parseListenAddress(spec);
    if (!hp.ok())
      return variableError(name, shown(item) + ": " + hp.error().message + " (0.0.0.0:25, [::]:25)");
    listener.address = joinHostPort(hp->host, hp->port);
    if (!seen.insert(listener.address).second)
      return variableError(name, listener.address + " is listed twice");
    s.listeners.push_back(listener);
  }
  return okStatus();
}

Status readRelayNetworks(const std::string& name, const std::string& text, Settings& s) {
  for (const std::string& item : splitList(text)) {
    if (item.empty()) return variableError(name, "empty entry in the list " + shown(text));
    auto cidr = Cidr::parse(item);
    if (!cidr.ok()) return variableError(name, "bad network " + shown(item) + ": " + cidr.error().message);
    if (coversWholeFamily(*cidr))
      return variableError(name, shown(item) + " covers every address: that would make an open relay");
    s.relay_networks.push_back(cidr->toString());
  }
  return okStatus();
}

Status readDomains(const std::string& name, const std::string& text, Settings& s) {
  std::vector<std::string> domains;
  for (const std::string& item : splitList(text)) {
    std::string domain = normalizeDomain(item);
    std::string_view bare = domain.rfind("*.", 0) == 0 ? std::string_view(domain).substr(2) : domain;
    if (!isLdhDomain(bare))
      return variableError(name, "bad domain " + shown(item) + " (example.com or *.example.com)");
    if (std::find(domains.begin(), domains.end(), domain) == domains.end()) domains.push_back(domain);
  }
  s.allowed_sender_domains = std::move(domains);
  return okStatus();
}

bool isSecret(const std::string& name) {
  return name == "TLSRELAY_SMARTHOST_USER" || name == "TLSRELAY_SMARTHOST_PASSWORD" ||
         name == "TLSRELAY_ADMIN_TOKEN";
}

// Every variable that is set (directly or through _FILE), by name.
using Values = std::map<std::string, std::string>;

Result<Values> readValues(Reader& env) {
  Values values;
  for (const std::string& name : environmentVariableNames()) {
    auto value = env.get(name, isSecret(name));
    if (!value.ok()) return value.error();
    if (*value) values[name] = std::move(**value);
  }
  return values;
}

std::optional<std::string> valueOf(const Values& values, const std::string& name) {
  auto it = values.find(name);
  return it == values.end() ? std::nullopt : std::optional<std::string>(it->second);
}

// The secrets directory, checked, without a trailing '/'.
Result<std::string> secretsDirectory(const EnvironmentDefaults& defaults) {
  std::string dir = defaults.secrets_dir;
  if (dir.empty() || dir.front() != '/' || !printable(dir))
    return makeError("the secrets directory must be an absolute path of printable ASCII characters");
  while (!dir.empty() && dir.back() == '/') dir.pop_back();
  return dir;
}

Status readSmarthost(const Values& v, const EnvironmentDefaults& defaults, Settings& s,
                     std::vector<SecretFile>& secrets) {
  auto smarthost = valueOf(v, "TLSRELAY_SMARTHOST");
  if (smarthost) {
    auto hp = parseHostPort(*smarthost, 25);
    if (!hp.ok()) return variableError("TLSRELAY_SMARTHOST", hp.error().message);
    bool ip = IpAddress::parse(hp->host).has_value();
    std::string host = ip ? hp->host : normalizeDomain(hp->host);
    if (!ip && !isLdhDomain(host))
      return variableError("TLSRELAY_SMARTHOST",
                           "bad host in " + shown(*smarthost) + " (\"host:port\" or \"[ip]:port\")");
    s.smarthost = joinHostPort(host, hp->port);
  }
  if (auto tls = valueOf(v, "TLSRELAY_SMARTHOST_TLS")) {
    s.smarthost_tls = lowerAscii(*tls);
    if (s.smarthost_tls != "starttls" && s.smarthost_tls != "implicit" && s.smarthost_tls != "auto")
      return variableError("TLSRELAY_SMARTHOST_TLS",
                           "expected starttls, implicit or auto, got " + shown(*tls));
    if (!smarthost) return variableError("TLSRELAY_SMARTHOST_TLS", "needs TLSRELAY_SMARTHOST");
  }
  auto user = valueOf(v, "TLSRELAY_SMARTHOST_USER");
  auto password = valueOf(v, "TLSRELAY_SMARTHOST_PASSWORD");
  if (!user && !password) return okStatus();
  if (!user) return variableError("TLSRELAY_SMARTHOST_PASSWORD", "needs TLSRELAY_SMARTHOST_USER");
  if (!password) return variableError("TLSRELAY_SMARTHOST_USER", "needs TLSRELAY_SMARTHOST_PASSWORD");
  if (!smarthost) return variableError("TLSRELAY_SMARTHOST_USER", "needs TLSRELAY_SMARTHOST");
  // The file is "user:password": the first colon ends the user name.
  if (user->find(':') != std::string::npos)
    return variableError("TLSRELAY_SMARTHOST_USER", "must not contain ':'");
  auto dir = secretsDirectory(defaults);
  if (!dir.ok()) return dir.error();
  s.smarthost_auth_file = *dir + "/smarthost.auth";
  secrets.push_back({s.smarthost_auth_file, *user + ":" + *password + "\n", 0600});
  return okStatus();
}

Status readAdmin(const Values& v, const EnvironmentDefaults& defaults, Settings& s,
                 std::vector<SecretFile>& secrets) {
  if (auto listen = valueOf(v, "TLSRELAY_ADMIN_LISTEN")) {
    if (lowerAscii(*listen) == "off") {
      s.admin_listen.clear();
    } else {
      auto hp = parseListenAddress(*listen);
      if (!hp.ok())
        return variableError("TLSRELAY_ADMIN_LISTEN", shown(*listen) + ": " + hp.error().message +
                                                          " (0.0.0.0:8025, [::]:8025), or off");
      s.admin_listen = joinHostPort(hp->host, hp->port);
    }
  }
  auto token = valueOf(v, "TLSRELAY_ADMIN_TOKEN");
  if (!token) return okStatus();
  if (s.admin_listen.empty()) return variableError("TLSRELAY_ADMIN_TOKEN", "needs the admin endpoint on");
  // The checks of [admin] bearer_token_file, without quoting the value.
  if (!isBearerToken(*token))
    return variableError("TLSRELAY_ADMIN_TOKEN", "must be " + std::string(kBearerTokenRule));
  auto dir = secretsDirectory(defaults);
  if (!dir.ok()) return dir.error();
  s.admin_token_file = *dir + "/admin.token";
  secrets.push_back({s.admin_token_file, *token + "\n", 0600});
  return okStatus();
}

Status readTls(const Values& v, const EnvironmentDefaults& defaults, Settings& s) {
  auto cert = valueOf(v, "TLSRELAY_TLS_CERT");
  auto key = valueOf(v, "TLSRELAY_TLS_KEY");
  if (cert) {
    auto path = absolutePath("TLSRELAY_TLS_CERT", *cert);
    if (!path.ok()) return path.error();
    s.tls_certificate = s.tls_key = *path;  // a combined PEM unless TLSRELAY_TLS_KEY says otherwise
  } else {
    s.tls_certificate = defaults.tls_certificate;
    s.tls_key = defaults.tls_key.empty() ? defaults.tls_certificate : defaults.tls_key;
  }
  if (key) {
    auto path = absolutePath("TLSRELAY_TLS_KEY", *key);
    if (!path.ok()) return path.error();
    if (s.tls_certificate.empty()) return variableError("TLSRELAY_TLS_KEY", "needs TLSRELAY_TLS_CERT");
    s.tls_key = *path;
  }
  if (s.tls_certificate.empty())
    for (const auto& l : s.listeners)
      if (l.implicit)
        return variableError("TLSRELAY_LISTEN",
                             l.address + "/implicit needs a certificate (TLSRELAY_TLS_CERT)");
  return okStatus();
}

Status readDirectories(const Values& v, const EnvironmentDefaults& defaults, Settings& s) {
  auto spool =
      absolutePath("TLSRELAY_SPOOL_DIR", valueOf(v, "TLSRELAY_SPOOL_DIR").value_or(defaults.spool_dir));
  if (!spool.ok()) return spool.error();
  s.spool_dir = *spool;
  while (s.spool_dir.size() > 1 && s.spool_dir.back() == '/') s.spool_dir.pop_back();
  std::string policy = valueOf(v, "TLSRELAY_POLICY_DIR").value_or(defaults.policy_dir);
  if (!policy.empty()) {
    auto path = absolutePath("TLSRELAY_POLICY_DIR", policy);
    if (!path.ok()) return path.error();
    s.policy_dir = *path;
  }
  return okStatus();
}

// Every variable into `s`; the first mistake ends it.
Status readSettings(const Values& v, const EnvironmentDefaults& defaults, Settings& s,
                    std::vector<SecretFile>& secrets) {
  if (auto hostname = valueOf(v, "TLSRELAY_HOSTNAME")) {
    s.hostname = normalizeDomain(*hostname);
    if (!isLdhDomain(s.hostname))
      return variableError("TLSRELAY_HOSTNAME", "bad host name " + shown(*hostname));
  }
  if (auto st = readListeners("TLSRELAY_LISTEN", valueOf(v, "TLSRELAY_LISTEN").value_or(defaults.listen), s);
      !st.ok())
    return st;
  if (auto networks = valueOf(v, "TLSRELAY_RELAY_NETWORKS"))
    if (auto st = readRelayNetworks("TLSRELAY_RELAY_NETWORKS", *networks, s); !st.ok()) return st;
  if (auto domains = valueOf(v, "TLSRELAY_ALLOWED_SENDER_DOMAINS"))
    if (auto st = readDomains("TLSRELAY_ALLOWED_SENDER_DOMAINS", *domains, s); !st.ok()) return st;
  if (auto st = readSmarthost(v, defaults, s, secrets); !st.ok()) return st;
  if (auto st = readTls(v, defaults, s); !st.ok()) return st;
  if (auto st = readDirectories(v, defaults, s); !st.ok()) return st;
  if (auto st = readAdmin(v, defaults, s, secrets); !st.ok()) return st;
  if (auto level = valueOf(v, "TLSRELAY_LOG_LEVEL")) {
    s.log_level = lowerAscii(*level);
    if (s.log_level != "debug" && s.log_level != "info" && s.log_level != "warn" && s.log_level != "error")
      return variableError("TLSRELAY_LOG_LEVEL", "expected debug, info, warn or error, got " + shown(*level));
  }
  return okStatus();
}

// The embedded default (default_config.cc) section by section, with the
// values from the environment in; every string goes through quoted().
std::string render(const Settings& s) {
  std::ostringstream t;
  t << "# relay.toml generated by `tlsrelay config from-env` from the container's\n"
       "# TLSRELAY_* environment variables (docs/configuration.md, \"Container\n"
       "# environment variables\"). It is made again at every start: change the\n"
       "# variables, not this file. A hand-written /etc/tlsrelay/relay.toml takes\n"
       "# precedence over it.\n\n";

  t << "[server]\n";
  if (s.hostname.empty())
    t << "# hostname: TLSRELAY_HOSTNAME is not set, so the container's host name is used.\n";
  else
    t << "hostname = " << quoted(s.hostname) << "\n";
  if (s.allowed_sender_domains)
    t << "allowed_sender_domains = " << quotedList(*s.allowed_sender_domains) << "\n";

  t << "\n# TLSRELAY_LISTEN\n";
  for (const auto& l : s.listeners)
    t << "[[listener]]\naddress = " << quoted(l.address)
      << "\ntls = " << quoted(l.implicit ? "implicit" : "starttls") << "\n";

  t << "\n[tls]\n";
  if (s.tls_certificate.empty()) {
    t << "# No certificate: STARTTLS is not offered.\n";
  } else {
    t << "certificate = " << quoted(s.tls_certificate) << "\n";
    if (s.tls_key != s.tls_certificate) t << "key = " << quoted(s.tls_key) << "\n";
  }
  t << "min_tls_version = \"TLSv1.2\"\n";

  t << "\n# Loopback (127.0.0.0/8, ::1) may always relay and everybody else may not:\n"
       "# those built-in rules follow the ones below.\n";
  if (!s.relay_networks.empty())
    t << "# TLSRELAY_RELAY_NETWORKS\n[[source]]\ncidr = " << quotedList(s.relay_networks)
      << "\nrelay = true\n";

  t << "\n[limits]\n"
       "max_message_size = \"50M\"\n"
       "max_recipients = 1000\n"
       "max_errors = 10\n"
       "max_connections = 1000\n";

  t << "\n[spool]\ndirectory = " << quoted(s.spool_dir) << "\n";
  t << "\n[auth]\n# AUTH users are not configured from the environment: AUTH is off.\nusers_file = \"\"\n";

  t << "\n[dns]\n"
       "# Empty: the nameserver lines of /etc/resolv.conf.\n"
       "resolvers = []\n"
       "dnssec = \"trust-ad\"\n"
       "trust_anchor_file = \"/usr/share/dns/root.key\"\n";

  t << "\n[mta_sts]\n"
       "enabled = true\n"
       "exempt = []\n"
       "connect_timeout = \"10s\"\n"
       "fetch_timeout = \"30s\"\n"
       "refresh_before = \"1h\"\n";

  t << "\n[policy]\ndirectory = " << quoted(s.policy_dir) << "\n"
    << "ca_bundle = \"/etc/ssl/certs/ca-certificates.crt\"\n";

  t << "\n[delivery]\n";
  if (s.smarthost.empty()) {
    t << "# No TLSRELAY_SMARTHOST: mail goes to each domain's MX hosts.\n";
  } else {
    t << "smarthost = " << quoted(s.smarthost) << "\n";
    if (!s.smarthost_tls.empty()) t << "smarthost_tls = " << quoted(s.smarthost_tls) << "\n";
    if (!s.smarthost_auth_file.empty())
      t << "# user:password, from TLSRELAY_SMARTHOST_USER and TLSRELAY_SMARTHOST_PASSWORD\n"
        << "smarthost_auth_file = " << quoted(s.smarthost_auth_file) << "\n";
  }
  t << "max_connections_per_destination = 10\n"
       "max_messages_per_connection = 100\n";

  t << "\n[retry]\n"
       "initial = \"5m\"\n"
       "multiplier = 2.0\n"
       "max_interval = \"4h\"\n"
       "max_lifetime = \"5d\"\n"
       "delay_notice = \"4h\"\n";

  t << "\n[dkim]\n# DKIM signing is not configured from the environment: use a hand-written relay.toml.\n";
  t << "\n[reporting]\nenabled = true\n";
  if (s.admin_listen.empty()) {
    t << "\n# TLSRELAY_ADMIN_LISTEN=off: no admin endpoint.\n";
  } else {
    t << "\n# TLSRELAY_ADMIN_LISTEN\n[admin]\nlisten = " << quoted(s.admin_listen) << "\n";
    if (!s.admin_token_file.empty())
      t << "# from TLSRELAY_ADMIN_TOKEN\nbearer_token_file = " << quoted(s.admin_token_file) << "\n";
  }
  t << "\n[accounting]\ndirectory = " << quoted(s.spool_dir + "/accounting") << "\n";
  t << "\n[logging]\nlevel = " << quoted(s.log_level) << "\n";
  return t.str();
}

}  // namespace

const std::vector<std::string>& environmentVariableNames() {
  static const std::vector<std::string> names = {"TLSRELAY_HOSTNAME",       "TLSRELAY_LISTEN",
                                                 "TLSRELAY_RELAY_NETWORKS", "TLSRELAY_ALLOWED_SENDER_DOMAINS",
                                                 "TLSRELAY_SMARTHOST",      "TLSRELAY_SMARTHOST_TLS",
                                                 "TLSRELAY_SMARTHOST_USER", "TLSRELAY_SMARTHOST_PASSWORD",
                                                 "TLSRELAY_TLS_CERT",       "TLSRELAY_TLS_KEY",
                                                 "TLSRELAY_SPOOL_DIR",      "TLSRELAY_POLICY_DIR",
                                                 "TLSRELAY_LOG_LEVEL",      "TLSRELAY_ADMIN_LISTEN",
                                                 "TLSRELAY_ADMIN_TOKEN"};
  return names;
}

Result<EnvironmentConfig> configFromEnvironment(const Environment& env, const EnvironmentDefaults& defaults,
                                                const SecretFileReader& read_file) {
  Reader reader(env, read_file);
  auto values = readValues(reader);
  if (!values.ok()) return values.error();
  Settings settings;
  EnvironmentConfig out;
  if (auto st = readSettings(*values, defaults, settings, out.secrets); !st.ok()) return st.error();
  out.toml = render(settings);
  out.ignored = reader.ignored();
  return out;
}

}  // namespace tlsrelay
