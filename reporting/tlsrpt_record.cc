// RFC 8460 §3 record parsing; see tlsrpt_record.h. Strict where the RFC is
// (the version, field names), lenient where leniency costs nothing and saves
// a report (whitespace, a trailing comma, a DMARC-style size suffix), and
// every URI is checked hard, because it becomes a mail header or a URL.
#include "reporting/tlsrpt_record.h"

#include <algorithm>
#include <cctype>

#include "common/ascii.h"

namespace tlsrelay {
namespace {

constexpr std::string_view kVersion = "v=TLSRPTv1";

bool isWsp(char c) {
  return c == ' ' || c == '\t';
}

bool isAlnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

bool isCtl(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

// RFC 8460 §3: tlsrpt-version = %s"v=TLSRPTv1" (case-sensitive), followed by
// field-delim = *WSP ";" *WSP. So "v=TLSRPTv1 ;" starts a record too, while
// "v=TLSRPTv10;" and a bare "v=TLSRPTv1" do not.
bool startsWithVersion(std::string_view txt) {
  if (txt.substr(0, kVersion.size()) != kVersion) return false;
  std::string_view rest = txt.substr(kVersion.size());
  while (!rest.empty() && isWsp(rest.front())) rest.remove_prefix(1);
  return !rest.empty() && rest.front() == ';';
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = toLowerAscii(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// RFC 3986 §2.1 percent-encoding; nullopt for a '%' not followed by two hex digits.
std::optional<std::string> percentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size() || hexValue(s[i + 1]) < 0 || hexValue(s[i + 2]) < 0) return std::nullopt;
    out.push_back(static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2])));
    i += 2;
  }
  return out;
}

// RFC 6068 mailto: the addresses before '?'; header fields are not ours to honour.
void addMailto(std::string_view uri, std::string_view rest, TlsRptRecord& record) {
  const size_t q = rest.find('?');
  if (q != std::string_view::npos) {
    record.notes.push_back("rua " + std::string(uri) + ": mailto header fields ignored");
    rest = rest.substr(0, q);
  }
  auto decoded = percentDecode(rest);
  if (!decoded) {
    record.notes.push_back("rua " + std::string(uri) + ": bad %-escape, ignored");
    return;
  }
  // An encoded comma (RFC 8460 §3 makes it %2C) separates RFC 6068 addresses.
  for (std::string_view mailbox : split(*decoded, ',')) {
    // The same rule the report mail applies, so an address taken from DNS
    // is one the mail can be sent to.
    if (isPlainMailbox(mailbox)) {
      record.rua.push_back({ReportDestination::Kind::Mailto, std::string(mailbox)});
    } else {
      record.notes.push_back("rua " + std::string(uri) + ": not a usable mailbox, ignored");
    }
  }
}

// An https URL with a host, made of URI characters only (RFC 3986 §2): it is
// handed to libcurl as it is.
void addHttps(std::string_view uri, std::string_view rest, TlsRptRecord& record) {
  const bool clean = std::none_of(rest.begin(), rest.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return isCtl(c) || c >= 0x80 || std::string_view(" \"<>\\^`{|}").find(ch) != std::string_view::npos;
  });
  bool ok = clean && rest.substr(0, 2) == "//";
  if (ok) {
    std::string_view authority = rest.substr(2, rest.find_first_of("/?#", 2) - 2);
    if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
    std::string_view host = authority, port;
    if (size_t colon = authority.rfind(':');
        colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    const bool digits = std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    ok = !host.empty() && digits && port.size() <= 5 &&
         (port.empty() || std::stoi(std::string(port)) <= 65535);
  }
  if (!ok) {
    record.notes.push_back("rua " + std::string(uri) + ": not a usable https URL, ignored");
    return;
  }
  record.rua.push_back({ReportDestination::Kind::Https, "https:" + std::string(rest)});
}

// Adds the URI's destinations to the record; a URI we cannot use becomes a note.
void addUri(std::string_view uri, TlsRptRecord& record) {
  const size_t bang = uri.find('!');
  if (bang != std::string_view::npos) {
    // RFC 8460 §3: '!' MUST be encoded; a trailing "!10m" is DMARC's size
    // limit (RFC 7489 §6.4), which TLSRPT does not have. Drop it, keep the URI.
    std::string_view size = uri.substr(bang + 1);
    if (!size.empty() && std::string_view("kKmMgGtT").find(size.back()) != std::string_view::npos)
      size.remove_suffix(1);
    const bool digits = !size.empty() && std::all_of(size.begin(), size.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c));
    });
    if (!digits) {
      record.notes.push_back("rua " + std::string(uri) + ": unencoded '!', ignored");
      return;
    }
    record.notes.push_back("rua " + std::string(uri) + ": size suffix is not TLSRPT, dropped");
    uri = uri.substr(0, bang);
  }
  const size_t colon = uri.find(':');
  const std::string scheme = lowerAscii(uri.substr(0, colon == std::string_view::npos ? 0 : colon));
  const bool scheme_ok = !scheme.empty() && std::isalpha(static_cast<unsigned char>(scheme[0])) &&
                         std::all_of(scheme.begin(), scheme.end(),
                                     [](char c) { return isAlnum(c) || c == '+' || c == '-' || c == '.'; });
  if (!scheme_ok) {
    record.notes.push_back("rua " + std::string(uri) + ": not a URI, ignored");
    return;
  }
  std::string_view rest = uri.substr(colon + 1);
  size_t before = record.rua.size();
  // RFC 8460 §3: "Two URI schemes are supported: mailto and https"; scheme
  // names are case-insensitive (RFC 3986 §3.1).
  if (scheme == "mailto") {
    addMailto(uri, rest, record);
  } else if (scheme == "https") {
    addHttps(uri, rest, record);
  } else {
    record.notes.push_back("rua " + std::string(uri) + ": scheme " + scheme + " not supported, ignored");
  }
  // The same destination twice would get the report twice.
  for (size_t i = before; i < record.rua.size();) {
    if (std::find(record.rua.begin(), record.rua.begin() + i, record.rua[i]) != record.rua.begin() + i) {
      record.notes.push_back("rua " + record.rua[i].address + ": listed twice");
      record.rua.erase(record.rua.begin() + i);
    } else {
      ++i;
    }
  }
}

}  // namespace

Result<TlsRptRecord> parseTlsRptRecord(std::string_view txt) {
  // RFC 8460 §3: the version comes first, exactly and case-sensitively.
  if (!startsWithVersion(txt)) return makeError("not a TLSRPTv1 record (must begin with \"v=TLSRPTv1;\")");
  TlsRptRecord record;
  bool have_rua = false;
  std::vector<std::string_view> fields = split(txt.substr(kVersion.size()), ';');
  for (size_t i = 1; i < fields.size(); ++i) {  // fields[0] is the whitespace before the first ';'
    std::string_view field = trimWsp(fields[i]);
    if (field.empty()) continue;  // the ABNF allows one trailing ';'; more are harmless
    const size_t eq = field.find('=');
    if (eq == std::string_view::npos) return makeError("field without '=': " + std::string(field));
    std::string_view name = trimWsp(field.substr(0, eq));
    std::string_view value = trimWsp(field.substr(eq + 1));
    if (!isTxtRecordFieldName(name)) return makeError("malformed field name: " + std::string(name));
    if (name == "rua") {  // RFC 8460 §3: %s"rua=", so "RUA=" is some other field
      have_rua = true;
      if (value.empty()) return makeError("rua= names no URI");
      for (std::string_view uri : split(value, ',')) {
        uri = trimWsp(uri);
        if (uri.empty()) {
          record.notes.push_back("empty URI in rua= ignored");
          continue;
        }
        addUri(uri, record);
      }
    } else {
      // RFC 8460 §3: parsers MUST accept a superset of the specification;
      // unknown fields SHALL be ignored.
      std::string note = "unknown field " + std::string(name) + "= ignored";
      if (equalsIgnoreCase(name, "rua")) note += " (field names are case-sensitive)";
      record.notes.push_back(std::move(note));
    }
  }
  if (!have_rua) return makeError("no rua= field (RFC 8460 §3 requires one)");
  if (record.rua.empty()) {
    std::string why = "no usable rua destination";
    for (const auto& note : record.notes) why += "; " + note;
    return makeError(std::move(why));
  }
  return record;
}

Result<std::optional<TlsRptRecord>> chooseTlsRptRecord(const std::vector<std::string>& records) {
  // RFC 8460 §3: records that do not begin with "v=TLSRPTv1;" are discarded;
  // if the number left is not one, senders MUST assume the domain does not
  // implement TLSRPT.
  const std::string* chosen = nullptr;
  size_t count = 0;
  for (const auto& txt : records) {
    if (!startsWithVersion(txt)) continue;
    chosen = &txt;
    ++count;
  }
  if (count == 0) return std::optional<TlsRptRecord>();
  if (count > 1)
    return makeError(std::to_string(count) + " TLSRPT records published; RFC 8460 §3: treated as none");
  auto parsed = parseTlsRptRecord(*chosen);
  if (!parsed) return makeError("unusable TLSRPT record: " + parsed.error().message);
  return std::optional<TlsRptRecord>(std::move(parsed).value());
}

std::string tlsRptRecordName(std::string_view policy_domain) {
  return "_smtp._tls." + normalizeDomain(policy_domain);  // RFC 8460 §3
}

}  // namespace tlsrelay
