// RFC 6376 §3.4 canonicalisation, pure: the bytes a DKIM signature covers.
// Used by the signer (dkim_signer.cc); libopendkim does the same for
// verification, and the interop tests hold the two (and dkimpy) together.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tlsrelay::dkim {

enum class Canonicalization { Simple, Relaxed };

// One header field as written (folding kept, closing line end excluded), in
// canonical form followed by CRLF (§3.4.1 simple, §3.4.2 relaxed).
std::string canonicalHeader(std::string_view raw_field, Canonicalization c);

// The body (everything after the blank line) in canonical form (§3.4.3,
// §3.4.4): trailing empty lines dropped; simple turns an empty body into one
// CRLF, relaxed leaves it empty.
std::string canonicalBody(std::string_view body, Canonicalization c);

// The field name of a raw field ("Subject" of "Subject: hi"), WSP before the colon removed.
std::string_view fieldName(std::string_view raw_field);

// §5.4.2: for each name of `signed_names`, in order, the bottom-most instance
// of that field not yet taken; a name with no instance left gives no field
// (an oversigned name). Returns indexes into `fields`, -1 for none.
std::vector<int> selectSignedFields(const std::vector<std::string_view>& fields,
                                    const std::vector<std::string>& signed_names);

}  // namespace tlsrelay::dkim
