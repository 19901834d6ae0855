// The ReportStore a fleet shares: one PostgreSQL database every relay points
// at, so the nodes add to the same counts and exactly one of them sends each
// daily report (the per-report lease row of claimReport, atomic in one
// statement). Each store object is one libpq connection behind a mutex; a
// connection the server dropped (a restart, a failover) is replaced on the
// next call, so the relay outlives its database server's restarts.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "reporting/report_store.h"

namespace tlsrelay {

// The schema version this build creates and reads; a newer database is refused.
inline constexpr int kPostgresReportStoreSchemaVersion = 1;

// `conninfo` is anything libpq takes: a postgresql:// URI or "key=value"
// pairs; the password may come from a libpq password file (PGPASSFILE)
// instead. Connects, and creates the schema when the database has none.
// Errors name the store by host, port and database only: never the password.
Result<std::unique_ptr<ReportStore>> openPostgresReportStore(const std::string& conninfo);

}  // namespace tlsrelay
