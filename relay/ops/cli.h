// Command-line entry point: `tlsrelay serve|check-config|queue|user ...`.
#pragma once

namespace tlsrelay {
int runCli(int argc, char** argv);
}
