// Durable whole-file replacement; see durable_file.h.
#include "common/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace tlsrelay {
namespace {

Error failure(const std::string& what, const std::string& path) {
  return makeError(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Status replaceFileDurably(const std::string& path, std::string_view data, mode_t mode) {
  static std::atomic<uint64_t> counter{0};
  std::filesystem::path target(path);
  std::string dir = target.parent_path().empty() ? std::string(".") : target.parent_path().string();
  // Unique per process and call, so two writers never share a temporary file.
  const std::string tmp = dir + "/." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) +
                          "-" + std::to_string(counter++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return failure("cannot create", tmp);
  Status status = okStatus();
  size_t done = 0;
  while (status && done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = failure("cannot write", tmp);
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (status && ::fchmod(fd, mode) != 0) status = failure("cannot chmod", tmp);
  // The data must be on disk before the rename makes it visible.
  if (status && ::fsync(fd) != 0) status = failure("cannot fsync", tmp);
  if (::close(fd) != 0 && status) status = failure("cannot close", tmp);
  if (status && ::rename(tmp.c_str(), path.c_str()) != 0) status = failure("cannot rename onto", path);
  if (!status) {
    ::unlink(tmp.c_str());
    return status;
  }
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return okStatus();
}

}  // namespace tlsrelay
