// Loading everything a running relay needs from one config file: the parsed
// RelayConfig plus the objects built from it (policy set, users, TLS server
// context, DKIM signers). Used at start, on SIGHUP, and by `check-config`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "dkim/signing_stage.h"
#include "relay/config/config.h"

namespace tlsrelay {

class PolicySet;
class UsersFile;
class TlsContext;

struct RuntimeConfig {
  std::shared_ptr<const RelayConfig> relay;
  std::shared_ptr<const PolicySet> policies;
  std::shared_ptr<const UsersFile> users;                    // null when AUTH is disabled
  std::shared_ptr<TlsContext> server_tls;                    // null when no certificate is configured
  std::vector<dkim::SigningStage::KeyedEntry> dkim_signers;  // one per [[dkim.sign]], keys loaded
  std::string admin_bearer_token;                            // [admin] bearer_token_file's token; a secret
};

// `config_path` empty = embedded default. Error messages name file, line and key.
Result<RuntimeConfig> loadRuntimeConfig(const std::string& config_path);
Result<RelayConfig> loadRelayConfig(const std::string& config_path);

}  // namespace tlsrelay
