// The tlsrelay executable: parses the command line and hands over to one
// subcommand (relay/cli_*.cc). Kept tiny so every subcommand is testable alone.
#include "relay/ops/cli.h"

int main(int argc, char** argv) {
  return tlsrelay::runCli(argc, argv);
}
