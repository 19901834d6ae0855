// Chooses the report store; see open_report_store.h.
#include "reporting/open_report_store.h"

#include "reporting/postgres_report_store.h"
#include "reporting/sqlite_report_store.h"

namespace tlsrelay {

bool isPostgresReportStore(std::string_view spec) {
  return spec.starts_with("postgresql://") || spec.starts_with("postgres://");
}

Result<std::unique_ptr<ReportStore>> openReportStore(const std::string& spec) {
  if (isPostgresReportStore(spec)) return openPostgresReportStore(spec);
  return openSqliteReportStore(spec);
}

}  // namespace tlsrelay
