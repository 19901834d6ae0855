// The DKIM public-key record a domain publishes at
// <selector>._domainkey.<domain> (RFC 6376 §3.6.1, RFC 8463 §4.2, and RFC
// 8460 §3's s=tlsrpt for keys that sign only TLS reports), written the way a
// zone file and a DNS provider's web form both take it. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tlsrelay::dkim {

enum class KeyType { Rsa, Ed25519 };

struct KeyRecord {
  KeyType type = KeyType::Rsa;
  std::string public_key;    // raw bytes: DER SubjectPublicKeyInfo (RSA) or the 32-byte key (Ed25519)
  bool tlsrpt_only = false;  // s=tlsrpt: receivers accept the key only on TLS reports
};

// "v=DKIM1; k=rsa; p=MIIB…" (with "s=tlsrpt; " before p= when asked).
std::string formatKeyRecord(const KeyRecord& record);

// A TXT value cut into character-strings of at most 255 octets (RFC 1035
// §3.3.14); a resolver joins them again (RFC 6376 §3.6.2.2).
std::vector<std::string> splitTxtStrings(std::string_view value, size_t max = 255);

// The owner name: "<selector>._domainkey.<domain>" (lower case, no trailing dot).
std::string keyRecordName(std::string_view selector, std::string_view domain);

// One zone-file entry, e.g.
//   s1._domainkey.example.com. 3600 IN TXT ( "v=DKIM1; k=rsa; p=…" "…" )
std::string zoneFileEntry(std::string_view selector, std::string_view domain, const KeyRecord& record,
                          int ttl = 3600);

// RFC 6376 §3.1: a selector is one or more dot-separated labels of letters,
// digits and hyphens.
bool isValidSelector(std::string_view selector);

}  // namespace tlsrelay::dkim
