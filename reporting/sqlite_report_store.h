// The ReportStore of one relay: a SQLite file in the state directory
// (<state>/tls-reports.sqlite). WAL mode, so the delivery worker writing counts
// and a CLI reading or sending reports from another process do not block each
// other; each store object is one connection behind a mutex. The schema carries
// its version in PRAGMA user_version so later builds can migrate it.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "reporting/report_store.h"

namespace tlsrelay {

// The schema version this build creates and reads; a newer file is refused.
inline constexpr int kSqliteReportStoreSchemaVersion = 1;

// Opens (creating the file, not its directory) and creates the schema when
// the file is new. Errors name the path: a missing directory, a file that is
// not a SQLite database, a schema from a newer build.
Result<std::unique_ptr<ReportStore>> openSqliteReportStore(const std::string& path);

}  // namespace tlsrelay
