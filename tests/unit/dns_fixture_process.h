// One private DNSSEC test bed (tests/fixtures/dns_fixture.sh: nsd + validating
// unbound on loopback) per test process, shared by the DNS unit tests. Each
// test names its own address range, so two test programs never collide.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <system_error>

namespace tlsrelay::dns {

class DnsFixtureProcess {
 public:
  std::string workdir;                     // set by the test (mkdtemp) before start()
  std::map<std::string, std::string> env;  // dns.env: DNS_AUTH_ADDR, DNS_PORT, ROOT_KEY_FILE, ...
  bool started = false;

  // ctest runs every test case as its own process, possibly in parallel: each
  // process takes a private /24 (`network_prefix` + "N.0", e.g. 127.53.N.0)
  // guarded by the lock file `lock_prefix` + "127.53.N.lock", and points the
  // fixture at it. Returns the network ("127.53.N."), or "" when every lock is
  // taken and the fixture's default addresses apply.
  std::string chooseAddresses(const std::string& network_prefix, const std::string& lock_prefix) {
    for (int i = 0; i < 200; ++i) {
      const int n = 20 + (static_cast<int>(getpid()) + i) % 200;
      const std::string lock = lock_prefix + network_prefix + std::to_string(n) + ".lock";
      int fd = open(lock.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
      if (fd < 0) continue;
      if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        lock_fd_ = fd;  // held until the process exits
        const std::string net = network_prefix + std::to_string(n) + ".";
        setenv("TLSRELAY_TEST_DNS_AUTH", (net + "1").c_str(), 1);
        setenv("TLSRELAY_TEST_DNS_RESOLVER", (net + "2").c_str(), 1);
        return net;
      }
      close(fd);
    }
    return "";
  }

  // Starts the fixture in `workdir` (log in start.log) and, when it came up,
  // reads dns.env and sets `started`. Returns the script's exit status.
  int start() {
    const auto begin = std::chrono::steady_clock::now();
    const std::string command =
        "bash " + fixtureScript() + " start " + workdir + " > " + workdir + "/start.log 2>&1";
    const int rc = std::system(command.c_str());
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin);
    // Startup time dominates these tests; printed so a slow CI shows where it went.
    std::printf("dns fixture start took %lld ms (rc %d)\n", static_cast<long long>(elapsed.count()), rc);
    if (rc != 0) return rc;
    std::ifstream in(workdir + "/dns.env");
    std::string line;
    while (std::getline(in, line)) {
      auto eq = line.find('=');
      if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
    }
    started = true;
    return rc;
  }

  // Stops the fixture and removes `workdir`. Returns the stop script's exit status.
  int stop() {
    const std::string command = "bash " + fixtureScript() + " stop " + workdir + " > /dev/null 2>&1";
    const int rc = std::system(command.c_str());
    std::error_code ignored;
    std::filesystem::remove_all(workdir, ignored);
    return rc;
  }

 private:
  static std::string fixtureScript() {
    return std::string(TLSRELAY_SOURCE_DIR) + "/tests/fixtures/dns_fixture.sh";
  }

  int lock_fd_ = -1;
};

}  // namespace tlsrelay::dns
