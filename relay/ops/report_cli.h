// `tlsrelay report list | show | send | ingest | received`: what the TLS report
// store holds — our daily session counts and the report each would make, and
// the reports other organisations sent us. Every command takes --json.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace tlsrelay {

struct ReportCommandArgs {
  std::string day, domain, file;
  int days = 7;
  bool json = false;
};

class ReportCommands {
 public:
  explicit ReportCommands(CLI::App& app);
  bool parsed() const;
  int run(const std::string& config_path) const;

 private:
  ReportCommandArgs args_;
  CLI::App* list_ = nullptr;
  CLI::App* show_ = nullptr;
  CLI::App* send_ = nullptr;
  CLI::App* ingest_ = nullptr;
  CLI::App* received_ = nullptr;
};

}  // namespace tlsrelay
