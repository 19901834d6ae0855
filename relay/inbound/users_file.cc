// AUTH users file: yescrypt hashing, atomic updates, verification; see users_file.h.
#include "relay/inbound/users_file.h"

#include <crypt.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "common/constant_time.h"
#include "common/durable_file.h"

namespace tlsrelay {
namespace {

constexpr size_t kMaxUsersFileBytes = 16 << 20;

// crypt_r with a heap-allocated crypt_data (it is ~32 KiB: too big for a
// worker's stack). Returns "" on failure, never a failure token.
std::string cryptWith(std::string_view password, const std::string& setting) {
  if (password.find('\0') != std::string_view::npos) return "";
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  std::string pw(password);
  const char* out = crypt_r(pw.c_str(), setting.c_str(), data.get());
  std::string result = (out && out[0] != '*') ? std::string(out) : std::string();
  explicit_bzero(pw.data(), pw.size());
  explicit_bzero(data.get(), sizeof(crypt_data));
  return result;
}

// A hash of a random throw-away password, made once, with the same cost as real
// hashes: verifying unknown users against it takes as long as for known ones.
const std::string& dummyHash() {
  static const std::string hash = [] {
    auto h = hashPassword("tlsrelay-dummy-password-never-valid");
    return h ? *h : std::string();
  }();
  return hash;
}

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError(path + ": cannot read users file");
  std::string text;
  text.resize(kMaxUsersFileBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxUsersFileBytes) return makeError(path + ": users file is larger than 16 MiB");
  return text;
}

}  // namespace

Result<std::string> hashPassword(std::string_view password) {
  if (password.empty()) return makeError("empty password");
  if (password.find('\0') != std::string_view::npos) return makeError("password contains a NUL byte");
  char setting[CRYPT_GENSALT_OUTPUT_SIZE] = {};
  // count 0 = libcrypt's recommended cost; nullptr random bytes = from the OS.
  if (!crypt_gensalt_rn("$y$", 0, nullptr, 0, setting, sizeof setting))
    return makeError(std::string("crypt_gensalt: ") + std::strerror(errno));
  std::string hash = cryptWith(password, setting);
  if (hash.empty()) return makeError("crypt failed");
  return hash;
}

bool validUserName(std::string_view user) {
  if (user.empty() || user.size() > 255) return false;
  for (char c : user) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == ':' || c == '#') return false;
  }
  return true;
}

Result<UsersFile> UsersFile::parse(std::string_view text, const std::string& name) {
  UsersFile users;
  std::istringstream in{std::string(text)};
  std::string line;
  int line_number = 0;
  std::string problems;
  auto complain = [&](const std::string& what) {
    if (!problems.empty()) problems += '\n';
    problems += name + ":" + std::to_string(line_number) + ": " + what;
  };
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos) {
      complain("expected user:hash");  // the line itself may hold a secret: not echoed
      continue;
    }
    std::string user = line.substr(0, colon);
    std::string hash = line.substr(colon + 1);
    if (!validUserName(user)) {
      complain("bad user name");
      continue;
    }
    if (hash.size() < 4 || hash[0] != '$' || hash.find_first_of(" \t") != std::string::npos) {
      complain("user '" + user + "': not a crypt hash (make one with `tlsrelay user add`)");
      continue;
    }
    if (!users.hashes_.emplace(user, hash).second) complain("user '" + user + "' appears twice");
  }
  if (!problems.empty()) return makeError(problems);
  return users;
}

Result<UsersFile> UsersFile::load(const std::string& path) {
  auto text = readFile(path);
  if (!text) return text.error();
  return parse(*text, path);
}

bool UsersFile::verify(std::string_view user, std::string_view password) const {
  auto it = hashes_.find(user);
  const std::string& stored = it != hashes_.end() ? it->second : dummyHash();
  if (stored.empty()) return false;
  std::string computed = cryptWith(password, stored);
  bool match = !computed.empty() && constantTimeEquals(computed, stored);
  return match && it != hashes_.end() && !password.empty();
}

Status addUser(const std::string& path, std::string_view user, std::string_view password) {
  if (!validUserName(user)) return makeError("bad user name (1-255 characters, no ':', '#' or white space)");
  auto hash = hashPassword(password);
  if (!hash) return hash.error();

  std::string existing;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    auto text = readFile(path);
    if (!text) return text.error();
    existing = std::move(*text);
    auto check = UsersFile::parse(existing, path);  // never rewrite a file we do not understand
    if (!check) return check.error();
  }

  std::string out;
  bool replaced = false;
  std::istringstream in(existing);
  std::string line;
  std::string prefix = std::string(user) + ":";
  while (std::getline(in, line)) {
    std::string bare = (!line.empty() && line.back() == '\r') ? line.substr(0, line.size() - 1) : line;
    if (bare.compare(0, prefix.size(), prefix) == 0) {
      if (!replaced) out += prefix + *hash + "\n";
      replaced = true;
      continue;
    }
    out += line + "\n";
  }
  if (!replaced) out += prefix + *hash + "\n";

  return replaceFileDurably(path, out, 0600);
}

}  // namespace tlsrelay
