// The durable spool: file I/O, fsync ordering, group commit and recovery.
// The byte format lives in spool_format.cc; the design and crash cases are
// described in spool.h.
#include "relay/queue/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <optional>
#include <system_error>
#include <thread>

#include "common/log.h"
#include "relay/queue/crc32c.h"
#include "relay/queue/queue_id.h"
#include "relay/queue/spool_format.h"

namespace tlsrelay {
namespace {

namespace fmt = spool_format;

constexpr std::string_view kSuffix = ".msg";
constexpr std::string_view kStage = "spool";

std::string errnoText(int err) {
  char buf[256];
  return strerror_r(err, buf, sizeof buf);  // GNU strerror_r returns the text
}

Error sysError(const std::string& what, int err) {
  return makeError(what + ": " + errnoText(err));
}

// Closes the descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  bool valid() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

std::string fileName(const std::string& queue_id) {
  return queue_id + std::string(kSuffix);
}

// The queue id of a file name in queue/, or nullopt if the name is foreign.
std::optional<std::string> queueIdOfFile(std::string_view name) {
  if (name.size() <= kSuffix.size() || name.substr(name.size() - kSuffix.size()) != kSuffix)
    return std::nullopt;
  std::string id(name.substr(0, name.size() - kSuffix.size()));
  if (!isValidQueueId(id)) return std::nullopt;
  return id;
}

Status checkId(const std::string& queue_id) {
  if (!isValidQueueId(queue_id)) return makeError("invalid queue id '" + queue_id.substr(0, 80) + "'");
  return okStatus();
}

Status checkEnvelope(const Envelope* envelope) {
  if (envelope == nullptr) return makeError("no envelope");
  return checkId(envelope->queue_id);
}

// Writes a and then b, the whole of both (writev: the 50 MiB data buffer is
// handed to the kernel as is).
Status writeAll(int fd, std::string_view a, std::string_view b) {
  iovec iov[2] = {{const_cast<char*>(a.data()), a.size()}, {const_cast<char*>(b.data()), b.size()}};
  int first = 0;
  while (first < 2) {
    if (iov[first].iov_len == 0) {
      ++first;
      continue;
    }
    ssize_t n = ::writev(fd, iov + first, 2 - first);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sysError("write", errno);
    }
    auto left = static_cast<size_t>(n);
    while (first < 2 && left >= iov[first].iov_len) {
      left -= iov[first].iov_len;
      iov[first].iov_len = 0;
      ++first;
    }
    if (first < 2) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return okStatus();
}

// Reads exactly out.size() bytes at offset; a short file is an error.
Status preadAll(int fd, char* out, size_t length, uint64_t offset) {
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, out + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return sysError("read", errno);
    }
    if (n == 0) return makeError("unexpected end of file");
    done += static_cast<size_t>(n);
  }
  return okStatus();
}

Result<uint64_t> fileSize(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return sysError("fstat", errno);
  return static_cast<uint64_t>(st.st_size);
}

int syncData(int fd) {
  int rc;
  do rc = ::fdatasync(fd);
  while (rc != 0 && errno == EINTR);
  return rc;
}

// fdatasyncs every descriptor and returns each call's errno (0 = durable).
// The calls run concurrently (up to kSyncParallelism at once): the file
// system merges concurrent fsyncs into shared journal commits and the block
// layer merges their cache flushes, which one-after-another calls cannot
// share. Writeback of all files is started first so the disk sees one stream.
constexpr size_t kSyncParallelism = 8;

std::vector<int> syncAll(const std::vector<int>& fds) {
  std::vector<int> errors(fds.size(), 0);
  for (int fd : fds) ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < fds.size();) errors[i] = syncData(fds[i]) == 0 ? 0 : errno;
  };
  std::vector<std::thread> helpers;
  try {
    for (size_t n = 1; n < std::min(fds.size(), kSyncParallelism); ++n) helpers.emplace_back(worker);
  } catch (const std::system_error&) {
    // No thread to spare: the caller syncs the rest itself.
  }
  worker();
  for (auto& t : helpers) t.join();
  return errors;
}

// syncAll over the valid descriptors of `files`; errors[i] belongs to files[i]
// (0 for durable and for the skipped invalid ones).
std::vector<int> syncValidFiles(const std::vector<Fd>& files, std::atomic<uint64_t>& sync_counter) {
  std::vector<int> fds;
  std::vector<size_t> index;
  for (size_t i = 0; i < files.size(); ++i) {
    if (!files[i].valid()) continue;
    fds.push_back(files[i].get());
    index.push_back(i);
  }
  sync_counter.fetch_add(fds.size(), std::memory_order_relaxed);
  std::vector<int> partial = syncAll(fds);
  std::vector<int> errors(files.size(), 0);
  for (size_t k = 0; k < index.size(); ++k) errors[index[k]] = partial[k];
  return errors;
}

// Everything about one message file except its data bytes.
struct Inspection {
  fmt::Header header;
  Envelope envelope;  // current
  uint64_t file_size = 0;
  uint64_t valid_length = 0;  // without a torn tail
  std::string torn_reason;
};

// Reads and checks a message file piecewise: header, envelope, state records,
// and (if verify_data) the data checksum in chunks, so a 50 MiB message is
// never held in memory just to be checked.
Result<Inspection> inspect(int fd, bool verify_data) {
  auto size = fileSize(fd);
  if (!size) return size.error();
  Inspection in;
  in.file_size = *size;
  std::string header_bytes(std::min<uint64_t>(in.file_size, fmt::kHeaderSize), '\0');
  if (auto st = preadAll(fd, header_bytes.data(), header_bytes.size(), 0); !st) return st.error();
  auto header = fmt::parseHeader(header_bytes);
  if (!header) return header.error();
  in.header = *header;
  const fmt::Header& h = in.header;
  if (in.file_size < h.dataOffset()) {
    return makeError("truncated: envelope needs " + std::to_string(h.envelope_length) + " bytes, file has " +
                     std::to_string(in.file_size - fmt::kHeaderSize));
  }
  std::string envelope_bytes(h.envelope_length, '\0');
  if (auto st = preadAll(fd, envelope_bytes.data(), envelope_bytes.size(), fmt::kHeaderSize); !st)
    return st.error();
  if (crc32c(envelope_bytes) != h.envelope_crc) return makeError("envelope checksum mismatch");
  if (in.file_size < h.journalOffset()) {
    return makeError("truncated: data needs " + std::to_string(h.data_length) + " bytes, file has " +
                     std::to_string(in.file_size - h.dataOffset()));
  }
  if (verify_data) {
    std::string chunk(std::min<uint64_t>(h.data_length, 1 << 20), '\0');
    uint32_t crc = 0;
    for (uint64_t at = 0; at < h.data_length;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), h.data_length - at));
      if (auto st = preadAll(fd, chunk.data(), n, h.dataOffset() + at); !st) return st.error();
      crc = crc32c(std::string_view(chunk.data(), n), crc);
      at += n;
    }
    if (crc != h.data_crc) return makeError("data checksum mismatch");
  }
  auto stored = fmt::decodeEnvelope(envelope_bytes);
  if (!stored) return stored.error();
  uint64_t journal_size = in.file_size - h.journalOffset();
  if (journal_size > uint64_t{1} << 30) return makeError("state records take more than 1 GiB");
  std::string journal_bytes(static_cast<size_t>(journal_size), '\0');
  if (auto st = preadAll(fd, journal_bytes.data(), journal_bytes.size(), h.journalOffset()); !st)
    return st.error();
  auto journal = fmt::parseJournal(journal_bytes);
  if (!journal) return journal.error();
  auto current = fmt::currentEnvelope(std::move(stored).value(), *journal, h);
  if (!current) return current.error();
  in.envelope = std::move(current).value();
  in.valid_length = h.journalOffset() + journal->valid_length;
  in.torn_reason = journal->torn_reason;
  return in;
}

Result<Fd> openDirectory(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return sysError("open directory " + path, errno);
  return fd;
}

// Entry names of a directory (without . and ..), sorted.
Result<std::vector<std::string>> listDirectory(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return sysError("list " + path, errno);
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

// Moves a file between directories without ever replacing an existing one.
int renameNoReplace(int from_dir, const char* from, int to_dir, const char* to) {
  int rc = ::renameat2(from_dir, from, to_dir, to, RENAME_NOREPLACE);
  if (rc != 0 && errno == EINVAL) {  // file system without RENAME_NOREPLACE
    if (::faccessat(to_dir, to, F_OK, 0) == 0) {
      errno = EEXIST;
      return -1;
    }
    rc = ::renameat(from_dir, from, to_dir, to);
  }
  return rc;
}

}  // namespace

Result<std::unique_ptr<Spool>> Spool::open(const SpoolOptions& options) {
  if (options.directory.empty()) return makeError("spool directory is not set");
  const std::string& root = options.directory;
  for (const char* sub : {"", "/queue", "/tmp", "/quarantine"}) {
    std::error_code ec;
    bool created = std::filesystem::create_directories(root + sub, ec);
    if (ec) return makeError("create spool directory " + root + sub + ": " + ec.message());
    // Mail is private: only the relay's user may read the spool.
    if (created) std::filesystem::permissions(root + sub, std::filesystem::perms::owner_all, ec);
  }
  auto root_fd = openDirectory(root);
  if (!root_fd) return root_fd.error();
  auto queue_fd = openDirectory(root + "/queue");
  if (!queue_fd) return queue_fd.error();
  auto tmp_fd = openDirectory(root + "/tmp");
  if (!tmp_fd) return tmp_fd.error();
  auto quarantine_fd = openDirectory(root + "/quarantine");
  if (!quarantine_fd) return quarantine_fd.error();
  // The sub-directories themselves must survive a crash before the first
  // message is acknowledged.
  if (options.fsync && ::fsync(root_fd->get()) != 0) return sysError("fsync " + root, errno);
  return std::unique_ptr<Spool>(new Spool(options, root_fd->release(), queue_fd->release(), tmp_fd->release(),
                                          quarantine_fd->release()));
}

Spool::Spool(SpoolOptions options, int root_fd, int queue_fd, int tmp_fd, int quarantine_fd)
    : options_(std::move(options)),
      root_fd_(root_fd),
      queue_fd_(queue_fd),
      tmp_fd_(tmp_fd),
      quarantine_fd_(quarantine_fd) {}

Spool::~Spool() {
  for (int fd : {root_fd_, queue_fd_, tmp_fd_, quarantine_fd_}) ::close(fd);
}

std::vector<Status> Spool::storeBatch(
    const std::vector<std::pair<const Envelope*, std::string_view>>& messages) {
  std::vector<Status> results(messages.size(), okStatus());
  std::vector<Fd> files(messages.size());
  std::vector<std::string> names(messages.size());

  // 1. Write every message to tmp/ (O_EXCL: a reused id fails, never mixes).
  for (size_t i = 0; i < messages.size(); ++i) {
    const Envelope* envelope = messages[i].first;
    if (auto st = checkEnvelope(envelope); !st) {
      results[i] = st.error();
      continue;
    }
    names[i] = fileName(envelope->queue_id);
    Fd fd(::openat(tmp_fd_, names[i].c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid()) {
      results[i] = sysError("create tmp/" + names[i], errno);
      continue;
    }
    std::string prefix = fmt::encodeMessagePrefix(*envelope, messages[i].second);
    if (auto st = writeAll(fd.get(), prefix, messages[i].second); !st) {
      results[i] = makeError("write tmp/" + names[i] + ": " + st.error().message);
      ::unlinkat(tmp_fd_, names[i].c_str(), 0);
      continue;
    }
    files[i] = std::move(fd);
  }

  // 2. Make the data durable before the name points at it.
  if (options_.fsync) {
    std::vector<int> errors = syncValidFiles(files, file_syncs_);
    for (size_t i = 0; i < files.size(); ++i) {
      if (errors[i] == 0) continue;
      results[i] = sysError("fdatasync tmp/" + names[i], errors[i]);
      files[i].reset();
      ::unlinkat(tmp_fd_, names[i].c_str(), 0);
    }
  }

  // 3. Rename into queue/.
  std::vector<size_t> renamed;
  for (size_t i = 0; i < files.size(); ++i) {
    if (!files[i].valid()) continue;
    files[i].reset();
    if (renameNoReplace(tmp_fd_, names[i].c_str(), queue_fd_, names[i].c_str()) != 0) {
      int err = errno;
      results[i] =
          sysError(err == EEXIST ? "queue id already spooled: " + names[i] : "rename " + names[i], err);
      ::unlinkat(tmp_fd_, names[i].c_str(), 0);
      continue;
    }
    renamed.push_back(i);
  }

  // 4. One directory fsync makes every rename of the batch durable.
  if (!renamed.empty() && options_.fsync) {
    if (auto st = syncQueueDirectory(); !st) {
      // Not acknowledged, so not kept: the client will retry, and a copy left
      // here would be delivered twice.
      for (size_t i : renamed) {
        results[i] = st.error();
        ::unlinkat(queue_fd_, names[i].c_str(), 0);
      }
      return results;
    }
  }
  messages_stored_.fetch_add(renamed.size(), std::memory_order_relaxed);
  return results;
}

Status Spool::store(const Envelope& envelope, std::string_view data) {
  return storeBatch({{&envelope, data}}).front();
}

Status Spool::syncQueueDirectory() {
  std::unique_lock lock(sync_mutex_);
  // Every rename this thread did happened before this ticket; any fsync that
  // starts after the ticket was taken covers it.
  const uint64_t ticket = ++renames_ticket_;
  bool led = false;
  while (synced_through_ < ticket) {
    if (failed_through_ >= ticket) return makeError("fsync queue directory failed");
    if (sync_running_) {
      sync_done_.wait(lock);
      continue;
    }
    sync_running_ = true;
    led = true;
    const uint64_t covers = renames_ticket_;
    lock.unlock();
    int rc = ::fsync(queue_fd_);
    int err = errno;
    directory_syncs_.fetch_add(1, std::memory_order_relaxed);
    lock.lock();
    sync_running_ = false;
    if (rc == 0) {
      synced_through_ = std::max(synced_through_, covers);
    } else {
      failed_through_ = std::max(failed_through_, covers);
      log::error(kStage, "fsync of the queue directory failed", {{"error", errnoText(err)}});
    }
    sync_done_.notify_all();
    if (rc != 0) return sysError("fsync queue directory", err);
  }
  if (!led) directory_syncs_saved_.fetch_add(1, std::memory_order_relaxed);
  return okStatus();
}

std::vector<Status> Spool::updateBatch(const std::vector<const Envelope*>& envelopes) {
  std::vector<Status> results(envelopes.size(), okStatus());
  std::vector<Fd> files(envelopes.size());
  for (size_t i = 0; i < envelopes.size(); ++i) {
    const Envelope* envelope = envelopes[i];
    if (auto st = checkEnvelope(envelope); !st) {
      results[i] = st.error();
      continue;
    }
    const std::string name = fileName(envelope->queue_id);
    // Held until the record is written (not across the fdatasync, which may
    // be shared with other messages' records).
    std::lock_guard append_guard(appendLock(envelope->queue_id));
    Fd fd(::openat(queue_fd_, name.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd.valid()) {
      results[i] = errno == ENOENT ? makeError("no message " + envelope->queue_id + " in the spool")
                                   : sysError("open " + name, errno);
      continue;
    }
    // Reading the records first costs little next to the fsync, and it means
    // an append never lands behind a torn record left by an earlier crash
    // (recover() may not have run in this process, e.g. in the CLI).
    auto current = inspect(fd.get(), false);
    if (!current) {
      results[i] = makeError("spool file " + name + ": " + current.error().message);
      continue;
    }
    if (current->envelope.queue_id != envelope->queue_id) {
      results[i] = makeError("spool file " + name + " holds queue id " + current->envelope.queue_id);
      continue;
    }
    std::string record = fmt::encodeStateRecord(*envelope);
    auto at = static_cast<off_t>(current->valid_length);
    bool ok = true;
    if (current->valid_length != current->file_size && ::ftruncate(fd.get(), at) != 0) {
      results[i] = sysError("truncate torn record of " + name, errno);
      ok = false;
    }
    for (size_t done = 0; ok && done < record.size();) {
      ssize_t n =
          ::pwrite(fd.get(), record.data() + done, record.size() - done, at + static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        results[i] = sysError("append state to " + name, n < 0 ? errno : EIO);
        // Cut the partial record so later appends stay readable.
        if (::ftruncate(fd.get(), at) != 0)
          log::error(kStage, "cannot cut a partial state record", {{"id", envelope->queue_id}});
        ok = false;
        break;
      }
      done += static_cast<size_t>(n);
    }
    if (ok) files[i] = std::move(fd);
  }
  // The file name does not change, so fdatasync alone (it includes the new
  // size) makes the record durable; no directory fsync.
  if (options_.fsync) {
    std::vector<int> errors = syncValidFiles(files, file_syncs_);
    for (size_t i = 0; i < files.size(); ++i) {
      if (errors[i] != 0) results[i] = sysError("fdatasync state of " + envelopes[i]->queue_id, errors[i]);
    }
  }
  for (size_t i = 0; i < files.size(); ++i)
    if (files[i].valid() && results[i].ok()) state_updates_.fetch_add(1, std::memory_order_relaxed);
  return results;
}

std::mutex& Spool::appendLock(const std::string& queue_id) {
  return append_locks_[std::hash<std::string>{}(queue_id) % append_locks_.size()];
}

Status Spool::updateEnvelope(const Envelope& envelope) {
  return updateBatch({&envelope}).front();
}

Result<Envelope> Spool::readEnvelope(const std::string& queue_id) const {
  if (auto st = checkId(queue_id); !st) return st.error();
  const std::string name = fileName(queue_id);
  Fd fd(::openat(queue_fd_, name.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return errno == ENOENT ? makeError("no message " + queue_id + " in the spool")
                           : sysError("open " + name, errno);
  }
  auto in = inspect(fd.get(), false);
  if (!in) return makeError("spool file " + name + ": " + in.error().message);
  return std::move(in->envelope);
}

Result<std::string> Spool::readData(const std::string& queue_id) const {
  if (auto st = checkId(queue_id); !st) return st.error();
  const std::string name = fileName(queue_id);
  Fd fd(::openat(queue_fd_, name.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return errno == ENOENT ? makeError("no message " + queue_id + " in the spool")
                           : sysError("open " + name, errno);
  }
  auto in = inspect(fd.get(), false);  // header and envelope; the data is checked below, once
  if (!in) return makeError("spool file " + name + ": " + in.error().message);
  std::string data(static_cast<size_t>(in->header.data_length), '\0');
  if (auto st = preadAll(fd.get(), data.data(), data.size(), in->header.dataOffset()); !st) {
    return makeError("read " + name + ": " + st.error().message);
  }
  if (crc32c(data) != in->header.data_crc)
    return makeError("spool file " + name + ": data checksum mismatch");
  return data;
}

// No directory fsync after the unlink: remove() is called only once every
// recipient's final state is durable in the file. If a crash loses the
// unlink, recover() returns the message with nothing pending and the caller
// removes it again, so nothing is sent twice; the fsync would buy nothing.
Status Spool::remove(const std::string& queue_id) {
  if (auto st = checkId(queue_id); !st) return st;
  const std::string name = fileName(queue_id);
  if (::unlinkat(queue_fd_, name.c_str(), 0) != 0) {
    return errno == ENOENT ? makeError("no message " + queue_id + " in the spool")
                           : sysError("unlink " + name, errno);
  }
  return okStatus();
}

std::vector<std::string> Spool::listQueueIds() const {
  std::vector<std::string> ids;
  auto names = listDirectory(options_.directory + "/queue");
  if (!names) {
    log::error(kStage, "cannot list the queue", {{"error", names.error().message}});
    return ids;
  }
  for (const auto& name : *names)
    if (auto id = queueIdOfFile(name)) ids.push_back(std::move(*id));
  return ids;
}

bool Spool::quarantine(const std::string& name, const std::string& reason) {
  std::string target = name;
  for (int n = 1; renameNoReplace(queue_fd_, name.c_str(), quarantine_fd_, target.c_str()) != 0; ++n) {
    if (errno != EEXIST || n > 1000) {
      log::error(kStage, "cannot quarantine unreadable spool file; left in place",
                 {{"file", "queue/" + name}, {"reason", reason}, {"error", errnoText(errno)}});
      return false;
    }
    target = name + "." + std::to_string(n);
  }
  log::warn(kStage, "quarantined unreadable spool file",
            {{"file", "queue/" + name}, {"quarantine", "quarantine/" + target}, {"reason", reason}});
  return true;
}

Spool::Recovery Spool::recover() {
  Recovery recovery;
  // Files in tmp/ were never acknowledged: the client got no 250.
  if (auto names = listDirectory(options_.directory + "/tmp")) {
    for (const auto& name : *names) {
      if (::unlinkat(tmp_fd_, name.c_str(), 0) == 0) {
        ++recovery.tmp_removed;
      } else {
        log::warn(kStage, "cannot remove unacknowledged tmp file",
                  {{"file", "tmp/" + name}, {"error", errnoText(errno)}});
      }
    }
    if (recovery.tmp_removed > 0) {
      log::info(kStage, "removed unacknowledged tmp files",
                {{"count", std::to_string(recovery.tmp_removed)}});
    }
  } else {
    log::error(kStage, "cannot list tmp directory", {{"error", names.error().message}});
  }

  auto names = listDirectory(options_.directory + "/queue");
  if (!names) {
    log::error(kStage, "cannot list the queue", {{"error", names.error().message}});
    return recovery;
  }
  for (const auto& name : *names) {
    try {
      auto id = queueIdOfFile(name);
      if (!id) {
        if (quarantine(name, "not a spool file name")) ++recovery.quarantined;
        continue;
      }
      Fd fd(::openat(queue_fd_, name.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
      if (!fd.valid()) {
        int err = errno;
        // A directory or symlink where a message should be.
        if (err == EISDIR || err == ELOOP) {
          if (quarantine(name, "not a regular file")) ++recovery.quarantined;
        } else {
          log::error(kStage, "cannot open spool file; left in place",
                     {{"file", "queue/" + name}, {"error", errnoText(err)}});
        }
        continue;
      }
      auto in = inspect(fd.get(), true);
      if (!in) {
        if (quarantine(name, in.error().message)) ++recovery.quarantined;
        continue;
      }
      if (in->envelope.queue_id != *id) {
        if (quarantine(name, "file holds queue id '" + in->envelope.queue_id + "'")) ++recovery.quarantined;
        continue;
      }
      if (!in->torn_reason.empty()) {
        // An append cut short by a crash: it was never acknowledged, so the
        // previous state stands. Cut it off so the next append is readable.
        log::warn(kStage, "dropped a torn state record",
                  {{"id", *id}, {"file", "queue/" + name}, {"reason", in->torn_reason}});
        if (::ftruncate(fd.get(), static_cast<off_t>(in->valid_length)) != 0 ||
            (options_.fsync && syncData(fd.get()) != 0)) {
          log::error(kStage, "cannot truncate torn state record", {{"id", *id}, {"error", errnoText(errno)}});
        }
      }
      recovery.messages.push_back(std::move(in->envelope));
    } catch (const std::exception& e) {  // e.g. bad_alloc: not the file's fault, so keep it
      log::error(kStage, "cannot recover spool file; left in place",
                 {{"file", "queue/" + name}, {"error", e.what()}});
    }
  }
  if (recovery.quarantined > 0 && options_.fsync) {
    ::fsync(quarantine_fd_);
    ::fsync(queue_fd_);
  }
  log::info(kStage, "spool recovered",
            {{"messages", std::to_string(recovery.messages.size())},
             {"quarantined", std::to_string(recovery.quarantined)},
             {"tmp_removed", std::to_string(recovery.tmp_removed)}});
  return recovery;
}

SpoolStats Spool::stats() const {
  SpoolStats s;
  s.messages_stored = messages_stored_.load();
  s.state_updates = state_updates_.load();
  s.file_syncs = file_syncs_.load();
  s.directory_syncs = directory_syncs_.load();
  s.directory_syncs_saved = directory_syncs_saved_.load();
  return s;
}

}  // namespace tlsrelay
