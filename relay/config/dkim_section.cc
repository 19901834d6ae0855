#include "relay/config/dkim_section.h"

#include <set>

#include "common/ascii.h"
#include "relay/config/config_paths.h"

namespace tlsrelay {
namespace {

bool isLabelList(std::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.' || text.find("..") != std::string_view::npos)
    return false;
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::optional<std::vector<std::string>> readFieldNames(tomlcfg::TableReader& r, std::string_view key) {
  auto list = r.getStringList(key);
  if (!list) return std::nullopt;
  for (const std::string& name : *list) {
    if (!isFieldNameToken(name)) {
      r.error(key, "\"" + name + "\" is not a header field name");
      return std::nullopt;
    }
  }
  return list;
}

bool readCanonicalization(tomlcfg::TableReader& r, DkimConfig& cfg) {
  auto text = r.getString("canonicalization");
  if (!text) return true;
  std::string v = lowerAscii(*text);
  size_t slash = v.find('/');
  std::string header = v.substr(0, slash);
  std::string body = slash == std::string::npos ? "simple" : v.substr(slash + 1);  // RFC 6376 §3.5 c=
  auto known = [](const std::string& c) { return c == "simple" || c == "relaxed"; };
  if (!known(header) || !known(body)) {
    r.error("canonicalization", "must be simple or relaxed, for header/body (e.g. \"relaxed/relaxed\")");
    return false;
  }
  cfg.header_relaxed = header == "relaxed";
  cfg.body_relaxed = body == "relaxed";
  return true;
}

void readSigningEntry(tomlcfg::TableReader& r, DkimConfig& cfg, const std::string& base_dir) {
  DkimSigningConfig entry;
  entry.line = r.tableLine();
  if (auto domain = r.getString("domain")) {
    entry.domain = normalizeDomain(*domain);
    if (!isLabelList(entry.domain)) r.error("domain", "bad domain \"" + *domain + "\"");
  } else if (!r.contains("domain")) {
    r.error("domain", "missing (the d= of the signature)");
  }
  if (auto selector = r.getString("selector")) {
    entry.selector = lowerAscii(*selector);
    if (!isLabelList(entry.selector)) r.error("selector", "bad selector \"" + *selector + "\"");
  } else if (!r.contains("selector")) {
    r.error("selector", "missing (the s= of the signature)");
  }
  if (auto path = readConfigPath(r, "key_file", base_dir)) {
    entry.key_file = *path;
  } else if (!r.contains("key_file")) {
    r.error("key_file", "missing (make one with: tlsrelay dkim keygen)");
  }
  for (const char* key : {"from", "to"}) {
    auto list = r.getStringList(key);
    if (!list) continue;
    for (std::string& pattern : *list) {
      if (pattern.find('@') == std::string::npos) {
        r.error(key, "\"" + pattern + "\" is not an address pattern (write *@" + pattern + ")");
        continue;
      }
      (std::string_view(key) == "from" ? entry.from : entry.to).push_back(lowerAscii(pattern));
    }
  }
  for (const DkimSigningConfig& other : cfg.sign) {
    if (other.domain == entry.domain && other.selector == entry.selector)
      r.error("selector", "domain " + entry.domain + " already has an entry with selector " + entry.selector);
  }
  r.reportUnknownKeys();
  cfg.sign.push_back(std::move(entry));
}

}  // namespace

void readDkimSection(tomlcfg::TableReader& r, DkimConfig& cfg, const std::string& base_dir) {
  readCanonicalization(r, cfg);
  if (auto headers = readFieldNames(r, "headers")) {
    bool has_from = false;
    for (const std::string& h : *headers) has_from = has_from || equalsIgnoreCase(h, "From");
    if (!has_from)
      r.error("headers", "must include From (RFC 6376 §5.4)");
    else
      cfg.headers = *headers;
  }
  if (auto oversign = readFieldNames(r, "oversign")) cfg.oversign = *oversign;
  if (auto ttl = r.getDuration("expire_after")) cfg.expire_after = *ttl;
  for (const toml::table* t : r.getArrayOfTables("sign")) {
    tomlcfg::TableReader entry(*t, r.file(), r.qualified("sign"), r.errors());
    readSigningEntry(entry, cfg, base_dir);
  }
  if (const toml::table* t = r.getTable("verify")) {
    tomlcfg::TableReader v(*t, r.file(), r.qualified("verify"), r.errors());
    cfg.authentication_results = v.getBool("authentication_results").value_or(cfg.authentication_results);
    cfg.verify_authenticated = v.getBool("verify_authenticated").value_or(cfg.verify_authenticated);
    if (auto id = v.getString("authserv_id")) {
      if (!isLabelList(lowerAscii(*id)))
        v.error("authserv_id", "must be a host name");
      else
        cfg.authserv_id = *id;
    }
    v.reportUnknownKeys();
  }
  r.reportUnknownKeys();
}

}  // namespace tlsrelay
