#include "dkim/dkim_signer.h"

#include <ctime>
#include <set>

#include "common/ascii.h"
#include "common/base64.h"
#include "message/header_section.h"
#include "relay/tls/private_key.h"

namespace tlsrelay::dkim {
namespace {

constexpr size_t kLineWidth = 78;

struct NameLess {
  bool operator()(const std::string& a, const std::string& b) const { return lowerAscii(a) < lowerAscii(b); }
};

// Appends tags to a field being folded: a tag moves to a new line when it
// would pass the line width (RFC 5322 §2.1.1 SHOULD); h= breaks at colons.
class FieldWriter {
 public:
  explicit FieldWriter(std::string_view name) : text_(std::string(name) + ": "), column_(text_.size()) {}

  void tag(std::string_view tag) {
    if (!first_) append(";");
    std::string_view sep = first_ ? "" : " ";
    if (!first_ && column_ + 1 + tag.size() > kLineWidth) {
      newLine();
      sep = "";
    }
    append(sep);
    append(tag);
    first_ = false;
  }

  void headerList(const std::vector<std::string>& names) {
    std::string first = "h=" + (names.empty() ? std::string() : names[0]);
    tag(first);
    for (size_t i = 1; i < names.size(); ++i) {
      append(":");
      if (column_ + names[i].size() > kLineWidth) {
        text_ += "\r\n\t ";
        column_ = 9;
      }
      append(names[i]);
    }
  }

  // "b=" on a line of its own; the value is added by finish().
  std::string unsignedText() {
    append(";");
    newLine();
    append("b=");
    return text_;
  }

  std::string finish(std::string_view signature_b64) {
    std::string out = text_;
    size_t room = kLineWidth - column_;
    size_t i = 0;
    while (i < signature_b64.size()) {
      size_t n = std::min(room, signature_b64.size() - i);
      out.append(signature_b64.substr(i, n));
      i += n;
      if (i < signature_b64.size()) out += "\r\n\t ";
      room = kLineWidth - 9;
    }
    return out + "\r\n";
  }

 private:
  void append(std::string_view s) {
    text_.append(s);
    column_ += s.size();
  }
  void newLine() {
    text_ += "\r\n\t";
    column_ = 8;
  }

  std::string text_;
  size_t column_;
  bool first_ = true;
};

std::string_view canonName(Canonicalization c) {
  return c == Canonicalization::Simple ? "simple" : "relaxed";
}

}  // namespace

const std::vector<std::string>& defaultSignedHeaders() {
  static const std::vector<std::string> kHeaders = {"From",
                                                    "Reply-To",
                                                    "Subject",
                                                    "Date",
                                                    "To",
                                                    "Cc",
                                                    "Resent-Date",
                                                    "Resent-From",
                                                    "Resent-To",
                                                    "Resent-Cc",
                                                    "In-Reply-To",
                                                    "References",
                                                    "List-Id",
                                                    "List-Help",
                                                    "List-Unsubscribe",
                                                    "List-Unsubscribe-Post",
                                                    "List-Subscribe",
                                                    "List-Post",
                                                    "List-Owner",
                                                    "List-Archive",
                                                    "Message-ID",
                                                    "Sender",
                                                    "MIME-Version",
                                                    "Content-Type",
                                                    "Content-Transfer-Encoding",
                                                    "Content-ID",
                                                    "Content-Description",
                                                    "TLS-Report-Domain",
                                                    "TLS-Report-Submitter",
                                                    "TLS-Required"};
  return kHeaders;
}

const std::vector<std::string>& defaultOversignedHeaders() {
  static const std::vector<std::string> kHeaders = {"From",
                                                    "Reply-To",
                                                    "Sender",
                                                    "Subject",
                                                    "Date",
                                                    "To",
                                                    "Cc",
                                                    "Message-ID",
                                                    "MIME-Version",
                                                    "Content-Type",
                                                    "Content-Transfer-Encoding"};
  return kHeaders;
}

struct Signer::Impl {
  std::unique_ptr<PrivateKey> key;
  std::set<std::string, NameLess> signed_names;  // headers ∪ oversign
};

Signer::Signer(SigningKey key, SignOptions options, std::unique_ptr<Impl> impl, KeyType type, int bits)
    : key_(std::move(key)), options_(std::move(options)), impl_(std::move(impl)), type_(type), bits_(bits) {}

Signer::~Signer() = default;

Result<std::unique_ptr<Signer>> Signer::create(SigningKey key, SignOptions options) {
  if (key.domain.empty()) return makeError("a DKIM key needs a domain");
  if (!isValidSelector(key.selector)) return makeError("invalid DKIM selector \"" + key.selector + "\"");
  auto loaded = PrivateKey::fromPem(key.private_key_pem);
  if (!loaded.ok()) return makeError("DKIM key for " + key.domain + ": " + loaded.error().message);
  KeyType type = (*loaded)->algorithm() == KeyAlgorithm::Rsa ? KeyType::Rsa : KeyType::Ed25519;
  int bits = (*loaded)->bits();
  if (type == KeyType::Rsa && bits < 1024)
    return makeError("DKIM key for " + key.domain + " has " + std::to_string(bits) +
                     " bits; RFC 8301 requires at least 1024");
  std::fill(key.private_key_pem.begin(), key.private_key_pem.end(), '\0');
  key.private_key_pem.clear();  // the decoded key is all that is kept

  if (options.headers.empty()) options.headers = defaultSignedHeaders();
  auto impl = std::make_unique<Impl>();
  impl->key = std::move(*loaded);
  bool has_from = false;
  for (const auto* list : {&options.headers, &options.oversign}) {
    for (const std::string& name : *list) {
      if (!isFieldNameToken(name)) return makeError("not a header field name: \"" + name + "\"");
      has_from = has_from || equalsIgnoreCase(name, "From");
      impl->signed_names.insert(name);
    }
  }
  if (!has_from) return makeError("the signed header fields must include From (RFC 6376 §5.4)");
  return std::unique_ptr<Signer>(new Signer(std::move(key), std::move(options), std::move(impl), type, bits));
}

Result<std::string> Signer::sign(std::string_view message) const {
  RawHeaderFields split = splitRawHeaderFields(message);
  std::vector<std::string> names;
  for (std::string_view field : split.fields) {
    std::string_view name = fieldName(field);
    if (impl_->signed_names.count(std::string(name)) > 0) names.emplace_back(name);
  }
  for (const std::string& name : options_.oversign) names.push_back(name);

  const int64_t t = options_.fixed_time ? *options_.fixed_time : static_cast<int64_t>(::time(nullptr));
  FieldWriter writer("DKIM-Signature");
  writer.tag("v=1");
  writer.tag(type_ == KeyType::Rsa ? "a=rsa-sha256" : "a=ed25519-sha256");
  writer.tag("c=" + std::string(canonName(options_.header_canon)) + "/" +
             std::string(canonName(options_.body_canon)));
  writer.tag("d=" + key_.domain);
  writer.tag("s=" + key_.selector);
  writer.tag("t=" + std::to_string(t));
  if (options_.expire_after.count() > 0) writer.tag("x=" + std::to_string(t + options_.expire_after.count()));
  writer.headerList(names);
  writer.tag("bh=" + base64Encode(sha256(canonicalBody(split.body, options_.body_canon))));
  std::string unsigned_field = writer.unsignedText();

  // §3.7: the selected fields in canonical form, then this field with an
  // empty b= and no closing CRLF.
  std::string hashed;
  for (int i : selectSignedFields(split.fields, names)) {
    if (i >= 0) hashed += canonicalHeader(split.fields[static_cast<size_t>(i)], options_.header_canon);
  }
  std::string own = canonicalHeader(unsigned_field, options_.header_canon);
  own.resize(own.size() - 2);
  hashed += own;
  auto signature = impl_->key->signSha256(hashed);
  if (!signature.ok()) return makeError("DKIM signing failed: " + signature.error().message);
  return writer.finish(base64Encode(*signature));
}

}  // namespace tlsrelay::dkim
