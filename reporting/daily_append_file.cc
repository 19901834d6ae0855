// Day-rotated append-only files; see daily_append_file.h.
#include "reporting/daily_append_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "common/log.h"

namespace tlsrelay {
namespace {

bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

DailyAppendFile::DailyAppendFile(std::string directory, std::string prefix, std::string suffix,
                                 std::string header, std::string what)
    : directory_(std::move(directory)),
      prefix_(std::move(prefix)),
      suffix_(std::move(suffix)),
      header_(std::move(header)),
      what_(std::move(what)) {}

DailyAppendFile::~DailyAppendFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::string DailyAppendFile::pathFor(int64_t unix_seconds) const {
  return directory_ + "/" + prefix_ + utcDay(unix_seconds) + suffix_;
}

bool DailyAppendFile::openFor(const std::string& day) {
  if (fd_ >= 0 && open_day_ == day) return true;
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    open_day_.clear();
  }
  std::string path = directory_ + "/" + prefix_ + day + suffix_;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    if (failed_day_ != day) {
      log::error(what_, "cannot open log file", {{"path", path}, {"error", std::strerror(errno)}});
      failed_day_ = day;
    }
    return false;
  }
  struct stat st {};
  if (!header_.empty() && ::fstat(fd, &st) == 0 && st.st_size == 0 && !writeAll(fd, header_))
    log::error(what_, "cannot write header", {{"path", path}, {"error", std::strerror(errno)}});
  fd_ = fd;
  open_day_ = day;
  failed_day_.clear();
  return true;
}

bool DailyAppendFile::append(int64_t unix_seconds, std::string_view data) {
  std::string day = utcDay(unix_seconds);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!openFor(day)) return false;
  // No fsync: the spool, not these logs, is the durable record of delivery
  // state; a power loss may lose the last lines, which is accepted.
  if (!writeAll(fd_, data)) {
    log::error(what_, "cannot append", {{"path", pathFor(unix_seconds)}, {"error", std::strerror(errno)}});
    return false;
  }
  return true;
}

}  // namespace tlsrelay
