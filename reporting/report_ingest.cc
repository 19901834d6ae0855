#include "reporting/report_ingest.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "common/durable_file.h"
#include "common/time_format.h"
#include "reporting/report_reader.h"

namespace tlsrelay {
namespace {

std::string keepMalformed(const std::string& dir, const std::string& bytes, int64_t now) {
  static std::atomic<uint64_t> sequence{0};
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  // Time, process and a sequence: two relays (or two reports in one second)
  // never overwrite each other's copy.
  auto path = std::filesystem::path(dir) / (std::to_string(now) + "-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(sequence++) + ".report");
  if (!replaceFileDurably(path.string(), bytes, 0640).ok()) return "";
  return path.string();
}

}  // namespace

const char* toString(IngestOutcome::Kind kind) {
  switch (kind) {
    case IngestOutcome::Kind::Stored:
      return "stored";
    case IngestOutcome::Kind::Duplicate:
      return "duplicate";
    case IngestOutcome::Kind::Malformed:
      return "malformed";
    case IngestOutcome::Kind::StoreError:
      return "store-error";
  }
  return "store-error";
}

IngestOutcome ingestReport(ReportStore& store, std::string bytes, const std::string& malformed_dir,
                           int64_t now) {
  IngestOutcome out;
  auto report = readTlsReport(bytes);
  if (!report.ok()) {
    out.kind = IngestOutcome::Kind::Malformed;
    out.error = report.error().message;
    out.kept_as = keepMalformed(malformed_dir, bytes, now);
    return out;
  }
  StoredReceivedReport stored;
  stored.received_at = now;
  // Filed under the UTC day the report starts on, whatever offset its
  // sender wrote; one without a readable start under the day it came.
  stored.day = utcDay(parseRfc3339(report->document.start_datetime).value_or(now));
  stored.document = std::move(report->document);
  stored.deviations = std::move(report->deviations);
  stored.raw = std::move(bytes);
  out.organization_name = stored.document.organization_name;
  out.report_id = stored.document.report_id;
  out.policies = stored.document.policies.size();
  out.deviations = stored.deviations;
  auto added = store.addReceivedReport(stored);
  if (!added.ok()) {
    out.kind = IngestOutcome::Kind::StoreError;
    out.error = added.error().message;
    return out;
  }
  out.kind = *added == ReceivedAdd::Stored ? IngestOutcome::Kind::Stored : IngestOutcome::Kind::Duplicate;
  return out;
}

}  // namespace tlsrelay
