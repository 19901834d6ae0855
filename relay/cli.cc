// Subcommand table for the tlsrelay executable (CLI11).
#include "relay/cli.h"

#include <CLI/CLI.hpp>
#include <iostream>

namespace tlsrelay {

int runCli(int argc, char** argv) {
  CLI::App app{"tlsrelay — outbound SMTP relay with TLS policy done right"};
  app.require_subcommand(1);
  app.add_subcommand("serve", "run the relay");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::cerr << "not yet wired\n";
  return 1;
}

}  // namespace tlsrelay
