// An append-only log that starts a new file every UTC day:
// <directory>/<prefix>YYYY-MM-DD<suffix>. Each append is one write(2) on an
// O_APPEND descriptor, so lines from concurrent writers never interleave and a
// crash loses nothing already appended. Shared by the accounting log and the
// TLS result log.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "common/time_format.h"  // utcDay

namespace tlsrelay {

class DailyAppendFile {
 public:
  // `header` (may be empty) is written first into every new, empty file.
  // `what` names the log in error messages ("accounting", "tls results").
  DailyAppendFile(std::string directory, std::string prefix, std::string suffix, std::string header,
                  std::string what);
  ~DailyAppendFile();
  DailyAppendFile(const DailyAppendFile&) = delete;
  DailyAppendFile& operator=(const DailyAppendFile&) = delete;

  // Thread-safe. Failures are logged (once per file and day), never thrown;
  // false when the data was not written.
  bool append(int64_t unix_seconds, std::string_view data);
  std::string pathFor(int64_t unix_seconds) const;

 private:
  bool openFor(const std::string& day);  // needs mutex_

  std::string directory_, prefix_, suffix_, header_, what_;
  std::mutex mutex_;
  int fd_ = -1;
  std::string open_day_;    // "YYYY-MM-DD" of fd_
  std::string failed_day_;  // day whose open failed, to log that only once
};

}  // namespace tlsrelay
