// Replacing a small file so that a crash leaves either the old or the new
// content, never a torn one: write a temporary file in the same folder, fsync
// it, rename it over the target, fsync the folder (the rename is durable only
// once the folder entry is on disk). For caches and the users file; the spool
// has its own batched commit (relay/queue/spool_committer.h).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace tlsrelay {

// The file gets `mode` whatever the umask (0600: these files hold secrets or
// are ours alone). The error names the path and the step that failed.
Status replaceFileDurably(const std::string& path, std::string_view data, mode_t mode = 0600);

struct FileContent {
  std::string path;
  std::string_view data;
  mode_t mode = 0600;
};
// Files that only work together (a key and its certificate): every new
// content is written and synced first, so a failed write (disk full, no
// permission) leaves all the old files in place; only then are they renamed
// over the targets, one after the other.
Status replaceFilesDurably(const std::vector<FileContent>& files);

}  // namespace tlsrelay
