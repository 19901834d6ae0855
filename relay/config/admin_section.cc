#include "relay/config/admin_section.h"

#include <cctype>
#include <fstream>

#include "common/cidr.h"
#include "common/host_port.h"
#include "relay/config/config_paths.h"

namespace tlsrelay {

void readAdminSection(tomlcfg::TableReader& r, AdminConfig& cfg, const std::string& base_dir) {
  cfg.enabled = r.getBool("enabled").value_or(true);
  if (auto listen = r.getString("listen")) {
    auto hp = parseListenAddress(*listen);
    if (!hp)
      r.error("listen",
              "bad address '" + *listen + "': " + hp.error().message + " (127.0.0.1:8025, [::1]:8025)");
    else
      cfg.listen = joinHostPort(hp->host, hp->port);
  }
  if (auto path = readConfigPath(r, "bearer_token_file", base_dir)) cfg.bearer_token_file = *path;
  if (auto path = readConfigPath(r, "certificate", base_dir)) cfg.certificate = *path;
  if (auto path = readConfigPath(r, "key", base_dir)) cfg.key = *path;
  if (!cfg.key.empty() && cfg.certificate.empty()) r.error("key", "needs certificate");
  if (cfg.key.empty()) cfg.key = cfg.certificate;
  if (auto path = r.getString("report_path")) {
    if (!path->empty() &&
        ((*path)[0] != '/' || hasControlCharacters(*path) || path->find_first_of(" ?#") != std::string::npos))
      r.error("report_path", "must be an absolute URL path such as /tlsrpt (or \"\" for none)");
    else if (*path == "/healthz" || *path == "/readyz" || *path == "/metrics" ||
             path->rfind("/api/", 0) == 0 || *path == "/")
      r.error("report_path", "'" + *path + "' is one of the endpoint's own paths");
    else
      cfg.report_path = *path;
  }
  r.reportUnknownKeys();
}

Result<std::string> readBearerTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return makeError("cannot read " + path);
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (!isBearerToken(line))
    return makeError(path + ": the first line must be a bearer token: " + std::string(kBearerTokenRule));
  return line;
}

bool isBearerToken(std::string_view text) {
  const size_t end = text.find_last_not_of('=');
  if (text.size() < 16 || end == std::string_view::npos) return false;
  for (char c : text.substr(0, end + 1))
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string_view("-._~+/").find(c) == std::string_view::npos)
      return false;
  return true;
}

bool adminListensBeyondLoopback(const AdminConfig& cfg) {
  auto hp = parseHostPort(cfg.listen, 0);
  if (!hp) return false;
  auto ip = IpAddress::parse(hp->host);
  return ip && !ip->isLoopback();
}

}  // namespace tlsrelay
