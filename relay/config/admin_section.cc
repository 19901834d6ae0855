#include "relay/config/admin_section.h"

#include <fstream>

#include "common/cidr.h"
#include "common/host_port.h"
#include "relay/config/config_paths.h"

namespace tlsrelay {

void readAdminSection(tomlcfg::TableReader& r, AdminConfig& cfg, const std::string& base_dir) {
  cfg.enabled = r.getBool("enabled").value_or(true);
  if (auto listen = r.getString("listen")) {
    auto hp = parseHostPort(*listen, 0);
    if (!hp)
      r.error("listen", "bad address '" + *listen + "': " + hp.error().message);
    else if (hp->port == 0)
      r.error("listen", "bad address '" + *listen + "': a port is required, e.g. 127.0.0.1:8025");
    else if (!IpAddress::parse(hp->host))
      r.error("listen", "bad address '" + *listen + "': the host must be an IP literal (127.0.0.1, [::1])");
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
  size_t end = line.find_last_not_of('=');
  bool token68 = end != std::string::npos;
  for (size_t i = 0; token68 && i <= end; ++i) {
    char c = line[i];
    token68 = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("-._~+/").find(c) != std::string_view::npos;
  }
  if (!token68) return makeError(path + ": the first line must be a bearer token (letters, digits, -._~+/)");
  if (line.size() < 16) return makeError(path + ": the token is shorter than 16 characters");
  return line;
}

bool adminListensBeyondLoopback(const AdminConfig& cfg) {
  auto hp = parseHostPort(cfg.listen, 0);
  if (!hp) return false;
  auto ip = IpAddress::parse(hp->host);
  return ip && !ip->isLoopback();
}

}  // namespace tlsrelay
