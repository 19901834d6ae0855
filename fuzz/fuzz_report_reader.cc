// libFuzzer target: arbitrary bytes as a received TLS report (RFC 8460) —
// plain JSON, gzip, or a report mail — through readTlsReport. Exercises the
// nesting pre-scan, nlohmann's parser, the deviation-tolerant walk, zlib and
// GMime. Must never crash, hang or leak; an "internal error" (an exception
// that reached the safety net) is a bug and traps.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "reporting/report_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto report = tlsrelay::readTlsReport(input);
  if (!report.ok()) {
    if (report.error().message.starts_with("internal error")) __builtin_trap();
    return 0;
  }
  if (report->source_kind.empty()) __builtin_trap();
  if (report->deviations.size() > tlsrelay::kReportMaxDeviations + 1) __builtin_trap();
  return 0;
}
