// `tlsrelay dkim keygen | record | verify`: make a signing key and the DNS
// record to publish, print the record of an existing key again, and check
// the signatures of a message file against live DNS.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace tlsrelay {

struct DkimCommandArgs {
  std::string domain, selector, algorithm = "rsa", out, key_file, message_file;
  int bits = 2048;
  bool tlsrpt = false, force = false, json = false;
};

class DkimCommands {
 public:
  // Adds the "dkim" subcommand and its children to `app`.
  explicit DkimCommands(CLI::App& app);
  // True when the command line chose one of them.
  bool parsed() const;
  // Runs the chosen one; returns the process exit code.
  int run(const std::string& config_path) const;

 private:
  DkimCommandArgs args_;
  CLI::App* keygen_ = nullptr;
  CLI::App* record_ = nullptr;
  CLI::App* verify_ = nullptr;
};

// `dkim keygen`: writes the key (0600, refusing to overwrite unless `force`)
// and prints the zone-file entry. Exposed for tests.
int runDkimKeygen(const DkimCommandArgs& args);

}  // namespace tlsrelay
