#include "dkim/dkim_key_record.h"

#include "common/ascii.h"
#include "common/base64.h"

namespace tlsrelay::dkim {

std::string formatKeyRecord(const KeyRecord& record) {
  std::string out = "v=DKIM1; k=";
  out += record.type == KeyType::Rsa ? "rsa" : "ed25519";
  out += "; ";
  if (record.tlsrpt_only) out += "s=tlsrpt; ";
  out += "p=" + base64Encode(record.public_key);
  return out;
}

std::vector<std::string> splitTxtStrings(std::string_view value, size_t max) {
  std::vector<std::string> out;
  if (max == 0) max = 255;
  for (size_t i = 0; i < value.size(); i += max) out.emplace_back(value.substr(i, max));
  if (out.empty()) out.emplace_back();
  return out;
}

std::string keyRecordName(std::string_view selector, std::string_view domain) {
  std::string d = lowerAscii(domain);
  if (!d.empty() && d.back() == '.') d.pop_back();
  return lowerAscii(selector) + "._domainkey." + d;
}

std::string zoneFileEntry(std::string_view selector, std::string_view domain, const KeyRecord& record,
                          int ttl) {
  std::string out = keyRecordName(selector, domain) + ". " + std::to_string(ttl) + " IN TXT (";
  // The record holds only base64, letters, '=', ';' and spaces: nothing to escape.
  for (const std::string& part : splitTxtStrings(formatKeyRecord(record))) out += " \"" + part + "\"";
  out += " )";
  return out;
}

bool isValidSelector(std::string_view selector) {
  if (selector.empty() || selector.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i <= selector.size(); ++i) {
    if (i == selector.size() || selector[i] == '.') {
      if (label == 0 || label > 63) return false;
      if (selector[i - 1] == '-' || selector[i - label] == '-') return false;
      label = 0;
      continue;
    }
    char c = selector[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
    ++label;
  }
  return true;
}

}  // namespace tlsrelay::dkim
