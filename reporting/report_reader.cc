// RFC 8460 report reading; see report_reader.h for what is accepted. One
// Reader walks the JSON tree with checked accessors (nothing here relies on
// nlohmann throwing) and collects the deviations as it goes.
#include "reporting/report_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/ascii.h"
#include "common/cidr.h"
#include "common/gzip.h"
#include "message/mime.h"
#include "policy/tls_report.h"

namespace tlsrelay {
namespace {

using nlohmann::json;

// A bound on the values the DOM will hold (commas and open brackets), so a
// 64 MiB "[0,0,0,...]" cannot ask for gigabytes; real reports need ~10 per entry.
constexpr size_t kMaxJsonValues = 20 * kReportMaxEntries;

// Text from the report, fit for a log line: control and non-ASCII bytes become '?', long text is cut.
std::string printable(std::string_view text, size_t max = 80) {
  return printableAscii(text, max) + (text.size() > max ? "..." : "");
}
std::string inQuotes(std::string_view text) {
  return "\"" + printable(text) + "\"";
}

std::string_view trimmed(std::string_view s) {
  size_t first = s.find_first_not_of(" \t\r\n");
  return first == s.npos ? std::string_view() : s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

// The cheap scan before parsing: bracket depth and value count outside strings.
Status checkJsonShape(std::string_view text) {
  size_t depth = 0, values = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {  // a quote ends the string unless escaped; a backslash escapes unless escaped
      in_string = escaped || c != '"';
      escaped = !escaped && c == '\\';
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{' || c == ',') {
      if (c != ',' && ++depth > kReportMaxNesting)
        return makeError("JSON nesting deeper than " + std::to_string(kReportMaxNesting) + " levels");
      if (++values > kMaxJsonValues)
        return makeError("more than " + std::to_string(kMaxJsonValues) + " JSON values");
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return okStatus();
}

// Whether `text` has the shape of `pattern` ('d' a digit, letters in either case).
bool fits(std::string_view text, std::string_view pattern) {
  if (text.size() != pattern.size()) return false;
  for (size_t i = 0; i < text.size(); ++i)
    if (pattern[i] == 'd' ? (text[i] < '0' || text[i] > '9') : toLowerAscii(text[i]) != pattern[i])
      return false;
  return true;
}

// RFC 8460 §4.4: date-times are RFC 3339 (§5.6), "2016-04-01T00:00:00Z" or with a
// numeric offset; a fraction of a second between the two is let through unchecked.
bool isRfc3339DateTime(std::string_view s) {
  if (s.size() < 20 || !fits(s.substr(0, 19), "dddd-dd-ddtdd:dd:dd")) return false;
  std::string_view offset = s.substr(s.size() - std::min<size_t>(6, s.size() - 19));
  return toLowerAscii(s.back()) == 'z' || fits(offset, "+dd:dd") || fits(offset, "-dd:dd");
}

// An error code such as X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED, as opposed to a sentence.
bool looksLikeErrorCode(std::string_view s) {
  return s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.:") == s.npos;
}

const json* member(const json& object, const char* name) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

std::string article(const json& v) {  // "an array", "a string"
  std::string name = v.type_name();
  return (name[0] == 'a' || name[0] == 'o' ? "an " : "a ") + name;
}

enum class Need {
  Optional,  // absent or "" is normal
  NonEmpty,  // absent is normal, "" is noted (an optional IP)
  Required,  // absent or "" is noted
};

class Reader {
 public:
  std::vector<std::string> deviations;

  void note(std::string text) {
    if (deviations.size() < kReportMaxDeviations)
      deviations.push_back(std::move(text));
    else
      ++unlisted_;
  }
  std::vector<std::string> takeDeviations() {
    if (unlisted_ > 0) deviations.push_back("... and " + std::to_string(unlisted_) + " more deviations");
    return std::move(deviations);
  }

  std::string readString(const json& parent, const char* name, const std::string& where, Need need) {
    const json* v = member(parent, name);
    if (v == nullptr) {
      if (need == Need::Required) note(where + "no " + name);
      return {};
    }
    if (v->is_string()) {
      const auto& s = v->get_ref<const std::string&>();
      if (s.empty() && need != Need::Optional) note(where + name + " is empty");
      return s;
    }
    // Numbers and booleans keep their text; null, arrays and objects read as "".
    bool scalar = v->is_number() || v->is_boolean();
    note(where + name + " is " +
         (v->is_null() ? "null" : article(*v) + ", not a string" + (scalar ? "" : "; ignored")));
    return scalar ? v->dump() : std::string();
  }

  std::string readIp(const json& parent, const char* name, const std::string& where, Need need) {
    std::string ip = readString(parent, name, where, need);
    if (!ip.empty() && !IpAddress::parse(ip))
      note(where + name + " " + inQuotes(ip) + " is not an IP address");
    return ip;
  }

  // RFC 8460 §4.4: policy-string and mx-host are arrays of strings. Seen instead: one
  // JSON-encoded array in a string, or one bare string.
  std::vector<std::string> readStringList(const json& parent, const char* name, const std::string& where) {
    std::vector<std::string> out;
    const json* v = member(parent, name);
    if (v == nullptr) return out;
    if (v->is_array()) {
      for (size_t i = 0; i < v->size(); ++i) {
        if ((*v)[i].is_string())
          out.push_back((*v)[i].get<std::string>());
        else
          note(where + name + " entry " + std::to_string(i + 1) + " is " + article((*v)[i]) +
               ", not a string; skipped");
      }
      return out;
    }
    if (!v->is_string()) {
      note(where + name + " is " +
           (v->is_null() ? "null" : article(*v) + ", not an array of strings; ignored"));
      return out;
    }
    const auto& s = v->get_ref<const std::string&>();
    std::string_view inner = trimmed(s);
    if (inner.starts_with('[') && checkJsonShape(inner).ok()) {
      json decoded = json::parse(inner, nullptr, /*allow_exceptions=*/false);
      if (decoded.is_array() &&
          std::all_of(decoded.begin(), decoded.end(), [](auto& e) { return e.is_string(); })) {
        note(where + name + " is one JSON-encoded string, not an array");
        for (const auto& e : decoded) out.push_back(e.get<std::string>());
        return out;
      }
    }
    note(where + name + " is a single string, not an array");
    return {s};
  }

  // RFC 8460 §4.4 counts are integers. Strings of digits and whole floats are read (and
  // noted); nullopt, with drop_reason_ set, for a negative or unreadable count.
  std::optional<uint64_t> readCount(const json& parent, const char* name, const std::string& where) {
    const json* v = member(parent, name);
    std::string n = name;
    auto drop = [&](const std::string& why) {
      drop_reason_ = n + " is " + why;
      return std::nullopt;
    };
    if (v == nullptr || v->is_null()) {
      note(where + (v ? n + " is null" : "no " + n) + " (read as 0)");
      return 0;
    }
    if (v->is_number_unsigned()) return v->get<uint64_t>();
    if (v->is_number_integer())
      return drop("negative (" + v->dump() + ")");  // non-negative ones are unsigned
    if (v->is_number_float()) {
      double d = v->get<double>();
      if (d < 0) return drop("negative (" + printable(v->dump()) + ")");
      // Up to 2^53 a double holds every whole number (and the cast cannot overflow).
      if (!std::isfinite(d) || d != std::floor(d) || d > 9007199254740992.0)
        return drop("not a whole number (" + printable(v->dump()) + ")");
      note(where + n + " is a floating-point number, not an integer");
      return static_cast<uint64_t>(d);
    }
    if (!v->is_string()) return drop(article(*v) + ", not a number");
    std::string_view s = trimmed(v->get_ref<const std::string&>());
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size())
      return drop((s.starts_with('-') ? "negative (" : "not a number (") + inQuotes(s) + ")");
    note(where + n + " is a string, not a number");
    return value;
  }

  std::optional<ReportFailureDetail> readFailure(const json& item, const std::string& where) {
    if (!item.is_object()) return dropped(where, "not an object but " + article(item));
    ReportFailureDetail out;
    out.result_type = readString(item, "result-type", where, Need::Required);
    // RFC 8460 §4.3 names the result types; others are kept as sent.
    auto known = parseTlsResultType(out.result_type);
    if (!out.result_type.empty() && !known)
      note(where + "result-type " + inQuotes(out.result_type) + " is not an RFC 8460 §4.3 result type");
    if (known == TlsResultType::Success) note(where + "result-type \"success\" in failure-details");
    out.sending_mta_ip = readIp(item, "sending-mta-ip", where, Need::Required);
    out.receiving_mx_hostname = readString(item, "receiving-mx-hostname", where, Need::Required);
    out.receiving_mx_helo = readString(item, "receiving-mx-helo", where, Need::Optional);
    out.receiving_ip = readIp(item, "receiving-ip", where, Need::NonEmpty);
    auto count = readCount(item, "failed-session-count", where);
    if (!count) return dropped(where, drop_reason_);
    out.failed_session_count = *count;
    out.additional_information = readString(item, "additional-information", where, Need::Optional);
    const char* code = "failure-reason-code";
    if (!member(item, code) && member(item, "failure-error-code")) {
      note(where + "failure-error-code is the draft name of failure-reason-code");
      code = "failure-error-code";
    }
    out.failure_reason_code = readString(item, code, where, Need::Optional);
    // RFC 8460 §4.4 allows "a TLS-related error code or error message"; tools group by codes.
    if (!looksLikeErrorCode(out.failure_reason_code))
      note(where +
           "failure-reason-code is free text, not an error code: " + inQuotes(out.failure_reason_code));
    return out;
  }

  std::optional<ReportPolicyEntry> readPolicy(const json& item, const std::string& where) {
    const json* policy = member(item, "policy");
    if (policy == nullptr || !policy->is_object())
      return dropped(where, item.is_object() ? "no policy object" : "not an object but " + article(item));
    ReportPolicyEntry out;
    // RFC 8460 §4.4 policy-type: "tlsa", "sts" or "no-policy-found".
    out.policy_type = readString(*policy, "policy-type", where, Need::Required);
    if (!out.policy_type.empty() && !parseTlsPolicyType(out.policy_type))
      note(where + "policy-type " + inQuotes(out.policy_type) + " is not an RFC 8460 §4.4 policy type");
    out.policy_string = readStringList(*policy, "policy-string", where);
    if (!member(*policy, "policy-domain") && out.policy_type == "no-policy-found")
      note(where + "no policy-domain on a no-policy-found entry");
    else
      out.policy_domain = readString(*policy, "policy-domain", where, Need::Required);
    out.mx_host = readStringList(*policy, "mx-host", where);

    const json* summary = member(item, "summary");
    if (summary == nullptr || !summary->is_object()) {
      note(where + "no summary object (counts read as 0)");
    } else {
      auto ok = readCount(*summary, "total-successful-session-count", where);
      auto failed = ok ? readCount(*summary, "total-failure-session-count", where) : std::nullopt;
      if (!failed) return dropped(where, drop_reason_);
      out.total_successful_session_count = *ok;
      out.total_failure_session_count = *failed;
    }

    const json* details = member(item, "failure-details");
    if (details == nullptr || !details->is_array()) {
      note(where +
           (details == nullptr ? "no failure-details"
                               : "failure-details is " + (details->is_null() ? "null" : article(*details))) +
           " (read as empty)");
      return out;
    }
    for (size_t i = 0; i < details->size(); ++i) {
      std::string at = where.substr(0, where.size() - 2) + " failure-detail " + std::to_string(i + 1) + ": ";
      if (auto detail = readFailure((*details)[i], at)) out.failure_details.push_back(std::move(*detail));
    }
    return out;
  }

  Result<TlsReportDocument> readDocument(std::string_view text) {
    if (text.starts_with("\xEF\xBB\xBF")) {
      note("the JSON starts with a UTF-8 byte order mark");
      text.remove_prefix(3);
    }
    if (auto shape = checkJsonShape(text); !shape.ok())
      return makeError("not a report: " + shape.error().message);
    json root;
    try {
      root = json::parse(text);
    } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e400
      std::string what = e.what();        // "[json.exception.parse_error.101] parse error at ..."
      size_t bracket = what.find("] ");
      return makeError("not JSON: " + printable(bracket == what.npos ? what : what.substr(bracket + 2), 200));
    }
    if (!root.is_object()) return makeError("the top level is " + article(root) + ", not a JSON object");

    // RFC 8460 §4.4: the policies and the date-range are what a report is about.
    const json* policies = member(root, "policies");
    if (policies == nullptr) return makeError("no policies array");
    if (!policies->is_array()) return makeError("policies is " + article(*policies) + ", not an array");
    size_t entries = policies->size();
    for (const auto& p : *policies)
      if (const json* d = member(p, "failure-details"); d && d->is_array()) entries += d->size();
    if (entries > kReportMaxEntries)
      return makeError("more than " + std::to_string(kReportMaxEntries) +
                       " policy and failure-detail entries");

    TlsReportDocument doc;
    const json* range = member(root, "date-range");
    if (range == nullptr || !range->is_object()) return makeError("no date-range object");
    for (auto [name, field] : {std::pair<const char*, std::string*>{"start-datetime", &doc.start_datetime},
                               std::pair<const char*, std::string*>{"end-datetime", &doc.end_datetime}}) {
      const json* v = member(*range, name);
      if (v == nullptr || !v->is_string())
        return makeError(std::string("date-range has no ") + name + " string");
      *field = v->get<std::string>();
      if (!isRfc3339DateTime(*field))
        note(std::string(name) + " " + inQuotes(*field) + " is not an RFC 3339 date-time");
    }
    doc.organization_name = readString(root, "organization-name", "", Need::Required);
    doc.report_id = readString(root, "report-id", "", Need::Required);
    if (doc.organization_name.empty() && doc.report_id.empty())
      return makeError(
          "neither organization-name nor report-id: the report names neither its sender nor itself");
    doc.contact_info = readString(root, "contact-info", "", Need::Required);

    if (policies->empty()) note("policies is empty");
    for (size_t i = 0; i < policies->size(); ++i)
      if (auto entry = readPolicy((*policies)[i], "policy " + std::to_string(i + 1) + ": "))
        doc.policies.push_back(std::move(*entry));
    if (!policies->empty() && doc.policies.empty())
      return makeError("none of the " + std::to_string(policies->size()) + " policy entries could be read (" +
                       last_drop_ + ")");
    return doc;
  }

  // JSON or gzip JSON (RFC 8460 §5.1). A mail part's media type (§5.3) says which, and
  // senders mix them up.
  Result<TlsReportDocument> readJsonOrGzip(std::string_view content, std::string_view media_type = "") {
    if (!looksGzipped(content)) {
      if (media_type == "application/tlsrpt+gzip")
        note("the attachment is labelled application/tlsrpt+gzip but is not gzip-compressed");
      return readDocument(content);
    }
    if (media_type == "application/tlsrpt+json")
      note("the attachment is labelled application/tlsrpt+json but is gzip-compressed");
    auto inflated = gzipDecompress(content, kReportMaxBytes);
    if (!inflated.ok()) return inflated.error();
    return readDocument(*inflated);
  }

 private:
  std::nullopt_t dropped(const std::string& where, const std::string& why) {
    last_drop_ = where + why;
    note(where + "dropped: " + why);
    return std::nullopt;
  }

  size_t unlisted_ = 0;
  std::string drop_reason_;  // why readCount refused, for the drop note
  std::string last_drop_;    // the last policy drop, for the error when all are dropped
};

bool isReportMediaType(std::string_view type) {
  return type == "application/tlsrpt+gzip" || type == "application/tlsrpt+json";
}

// What senders use when they do not follow §5.3's media types.
bool mayBeReport(const ParsedMimePart& part) {
  std::string name = lowerAscii(part.filename);
  return name.ends_with(".json") || name.ends_with(".gz") || part.content_type == "application/json" ||
         part.content_type == "application/gzip" || part.content_type == "application/x-gzip";
}

// A header section starts with "name:", the name printable ASCII (RFC 5322 §2.2).
bool looksLikeMail(std::string_view bytes) {
  std::string_view line = bytes.substr(0, bytes.find('\n'));
  size_t colon = line.find(':');
  return colon != 0 && colon != line.npos &&
         std::all_of(line.begin(), line.begin() + colon, [](char c) { return c > ' ' && c <= '~'; });
}

Result<ReceivedReport> readMail(std::string_view bytes) {
  auto mime = parseMimeMessage(bytes);
  if (!mime) return makeError("not JSON, gzip or a readable mail");
  ReceivedReport out;
  out.source_kind = "mail";
  for (const auto& f : mime->fields) {
    std::string value(trimmed(f.value));
    if (equalsIgnoreCase(f.name, "TLS-Report-Domain") && out.report_domain.empty()) out.report_domain = value;
    if (equalsIgnoreCase(f.name, "TLS-Report-Submitter") && out.submitter.empty()) out.submitter = value;
    if (equalsIgnoreCase(f.name, "From") && out.from_address.empty())
      if (auto list = parseMailboxList(value); !list.empty()) out.from_address = list.front();
  }
  // RFC 8460 §5.3: a multipart/report; report-type="tlsrpt" with both TLS-Report-* fields.
  Reader reader;
  if (out.report_domain.empty()) reader.note("the mail has no TLS-Report-Domain field");
  if (out.submitter.empty()) reader.note("the mail has no TLS-Report-Submitter field");
  std::string report_type;
  for (const auto& [name, value] : mime->params)
    if (name == "report-type") report_type = lowerAscii(value);
  if (mime->content_type != "multipart/report")
    reader.note("the mail is " + printable(mime->content_type) + ", not multipart/report");
  else if (report_type != "tlsrpt")
    reader.note("the mail's report-type is " + inQuotes(report_type) + ", not \"tlsrpt\"");

  std::vector<const ParsedMimePart*> candidates;  // the labelled ones first, each group in mail order
  size_t labelled = 0;
  for (const auto& leaf : mime->leaves) {
    if (isReportMediaType(leaf.content_type))
      candidates.insert(candidates.begin() + labelled++, &leaf);
    else if (mayBeReport(leaf))
      candidates.push_back(&leaf);
  }
  if (candidates.empty()) return makeError("no report attachment in the mail");
  if (labelled > 1)
    reader.note("the mail carries " + std::to_string(labelled) + " report attachments; one is read");

  std::optional<Error> first_error;
  for (const ParsedMimePart* part : candidates) {
    Reader attempt = reader;  // an attachment that fails leaves no deviations behind
    std::string what = printable(part->content_type) + " " + inQuotes(part->filename);
    if (!isReportMediaType(part->content_type))
      attempt.note("the report is attached as " + what +
                   ", not application/tlsrpt+gzip or application/tlsrpt+json (RFC 8460 §5.3)");
    auto doc = attempt.readJsonOrGzip(part->content, part->content_type);
    if (doc.ok()) {
      out.document = std::move(*doc);
      out.deviations = attempt.takeDeviations();
      return out;
    }
    if (!first_error) first_error = makeError("report attachment " + what + ": " + doc.error().message);
  }
  return *first_error;
}

Result<ReceivedReport> readAny(std::string_view bytes) {
  if (bytes.size() > kReportMaxBytes)
    return makeError("the report is larger than " + std::to_string(kReportMaxBytes) + " bytes");
  std::string_view start = trimmed(bytes.substr(0, 64));
  if (!looksGzipped(bytes) && !start.starts_with('{') && !start.starts_with('[') && looksLikeMail(bytes))
    return readMail(bytes);
  ReceivedReport out;
  out.source_kind = looksGzipped(bytes) ? "gzip" : "json";
  Reader reader;
  auto doc = reader.readJsonOrGzip(bytes);
  if (!doc.ok()) return doc.error();
  out.document = std::move(*doc);
  out.deviations = reader.takeDeviations();
  return out;
}

}  // namespace

Result<ReceivedReport> readTlsReport(std::string_view bytes) {
  // Nothing above should throw; this keeps an allocation failure (or a bug) from leaving the module.
  try {
    return readAny(bytes);
  } catch (const std::exception& e) {
    return makeError(std::string("internal error reading the report: ") + e.what());
  }
}

}  // namespace tlsrelay
