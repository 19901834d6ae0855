#include "relay/ops/dkim_setup.h"

#include <sys/stat.h>

#include "common/cidr.h"
#include "common/file_read.h"
#include "common/log.h"
#include "relay/config/source_rules.h"

namespace tlsrelay {
namespace {

dkim::SignOptions signOptions(const DkimConfig& cfg) {
  dkim::SignOptions o;
  o.header_canon = cfg.header_relaxed ? dkim::Canonicalization::Relaxed : dkim::Canonicalization::Simple;
  o.body_canon = cfg.body_relaxed ? dkim::Canonicalization::Relaxed : dkim::Canonicalization::Simple;
  o.headers = cfg.headers;
  o.oversign = cfg.oversign ? *cfg.oversign : dkim::defaultOversignedHeaders();
  o.expire_after = cfg.expire_after;
  return o;
}

}  // namespace

std::string keyFilePermissionProblem(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  if ((st.st_mode & 077) == 0) return "";
  char mode[8];
  std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
  return path + " is readable by group or others (mode " + mode + "); chmod 600 it";
}

Result<std::vector<dkim::SigningStage::KeyedEntry>> loadDkimSigners(const RelayConfig& cfg) {
  std::vector<dkim::SigningStage::KeyedEntry> out;
  for (const DkimSigningConfig& entry : cfg.dkim.sign) {
    std::string where = cfg.source_file + ":" + std::to_string(entry.line) + ": dkim.sign (" + entry.domain +
                        ", selector " + entry.selector + "): ";
    auto pem = readWholeFile(entry.key_file, 64 * 1024);
    if (!pem.ok()) return makeError(where + pem.error().message);
    if (std::string problem = keyFilePermissionProblem(entry.key_file); !problem.empty())
      log::warn("dkim", problem);
    dkim::SigningKey key{entry.domain, entry.selector, std::move(*pem)};
    auto signer = dkim::Signer::create(std::move(key), signOptions(cfg.dkim));
    if (!signer.ok()) return makeError(where + entry.key_file + ": " + signer.error().message);
    dkim::SigningEntry rule{entry.domain, entry.selector, entry.from, entry.to};
    out.push_back({std::move(rule), std::shared_ptr<const dkim::Signer>(std::move(*signer))});
  }
  return out;
}

dkim::SigningStage::SourceCheck signingSourceCheck(std::shared_ptr<const RelayConfig> cfg) {
  return [cfg = std::move(cfg)](const Envelope& env) {
    if (!env.auth_user.empty() || env.client_ip == "local") return true;
    auto ip = IpAddress::parse(env.client_ip);
    return ip.has_value() && matchSource(cfg->inbound.sources, *ip).relay;
  };
}

}  // namespace tlsrelay
