// The one place that turns `[reporting] store` into a store: a PostgreSQL
// URI for a fleet sharing one database, anything else a SQLite file of this
// relay alone.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "reporting/report_store.h"

namespace tlsrelay {

// True for "postgresql://…" and "postgres://…", the URI forms libpq takes.
bool isPostgresReportStore(std::string_view spec);

// Opens the PostgreSQL store for a URI (postgres_report_store.h), else the
// SQLite file at that path (sqlite_report_store.h).
Result<std::unique_ptr<ReportStore>> openReportStore(const std::string& spec);

}  // namespace tlsrelay
