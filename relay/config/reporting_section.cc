#include "relay/config/reporting_section.h"

#include <algorithm>
#include <charconv>

#include "common/ascii.h"
#include "relay/config/config_paths.h"

namespace tlsrelay {
namespace {

std::optional<std::string> readText(tomlcfg::TableReader& r, std::string_view key, size_t max) {
  auto text = r.getString(key);
  if (!text) return std::nullopt;
  if (text->empty() || text->size() > max || printableAscii(*text, max) != *text) {
    r.error(key, "must be 1 to " + std::to_string(max) + " printable ASCII characters");
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> readMailbox(tomlcfg::TableReader& r, std::string_view key) {
  auto address = r.getString(key);
  if (!address) return std::nullopt;
  if (!isPlainMailbox(*address)) {
    r.error(key, "\"" + printableAscii(*address, 80) + "\" is not a plain address (local@domain)");
    return std::nullopt;
  }
  return lowerAscii(*address);
}

// A PostgreSQL URI's ports (host[:port], comma-separated, IPv6 in brackets),
// checked here because a typo would otherwise surface only when the relay
// first writes a count.
bool validPostgresPorts(std::string_view uri) {
  std::string_view authority = uri.substr(uri.find("//") + 2);
  authority = authority.substr(0, authority.find_first_of("/?"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  while (true) {
    std::string_view host = authority.substr(0, authority.find(','));
    size_t colon = host.rfind(':');
    if (colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos) {
      std::string_view port = host.substr(colon + 1);
      int value = 0;
      auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
      if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) return false;
    }
    if (host.size() == authority.size()) return true;
    authority.remove_prefix(host.size() + 1);
  }
}

// [reporting] store: a postgresql:// or postgres:// URI (the store a fleet
// shares; libpq reads it) or a SQLite file path. A URI is never echoed in an
// error: it may hold the password.
void readReportStore(tomlcfg::TableReader& r, ReportingConfig& reporting, const std::string& base_dir) {
  auto value = r.getString("store");
  if (!value) return;
  const std::string lower = lowerAscii(*value);
  if (lower.rfind("postgresql:", 0) != 0 && lower.rfind("postgres:", 0) != 0) {
    if (auto path = readConfigPath(r, "store", base_dir)) reporting.store = *path;
    return;
  }
  if (value->rfind("postgresql://", 0) != 0 && value->rfind("postgres://", 0) != 0)
    r.error("store", "a PostgreSQL store is a URI that starts with postgresql:// or postgres:// (lowercase)");
  else if (std::any_of(value->begin(), value->end(),
                       [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }))
    r.error("store", "spaces or control characters in the PostgreSQL URI");
  else if (!validPostgresPorts(*value))
    r.error("store", "bad port in the PostgreSQL URI (expected 1-65535)");
  else
    reporting.store = *value;
}

void readReportingSendKeys(tomlcfg::TableReader& r, ReportingConfig& cfg, const std::string& base_dir) {
  if (auto send = r.getBool("send")) cfg.send = *send;
  if (auto name = readText(r, "organization_name", 200)) cfg.organization_name = *name;
  if (auto submitter = r.getString("submitter")) {
    if (!isLdhDomain(*submitter))
      r.error("submitter", "must be a domain name (RFC 8460 §5.3 TLS-Report-Submitter)");
    else
      cfg.submitter = lowerAscii(*submitter);
  }
  if (auto contact = readText(r, "contact_info", 200)) cfg.contact_info = *contact;
  if (auto from = readMailbox(r, "from")) cfg.from = *from;
  if (auto node = readText(r, "node", 100)) cfg.node = *node;
  if (auto after = r.getDuration("send_after")) cfg.send_after = *after;
  if (auto window = r.getDuration("send_window")) cfg.send_window = *window;
  if (cfg.send_window.count() < 60) r.error("send_window", "must be at least 1m");
  // A day's report must leave on the next day: receivers read reports per day.
  if (cfg.send_after.count() + cfg.send_window.count() > 23 * 3600)
    r.error(r.contains("send_window") ? "send_window" : "send_after",
            "send_after + send_window must end by 23:00 UTC");
  if (auto lease = r.getDuration("claim_timeout")) {
    if (lease->count() < 10)
      r.error("claim_timeout", "must be at least 10s");
    else
      cfg.claim_timeout = *lease;
  }
  if (r.contains("https_ca_bundle"))
    if (auto bundle = readConfigPath(r, "https_ca_bundle", base_dir)) cfg.https_ca_bundle = *bundle;
  if (auto ingest = readMailbox(r, "ingest_address")) cfg.ingest_address = *ingest;
}

}  // namespace

void readReportingSection(tomlcfg::TableReader& r, ReportingConfig& cfg, const std::string& base_dir) {
  if (auto enabled = r.getBool("enabled")) cfg.enabled = *enabled;
  readReportStore(r, cfg, base_dir);
  readReportingSendKeys(r, cfg, base_dir);
}

void finishReportingDefaults(ReportingConfig& cfg, const std::string& hostname,
                             const std::string& ca_bundle) {
  if (cfg.submitter.empty()) cfg.submitter = lowerAscii(hostname);
  if (cfg.organization_name.empty()) cfg.organization_name = cfg.submitter;
  if (cfg.contact_info.empty()) cfg.contact_info = "postmaster@" + cfg.submitter;
  if (cfg.from.empty()) cfg.from = "tlsrpt-noreply@" + cfg.submitter;
  if (cfg.node.empty()) cfg.node = hostname;
  if (cfg.https_ca_bundle.empty()) cfg.https_ca_bundle = ca_bundle;
}

std::string malformedReportDirectory(const std::string& spool_directory) {
  return spool_directory + "/tls-reports-malformed";
}

}  // namespace tlsrelay
