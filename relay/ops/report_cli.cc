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
#include "relay/ops/control_socket.h"
#include "relay/ops/report_service.h"
#include "relay/ops/runtime_config.h"
#include "reporting/open_report_store.h"
#include "reporting/report_builder.h"
#include "reporting/report_dispatch.h"
#include "reporting/report_ingest.h"
#include "reporting/report_reader.h"
#include "reporting/report_summary_json.h"

namespace tlsrelay {
namespace {

struct Opened {
  RelayConfig config;
  std::unique_ptr<ReportStore> store;
};

Result<Opened> openStore(const std::string& config_path) {
  auto cfg = loadRelayConfig(config_path);
  if (!cfg.ok()) return cfg.error();
  if (!isPostgresReportStore(cfg->reporting.store)) {
    // A relay that never ran has no spool yet; an empty store answers for it.
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(cfg->reporting.store).parent_path(), ec);
  }
  auto store = openReportStore(cfg->reporting.store);
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
    std::cout << daySummariesJson(*rows).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
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
  // The report the relay would send.
  const ReportingConfig& r = o.config.reporting;
  TlsReportDocument doc = dailyReport(reportSender(r), a.day, a.domain, *counts);
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

int runIngest(const Opened& o, const ReportCommandArgs& a) {
  auto bytes = readWholeFile(a.file, kReportMaxBytes);
  if (!bytes.ok()) {
    std::cerr << bytes.error().message << "\n";
    return 1;
  }
  IngestOutcome in = ingestReport(*o.store, std::move(*bytes),
                                  malformedReportDirectory(o.config.spool_directory), ::time(nullptr));
  if (in.kind == IngestOutcome::Kind::Malformed) {
    std::cerr << a.file << ": not a TLS report we can read: " << in.error;
    if (!in.kept_as.empty()) std::cerr << " (kept as " << in.kept_as << ")";
    std::cerr << "\n";
    return 1;
  }
  if (in.kind == IngestOutcome::Kind::StoreError) {
    std::cerr << in.error << "\n";
    return 1;
  }
  if (a.json) {
    nlohmann::json j = {{"result", toString(in.kind)},
                        {"organization-name", in.organization_name},
                        {"report-id", in.report_id},
                        {"policies", in.policies},
                        {"deviations", in.deviations}};
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  std::cout << toString(in.kind) << ": " << in.organization_name << " report " << in.report_id << " ("
            << in.policies << " policies)\n";
  for (const std::string& d : in.deviations) std::cout << "  deviation: " << d << "\n";
  return 0;
}

// The running daemon sends: the report mail goes through its spool.
int runSend(const Opened& o, const ReportCommandArgs& a) {
  auto reply = ControlSocket::send(controlSocketPath(o.config.spool_directory), "report-send " + a.day);
  if (!reply.ok()) {
    std::cerr << reply.error().message << "\n";
    return 1;
  }
  if (reply->rfind("ok ", 0) != 0) {
    std::cerr << (reply->rfind("error ", 0) == 0 ? reply->substr(6) : *reply) << "\n";
    return 1;
  }
  auto lines = nlohmann::json::parse(reply->substr(3), nullptr, false);
  if (!lines.is_array()) {
    std::cerr << "unexpected reply from the daemon: " << *reply << "\n";
    return 1;
  }
  if (a.json) {
    std::cout << lines.dump(2) << "\n";
  } else {
    if (lines.empty()) std::cout << "no reports to send\n";
    for (const auto& l : lines) {
      std::cout << l.value("day", "") << "  " << l.value("policy-domain", "") << "  "
                << l.value("result", "");
      for (const auto& r : l["reached"]) std::cout << "  " << r.get<std::string>();
      if (!l.value("detail", "").empty()) std::cout << "  (" << l.value("detail", "") << ")";
      std::cout << "\n";
    }
  }
  for (const auto& l : lines)
    if (l.value("result", "") == "failed") return 1;
  return 0;
}

int runReceived(const Opened& o, const ReportCommandArgs& a) {
  auto rows = o.store->receivedSummaries();
  if (!rows.ok()) {
    std::cerr << rows.error().message << "\n";
    return 1;
  }
  if (a.json) {
    std::cout << receivedSummariesJson(*rows).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
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
  send_ = report->add_subcommand("send", "ask the running relay to send the reports still due now");
  send_->add_option("--date", args_.day, "only this UTC day, YYYY-MM-DD (it must be over)");
  ingest_ = report->add_subcommand("ingest", "read a report someone sent us (JSON, gzip or a whole mail)");
  ingest_->add_option("file", args_.file)->required();
  received_ =
      report->add_subcommand("received", "reports sent to us, per organisation, policy domain and day");
  for (CLI::App* c : {list_, show_, send_, ingest_, received_})
    c->add_flag("--json", args_.json, "print JSON");
}

bool ReportCommands::parsed() const {
  return list_->parsed() || show_->parsed() || send_->parsed() || ingest_->parsed() || received_->parsed();
}

int ReportCommands::run(const std::string& config_path) const {
  auto opened = openStore(config_path);
  if (!opened.ok()) {
    std::cerr << opened.error().message << "\n";
    return 1;
  }
  if (list_->parsed()) return runList(*opened, args_);
  if (show_->parsed()) return runShow(*opened, args_);
  if (send_->parsed()) return runSend(*opened, args_);
  if (ingest_->parsed()) return runIngest(*opened, args_);
  return runReceived(*opened, args_);
}

}  // namespace tlsrelay
