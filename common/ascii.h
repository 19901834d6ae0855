// ASCII case handling for protocol text (domain names, header names, SMTP
// keywords, TOML keys). Never locale-dependent: std::tolower would fold
// bytes of UTF-8 names differently under another locale.
#pragma once

#include <string>
#include <string_view>

namespace tlsrelay {

constexpr char toLowerAscii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowerAscii(std::string_view text);
bool equalsIgnoreCase(std::string_view a, std::string_view b);
// A header field name as configuration files and DKIM h= lists take it:
// 1..76 letters, digits and hyphens (RFC 5322 allows more; no real field uses it).
bool isFieldNameToken(std::string_view name);

// Text between a field's delimiters without the SP / HTAB around it
// (RFC 5234 WSP: what header fields, MTA-STS and TLSRPT records allow).
std::string_view trimWsp(std::string_view text);

// Untrusted text made fit for a log line or a generated header: bytes
// outside printable ASCII become '?', and at most `max` of them are kept.
std::string printableAscii(std::string_view text, size_t max);

// RFC 5321 §4.1.2 Domain in A-labels: LDH labels of 1..63 octets that
// neither start nor end with '-', 253 octets in all, no trailing dot.
bool isLdhDomain(std::string_view domain);

// The field-name rule the DNS TXT records of RFC 8461 §3.1 (sts-ext-name)
// and RFC 8460 §3 (tlsrpt-ext-name) share: (ALPHA / DIGIT) *31(ALPHA /
// DIGIT / "_" / "-" / ".").
bool isTxtRecordFieldName(std::string_view name);

// RFC 5322 §3.2.3 atext: the characters of an unquoted local part or msg-id.
bool isAtext(char c);

// local@domain with an RFC 5322 §3.2.3 dot-atom local part (≤ 64 octets)
// and an LDH domain: an address that goes into To: and RCPT TO: without
// quoting or SMTPUTF8.
bool isPlainMailbox(std::string_view address);

// A domain as we compare and key it: ASCII lower case, no trailing root dot.
std::string normalizeDomain(std::string_view domain);

}  // namespace tlsrelay
