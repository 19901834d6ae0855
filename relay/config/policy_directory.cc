// policy.d/ loading; see policy_directory.h.
#include "relay/config/policy_directory.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace tlsrelay {
namespace {

constexpr size_t kMaxPolicyFileBytes = 1 << 20;  // a policy file is a few lines

}  // namespace

Result<PolicySet> loadPolicyDirectory(const std::string& dir) {
  if (dir.empty()) return PolicySet{};
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return makeError(dir + ": policy directory does not exist or is not a directory");

  std::vector<fs::path> paths;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    std::string filename = p.filename().string();
    if (filename.empty() || filename.front() == '.' || p.extension() != ".toml") continue;
    paths.push_back(p);
  }
  if (ec) return makeError(dir + ": cannot list policy directory: " + ec.message());
  std::sort(paths.begin(), paths.end());

  std::string short_dir = fs::path(dir).lexically_normal().filename().string();
  if (short_dir.empty()) short_dir = fs::path(dir).lexically_normal().parent_path().filename().string();

  std::vector<ConfigError> errors;
  std::vector<PolicyFile> files;
  for (const auto& p : paths) {
    std::string name = p.string();
    std::ifstream in(p, std::ios::binary);
    if (!in) {
      errors.push_back({name, 0, "", "cannot read file"});
      continue;
    }
    std::string text;
    text.resize(kMaxPolicyFileBytes + 1);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxPolicyFileBytes) {
      errors.push_back({name, 0, "", "file is larger than 1 MiB"});
      continue;
    }
    auto file = parsePolicyFile(text, name, dir, errors);
    if (!file) continue;
    file->source = short_dir.empty() ? p.filename().string() : short_dir + "/" + p.filename().string();
    files.push_back(std::move(*file));
  }
  if (!errors.empty()) return makeError(joinConfigErrors(errors));
  return PolicySet::build(files);
}

}  // namespace tlsrelay
