#include "relay/ops/report_cli.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/durable_file.h"
#include "common/file_read.h"
#include "common/time_format.h"
#include "relay/ops/runtime_config.h"
#include "reporting/report_builder.h"
#include "reporting/report_dispatch.h"
#include "reporting/report_reader.h"
#include "reporting/sqlite_report_store.h"

namespace tlsrelay {
namespace {

struct Opened {
  RelayConfig config;
  std::unique_ptr<ReportStore> store;
};

Result<Opened> openStore(const std::string& config_path) {
  auto cfg = loadRelayConfig(config_path);
  if (!cfg.ok()) return cfg.error();
  // A relay that never ran has no spool yet; an empty store answers for it.
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(cfg->reporting.store).parent_path(), ec);
  auto store = openSqliteReportStore(cfg->reporting.store);
  if (!store.ok()) return store.error();
  return Opened{std::move(*cfg), std::move(*store)};
}

int runList(const Opened& o, const ReportCommandArgs& a) {
  int64_t now = ::time(nullptr);
  auto rows = o.store->summaries(utcDay(now - int64_t(a.days) * 86400), utcDay(now));
  if (!rows.ok()) {
    std::cerr << rows.error().message << "\n";
    return 1;
  }
  if (a.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const DaySummary& s : *rows) {
      nlohmann::json j = {{"day", s.day},
                          {"policy-domain", s.policy_domain},
                          {"successful-sessions", s.successful},
                          {"failed-sessions", s.failed},
                          {"report", s.report ? toString(s.report->state) : "pending"}};
      if (s.report && !s.report->report_id.empty()) j["report-id"] = s.report->report_id;
      if (s.report && !s.report->last_error.empty()) j["last-error"] = s.report->last_error;
      out.push_back(std::move(j));
    }
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  if (rows->empty()) std::cout << "no TLS sessions counted in the last " << a.days << " days\n";
  for (const DaySummary& s : *rows)
    std::cout << s.day << "  " << s.policy_domain << "  ok=" << s.successful << " failed=" << s.failed
              << "  report=" << (s.report ? toString(s.report->state) : "pending") << "\n";
  return 0;
}

int runShow(const Opened& o, const ReportCommandArgs& a) {
  if (!parseUtcDay(a.day)) {
    std::cerr << "DATE must be YYYY-MM-DD (UTC), got \"" << a.day << "\"\n";
    return 1;
  }
  auto counts = o.store->sessionCounts(a.day, a.domain);
  if (!counts.ok()) {
    std::cerr << counts.error().message << "\n";
    return 1;
  }
  if (counts->empty()) {
    std::cerr << "no TLS sessions counted for " << a.domain << " on " << a.day << "\n";
    return 1;
  }
  // The report the relay would send, under its host name.
  const std::string& host = o.config.hostname;
  TlsReportDocument doc = dailyReport({host, host, "", "", ""}, a.day, a.domain, *counts);
  if (a.json) {
    std::cout << reportJson(doc) << "\n";
    return 0;
  }
  std::cout << "report " << doc.report_id << " (" << doc.start_datetime << " .. " << doc.end_datetime
            << ")\n";
  for (const ReportPolicyEntry& p : doc.policies) {
    std::cout << "  policy " << p.policy_type << " " << p.policy_domain
              << ": ok=" << p.total_successful_session_count << " failed=" << p.total_failure_session_count
              << "\n";
    for (const ReportFailureDetail& f : p.failure_details)
      std::cout << "    " << f.result_type << " x" << f.failed_session_count
                << "  mx=" << f.receiving_mx_hostname << " ip=" << f.receiving_ip << "  "
                << f.failure_reason_code << "\n";
  }
  return 0;
}

// Malformed input is kept for inspection beside the store.
std::string keepMalformed(const Opened& o, const std::string& bytes) {
  auto dir = std::filesystem::path(o.config.reporting.store).parent_path() / "tls-reports-malformed";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  auto path = dir / (std::to_string(::time(nullptr)) + "-" + std::to_string(::getpid()) + ".report");
  if (!replaceFileDurably(path.string(), bytes, 0640).ok()) return "";
  return path.string();
}

int runIngest(const Opened& o, const ReportCommandArgs& a) {
  auto bytes = readWholeFile(a.file, kReportMaxBytes);
  if (!bytes.ok()) {
    std::cerr << bytes.error().message << "\n";
    return 1;
  }
  auto report = readTlsReport(*bytes);
  if (!report.ok()) {
    std::string kept = keepMalformed(o, *bytes);
    std::cerr << a.file << ": not a TLS report we can read: " << report.error().message;
    if (!kept.empty()) std::cerr << " (kept as " << kept << ")";
    std::cerr << "\n";
    return 1;
  }
  StoredReceivedReport stored;
  stored.received_at = ::time(nullptr);
  // Filed under the UTC day the report starts on, whatever offset its
  // sender wrote; one without a readable start under the day it came.
  stored.day = utcDay(parseRfc3339(report->document.start_datetime).value_or(stored.received_at));
  stored.document = report->document;
  stored.deviations = report->deviations;
  stored.raw = std::move(*bytes);
  auto added = o.store->addReceivedReport(stored);
  if (!added.ok()) {
    std::cerr << added.error().message << "\n";
    return 1;
  }
  const char* what = *added == ReceivedAdd::Stored ? "stored" : "duplicate";
  if (a.json) {
    nlohmann::json j = {{"result", what},
                        {"organization-name", stored.document.organization_name},
                        {"report-id", stored.document.report_id},
                        {"policies", stored.document.policies.size()},
                        {"deviations", stored.deviations}};
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  std::cout << what << ": " << stored.document.organization_name << " report " << stored.document.report_id
            << " (" << stored.document.policies.size() << " policies)\n";
  for (const std::string& d : stored.deviations) std::cout << "  deviation: " << d << "\n";
  return 0;
}

int runReceived(const Opened& o, const ReportCommandArgs& a) {
  auto rows = o.store->receivedSummaries();
  if (!rows.ok()) {
    std::cerr << rows.error().message << "\n";
    return 1;
  }
  if (a.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const ReceivedSummary& s : *rows)
      out.push_back({{"day", s.day},
                     {"organization-name", s.organization_name},
                     {"policy-domain", s.policy_domain},
                     {"successful-sessions", s.successful},
                     {"failed-sessions", s.failed},
                     {"reports", s.reports}});
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  if (rows->empty()) std::cout << "no TLS reports received\n";
  for (const ReceivedSummary& s : *rows)
    std::cout << s.day << "  " << s.organization_name << "  " << s.policy_domain << "  ok=" << s.successful
              << " failed=" << s.failed << "  reports=" << s.reports << "\n";
  return 0;
}

}  // namespace

ReportCommands::ReportCommands(CLI::App& app) {
  CLI::App* report = app.add_subcommand("report", "TLS reports (RFC 8460): ours and those sent to us");
  report->require_subcommand(1);
  list_ = report->add_subcommand("list", "per day and policy domain: sessions counted and report state");
  list_->add_option("--days", args_.days, "how many days back (default 7)");
  show_ = report->add_subcommand("show", "the report one day's counts make for a policy domain");
  show_->add_option("date", args_.day, "UTC day, YYYY-MM-DD")->required();
  show_->add_option("domain", args_.domain, "policy domain")->required();
  ingest_ = report->add_subcommand("ingest", "read a report someone sent us (JSON, gzip or a whole mail)");
  ingest_->add_option("file", args_.file)->required();
  received_ =
      report->add_subcommand("received", "reports sent to us, per organisation, policy domain and day");
  for (CLI::App* c : {list_, show_, ingest_, received_}) c->add_flag("--json", args_.json, "print JSON");
}

bool ReportCommands::parsed() const {
  return list_->parsed() || show_->parsed() || ingest_->parsed() || received_->parsed();
}

int ReportCommands::run(const std::string& config_path) const {
  auto opened = openStore(config_path);
  if (!opened.ok()) {
    std::cerr << opened.error().message << "\n";
    return 1;
  }
  if (list_->parsed()) return runList(*opened, args_);
  if (show_->parsed()) return runShow(*opened, args_);
  if (ingest_->parsed()) return runIngest(*opened, args_);
  return runReceived(*opened, args_);
}

}  // namespace tlsrelay
