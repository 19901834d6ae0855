// Subcommand table for the tlsrelay executable (CLI11). Each subcommand is a
// small function; the daemon itself lives in daemon.cc.
#include "relay/ops/cli.h"

#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <ctime>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/time_format.h"
#include "dkim/signing_policy.h"
#include "dnssec/dnssec_validator.h"
#include "relay/config/admin_section.h"
#include "relay/inbound/users_file.h"
#include "relay/mta_sts/mta_sts_cli.h"
#include "relay/ops/admin_api.h"
#include "relay/ops/cert_cli.h"
#include "relay/ops/config_cli.h"
#include "relay/ops/control_socket.h"
#include "relay/ops/daemon.h"
#include "relay/ops/dkim_cli.h"
#include "relay/ops/dkim_setup.h"
#include "relay/ops/gateway_relay_check.h"
#include "relay/ops/policy_explain_cli.h"
#include "relay/ops/report_cli.h"
#include "relay/ops/runtime_config.h"
#include "relay/ops/status_cli.h"
#include "relay/queue/spool.h"

namespace tlsrelay {
namespace {

// An envelope time of 0 means "as soon as possible".
std::string isoTime(int64_t t) {
  return t == 0 ? "now" : iso8601Utc(t);
}

int checkConfig(const std::string& path) {
  auto rc = loadRuntimeConfig(path);
  if (!rc.ok()) {
    std::cerr << rc.error().message << "\n";
    return 1;
  }
  if (rc->relay->dns.dnssec == "validate") {
    // A trust anchor that cannot be read would make every lookup fail at run time.
    if (auto anchor = dns::checkTrustAnchorFile(rc->relay->dns.trust_anchor_file); !anchor.ok()) {
      std::cerr << rc->relay->source_file << ": dns: trust_anchor_file: " << anchor.error().message << "\n";
      return 1;
    }
  }
  std::cout << "configuration OK: " << rc->relay->source_file << " (" << rc->relay->inbound.listeners.size()
            << " listener(s), " << rc->relay->inbound.sources.size() << " source rule(s), "
            << rc->dkim_signers.size() << " DKIM key(s))\n";
  for (size_t i = 0; i < rc->dkim_signers.size(); ++i) {
    const auto& signer = *rc->dkim_signers[i].signer;
    std::cout << "  dkim: d=" << signer.domain() << " s=" << signer.selector() << " "
              << signer.algorithmName();
    if (signer.keyType() == dkim::KeyType::Rsa) std::cout << " " << signer.keyBits() << " bits";
    std::cout << "\n";
    if (std::string problem = keyFilePermissionProblem(rc->relay->dkim.sign[i].key_file); !problem.empty())
      std::cout << "  warning: " << problem << "\n";
  }
  const DeliveryConfig& delivery = rc->relay->delivery;
  if (delivery.smarthost_credentials) {
    std::cout << "  smarthost: " << delivery.smarthost << " with AUTH as "
              << delivery.smarthost_credentials->username << "\n";
    if (std::string problem = keyFilePermissionProblem(delivery.smarthost_auth_file); !problem.empty())
      std::cout << "  warning: " << problem << "\n";
  }
  const AdminConfig& admin = rc->relay->admin;
  if (admin.enabled) {
    std::cout << "  admin: " << (admin.certificate.empty() ? "http://" : "https://") << admin.listen
              << (rc->admin_bearer_token.empty() ? " (no bearer token)" : " (bearer token)") << "\n";
    if (rc->admin_bearer_token.empty() && adminListensBeyondLoopback(admin))
      std::cout << "  warning: [admin] listens beyond loopback without bearer_token_file: anyone who reaches "
                << admin.listen << " reads the queue and the metrics\n";
    if (std::string problem = keyFilePermissionProblem(admin.bearer_token_file);
        !admin.bearer_token_file.empty() && !problem.empty())
      std::cout << "  warning: " << problem << "\n";
  }
  for (const std::string& warning : gatewayRelayWarningsForHost(rc->relay->inbound.sources))
    std::cout << "  warning: " << warning << "\n";
  const ReportingConfig& reporting = rc->relay->reporting;
  if (reporting.enabled && reporting.send) {
    std::vector<dkim::SigningEntry> rules;
    for (const auto& keyed : rc->dkim_signers) rules.push_back(keyed.entry);
    // Receivers may drop a report mail without a DKIM signature of its
    // sender's domain (RFC 8460 §5.3).
    if (dkim::eligibleEntries(rules, {reporting.from}, {}).empty())
      std::cout << "  warning: [reporting] from = " << reporting.from
                << ": no [[dkim.sign]] entry signs it; report mails will go out unsigned\n";
    if (reporting.claim_timeout.count() < 90)
      std::cout << "  warning: [reporting] claim_timeout is shorter than one HTTPS send may take (60 s);"
                   " another node may send the same report again\n";
  }
  return 0;
}

Result<std::unique_ptr<Spool>> openSpool(const std::string& config_path) {
  auto cfg = loadRelayConfig(config_path);
  if (!cfg.ok()) return cfg.error();
  SpoolOptions so;
  so.directory = cfg->spool_directory;
  return Spool::open(so);
}

// Destination health lives in the running daemon: asked over the control
// socket; without a daemon there is nothing to show.
void printHealth(const RelayConfig& cfg) {
  auto reply = ControlSocket::send(controlSocketPath(cfg.spool_directory), "health");
  if (!reply.ok() || reply->rfind("ok ", 0) != 0) return;
  auto states = nlohmann::json::parse(reply->substr(3), nullptr, false);
  if (!states.is_array() || states.empty()) return;
  const int64_t now = static_cast<int64_t>(::time(nullptr));
  std::cout << "\nconnection failures (destination or host, consecutive failures, backoff, last error):\n";
  for (const auto& s : states) {
    int64_t until = s.value("backoff_until", int64_t{0});
    std::cout << "  " << s.value("kind", "") << " " << s.value("name", "") << "  " << s.value("failures", 0)
              << "  "
              << (until > now
                      ? "backoff until " + iso8601Utc(until) + " (" + std::to_string(until - now) + "s)"
                      : std::string("no backoff"))
              << "  " << s.value("last_error", "") << "\n";
  }
}

int queueList(const std::string& config_path) {
  auto cfg = loadRelayConfig(config_path);
  if (!cfg.ok()) {
    std::cerr << cfg.error().message << "\n";
    return 1;
  }
  auto spool = openSpool(config_path);
  if (!spool.ok()) {
    std::cerr << spool.error().message << "\n";
    return 1;
  }
  auto ids = (*spool)->listQueueIds();
  std::cout << "queue id                   size  received              next attempt          pending/total  "
               "sender\n";
  for (const auto& id : ids) {
    auto env = (*spool)->readEnvelope(id);
    if (!env.ok()) {
      std::cout << id << "  (unreadable: " << env.error().message << ")\n";
      continue;
    }
    size_t pending = 0;
    for (const auto& r : env->recipients) pending += r.state == RecipientState::Pending;
    std::cout << id << "  " << env->size << "  " << isoTime(env->received_at) << "  "
              << isoTime(env->next_attempt_at) << "  " << pending << "/" << env->recipients.size() << "  <"
              << env->mail_from << ">\n";
  }
  std::cout << ids.size() << " message(s)\n";
  printHealth(*cfg);
  return 0;
}

int queueShow(const std::string& config_path, const std::string& id) {
  auto spool = openSpool(config_path);
  if (!spool.ok()) {
    std::cerr << spool.error().message << "\n";
    return 1;
  }
  auto env = (*spool)->readEnvelope(id);
  if (!env.ok()) {
    std::cerr << "cannot read " << id << ": " << env.error().message << "\n";
    return 1;
  }
  std::cout << "queue id:     " << env->queue_id << "\n"
            << "sender:       <" << env->mail_from << ">\n"
            << "received:     " << isoTime(env->received_at) << " from " << env->client_ip << " ("
            << env->helo << ")\n"
            << "size:         " << env->size << "\n"
            << "next attempt: " << isoTime(env->next_attempt_at) << "\n"
            << "requiretls:   " << (env->flags.requiretls ? "yes" : "no") << "\n"
            << "tls-required: "
            << (!env->flags.tls_required_no ? "-"
                : env->flags.requiretls     ? "No (header field; ignored: REQUIRETLS wins)"
                                            : "No (header field)")
            << "\n";
  for (const auto& r : env->recipients)
    std::cout << "  " << r.address << "  " << stateName(r.state) << "  attempts=" << r.attempts
              << (r.last_response.empty() ? "" : "  last: " + r.last_response) << "\n";
  return 0;
}

int queueCommand(const std::string& config_path, const std::string& command) {
  auto cfg = loadRelayConfig(config_path);
  if (!cfg.ok()) {
    std::cerr << cfg.error().message << "\n";
    return 1;
  }
  auto reply = ControlSocket::send(controlSocketPath(cfg->spool_directory), command);
  if (!reply.ok()) {
    std::cerr << reply.error().message << "\n";
    return 1;
  }
  std::cout << *reply << "\n";
  return reply->rfind("ok", 0) == 0 ? 0 : 1;
}

// The daemon answers "ok" and the exposition text on the following lines.
int printMetrics(const std::string& config_path) {
  auto cfg = loadRelayConfig(config_path);
  if (!cfg.ok()) {
    std::cerr << cfg.error().message << "\n";
    return 1;
  }
  auto reply = ControlSocket::send(controlSocketPath(cfg->spool_directory), "metrics");
  if (!reply.ok() || reply->rfind("ok\n", 0) != 0) {
    std::cerr << (reply.ok() ? *reply : reply.error().message) << "\n";
    return 1;
  }
  std::cout << reply->substr(3) << "\n";
  return 0;
}

std::string readPassword(const std::string& password_file) {
  std::string password;
  if (!password_file.empty()) {
    std::ifstream in(password_file);
    std::getline(in, password);
    return password;
  }
  bool tty = ::isatty(STDIN_FILENO);
  termios old{};
  if (tty) {
    std::cerr << "password: ";
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::getline(std::cin, password);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
  }
  return password;
}

int userAdd(const std::string& config_path, std::string users_file, const std::string& user,
            const std::string& password_file) {
  if (users_file.empty()) {
    auto cfg = loadRelayConfig(config_path);
    if (!cfg.ok()) {
      std::cerr << cfg.error().message << "\n";
      return 1;
    }
    users_file = cfg->inbound.users_file;
  }
  if (users_file.empty()) {
    std::cerr << "no users file: set users_file in the configuration or pass --users-file\n";
    return 1;
  }
  std::string password = readPassword(password_file);
  if (password.empty()) {
    std::cerr << "empty password refused\n";
    return 1;
  }
  auto s = addUser(users_file, user, password);
  std::fill(password.begin(), password.end(), '\0');
  if (!s.ok()) {
    std::cerr << s.error().message << "\n";
    return 1;
  }
  std::cout << "user " << user << " stored in " << users_file << " (send SIGHUP to a running relay)\n";
  return 0;
}

}  // namespace

int runCli(int argc, char** argv) {
  CLI::App app{"tlsrelay - outbound SMTP relay with TLS policy done right"};
  app.require_subcommand(1);
  app.fallthrough();  // --config may follow the subcommand too
  std::string config_path;
  app.add_option("-c,--config", config_path, "relay.toml (default: the embedded configuration)");

  auto* serve = app.add_subcommand("serve", "run the relay");
  auto* check =
      app.add_subcommand("check-config", "validate relay.toml, policy files, users file and certificates");

  auto* queue = app.add_subcommand("queue", "inspect and steer the queue");
  queue->require_subcommand(1);
  auto* qlist = queue->add_subcommand("list", "list queued messages");
  std::string queue_id;
  auto* qshow = queue->add_subcommand("show", "show one message's envelope and recipient states");
  qshow->add_option("id", queue_id)->required();
  auto* qflush = queue->add_subcommand("flush", "retry every deferred message now");
  auto* qdelete = queue->add_subcommand("delete", "drop a message without notice");
  qdelete->add_option("id", queue_id)->required();
  auto* qbounce = queue->add_subcommand("bounce", "fail a message now and send a DSN to its sender");
  qbounce->add_option("id", queue_id)->required();

  auto* user = app.add_subcommand("user", "manage AUTH users");
  user->require_subcommand(1);
  auto* uadd =
      user->add_subcommand("add", "add or replace a user (password read from stdin or --password-file)");
  std::string user_name, users_file, password_file;
  uadd->add_option("user", user_name)->required();
  uadd->add_option("--users-file", users_file, "users file (default: users_file from the configuration)");
  uadd->add_option("--password-file", password_file, "read the password from this file's first line");

  auto* policy = app.add_subcommand("policy", "show what the TLS policy engine decides");
  policy->require_subcommand(1);
  std::string domain;
  bool json = false;
  auto* explain = policy->add_subcommand(
      "explain", "resolve a domain step by step and print the TLS decision for each next hop");
  explain->add_option("domain", domain)->required();
  explain->add_flag("--json", json, "print JSON");
  auto* sts_cache = policy->add_subcommand("sts-cache", "the MTA-STS policy cache");
  sts_cache->require_subcommand(1);
  auto* sts_list = sts_cache->add_subcommand("list", "list cached MTA-STS policies");
  sts_list->add_flag("--json", json, "print JSON");
  auto* sts_clear = sts_cache->add_subcommand("clear", "forget one cached policy, or all of them");
  sts_clear->add_option("domain", domain, "domain (default: all)");

  auto* metrics = app.add_subcommand(
      "metrics", "print the running relay's metrics (Prometheus text, as /metrics serves)");
  auto* status =
      app.add_subcommand("status", "ask the running daemon how it is (exit 1: it does not answer)");
  int status_timeout = 10;
  status->add_flag("--json", json, "print JSON");
  status->add_option("--timeout", status_timeout, "seconds to wait for the answer (default 10)");

  DkimCommands dkim(app);
  ReportCommands report(app);
  CertCommands cert(app);
  ConfigCommands config(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (serve->parsed()) return runServe(config_path);
  if (check->parsed()) return checkConfig(config_path);
  if (qlist->parsed()) return queueList(config_path);
  if (qshow->parsed()) return queueShow(config_path, queue_id);
  if (qflush->parsed()) return queueCommand(config_path, "flush");
  if (qdelete->parsed()) return queueCommand(config_path, "delete " + queue_id);
  if (qbounce->parsed()) return queueCommand(config_path, "bounce " + queue_id);
  if (dkim.parsed()) return dkim.run(config_path);
  if (report.parsed()) return report.run(config_path);
  if (status->parsed()) return runStatus(config_path, json, status_timeout);
  if (metrics->parsed()) return printMetrics(config_path);
  if (cert.parsed()) return cert.run();
  if (config.parsed()) return config.run();
  if (uadd->parsed()) return userAdd(config_path, users_file, user_name, password_file);
  if (explain->parsed() || sts_list->parsed() || sts_clear->parsed()) {
    auto cfg = loadRelayConfig(config_path);
    if (!cfg.ok()) {
      std::cerr << cfg.error().message << "\n";
      return 2;
    }
    if (explain->parsed()) return runPolicyExplain(*cfg, domain, json);
    if (sts_list->parsed()) return runStsCacheList(cfg->mta_sts, json);
    return runStsCacheClear(cfg->mta_sts, domain);
  }
  return 1;
}

}  // namespace tlsrelay
