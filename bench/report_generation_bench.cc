// The daily TLS report run in the large: session counts for N policy domains
// (default 10,000) with 10 MX hosts each, mostly successes and a few failure
// types, become N reports (buildTlsReport + reportJson + gzipCompress, the
// pure part of the daily send). Prints the seconds for that and the peak RSS,
// so a change that makes the report run quadratic or memory-hungry shows up.
// Target: < 10 s and < 200 MiB for 10,000 domains. Not a test.
//
//   build/bench/report_generation_bench [--domains N] [--no-trim]
//
// --no-trim raises glibc's heap trim threshold. gzipCompress allocates a
// fresh ~270 KiB deflate state per call; by default glibc hands that memory
// back to the kernel on free (brk) and the next call faults it in again as
// zeroed pages, which is most of the run's time (system CPU). The flag shows
// what the run costs without that churn.
#include <malloc.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/gzip.h"
#include "reporting/report_builder.h"

using namespace tlsrelay;

namespace {

// One domain's day: every MX gets successes from two of our addresses; a
// few MX get certificate or STARTTLS failures, and some domains had their
// STS policy fetch fail for part of the day (reported as no-policy-found).
std::vector<SessionCount> domainCounts(size_t d, const std::string& day) {
  std::string domain = "domain" + std::to_string(d) + ".example";
  std::vector<std::string> lines = {"version: STSv1", "mode: enforce", "mx: *." + domain, "max_age: 604800"};
  std::vector<std::string> patterns = {"*." + domain};
  std::vector<SessionCount> rows;
  auto add = [&](TlsPolicyType type, TlsResultType result, const std::string& mx, int ip, const char* reason,
                 uint64_t n) {
    SessionCount& c = rows.emplace_back();
    c.key.day = day;
    c.key.policy_domain = domain;
    c.key.policy_type = type;
    if (type == TlsPolicyType::Sts) {
      c.key.policy_strings = lines;
      c.key.mx_host = patterns;
    }
    c.key.result_type = result;
    c.key.sending_ip = mx.empty() ? "" : "192.0.2." + std::to_string(1 + ip % 2);
    c.key.receiving_mx_hostname = mx;
    c.key.receiving_ip = mx.empty() ? "" : "198.51." + std::to_string(d % 256) + "." + std::to_string(ip);
    c.key.failure_reason_code = reason;
    c.sessions = n;
  };
  for (int m = 0; m < 10; ++m) {
    std::string mx = "mx" + std::to_string(m) + "." + domain;
    add(TlsPolicyType::Sts, TlsResultType::Success, mx, m, "", 100 + (d * 7 + m) % 900);
    add(TlsPolicyType::Sts, TlsResultType::Success, mx, m + 1, "", 50 + (d + m) % 300);
    if ((d + m) % 5 == 0)
      add(TlsPolicyType::Sts, TlsResultType::CertificateExpired, mx, m, "X509_V_ERR_CERT_HAS_EXPIRED", 1 + m);
    if ((d + m) % 7 == 0) add(TlsPolicyType::Sts, TlsResultType::StartTlsNotSupported, mx, m, "", 2);
    if ((d * 3 + m) % 11 == 0)
      add(TlsPolicyType::Sts, TlsResultType::CertificateHostMismatch, mx, m, "name mismatch", 1);
  }
  if (d % 10 == 0) {
    add(TlsPolicyType::NoPolicyFound, TlsResultType::StsPolicyFetchError, "", 0, "connect timeout", 3);
    add(TlsPolicyType::NoPolicyFound, TlsResultType::Success, "mx0." + domain, 0, "", 40);
  }
  return rows;
}

double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double maxRssMiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux: KiB
}

}  // namespace

int main(int argc, char** argv) {
  size_t domains = 10000;
  bool no_trim = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--domains") == 0 && i + 1 < argc)
      domains = std::strtoul(argv[++i], nullptr, 10);
    if (std::strcmp(argv[i], "--no-trim") == 0) no_trim = true;
  }
  if (no_trim) mallopt(M_TRIM_THRESHOLD, 64 << 20);
  const std::string day = "2026-12-06";

  // All of the day's counts in memory first, as the store would hand them over.
  std::vector<std::vector<SessionCount>> all(domains);
  size_t rows = 0;
  for (size_t d = 0; d < domains; ++d) rows += (all[d] = domainCounts(d, day)).size();
  double rss_input = maxRssMiB();

  // Wall time for the whole run, and per phase, plus CPU time: on a shared
  // machine wall time includes waiting for a core, CPU time does not.
  using clock = std::chrono::steady_clock;
  using seconds_d = std::chrono::duration<double>;
  double phase[3] = {0, 0, 0};  // build, JSON, gzip
  double cpu_start = cpuSeconds();
  auto start = clock::now();
  size_t json_bytes = 0, gzip_bytes = 0, failure_entries = 0;
  for (size_t d = 0; d < domains; ++d) {
    const std::string& domain = all[d].front().key.policy_domain;
    ReportMeta meta{"Example Relay", "tlsrpt@relay.example", day, reportId(day, domain, "relay.example")};
    auto t0 = clock::now();
    TlsReportDocument doc = buildTlsReport(meta, all[d]);
    auto t1 = clock::now();
    std::string json = reportJson(doc);
    auto t2 = clock::now();
    gzip_bytes += gzipCompress(json).size();
    auto t3 = clock::now();
    phase[0] += seconds_d(t1 - t0).count();
    phase[1] += seconds_d(t2 - t1).count();
    phase[2] += seconds_d(t3 - t2).count();
    for (const auto& p : doc.policies) failure_entries += p.failure_details.size();
    json_bytes += json.size();
  }
  double seconds = seconds_d(clock::now() - start).count();
  double cpu = cpuSeconds() - cpu_start;

  std::printf("glibc heap trim: %s\n", no_trim ? "off (--no-trim)" : "default");
  std::printf("domains: %zu, count rows: %zu, failure-details entries: %zu\n", domains, rows,
              failure_entries);
  std::printf("JSON: %.1f MiB, gzip: %.1f MiB\n", json_bytes / 1048576.0, gzip_bytes / 1048576.0);
  std::printf("build + JSON + gzip: %.3f s wall (%.1f reports/s), %.3f s CPU\n", seconds, domains / seconds,
              cpu);
  std::printf("  build %.3f s, JSON %.3f s, gzip %.3f s (wall)\n", phase[0], phase[1], phase[2]);
  std::printf("peak RSS: %.1f MiB (%.1f MiB after generating the input)\n", maxRssMiB(), rss_input);
  return 0;
}
