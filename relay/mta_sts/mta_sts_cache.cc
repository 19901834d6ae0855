// The MTA-STS policy cache; see mta_sts_cache.h.
#include "relay/mta_sts/mta_sts_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/durable_file.h"
#include "common/log.h"

namespace tlsrelay {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSuffix = ".json";
constexpr size_t kMaxFileBytes = 256 * 1024;  // a 64 KiB policy, escaped, plus a few fields

// The domain becomes a file name: only host-name characters, never "." or "..".
bool safeDomain(const std::string& d) {
  if (d.empty() || d.size() > 253 || d.front() == '.') return false;
  return std::all_of(d.begin(), d.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
  });
}

std::string errnoText(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

Result<StsCacheEntry> readEntryFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError("cannot open");
  std::string text;
  text.resize(kMaxFileBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxFileBytes) return makeError("file too large");
  return parseStsCacheEntry(text);
}

}  // namespace

std::string serializeStsCacheEntry(const StsCacheEntry& e) {
  nlohmann::json j;
  j["domain"] = e.domain;
  j["id"] = e.id;
  j["fetched_at"] = e.fetched_at;
  j["expires_at"] = e.expires_at;
  j["policy"] = e.policy.text;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<StsCacheEntry> parseStsCacheEntry(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return makeError("not a JSON object");
  auto str = [&](const char* key) -> const std::string* {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
  };
  auto num = [&](const char* key) -> std::optional<int64_t> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<int64_t>();
  };
  const std::string* domain = str("domain");
  const std::string* id = str("id");
  const std::string* policy_text = str("policy");
  auto fetched = num("fetched_at");
  auto expires = num("expires_at");
  if (!domain || !id || !policy_text || !fetched || !expires) return makeError("missing or mistyped field");
  if (!safeDomain(*domain)) return makeError("bad domain");
  auto policy = parseStsPolicy(*policy_text);
  if (!policy.ok()) return makeError("cached policy does not parse: " + policy.error().message);
  StsCacheEntry e;
  e.domain = *domain;
  e.id = *id;
  e.fetched_at = *fetched;
  e.expires_at = *expires;
  e.policy = std::move(policy).value();
  return e;
}

StsCache::StsCache(std::string directory) : directory_(std::move(directory)) {}

std::optional<StsCacheEntry> StsCache::get(const std::string& domain) const {
  if (!safeDomain(domain)) return std::nullopt;
  if (directory_.empty()) {
    std::lock_guard lock(memory_mutex_);
    auto it = memory_.find(domain);
    if (it == memory_.end()) return std::nullopt;
    return it->second;
  }
  const std::string path = directory_ + "/" + domain + kSuffix;
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  auto e = readEntryFile(path);
  if (!e.ok()) {
    log::warn("mta-sts", "ignoring corrupt cache file", {{"path", path}, {"error", e.error().message}});
    return std::nullopt;
  }
  if (e->domain != domain) {
    log::warn("mta-sts", "ignoring cache file for another domain", {{"path", path}, {"domain", e->domain}});
    return std::nullopt;
  }
  return std::move(e).value();
}

Status StsCache::put(const StsCacheEntry& entry) {
  if (!safeDomain(entry.domain)) return makeError("bad domain for the MTA-STS cache: " + entry.domain);
  if (directory_.empty()) {
    std::lock_guard lock(memory_mutex_);
    memory_[entry.domain] = entry;
    return okStatus();
  }
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (ec) return makeError("cannot create " + directory_ + ": " + ec.message());
  return replaceFileDurably(directory_ + "/" + entry.domain + kSuffix, serializeStsCacheEntry(entry));
}

std::vector<StsCacheEntry> StsCache::list() const {
  std::vector<StsCacheEntry> out;
  if (directory_.empty()) {
    std::lock_guard lock(memory_mutex_);
    for (const auto& [domain, e] : memory_) out.push_back(e);
    return out;
  }
  std::error_code ec;
  // Iterated with error codes: a directory changing underneath must not throw.
  for (fs::directory_iterator it(directory_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.front() == '.' || name.size() <= std::strlen(kSuffix) ||
        name.compare(name.size() - std::strlen(kSuffix), std::string::npos, kSuffix) != 0) {
      continue;
    }
    if (auto e = get(name.substr(0, name.size() - std::strlen(kSuffix)))) out.push_back(std::move(*e));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.domain < b.domain; });
  return out;
}

Status StsCache::remove(const std::string& domain) {
  if (!safeDomain(domain)) return makeError("bad domain: " + domain);
  if (directory_.empty()) {
    std::lock_guard lock(memory_mutex_);
    memory_.erase(domain);
    return okStatus();
  }
  const std::string path = directory_ + "/" + domain + kSuffix;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return makeError(errnoText("cannot remove", path));
  return okStatus();
}

Status StsCache::clear() {
  if (directory_.empty()) {
    std::lock_guard lock(memory_mutex_);
    memory_.clear();
    return okStatus();
  }
  std::error_code ec;
  fs::directory_iterator it(directory_, ec);
  if (ec)
    return ec == std::errc::no_such_file_or_directory ? okStatus()
                                                      : makeError(directory_ + ": " + ec.message());
  for (fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
    const fs::path path = it->path();
    const std::string name = path.filename().string();
    // Our own files only: entries and leftover temporaries.
    bool ours = name.rfind(".tmp-", 0) == 0 ||
                (name.size() > std::strlen(kSuffix) &&
                 name.compare(name.size() - std::strlen(kSuffix), std::string::npos, kSuffix) == 0);
    if (!ours) continue;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return makeError(errnoText("cannot remove", path.string()));
  }
  if (ec) return makeError(directory_ + ": " + ec.message());
  return okStatus();
}

}  // namespace tlsrelay
