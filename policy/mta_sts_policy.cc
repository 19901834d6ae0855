// MTA-STS record, policy and MX matching as pure functions; see mta_sts.h.
#include "policy/mta_sts_policy.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "common/ascii.h"
#include "policy/domain_policy.h"

namespace tlsrelay {
namespace {

constexpr size_t kMaxPolicyBytes = 64 * 1024;  // RFC 8461 §3.3: senders may limit the body to 64 KiB
constexpr uint32_t kMaxMaxAge = 31557600;      // RFC 8461 §3.2: max_age at most 31557600 (one year)

bool isWsp(char c) {
  return c == ' ' || c == '\t';
}
bool isAlnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// RFC 8461 §3.2: sts-policy-mx-value = ["*."] Domain — the wildcard is only
// ever the whole leftmost label.
bool validMxPattern(std::string_view pattern) {
  if (pattern.substr(0, 2) == "*.") pattern.remove_prefix(2);
  return isLdhDomain(pattern);
}

std::optional<uint32_t> parseMaxAge(std::string_view v) {
  // RFC 8461 §3.2: sts-policy-max-age-value = 1*10(DIGIT)
  if (v.empty() || v.size() > 10) return std::nullopt;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n > kMaxMaxAge) return std::nullopt;
  return static_cast<uint32_t>(n);
}

Error lineError(size_t line, const std::string& why) {
  return makeError("policy line " + std::to_string(line) + ": " + why);
}

// Splits on LF, dropping one CR before each LF (RFC 8461 §3.2: sts-policy-term = LF / CRLF).
std::vector<std::string_view> splitLines(std::string_view body) {
  std::vector<std::string_view> lines;
  while (!body.empty()) {
    size_t lf = body.find('\n');
    std::string_view line = body.substr(0, lf);
    if (lf != std::string_view::npos && !line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (lf == std::string_view::npos) break;
    body.remove_prefix(lf + 1);
  }
  return lines;
}

}  // namespace

const char* toString(StsMode mode) {
  switch (mode) {
    case StsMode::Enforce:
      return "enforce";
    case StsMode::Testing:
      return "testing";
    case StsMode::None:
      return "none";
  }
  return "none";
}

Result<StsPolicy> parseStsPolicy(std::string_view body) {
  if (body.size() > kMaxPolicyBytes) {
    return makeError("policy larger than 64 KiB (" + std::to_string(body.size()) + " bytes)");
  }
  std::vector<std::string_view> lines = splitLines(body);
  // The grammar allows one terminator after the last field; tolerate a few
  // more blank lines at the very end, never in the middle.
  while (!lines.empty() && trimWsp(lines.back()).empty()) lines.pop_back();
  if (lines.empty()) return makeError("policy is empty");

  StsPolicy policy;
  policy.text = std::string(body);
  bool have_mode = false;
  bool have_max_age = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t n = i + 1;
    std::string_view line = lines[i];
    for (char c : line) {
      // Values are VCHAR/UTF-8 with SP/HTAB; any other control byte (a lone CR too) is malformed.
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
        return lineError(n, "control character");
      }
    }
    if (trimWsp(line).empty()) return lineError(n, "empty line");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return lineError(n, "expected \"key: value\"");
    std::string_view key = line.substr(0, colon);
    // RFC 8461 §3.2: sts-policy-field-delim = ":" *WSP, and *WSP after each field.
    std::string_view value = trimWsp(line.substr(colon + 1));
    if (i == 0) {
      // RFC 8461 §3.2: the version field comes first; "STSv1" is the only version.
      if (key != "version") return lineError(n, "first field must be \"version\"");
      if (value != "STSv1") return lineError(n, "version must be STSv1");
      continue;
    }
    if (key == "version") return lineError(n, "duplicate version");
    if (key == "mode") {
      if (have_mode) return lineError(n, "duplicate mode");
      have_mode = true;
      // Values are case-sensitive (%s in the ABNF).
      if (value == "enforce") {
        policy.mode = StsMode::Enforce;
      } else if (value == "testing") {
        policy.mode = StsMode::Testing;
      } else if (value == "none") {
        policy.mode = StsMode::None;
      } else {
        return lineError(n, "mode must be enforce, testing or none");
      }
    } else if (key == "max_age") {
      if (have_max_age) return lineError(n, "duplicate max_age");
      auto age = parseMaxAge(value);
      if (!age) return lineError(n, "max_age must be an integer from 0 to 31557600");
      have_max_age = true;
      policy.max_age = *age;
    } else if (key == "mx") {
      if (!validMxPattern(value)) return lineError(n, "bad mx pattern");
      policy.mx.push_back(lowerAscii(value));
    } else if (!isTxtRecordFieldName(key)) {
      return lineError(n, "bad field name");
    }
    // RFC 8461 §3.2: other fields are extensions and are ignored.
  }
  if (!have_mode) return makeError("policy has no mode");
  if (!have_max_age) return makeError("policy has no max_age");
  if (policy.mx.empty() && policy.mode != StsMode::None) return makeError("policy has no mx");
  return policy;
}

Result<std::optional<std::string>> parseStsTxtId(const std::vector<std::string>& txt_records) {
  // RFC 8461 §3.1: records that do not begin with "v=STSv1;" are discarded;
  // a bare "v=STSv1" (no separator) is still an STSv1 record, just invalid.
  std::vector<std::string_view> sts;
  for (const auto& r : txt_records) {
    std::string_view v(r);
    if (v.substr(0, 7) != "v=STSv1") continue;
    if (v.size() > 7 && v[7] != ';' && !isWsp(v[7])) continue;  // "v=STSv10" is another version
    sts.push_back(v);
  }
  if (sts.empty()) return std::optional<std::string>{};
  if (sts.size() > 1) return makeError("more than one STSv1 TXT record");

  // sts-text-record = sts-version 1*(sts-sep sts-field) [sts-sep]; sts-sep = *WSP ";" *WSP
  std::string_view rest = std::string_view(sts.front()).substr(7);
  std::optional<std::string> id;
  bool first = true;
  while (true) {
    std::string_view trimmed = trimWsp(rest);
    if (trimmed.empty()) break;
    if (trimmed.front() != ';') return makeError("STSv1 TXT record: expected \";\"");
    trimmed.remove_prefix(1);
    trimmed = trimWsp(trimmed);
    if (trimmed.empty()) {
      if (first) return makeError("STSv1 TXT record has no id");
      break;  // the optional trailing separator
    }
    first = false;
    size_t end = trimmed.find(';');
    std::string_view field = trimWsp(trimmed.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : trimmed.substr(end);
    size_t eq = field.find('=');
    if (eq == std::string_view::npos) return makeError("STSv1 TXT record: field without \"=\"");
    std::string_view name = field.substr(0, eq);
    std::string_view value = field.substr(eq + 1);
    if (name == "id") {
      // sts-id = %s"id=" 1*32(ALPHA / DIGIT)
      if (id) return makeError("STSv1 TXT record: duplicate id");
      if (value.empty() || value.size() > 32 || !std::all_of(value.begin(), value.end(), isAlnum)) {
        return makeError("STSv1 TXT record: id must be 1-32 letters or digits");
      }
      id = std::string(value);
    } else {
      // sts-extension: ignored, but it must still look like one.
      if (!isTxtRecordFieldName(name)) return makeError("STSv1 TXT record: bad field name");
      bool bad_value = value.empty() || std::any_of(value.begin(), value.end(), [](char c) {
                         auto u = static_cast<unsigned char>(c);
                         return u < 0x21 || u > 0x7e || c == '=' || c == ';';
                       });
      if (bad_value) return makeError("STSv1 TXT record: bad extension value");
    }
  }
  if (!id) return makeError("STSv1 TXT record has no id");
  return id;
}

bool stsMxMatches(const StsPolicy& policy, std::string_view mx_host) {
  const std::string host = normalizeDomain(mx_host);
  if (host.empty()) return false;
  for (const auto& pattern_text : policy.mx) {
    const std::string pattern = normalizeDomain(pattern_text);
    if (pattern.rfind("*.", 0) == 0) {
      // RFC 8461 §4.1: the wildcard stands for exactly one label.
      size_t dot = host.find('.');
      if (dot == 0 || dot == std::string::npos) continue;
      if (std::string_view(host).substr(dot + 1) == std::string_view(pattern).substr(2)) return true;
    } else if (host == pattern) {
      return true;
    }
  }
  return false;
}

}  // namespace tlsrelay
