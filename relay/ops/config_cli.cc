// See config_cli.h.
#include "relay/ops/config_cli.h"

#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "common/durable_file.h"
#include "common/file_read.h"
#include "relay/config/config.h"
#include "relay/config/environment_config.h"

extern char** environ;

namespace tlsrelay {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxVariableFileBytes = 64 * 1024;

Environment processEnvironment() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string_view::npos || entry.substr(0, 9) != "TLSRELAY_") continue;
    env[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
  }
  return env;
}

Status writeSecret(const SecretFile& secret) {
  fs::path dir = fs::path(secret.path).parent_path();
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return makeError("cannot create " + dir.string() + ": " + ec.message());
    ::chmod(dir.c_str(), 0700);
  }
  return replaceFileDurably(secret.path, secret.content, secret.mode);
}

// Hints for the container log; the relay itself refuses to start without these.
void warnAboutMissingFiles(const RelayConfig& cfg) {
  std::error_code ec;
  if (!cfg.policy_directory.empty() && !fs::is_directory(cfg.policy_directory, ec))
    std::cerr << "warning: policy directory " << cfg.policy_directory
              << " does not exist; the relay will not start without it\n";
  const ServerTlsConfig& tls = cfg.inbound.server_tls;
  if (!tls.certificate.empty() && !fs::exists(tls.certificate, ec))
    std::cerr << "warning: certificate " << tls.certificate
              << " does not exist yet (tlsrelay cert selfsigned --host NAME --cert " << tls.certificate
              << " --key " << tls.key << ")\n";
}

}  // namespace

int runConfigFromEnv(const ConfigCommandArgs& args) {
  EnvironmentDefaults defaults;
  defaults.secrets_dir = args.secrets_dir;
  auto generated = configFromEnvironment(processEnvironment(), defaults, [](const std::string& path) {
    return readWholeFile(path, kMaxVariableFileBytes);
  });
  if (!generated.ok()) {
    std::cerr << "config from-env: " << generated.error().message << "\n";
    return 2;
  }
  for (const auto& name : generated->ignored)
    std::cerr << "warning: " << name << " is not a variable `tlsrelay config from-env` reads; ignored\n";

  // Whatever the variables said, the file must be one the relay accepts.
  std::string name = args.output.empty() ? "<from-env>" : args.output;
  auto loaded = loadConfigString(generated->toml, name);
  if (!loaded.ok()) {
    std::cerr << "config from-env: the generated configuration does not load:\n"
              << loaded.error().message << "\n";
    return 1;
  }
  warnAboutMissingFiles(*loaded);

  int rc = 0;
  for (auto& secret : generated->secrets) {
    auto written = writeSecret(secret);
    std::fill(secret.content.begin(), secret.content.end(), '\0');
    if (!written.ok()) {
      std::cerr << "config from-env: " << written.error().message << "\n";
      rc = 1;
    }
  }
  if (rc != 0) return rc;
  if (args.output.empty()) {
    std::cout << generated->toml;
    return 0;
  }
  std::error_code ec;
  if (fs::path parent = fs::path(args.output).parent_path(); !parent.empty())
    fs::create_directories(parent, ec);
  auto written = replaceFileDurably(args.output, generated->toml, 0640);
  if (!written.ok()) {
    std::cerr << "config from-env: " << written.error().message << "\n";
    return 1;
  }
  std::cerr << "configuration written to " << args.output << "\n";
  return 0;
}

ConfigCommands::ConfigCommands(CLI::App& app) {
  CLI::App* config = app.add_subcommand("config", "make a relay.toml");
  config->require_subcommand(1);
  from_env_ = config->add_subcommand(
      "from-env", "print or write a relay.toml made from TLSRELAY_* environment variables (containers)");
  from_env_->add_option("--output", args_.output, "write it to this file (mode 0640) instead of stdout");
  from_env_->add_option("--secrets-dir", args_.secrets_dir,
                        "folder for secret files such as smarthost.auth (default /var/lib/tlsrelay)");
}

bool ConfigCommands::parsed() const {
  return from_env_->parsed();
}

int ConfigCommands::run() const {
  return runConfigFromEnv(args_);
}

}  // namespace tlsrelay
