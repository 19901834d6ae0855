// Parsing, inheritance and lookup of per-domain TLS policy files; see domain_policy.h.
#include "policy/domain_policy.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <sstream>

#include "common/ascii.h"
#include "common/host_port.h"
#include "common/toml_reader.h"

namespace tlsrelay {
namespace {

bool validLabel(std::string_view label) {
  if (label.empty() || label.size() > 63) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  return std::all_of(label.begin(), label.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

bool validHostName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    if (!validLabel(name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start)))
      return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool validDomainPattern(std::string_view pattern) {
  if (pattern == "*") return true;
  if (pattern.substr(0, 2) == "*.") return validHostName(pattern.substr(2));
  return validHostName(pattern);
}

std::optional<std::string> canonicalTlsVersion(std::string_view text) {
  std::string v = normalizeDomain(text);  // lower-case is all we need here
  if (v == "tlsv1.2" || v == "1.2") return std::string("TLSv1.2");
  if (v == "tlsv1.3" || v == "1.3") return std::string("TLSv1.3");
  return std::nullopt;
}

bool hasControlCharacters(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::string resolvePath(const std::string& path, const std::string& base_dir) {
  if (path.empty() || base_dir.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

std::optional<std::string> readPathKey(tomlcfg::TableReader& reader, std::string_view key,
                                       const std::string& base_dir) {
  auto value = reader.getString(key);
  if (!value) return std::nullopt;
  if (value->empty() || hasControlCharacters(*value)) {
    reader.error(key, "expected a file path");
    return std::nullopt;
  }
  return resolvePath(*value, base_dir);
}

}  // namespace

const char* toString(NextHopTls mode) {
  switch (mode) {
    case NextHopTls::Auto:
      return "auto";
    case NextHopTls::StartTls:
      return "starttls";
    case NextHopTls::Implicit:
      return "implicit";
  }
  return "auto";
}

std::optional<NextHopTls> parseNextHopTls(std::string_view text) {
  std::string v = lowerAscii(text);
  if (v == "auto") return NextHopTls::Auto;
  if (v == "starttls") return NextHopTls::StartTls;
  if (v == "implicit") return NextHopTls::Implicit;
  return std::nullopt;
}

DomainPolicy builtinDefaultPolicy() {
  return DomainPolicy{};
}

std::optional<PolicyFile> parsePolicyFile(std::string_view toml, const std::string& name,
                                          const std::string& base_dir, std::vector<ConfigError>& errors) {
  size_t errors_before = errors.size();
  auto document = tomlcfg::parseDocument(toml, name, errors);
  if (!document) return std::nullopt;

  tomlcfg::TableReader reader(*document, name, "", errors);
  PolicyFile file;
  file.file = name;
  file.source = name;

  if (auto domain = reader.getString("domain")) {
    file.domain = normalizeDomain(*domain);
    file.domain_line = reader.lineOf("domain");
    if (!validDomainPattern(file.domain))
      reader.error("domain",
                   "bad domain '" + *domain + "' (use \"example.com\", \"*.example.com\" or \"*\")");
  } else if (!document->contains("domain")) {
    errors.push_back({name, 1, "domain", "missing (every policy file names its domain)"});
  }

  file.use_starttls = reader.getBool("use_starttls");
  file.require_starttls = reader.getBool("require_starttls");
  if (auto verify = reader.getString("verify")) {
    std::string v = normalizeDomain(*verify);
    if (v == "none")
      file.verify = VerifyMode::None;
    else if (v == "pkix")
      file.verify = VerifyMode::Pkix;
    else if (v == "dane")
      file.verify = VerifyMode::Dane;
    else
      reader.error("verify", "expected \"none\", \"pkix\" or \"dane\", got '" + *verify + "'");
  }
  // Contradictions written in one file are mistakes, not something to guess about.
  if (file.use_starttls == false && file.require_starttls == true)
    reader.error("require_starttls", "contradicts use_starttls = false");
  const bool verifies = file.verify && *file.verify != VerifyMode::None;
  const std::string verify_name = verifies ? "\"" + std::string(toString(*file.verify)) + "\"" : "";
  if (verifies && file.use_starttls == false)
    reader.error("verify", verify_name + " contradicts use_starttls = false");
  if (verifies && file.require_starttls == false)
    reader.error(
        "verify",
        verify_name + " contradicts require_starttls = false (verification implies TLS is required)");

  file.client_certificate = readPathKey(reader, "client_certificate", base_dir);
  file.client_key = readPathKey(reader, "client_key", base_dir);
  if (file.client_key && !file.client_certificate && !document->contains("client_certificate"))
    reader.error("client_key", "client_key needs client_certificate");

  if (auto ciphers = reader.getString("ciphers")) {
    if (hasControlCharacters(*ciphers))
      reader.error("ciphers", "control characters in cipher list");
    else
      file.ciphers = *ciphers;
  }
  if (auto version = reader.getString("min_tls_version")) {
    if (auto canonical = canonicalTlsVersion(*version))
      file.min_tls_version = *canonical;
    else
      reader.error("min_tls_version", "expected \"TLSv1.2\" or \"TLSv1.3\", got '" + *version + "'");
  }
  file.require_tls_out = reader.getCidrList("require_tls_out");
  file.require_tls_except = reader.getCidrList("require_tls_except");
  if (auto hop = reader.getString("next_hop")) {
    if (hop->empty()) {
      file.next_hop = "";
    } else if (auto hp = parseHostPort(*hop, 25); !hp.ok() || hp->port == 0 || hasControlCharacters(*hop)) {
      reader.error("next_hop", "bad next hop '" + *hop + "' (\"host:port\" or \"[ip]:port\")");
    } else {
      file.next_hop = joinHostPort(hp->host, hp->port);
    }
  }
  if (auto mode = reader.getString("next_hop_tls")) {
    file.next_hop_tls = parseNextHopTls(*mode);
    if (!file.next_hop_tls)
      reader.error("next_hop_tls", "expected \"auto\", \"starttls\" or \"implicit\", got '" + *mode + "'");
    else if (!file.next_hop)
      reader.error("next_hop_tls", "needs next_hop in the same file");
  }
  if (file.domain == "*" && file.next_hop && !file.next_hop->empty())
    reader.error("next_hop", "the `*` policy cannot route all mail; use [delivery] smarthost in relay.toml");
  reader.reportUnknownKeys();

  if (errors.size() != errors_before) return std::nullopt;
  return file;
}

Result<PolicyFile> parsePolicyFile(std::string_view toml, const std::string& name,
                                   const std::string& base_dir) {
  std::vector<ConfigError> errors;
  auto file = parsePolicyFile(toml, name, base_dir, errors);
  if (!file) return makeError(joinConfigErrors(errors));
  return std::move(*file);
}

DomainPolicy resolvePolicy(const PolicyFile& file, const DomainPolicy& parent) {
  DomainPolicy out = parent;
  out.domain = file.domain;
  out.source = file.source;

  if (file.use_starttls || file.require_starttls || file.verify) {
    out.verify = file.verify.value_or(VerifyMode::None);
    out.require_starttls = file.require_starttls.value_or(false) || out.verify != VerifyMode::None;
    out.use_starttls = file.use_starttls.value_or(true) || out.require_starttls;
  }
  if (file.client_certificate || file.client_key) {
    out.client_certificate = file.client_certificate.value_or("");
    out.client_key = file.client_key.value_or(out.client_certificate);
  }
  if (file.ciphers) out.ciphers = *file.ciphers;
  if (file.min_tls_version) out.min_tls_version = *file.min_tls_version;
  if (file.require_tls_out || file.require_tls_except) {
    out.require_tls_out = file.require_tls_out.value_or(std::vector<Cidr>{});
    out.require_tls_except = file.require_tls_except.value_or(std::vector<Cidr>{});
  }
  if (file.next_hop) {
    out.next_hop = *file.next_hop;
    out.next_hop_tls = file.next_hop_tls.value_or(NextHopTls::Auto);
  }
  return out;
}

Result<DomainPolicy> parsePolicyString(std::string_view toml, const std::string& name) {
  auto file = parsePolicyFile(toml, name);
  if (!file) return file.error();
  return resolvePolicy(*file, builtinDefaultPolicy());
}

PolicySet::PolicySet() : default_(builtinDefaultPolicy()) {}

Result<PolicySet> PolicySet::build(const std::vector<PolicyFile>& files) {
  std::vector<ConfigError> errors;
  std::map<std::string, const PolicyFile*> seen;
  const PolicyFile* wildcard = nullptr;
  for (const auto& file : files) {
    auto [it, inserted] = seen.emplace(file.domain, &file);
    if (!inserted) {
      errors.push_back({file.file, file.domain_line, "domain",
                        "domain '" + file.domain + "' is already configured in " + it->second->file});
      continue;
    }
    if (file.domain == "*") wildcard = &file;
  }
  if (!errors.empty()) return makeError(joinConfigErrors(errors));

  PolicySet set;
  if (wildcard) set.default_ = resolvePolicy(*wildcard, builtinDefaultPolicy());
  for (const auto& file : files) {
    if (&file == wildcard) continue;
    DomainPolicy policy = resolvePolicy(file, set.default_);
    if (file.domain.substr(0, 2) == "*.") {
      set.suffix_.emplace(file.domain.substr(2), std::move(policy));
    } else {
      set.exact_.emplace(file.domain, std::move(policy));
    }
  }
  return set;
}

const DomainPolicy& PolicySet::match(std::string_view domain) const {
  std::string name = normalizeDomain(domain);
  if (name.empty()) return default_;
  if (auto it = exact_.find(name); it != exact_.end()) return it->second;
  // Strip one label at a time: the first hit is the longest matching suffix.
  for (size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1)) {
    if (auto it = suffix_.find(std::string_view(name).substr(dot + 1)); it != suffix_.end())
      return it->second;
  }
  return default_;
}

}  // namespace tlsrelay
