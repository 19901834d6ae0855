// Measures what group commit buys the spool: N messages of S bytes stored
// (a) one fsync round per message, from one thread and from several, and
// (b) in batches of 8 and 32 from concurrent threads. Prints messages/s,
// fsync calls per message (file fdatasyncs + directory fsyncs, from
// SpoolStats), the cache flushes the block device actually saw per message
// (from /sys/dev/block/<dev>/stat, when readable; other activity on the same
// disk inflates it) and per-call latency — the time a client waits for 250.
//
// Usage: spool_group_commit [--dir DIR] [--messages N] [--size BYTES] [--repeat R]
// Each mode runs R times (default 3), interleaved; the median run is printed.
// DIR defaults to a new directory under $TMPDIR or /tmp; it is removed after.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "relay/queue/queue_id.h"
#include "relay/queue/spool.h"

namespace {

using tlsrelay::Envelope;
using Clock = std::chrono::steady_clock;

struct Mode {
  const char* name;
  int threads;
  size_t batch;
  bool fsync;
};

// Completed cache-flush requests of the block device holding `path` (field 16
// of the stat file, Linux >= 5.5), or -1.
long long deviceFlushes(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  std::string sys =
      "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  std::ifstream in(sys + "/stat");
  if (!in) return -1;
  std::vector<long long> fields;
  long long v;
  while (in >> v) fields.push_back(v);
  if (fields.size() < 16) return -1;
  // A partition counts no flushes of its own; use the whole disk if there is one.
  std::ifstream whole(sys + "/../stat");
  if (whole && std::filesystem::exists(sys + "/partition")) {
    fields.clear();
    while (whole >> v) fields.push_back(v);
    if (fields.size() < 16) return -1;
  }
  return fields[15];
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t index = std::min(values.size() - 1, static_cast<size_t>(p * static_cast<double>(values.size())));
  return values[index];
}

struct Row {
  double msgs_per_second = 0;
  double file_syncs = 0, dir_syncs = 0;  // per message
  double device_flushes = -1;            // per message; -1 = unknown
  double p50_ms = 0, p99_ms = 0;
  bool ok = false;
};

Row run(const Mode& mode, const std::string& base, size_t count, const std::string& data) {
  std::string dir = base + "/" + std::to_string(mode.threads) + "x" + std::to_string(mode.batch) +
                    (mode.fsync ? "" : "-nofsync");
  auto opened = tlsrelay::Spool::open(tlsrelay::SpoolOptions{dir, mode.fsync});
  if (!opened) {
    std::fprintf(stderr, "open %s: %s\n", dir.c_str(), opened.error().message.c_str());
    return {};
  }
  auto& spool = *opened.value();
  std::vector<Envelope> envelopes(count);
  for (auto& e : envelopes) {
    e.queue_id = tlsrelay::newQueueId();
    e.mail_from = "bench@example.org";
    e.recipients.push_back({"rcpt@example.com"});
    e.client_ip = "127.0.0.1";
  }

  std::atomic<size_t> next{0};
  std::atomic<size_t> failures{0};
  std::mutex latency_mutex;
  std::vector<double> latencies_ms;
  long long flushes_before = deviceFlushes(dir);
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < mode.threads; ++t) {
    threads.emplace_back([&] {
      std::vector<double> mine;
      for (;;) {
        size_t first = next.fetch_add(mode.batch);
        if (first >= count) break;
        size_t last = std::min(count, first + mode.batch);
        std::vector<std::pair<const Envelope*, std::string_view>> batch;
        for (size_t i = first; i < last; ++i) batch.emplace_back(&envelopes[i], data);
        auto t0 = Clock::now();
        for (const auto& st : spool.storeBatch(batch)) failures += st.ok() ? 0 : 1;
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
      std::lock_guard lock(latency_mutex);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  long long flushes_after = deviceFlushes(dir);

  tlsrelay::SpoolStats s = spool.stats();
  double n = static_cast<double>(count);
  Row row;
  row.msgs_per_second = n / seconds;
  row.file_syncs = static_cast<double>(s.file_syncs) / n;
  row.dir_syncs = static_cast<double>(s.directory_syncs) / n;
  if (flushes_before >= 0 && flushes_after >= 0)
    row.device_flushes = static_cast<double>(flushes_after - flushes_before) / n;
  row.p50_ms = percentile(latencies_ms, 0.5);
  row.p99_ms = percentile(latencies_ms, 0.99);
  row.ok = failures == 0;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return row;
}

void print(const Mode& mode, std::vector<Row> rows) {
  std::sort(rows.begin(), rows.end(),
            [](const Row& a, const Row& b) { return a.msgs_per_second < b.msgs_per_second; });
  const Row& median = rows[rows.size() / 2];
  char flushes[32] = "n/a";
  if (median.device_flushes >= 0) std::snprintf(flushes, sizeof flushes, "%.3f", median.device_flushes);
  bool ok = std::all_of(rows.begin(), rows.end(), [](const Row& r) { return r.ok; });
  std::printf("%-36s %7d %5zu %8.0f %8.0f..%-8.0f %9.3f %8.3f %9.3f %9s %8.2f %8.2f%s\n", mode.name,
              mode.threads, mode.batch, median.msgs_per_second, rows.front().msgs_per_second,
              rows.back().msgs_per_second, median.file_syncs, median.dir_syncs,
              median.file_syncs + median.dir_syncs, flushes, median.p50_ms, median.p99_ms,
              ok ? "" : "  FAILURES");
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  size_t count = 2000, size = 4096;
  int repeat = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--dir")
      dir = argv[i + 1];
    else if (flag == "--messages")
      count = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--size")
      size = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--repeat")
      repeat = std::max(1, std::atoi(argv[i + 1]));
    else {
      std::fprintf(stderr, "usage: %s [--dir DIR] [--messages N] [--size BYTES] [--repeat R]\n", argv[0]);
      return 2;
    }
  }
  bool made_dir = dir.empty();
  if (made_dir) {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp ? tmp : "/tmp") + "/spool_bench.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    dir = tmpl;
  }
  tlsrelay::log::setLevel(tlsrelay::log::Level::Warn);
  std::string data(size, 'x');
  for (size_t i = 76; i < data.size(); i += 78) data[i - 1] = '\r', data[i] = '\n';

  const Mode modes[] = {
      {"(a) one fsync round per message", 1, 1, true}, {"(a) per message, concurrent store()", 4, 1, true},
      {"(b) batches of 8, concurrent", 4, 8, true},    {"(b) batches of 32, concurrent", 4, 32, true},
      {"    batches of 32, one thread", 1, 32, true},  {"    no fsync (upper bound)", 1, 1, false},
  };
  std::printf("spool group commit: %zu messages of %zu bytes in %s, median of %d runs\n", count, size,
              dir.c_str(), repeat);
  std::printf("%-36s %7s %5s %8s %18s %9s %8s %9s %9s %8s %8s\n", "mode", "threads", "batch", "msgs/s",
              "(min..max)", "fdatasync", "dirfsync", "fsync/msg", "dev-flush", "p50 ms", "p99 ms");
  constexpr size_t kModes = sizeof modes / sizeof modes[0];
  std::vector<std::vector<Row>> rows(kModes);
  // Interleaved rounds, so a burst of other load on the disk hits every mode.
  for (int round = 0; round < repeat; ++round)
    for (size_t m = 0; m < kModes; ++m) rows[m].push_back(run(modes[m], dir, count, data));
  bool ok = true;
  for (size_t m = 0; m < kModes; ++m) {
    print(modes[m], rows[m]);
    for (const Row& r : rows[m]) ok = ok && r.ok;
  }
  if (made_dir) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return ok ? 0 : 1;
}
