// The on-disk format of one spooled message, as pure functions (bytes in,
// values out; no I/O) so every rule is unit-tested and fuzzed.
//
// One file per message, little-endian throughout:
//
//   header   36 bytes  magic "TLSRSPOL" | u32 version (1) | u32 envelope_length |
//                      u64 data_length | u32 envelope_crc | u32 data_crc |
//                      u32 header_crc (CRC-32C of the 32 bytes before it)
//   envelope           the envelope as accepted (encodeEnvelope)
//   data               the message bytes, exactly as received
//   state records*     appended later, one per durable state change:
//                      magic "TSR1" | u32 payload_length | u32 payload_crc |
//                      u32 header_crc (of the 12 bytes before it) | payload
//                      where the payload is a whole envelope; the last intact
//                      record is the message's current state.
//
// Everything is checksummed, so truncation and corruption are detected. A
// record cut short at the end of the file (a crash during an append that was
// never acknowledged) is a "torn tail": dropped, not an error. Damage anywhere
// else makes the file unreadable, and the spool quarantines it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "message/envelope.h"

namespace tlsrelay::spool_format {

inline constexpr std::string_view kMagic = "TLSRSPOL";
inline constexpr std::string_view kRecordMagic = "TSR1";
inline constexpr uint32_t kVersion = 1;
inline constexpr size_t kHeaderSize = 36;
inline constexpr size_t kRecordHeaderSize = 16;
// Far above any real envelope (1000 recipients are ~300 KiB); a larger length
// field is damage, and rejecting it keeps a flipped bit from allocating GiBs.
inline constexpr uint32_t kMaxEnvelopeBytes = 64u << 20;

struct Header {
  uint32_t version = kVersion;
  uint32_t envelope_length = 0;
  uint64_t data_length = 0;
  uint32_t envelope_crc = 0;
  uint32_t data_crc = 0;

  uint64_t dataOffset() const { return kHeaderSize + uint64_t{envelope_length}; }
  uint64_t journalOffset() const { return dataOffset() + data_length; }
};

// Envelope <-> bytes (the payload of the file's envelope and of state records).
std::string encodeEnvelope(const Envelope& envelope);
Result<Envelope> decodeEnvelope(std::string_view bytes);

// Header + envelope: everything before the data. A writer writes this prefix
// and then the caller's data buffer, so a 50 MiB message is never copied.
// The envelope's size field is written as data.size().
std::string encodeMessagePrefix(const Envelope& envelope, std::string_view data);
// Prefix + data in one string (tests, fuzz seeds).
std::string encodeMessage(const Envelope& envelope, std::string_view data);
// One state record to append.
std::string encodeStateRecord(const Envelope& envelope);

// Parses and checks the first kHeaderSize bytes (magic, version, header CRC,
// length limits). `bytes` may be longer; only the header is read.
Result<Header> parseHeader(std::string_view bytes);

struct Journal {
  std::optional<Envelope> latest;  // the last intact state record
  size_t records = 0;
  size_t valid_length = 0;  // bytes covered by intact records
  std::string torn_reason;  // set when bytes after valid_length were a torn tail
};
// Parses the state records that follow the data.
Result<Journal> parseJournal(std::string_view bytes);

// The message's current envelope: the last state record if any, else the one
// stored with the data; size set to the data length. Fails if a record names
// another queue id.
Result<Envelope> currentEnvelope(Envelope stored, const Journal& journal, const Header& header);

struct ParsedMessage {
  Header header;
  Envelope envelope;      // current state (see currentEnvelope)
  std::string_view data;  // points into the parsed buffer
  size_t state_records = 0;
  uint64_t valid_length = 0;  // file length without a torn tail
  std::string torn_reason;    // non-empty when a torn tail was dropped
};
// Parses and verifies a whole file held in memory.
Result<ParsedMessage> parseMessage(std::string_view file);

}  // namespace tlsrelay::spool_format
