// Spool file encoding and parsing; the layout is documented in spool_format.h.
#include "relay/queue/spool_format.h"

#include <cstring>
#include <utility>

#include "relay/queue/crc32c.h"

namespace tlsrelay::spool_format {
namespace {

void putU8(std::string& out, uint8_t v) {
  out.push_back(static_cast<char>(v));
}

void putU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void putU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void putString(std::string& out, std::string_view s) {
  putU32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

uint32_t getU32(std::string_view b, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

uint64_t getU64(std::string_view b, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

// Reads envelope fields in order; the first failure sticks and names the field.
class FieldReader {
 public:
  explicit FieldReader(std::string_view bytes) : bytes_(bytes) {}

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  size_t remaining() const { return bytes_.size() - pos_; }

  uint8_t u8(const char* field) {
    if (!need(1, field)) return 0;
    return static_cast<unsigned char>(bytes_[pos_++]);
  }
  uint32_t u32(const char* field) {
    if (!need(4, field)) return 0;
    uint32_t v = getU32(bytes_, pos_);
    pos_ += 4;
    return v;
  }
  uint64_t u64(const char* field) {
    if (!need(8, field)) return 0;
    uint64_t v = getU64(bytes_, pos_);
    pos_ += 8;
    return v;
  }
  bool boolean(const char* field) {
    uint8_t v = u8(field);
    if (!failed() && v > 1) fail(std::string(field) + ": boolean is " + std::to_string(v));
    return v == 1;
  }
  std::string string(const char* field) {
    uint32_t n = u32(field);
    if (!need(n, field)) return {};
    std::string s(bytes_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  void fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
  }

 private:
  bool need(size_t n, const char* field) {
    if (failed()) return false;
    if (remaining() < n) {
      fail(std::string(field) + ": needs " + std::to_string(n) + " bytes, " + std::to_string(remaining()) +
           " left");
      return false;
    }
    return true;
  }

  std::string_view bytes_;
  size_t pos_ = 0;
  std::string error_;
};

// Smallest encoded recipient: three empty strings, state, attempts, empty response.
constexpr size_t kMinRecipientBytes = 4 + 4 + 4 + 1 + 4 + 4;

constexpr uint8_t kFlagRequireTls = 1;
constexpr uint8_t kFlagSmtpUtf8 = 2;
constexpr uint8_t kFlagBody8bit = 4;
constexpr uint8_t kFlagIsBounce = 8;
// Added after the first release: files written before it simply lack the bit.
constexpr uint8_t kFlagTlsRequiredNo = 16;
constexpr uint8_t kFlagTlsReport = 32;
constexpr uint8_t kKnownFlags =
    kFlagRequireTls | kFlagSmtpUtf8 | kFlagBody8bit | kFlagIsBounce | kFlagTlsRequiredNo | kFlagTlsReport;

}  // namespace

std::string encodeEnvelope(const Envelope& e) {
  std::string out;
  out.reserve(128 + e.recipients.size() * 64);
  putString(out, e.queue_id);
  putString(out, e.mail_from);
  uint8_t flags = (e.flags.requiretls ? kFlagRequireTls : 0) | (e.flags.smtputf8 ? kFlagSmtpUtf8 : 0) |
                  (e.flags.body_8bit ? kFlagBody8bit : 0) | (e.flags.is_bounce ? kFlagIsBounce : 0) |
                  (e.flags.tls_required_no ? kFlagTlsRequiredNo : 0) |
                  (e.flags.tls_report ? kFlagTlsReport : 0);
  putU8(out, flags);
  putString(out, e.envid);
  putString(out, e.ret);
  putU64(out, static_cast<uint64_t>(e.received_at));
  putU64(out, static_cast<uint64_t>(e.next_attempt_at));
  putU64(out, e.size);
  putString(out, e.client_ip);
  putString(out, e.helo);
  putString(out, e.auth_user);
  putU8(out, e.delay_notified ? 1 : 0);
  putU32(out, static_cast<uint32_t>(e.recipients.size()));
  for (const Recipient& r : e.recipients) {
    putString(out, r.address);
    putString(out, r.orcpt);
    putString(out, r.notify);
    putU8(out, static_cast<uint8_t>(r.state));
    putU32(out, r.attempts);
    putString(out, r.last_response);
  }
  return out;
}

Result<Envelope> decodeEnvelope(std::string_view bytes) {
  FieldReader in(bytes);
  Envelope e;
  e.queue_id = in.string("queue_id");
  e.mail_from = in.string("mail_from");
  uint8_t flags = in.u8("flags");
  if (!in.failed() && (flags & ~kKnownFlags) != 0) {
    in.fail("flags: unknown bits " + std::to_string(flags));
  }
  e.flags.requiretls = flags & kFlagRequireTls;
  e.flags.smtputf8 = flags & kFlagSmtpUtf8;
  e.flags.body_8bit = flags & kFlagBody8bit;
  e.flags.is_bounce = flags & kFlagIsBounce;
  e.flags.tls_required_no = flags & kFlagTlsRequiredNo;
  e.flags.tls_report = flags & kFlagTlsReport;
  e.envid = in.string("envid");
  e.ret = in.string("ret");
  e.received_at = static_cast<int64_t>(in.u64("received_at"));
  e.next_attempt_at = static_cast<int64_t>(in.u64("next_attempt_at"));
  e.size = in.u64("size");
  e.client_ip = in.string("client_ip");
  e.helo = in.string("helo");
  e.auth_user = in.string("auth_user");
  e.delay_notified = in.boolean("delay_notified");
  uint32_t count = in.u32("recipient_count");
  if (!in.failed() && count > in.remaining() / kMinRecipientBytes) {
    in.fail("recipient_count " + std::to_string(count) + " exceeds the bytes left");
  }
  if (!in.failed()) e.recipients.reserve(count);
  for (uint32_t i = 0; i < count && !in.failed(); ++i) {
    Recipient r;
    r.address = in.string("recipient address");
    r.orcpt = in.string("recipient orcpt");
    r.notify = in.string("recipient notify");
    uint8_t state = in.u8("recipient state");
    if (!in.failed() && state > static_cast<uint8_t>(RecipientState::Failed)) {
      in.fail("recipient state " + std::to_string(state) + " is unknown");
    }
    r.state = static_cast<RecipientState>(state);
    r.attempts = in.u32("recipient attempts");
    r.last_response = in.string("recipient last_response");
    e.recipients.push_back(std::move(r));
  }
  if (!in.failed() && in.remaining() != 0) in.fail(std::to_string(in.remaining()) + " trailing bytes");
  if (in.failed()) return makeError("envelope: " + in.error());
  return e;
}

std::string encodeMessagePrefix(const Envelope& envelope, std::string_view data) {
  Envelope stored = envelope;
  stored.size = data.size();
  std::string encoded = encodeEnvelope(stored);
  std::string out;
  out.reserve(kHeaderSize + encoded.size());
  out.append(kMagic);
  putU32(out, kVersion);
  putU32(out, static_cast<uint32_t>(encoded.size()));
  putU64(out, data.size());
  putU32(out, crc32c(encoded));
  putU32(out, crc32c(data));
  putU32(out, crc32c(out));
  out.append(encoded);
  return out;
}

std::string encodeMessage(const Envelope& envelope, std::string_view data) {
  std::string out = encodeMessagePrefix(envelope, data);
  out.append(data);
  return out;
}

std::string encodeStateRecord(const Envelope& envelope) {
  std::string payload = encodeEnvelope(envelope);
  std::string out;
  out.reserve(kRecordHeaderSize + payload.size());
  out.append(kRecordMagic);
  putU32(out, static_cast<uint32_t>(payload.size()));
  putU32(out, crc32c(payload));
  putU32(out, crc32c(out));
  out.append(payload);
  return out;
}

Result<Header> parseHeader(std::string_view bytes) {
  if (bytes.size() < kHeaderSize) {
    return makeError("truncated: header needs " + std::to_string(kHeaderSize) + " bytes, file has " +
                     std::to_string(bytes.size()));
  }
  if (bytes.substr(0, kMagic.size()) != kMagic) return makeError("not a spool file (bad magic)");
  Header h;
  h.version = getU32(bytes, 8);
  // The version is checked before the header CRC: a future version may lay
  // out its header differently, and "unsupported version" is the useful reason.
  if (h.version != kVersion) {
    return makeError("unsupported spool format version " + std::to_string(h.version) +
                     " (this build reads version " + std::to_string(kVersion) + ")");
  }
  if (crc32c(bytes.substr(0, kHeaderSize - 4)) != getU32(bytes, kHeaderSize - 4)) {
    return makeError("header checksum mismatch");
  }
  h.envelope_length = getU32(bytes, 12);
  h.data_length = getU64(bytes, 16);
  h.envelope_crc = getU32(bytes, 24);
  h.data_crc = getU32(bytes, 28);
  if (h.envelope_length > kMaxEnvelopeBytes) {
    return makeError("envelope length " + std::to_string(h.envelope_length) + " exceeds the limit");
  }
  // Keeps journalOffset() from overflowing on a (CRC-colliding) huge length.
  if (h.data_length > (uint64_t{1} << 48))
    return makeError("data length " + std::to_string(h.data_length) + " is absurd");
  return h;
}

Result<Journal> parseJournal(std::string_view bytes) {
  Journal journal;
  size_t pos = 0;
  while (pos < bytes.size()) {
    std::string_view rest = bytes.substr(pos);
    // Some file systems extend a file before its data reaches the disk; after
    // a crash the unacknowledged append reads back as zeros.
    if (rest.find_first_not_of('\0') == std::string_view::npos) {
      journal.torn_reason = "zero-filled tail of " + std::to_string(rest.size()) + " bytes";
      break;
    }
    if (rest.size() < kRecordHeaderSize) {
      journal.torn_reason = "incomplete state record header (" + std::to_string(rest.size()) + " bytes)";
      break;
    }
    std::string where = "state record " + std::to_string(journal.records + 1) + ": ";
    if (rest.substr(0, kRecordMagic.size()) != kRecordMagic) return makeError(where + "bad magic");
    if (crc32c(rest.substr(0, kRecordHeaderSize - 4)) != getU32(rest, kRecordHeaderSize - 4)) {
      return makeError(where + "header checksum mismatch");
    }
    uint32_t length = getU32(rest, 4);
    if (length > kMaxEnvelopeBytes) return makeError(where + "length exceeds the limit");
    if (rest.size() - kRecordHeaderSize < length) {
      journal.torn_reason = where + "incomplete (" + std::to_string(rest.size() - kRecordHeaderSize) +
                            " of " + std::to_string(length) + " bytes)";
      break;
    }
    std::string_view payload = rest.substr(kRecordHeaderSize, length);
    bool last = rest.size() == kRecordHeaderSize + length;
    if (crc32c(payload) != getU32(rest, 8)) {
      // Only an append in flight at a crash can be damaged at the very end;
      // a bad record with intact records after it is corruption.
      if (last) {
        journal.torn_reason = where + "checksum mismatch in the last record";
        break;
      }
      return makeError(where + "checksum mismatch");
    }
    auto envelope = decodeEnvelope(payload);
    if (!envelope) return makeError(where + envelope.error().message);
    journal.latest = std::move(envelope).value();
    ++journal.records;
    pos += kRecordHeaderSize + length;
    journal.valid_length = pos;
  }
  return journal;
}

Result<Envelope> currentEnvelope(Envelope stored, const Journal& journal, const Header& header) {
  if (stored.size != header.data_length) {
    return makeError("envelope size " + std::to_string(stored.size) + " differs from data length " +
                     std::to_string(header.data_length));
  }
  if (journal.latest) {
    if (journal.latest->queue_id != stored.queue_id) {
      return makeError("state record for queue id '" + journal.latest->queue_id + "' in the file of '" +
                       stored.queue_id + "'");
    }
    stored = *journal.latest;
  }
  stored.size = header.data_length;
  return stored;
}

Result<ParsedMessage> parseMessage(std::string_view file) {
  auto header = parseHeader(file);
  if (!header) return header.error();
  const Header& h = header.value();
  if (file.size() < h.dataOffset()) {
    return makeError("truncated: envelope needs " + std::to_string(h.envelope_length) + " bytes, file has " +
                     std::to_string(file.size() - kHeaderSize));
  }
  std::string_view envelope_bytes = file.substr(kHeaderSize, h.envelope_length);
  if (crc32c(envelope_bytes) != h.envelope_crc) return makeError("envelope checksum mismatch");
  if (file.size() < h.journalOffset()) {
    return makeError("truncated: data needs " + std::to_string(h.data_length) + " bytes, file has " +
                     std::to_string(file.size() - h.dataOffset()));
  }
  std::string_view data = file.substr(h.dataOffset(), h.data_length);
  if (crc32c(data) != h.data_crc) return makeError("data checksum mismatch");
  auto stored = decodeEnvelope(envelope_bytes);
  if (!stored) return stored.error();
  auto journal = parseJournal(file.substr(h.journalOffset()));
  if (!journal) return journal.error();
  auto current = currentEnvelope(std::move(stored).value(), journal.value(), h);
  if (!current) return current.error();
  ParsedMessage parsed;
  parsed.header = h;
  parsed.envelope = std::move(current).value();
  parsed.data = data;
  parsed.state_records = journal->records;
  parsed.valid_length = h.journalOffset() + journal->valid_length;
  parsed.torn_reason = journal->torn_reason;
  return parsed;
}

}  // namespace tlsrelay::spool_format
