// `tlsrelay config from-env`: writes (or prints) a relay.toml made from the
// container's TLSRELAY_* variables and the secret files it refers to. The
// translation is relay/config/environment_config.h; this file does the I/O
// and checks that the result loads.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace tlsrelay {

struct ConfigCommandArgs {
  std::string output;  // empty = stdout
  std::string secrets_dir = "/var/lib/tlsrelay";
};

class ConfigCommands {
 public:
  // Adds the "config" subcommand and its children to `app`.
  explicit ConfigCommands(CLI::App& app);
  bool parsed() const;
  int run() const;

 private:
  ConfigCommandArgs args_;
  CLI::App* from_env_ = nullptr;
};

// Reads the process environment; returns the exit code (2: a variable is
// wrong, 1: the files could not be written or the result does not load).
int runConfigFromEnv(const ConfigCommandArgs& args);

}  // namespace tlsrelay
