// Taking in one TLS report someone sent us, from `tlsrelay report ingest` or
// from a mail to the ingest address: read it (reporting/report_reader.h),
// store it once, and keep what cannot be read for inspection. BLOCKING (the
// store and the malformed-report file): run off the event loop.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reporting/report_store.h"

namespace tlsrelay {

struct IngestOutcome {
  enum class Kind : uint8_t {
    Stored,
    Duplicate,   // the same organization and report-id came before
    Malformed,   // not a report we can read; kept in `kept_as` when that worked
    StoreError,  // readable, but the store refused it: nothing was recorded
  };
  Kind kind = Kind::StoreError;
  std::string organization_name, report_id;
  size_t policies = 0;
  std::vector<std::string> deviations;  // where it strays from RFC 8460
  std::string error;                    // Malformed and StoreError
  std::string kept_as;                  // Malformed

  // The report is safe on disk (stored, a duplicate, or set aside as
  // malformed), so its sender may be told 250; otherwise it should retry.
  bool kept() const { return kind != Kind::StoreError && (kind != Kind::Malformed || !kept_as.empty()); }
};
const char* toString(IngestOutcome::Kind kind);

// `malformed_dir` is created when first needed.
IngestOutcome ingestReport(ReportStore& store, std::string bytes, const std::string& malformed_dir,
                           int64_t now);

}  // namespace tlsrelay
