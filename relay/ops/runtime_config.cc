// See runtime_config.h.
#include "relay/ops/runtime_config.h"

#include <fstream>

#include "policy/domain_policy.h"
#include "relay/config/admin_section.h"
#include "relay/config/policy_directory.h"
#include "relay/config/smarthost_credentials.h"
#include "relay/inbound/users_file.h"
#include "relay/ops/dkim_setup.h"
#include "relay/tls/tls_context.h"

namespace tlsrelay {
namespace {

Result<std::string> readKeyPassword(const ServerTlsConfig& tls) {
  if (!tls.key_password.empty()) return tls.key_password;
  if (tls.key_password_file.empty()) return std::string();
  std::ifstream in(tls.key_password_file);
  if (!in) return makeError("cannot read key_password_file " + tls.key_password_file);
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

Result<RelayConfig> loadRelayConfig(const std::string& config_path) {
  return config_path.empty() ? loadEmbeddedDefaultConfig() : loadConfigFile(config_path);
}

Result<RuntimeConfig> loadRuntimeConfig(const std::string& config_path) {
  auto relay = loadRelayConfig(config_path);
  if (!relay.ok()) return relay.error();
  RuntimeConfig rc;
  auto cfg = std::make_shared<RelayConfig>(std::move(relay.value()));

  if (cfg->policy_directory.empty()) {
    rc.policies = std::make_shared<const PolicySet>();  // only the built-in `*`
  } else {
    auto set = loadPolicyDirectory(cfg->policy_directory);
    if (!set.ok()) return set.error();
    rc.policies = std::make_shared<const PolicySet>(std::move(set.value()));
  }

  if (!cfg->delivery.smarthost_auth_file.empty()) {
    auto credentials = readSmarthostCredentials(cfg->delivery.smarthost_auth_file);
    if (!credentials.ok())
      return makeError(cfg->source_file + ": delivery.smarthost_auth_file: " + credentials.error().message);
    cfg->delivery.smarthost_credentials =
        std::make_shared<const SmtpCredentials>(std::move(credentials.value()));
  }

  if (cfg->admin.enabled && !cfg->admin.bearer_token_file.empty()) {
    auto token = readBearerTokenFile(cfg->admin.bearer_token_file);
    if (!token.ok())
      return makeError(cfg->source_file + ": admin.bearer_token_file: " + token.error().message);
    rc.admin_bearer_token = std::move(token.value());
  }

  if (!cfg->inbound.users_file.empty()) {
    auto users = UsersFile::load(cfg->inbound.users_file);
    if (!users.ok()) return makeError(cfg->source_file + ": users_file: " + users.error().message);
    rc.users = std::make_shared<const UsersFile>(std::move(users.value()));
  }

  if (!cfg->inbound.server_tls.certificate.empty()) {
    auto password = readKeyPassword(cfg->inbound.server_tls);
    if (!password.ok()) return makeError(cfg->source_file + ": tls: " + password.error().message);
    ServerTlsSettings s;
    s.certificate_file = cfg->inbound.server_tls.certificate;
    s.key_file = cfg->inbound.server_tls.key.empty() ? cfg->inbound.server_tls.certificate
                                                     : cfg->inbound.server_tls.key;
    s.key_password = std::move(password.value());
    s.ciphers = cfg->inbound.server_tls.ciphers;
    s.min_tls_version = cfg->inbound.server_tls.min_tls_version;
    auto ctx = TlsContext::makeServer(s);
    std::fill(s.key_password.begin(), s.key_password.end(), '\0');
    if (!ctx.ok()) return makeError(cfg->source_file + ": tls: " + ctx.error().message);
    rc.server_tls = ctx.value();
  }
  auto signers = loadDkimSigners(*cfg);
  if (!signers.ok()) return signers.error();
  rc.dkim_signers = std::move(*signers);
  rc.relay = std::move(cfg);
  return rc;
}

}  // namespace tlsrelay
