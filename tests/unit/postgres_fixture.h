// A private PostgreSQL server for the report store tests: initdb in a temp
// directory, postgres on 127.0.0.1 and a free port (TCP logins need the
// password, as a fleet's would), one fresh database per test, all of it
// stopped and removed at the end. ctest runs every test case as its own
// process, so each process starts its own server on first use (about 1.5 s,
// most of it initdb). Missing PostgreSQL binaries are an error, never a skip:
// CI installs them (scripts/install-deps.sh).
//
// PostgreSQL refuses to run as root, and tests run as root: the server, initdb
// and psql then run as `nobody`, owner of the temp directory. The server is
// this process's child with a parent-death signal, so a test killed by a
// timeout takes its server with it instead of leaving it running.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"

namespace tlsrelay::test {

class PostgresServer {
 public:
  static constexpr const char* kUser = "tlsrelay";
  static constexpr const char* kPassword = "fixture-Pw-7c41e9";

  // initdb and start, or why not (binaries missing, initdb or start failed).
  static Result<std::unique_ptr<PostgresServer>> start() {
    const auto begin = std::chrono::steady_clock::now();
    auto bin = binDirectory();
    if (!bin) return bin.error();
    std::unique_ptr<PostgresServer> server(new PostgresServer(*bin));
    if (Status s = server->initialize(); !s) return s.error();
    if (Status s = server->startServer(true); !s) return s.error();
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin);
    // Startup dominates these tests; printed so a slow CI shows where the time went.
    std::printf("postgres fixture start took %lld ms (port %d)\n", static_cast<long long>(elapsed.count()),
                server->port());
    return server;
  }

  ~PostgresServer() {
    (void)stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  std::string uri(const std::string& database, const std::string& password = kPassword) const {
    return "postgresql://" + std::string(kUser) + (password.empty() ? "" : ":" + password) +
           "@127.0.0.1:" + std::to_string(port_) + "/" + database;
  }

  // A new empty database: every test starts from nothing.
  Result<std::string> createDatabase() {
    const std::string name = "store_test_" + std::to_string(++databases_);
    auto out = sql("postgres", "CREATE DATABASE " + name);
    if (!out) return out.error();
    return name;
  }

  // Runs one statement through psql over the Unix socket; its output, unaligned.
  Result<std::string> sql(const std::string& database, const std::string& statement) {
    std::string output;
    int status = run({bin_ + "/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", dir_, "-p",
                      std::to_string(port_), "-U", kUser, "-d", database, "-c", statement},
                     &output);
    if (status != 0) return makeError("psql failed (" + std::to_string(status) + "): " + output);
    while (!output.empty() && output.back() == '\n') output.pop_back();
    return output;
  }

  // Starts psql with `statement` and returns at once; wait() for it.
  pid_t sqlInBackground(const std::string& database, const std::string& statement) {
    return spawn({bin_ + "/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", dir_, "-p",
                  std::to_string(port_), "-U", kUser, "-d", database, "-c", statement},
                 dir_ + "/background.log", true);
  }
  static int wait(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  // A fast shutdown (clients are disconnected), as `pg_ctl stop -m fast`.
  Status stop() {
    if (pid_ <= 0) return okStatus();
    ::kill(pid_, SIGINT);
    for (int i = 0; i < 300; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return okStatus();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return makeError("postgres did not stop within 6 s; killed");
  }
  // Starts again on the same port.
  Status startAgain() { return startServer(false); }
  // What `pg_ctl restart -m fast` does: every client connection is dropped.
  Status restart() {
    if (Status s = stop(); !s) return s;
    return startAgain();
  }

 private:
  explicit PostgresServer(std::string bin) : bin_(std::move(bin)) {}

  // TLSRELAY_POSTGRES_BINDIR, else the newest /usr/lib/postgresql/<version>/bin (Debian's layout).
  static Result<std::string> binDirectory() {
    auto complete = [](const std::filesystem::path& dir) {
      for (const char* tool : {"initdb", "postgres", "psql"})
        if (::access((dir / tool).c_str(), X_OK) != 0) return false;
      return true;
    };
    if (const char* env = std::getenv("TLSRELAY_POSTGRES_BINDIR")) {
      if (complete(env)) return std::string(env);
      return makeError(std::string("TLSRELAY_POSTGRES_BINDIR=") + env + " lacks initdb, postgres or psql");
    }
    std::vector<std::pair<int, std::string>> found;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
      const std::filesystem::path bin = entry.path() / "bin";
      if (complete(bin)) found.emplace_back(std::atoi(entry.path().filename().c_str()), bin.string());
    }
    if (found.empty())
      return makeError(
          "PostgreSQL server binaries not found (no /usr/lib/postgresql/<version>/bin with initdb, postgres "
          "and psql): install the postgresql package (scripts/install-deps.sh), or set "
          "TLSRELAY_POSTGRES_BINDIR");
    return std::max_element(found.begin(), found.end())->second;
  }

  Status initialize() {
    char dir[] = "/tmp/tlsrelay_pg_XXXXXX";
    if (!::mkdtemp(dir)) return makeError("mkdtemp failed");
    dir_ = dir;
    uid_ = ::getuid();
    gid_ = ::getgid();
    if (::geteuid() == 0) {
      const passwd* nobody = ::getpwnam("nobody");
      if (!nobody) return makeError("running as root, and there is no user nobody to run PostgreSQL as");
      uid_ = nobody->pw_uid;
      gid_ = nobody->pw_gid;
    }
    const std::string pwfile = dir_ + "/pwfile";
    { std::ofstream(pwfile) << kPassword << "\n"; }
    if (::chown(dir_.c_str(), uid_, gid_) != 0 || ::chown(pwfile.c_str(), uid_, gid_) != 0)
      return makeError("cannot chown " + dir_);
    std::string output;
    // -N: no fsync; a test server that loses its data in a power cut loses nothing.
    int status = run({bin_ + "/initdb", "-D", dir_ + "/data", "-U", kUser, "--pwfile=" + pwfile,
                      "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "-N"},
                     &output);
    if (status != 0) return makeError("initdb failed (" + std::to_string(status) + "): " + output);
    return okStatus();
  }

  static int freePort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0)
      port = ntohs(addr.sin_port);
    ::close(fd);
    return port;
  }

  // Starts postgres and waits until it accepts connections (postmaster.pid
  // says "ready"). A fresh port is tried again when another process took it.
  Status startServer(bool new_port) {
    std::string why;
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (new_port) port_ = freePort();
      const std::string log = dir_ + "/postgres.log";
      std::filesystem::remove(dir_ + "/data/postmaster.pid");
      pid_ = spawn({bin_ + "/postgres", "-D", dir_ + "/data", "-k", dir_, "-c", "listen_addresses=127.0.0.1",
                    "-p", std::to_string(port_), "-c", "fsync=off"},
                   log, true);
      if (pid_ < 0) return makeError("cannot start postgres");
      for (int i = 0; i < 1500; ++i) {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        std::ifstream pidfile(dir_ + "/data/postmaster.pid");
        std::stringstream content;
        content << pidfile.rdbuf();
        if (content.str().find("\nready") != std::string::npos) return okStatus();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      std::ifstream in(log);
      std::stringstream text;
      text << in.rdbuf();
      why = text.str();
      if (pid_ > 0) {
        (void)stop();
        return makeError("postgres did not become ready within 15 s: " + why);
      }
      if (!new_port) break;
    }
    return makeError("postgres did not start: " + why);
  }

  // Forks and execs `argv` as the directory's owner, in the directory,
  // output to `log`. The argument vectors are built before fork: the child
  // makes only system calls.
  pid_t spawn(const std::vector<std::string>& args, const std::string& log, bool die_with_us) const {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out < 0) return -1;
    const bool drop = ::geteuid() == 0;
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
      if (drop && (::setgroups(0, nullptr) != 0 || ::setgid(gid_) != 0 || ::setuid(uid_) != 0)) ::_exit(126);
      // After setuid: a change of credentials clears the parent-death signal.
      // SIGQUIT is the server's immediate shutdown.
      if (die_with_us && (::prctl(PR_SET_PDEATHSIG, SIGQUIT) != 0 || ::getppid() != parent)) ::_exit(125);
      const int null = ::open("/dev/null", O_RDONLY);
      if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0 ||
          ::chdir(dir_.c_str()) != 0)
        ::_exit(124);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out);
    return pid;
  }

  // Runs `args` to completion; its exit status, and its output in `output`.
  int run(const std::vector<std::string>& args, std::string* output) const {
    const std::string log = dir_ + "/run.log";
    std::filesystem::remove(log);
    const pid_t pid = spawn(args, log, false);
    if (pid < 0) return -1;
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    *output = text.str();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  std::string bin_;
  std::string dir_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  int port_ = 0;
  pid_t pid_ = -1;
  int databases_ = 0;
};

// The server of this test process, started on first use from the main
// thread (the parent-death signal follows the thread that forked) and
// stopped at exit.
inline Result<PostgresServer*> sharedPostgresServer() {
  static Result<std::unique_ptr<PostgresServer>> server = PostgresServer::start();
  if (!server) return server.error();
  return server->get();
}

}  // namespace tlsrelay::test
