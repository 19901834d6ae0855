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

std::string folderOf(const std::string& path) {
  std::filesystem::path target(path);
  return target.parent_path().empty() ? std::string(".") : target.parent_path().string();
}

// The content in a temporary file beside `path`, on disk (fsync) but not yet
// visible under the name. Returns the temporary's path.
Result<std::string> stage(const std::string& path, std::string_view data, mode_t mode) {
  static std::atomic<uint64_t> counter{0};
  // Unique per process and call, so two writers never share a temporary file.
  const std::string tmp = folderOf(path) + "/." + std::filesystem::path(path).filename().string() + ".tmp-" +
                          std::to_string(::getpid()) + "-" + std::to_string(counter++);
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
  if (!status) {
    ::unlink(tmp.c_str());
    return status.error();
  }
  return tmp;
}

// The rename is durable only once the folder entry is on disk.
void syncFolder(const std::string& path) {
  int dir_fd = ::open(folderOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

}  // namespace

Status replaceFileDurably(const std::string& path, std::string_view data, mode_t mode) {
  return replaceFilesDurably({{path, data, mode}});
}

Status replaceFilesDurably(const std::vector<FileContent>& files) {
  std::vector<std::string> staged;
  for (const FileContent& f : files) {
    auto tmp = stage(f.path, f.data, f.mode);
    if (!tmp) {
      for (const std::string& t : staged) ::unlink(t.c_str());
      return tmp.error();
    }
    staged.push_back(*tmp);
  }
  for (size_t i = 0; i < files.size(); ++i) {
    if (::rename(staged[i].c_str(), files[i].path.c_str()) != 0) {
      Error error = failure("cannot rename onto", files[i].path);
      for (size_t j = i; j < staged.size(); ++j) ::unlink(staged[j].c_str());
      return error;
    }
  }
  for (const FileContent& f : files) syncFolder(f.path);
  return okStatus();
}

}  // namespace tlsrelay
