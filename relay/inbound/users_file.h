// The AUTH users file: one "user:hash" per line ('#' starts a comment), hashes
// made by libcrypt yescrypt ($y$, salted and deliberately slow). Passwords are
// never stored, and neither passwords nor hashes are ever logged.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

namespace tlsrelay {

// A yescrypt hash of `password` with a fresh random salt. Slow (tens of ms).
Result<std::string> hashPassword(std::string_view password);

// User names: 1–255 bytes, printable ASCII or UTF-8, no ':' and no white space.
bool validUserName(std::string_view user);

// Adds `user` or replaces its hash. The file is rewritten atomically (temporary
// file, fsync, rename, fsync of the folder) with mode 0600; comments and other
// users are kept. Creates the file when it does not exist.
Status addUser(const std::string& path, std::string_view user, std::string_view password);

class UsersFile {
 public:
  // Refuses malformed lines (naming file and line) and duplicate users.
  static Result<UsersFile> load(const std::string& path);
  static Result<UsersFile> parse(std::string_view text, const std::string& name);

  // BLOCKING: runs the slow hash. Call off the event loop. Unknown users cost
  // the same as known ones (a dummy hash is checked) so timing does not reveal
  // which names exist.
  bool verify(std::string_view user, std::string_view password) const;

  bool hasUser(std::string_view user) const { return hashes_.count(user) != 0; }
  size_t size() const { return hashes_.size(); }

 private:
  std::map<std::string, std::string, std::less<>> hashes_;
};

}  // namespace tlsrelay
