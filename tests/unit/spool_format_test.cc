// Spool file format: round trips, and every kind of damage detected with a
// clear reason (truncation at every length, bit flips, versions, bad fields).
#include "relay/queue/spool_format.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "relay/queue/crc32c.h"
#include "relay/queue/queue_id.h"

namespace tlsrelay {
namespace {

namespace fmt = spool_format;

Envelope sampleEnvelope() {
  Envelope e;
  e.queue_id = "0005F1A2B3C4D50000DEADBEEF";
  e.mail_from = "sender@example.org";
  e.recipients.push_back(
      {"a@example.com", "rfc822;a@example.com", "FAILURE,DELAY", RecipientState::Pending, 0, ""});
  e.recipients.push_back({"b@例え.jp", "", "", RecipientState::Delivered, 2, "250 2.0.0 ok"});
  e.recipients.push_back(
      {"c@example.net", "", "NEVER", RecipientState::Failed, 5, std::string("550 \0 nul", 9)});
  e.flags.requiretls = true;
  e.flags.body_8bit = true;
  e.flags.tls_required_no = true;
  e.envid = "ENV123";
  e.ret = "HDRS";
  e.received_at = 1795000000;
  e.next_attempt_at = -5;
  e.client_ip = "127.0.0.1";
  e.helo = "client.example";
  e.auth_user = "alice";
  e.delay_notified = true;
  return e;
}

void expectSameEnvelope(const Envelope& a, const Envelope& b) {
  EXPECT_EQ(a.queue_id, b.queue_id);
  EXPECT_EQ(a.mail_from, b.mail_from);
  ASSERT_EQ(a.recipients.size(), b.recipients.size());
  for (size_t i = 0; i < a.recipients.size(); ++i) {
    EXPECT_EQ(a.recipients[i].address, b.recipients[i].address);
    EXPECT_EQ(a.recipients[i].orcpt, b.recipients[i].orcpt);
    EXPECT_EQ(a.recipients[i].notify, b.recipients[i].notify);
    EXPECT_EQ(a.recipients[i].state, b.recipients[i].state);
    EXPECT_EQ(a.recipients[i].attempts, b.recipients[i].attempts);
    EXPECT_EQ(a.recipients[i].last_response, b.recipients[i].last_response);
  }
  EXPECT_EQ(a.flags.requiretls, b.flags.requiretls);
  EXPECT_EQ(a.flags.smtputf8, b.flags.smtputf8);
  EXPECT_EQ(a.flags.body_8bit, b.flags.body_8bit);
  EXPECT_EQ(a.flags.is_bounce, b.flags.is_bounce);
  EXPECT_EQ(a.flags.tls_required_no, b.flags.tls_required_no);
  EXPECT_EQ(a.envid, b.envid);
  EXPECT_EQ(a.ret, b.ret);
  EXPECT_EQ(a.received_at, b.received_at);
  EXPECT_EQ(a.next_attempt_at, b.next_attempt_at);
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.client_ip, b.client_ip);
  EXPECT_EQ(a.helo, b.helo);
  EXPECT_EQ(a.auth_user, b.auth_user);
  EXPECT_EQ(a.delay_notified, b.delay_notified);
}

const std::string kData = "From: a@example.org\r\nSubject: hi\r\n\r\nbody line\r\n";

TEST(Crc32c, KnownVectorAndChaining) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
  std::string big(100003, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131);
  EXPECT_EQ(crc32c(std::string_view(big).substr(500), crc32c(std::string_view(big).substr(0, 500))),
            crc32c(big));
  std::string flipped = big;
  flipped[77777] ^= 0x10;
  EXPECT_NE(crc32c(flipped), crc32c(big));
}

TEST(QueueId, FormatIsSortableAndSafe) {
  EXPECT_EQ(formatQueueId(0x1, 0x2, 0x3), "00000000000001000200000003");
  EXPECT_LT(formatQueueId(100, 0xFFFF, 0xFFFFFFFF), formatQueueId(101, 0, 0));
  std::string previous;
  for (int i = 0; i < 1000; ++i) {
    std::string id = newQueueId();
    EXPECT_EQ(id.size(), 26u);
    EXPECT_TRUE(isValidQueueId(id)) << id;
    EXPECT_LT(previous, id);  // strictly increasing within a process
    previous = id;
  }
}

TEST(QueueId, UniqueAcrossThreads) {
  std::vector<std::vector<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& ids : per_thread) {
    threads.emplace_back([&ids] {
      for (int i = 0; i < 20000; ++i) ids.push_back(newQueueId());
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  for (auto& ids : per_thread) all.insert(ids.begin(), ids.end());
  EXPECT_EQ(all.size(), 80000u);
}

TEST(QueueId, ValidationRejectsPathTricks) {
  for (const char* bad : {"", "../x", "a/b", "a.b", ".", "..", "a b", "a\nb", "abc.msg", "é"}) {
    EXPECT_FALSE(isValidQueueId(bad)) << bad;
  }
  EXPECT_FALSE(isValidQueueId(std::string(65, 'A')));
  EXPECT_TRUE(isValidQueueId(std::string(64, 'A')));
  EXPECT_TRUE(isValidQueueId("abcXYZ019"));
}

TEST(SpoolFormat, EnvelopeRoundTrip) {
  Envelope e = sampleEnvelope();
  auto decoded = fmt::decodeEnvelope(fmt::encodeEnvelope(e));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  expectSameEnvelope(e, *decoded);
  Envelope empty;
  auto decoded_empty = fmt::decodeEnvelope(fmt::encodeEnvelope(empty));
  ASSERT_TRUE(decoded_empty.ok());
  EXPECT_TRUE(decoded_empty->recipients.empty());
  EXPECT_TRUE(decoded_empty->mail_from.empty());
}

TEST(SpoolFormat, EveryFlagRoundTripsAlone) {
  bool MessageFlags::*const all[] = {&MessageFlags::requiretls,      &MessageFlags::smtputf8,
                                     &MessageFlags::body_8bit,       &MessageFlags::is_bounce,
                                     &MessageFlags::tls_required_no, &MessageFlags::tls_report};
  for (auto flag : all) {
    Envelope e;
    e.flags.*flag = true;
    auto decoded = fmt::decodeEnvelope(fmt::encodeEnvelope(e));
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    for (auto other : all) EXPECT_EQ(decoded->flags.*other, other == flag);
  }
}

// The flags byte sits at offset 8 of an envelope with empty queue id and sender.
TEST(SpoolFormat, FilesWrittenBeforeTlsRequiredNoStillRead) {
  Envelope e;
  e.recipients.push_back({});
  std::string bytes = fmt::encodeEnvelope(e);
  ASSERT_EQ(bytes[8], 0);
  bytes[8] = 0x0F;  // every bit the first release wrote, and only those
  auto old = fmt::decodeEnvelope(bytes);
  ASSERT_TRUE(old.ok()) << old.error().message;
  EXPECT_TRUE(old->flags.requiretls && old->flags.smtputf8 && old->flags.body_8bit && old->flags.is_bounce);
  EXPECT_FALSE(old->flags.tls_required_no);
  bytes[8] = 0x10;
  auto current = fmt::decodeEnvelope(bytes);
  ASSERT_TRUE(current.ok()) << current.error().message;
  EXPECT_TRUE(current->flags.tls_required_no);
  EXPECT_FALSE(current->flags.requiretls);
  bytes[8] = 0x40;  // a bit no build knows yet: damage or a newer writer, never guessed at
  EXPECT_FALSE(fmt::decodeEnvelope(bytes).ok());
}

TEST(SpoolFormat, MessageRoundTrip) {
  Envelope e = sampleEnvelope();
  std::string file = fmt::encodeMessage(e, kData);
  auto parsed = fmt::parseMessage(file);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->data, kData);
  e.size = kData.size();
  expectSameEnvelope(e, parsed->envelope);
  EXPECT_EQ(parsed->state_records, 0u);
  EXPECT_EQ(parsed->valid_length, file.size());
  EXPECT_TRUE(parsed->torn_reason.empty());
}

TEST(SpoolFormat, EmptyDataRoundTrip) {
  Envelope e = sampleEnvelope();
  auto parsed = fmt::parseMessage(fmt::encodeMessage(e, ""));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->data, "");
  EXPECT_EQ(parsed->envelope.size, 0u);
}

TEST(SpoolFormat, LastStateRecordWins) {
  Envelope e = sampleEnvelope();
  std::string file = fmt::encodeMessage(e, kData);
  Envelope first = e;
  first.recipients[0].attempts = 1;
  first.next_attempt_at = 100;
  Envelope second = first;
  second.recipients[0].state = RecipientState::Delivered;
  second.recipients[0].last_response = "250 queued";
  file += fmt::encodeStateRecord(first) + fmt::encodeStateRecord(second);
  auto parsed = fmt::parseMessage(file);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->state_records, 2u);
  EXPECT_EQ(parsed->envelope.recipients[0].state, RecipientState::Delivered);
  EXPECT_EQ(parsed->envelope.recipients[0].last_response, "250 queued");
  EXPECT_EQ(parsed->envelope.size, kData.size());  // the data length, whatever the record said
}

// Truncation anywhere before the end of the data is an error; inside a state
// record it is a torn tail and the previous state stands.
TEST(SpoolFormat, TruncationAtEveryLength) {
  Envelope e = sampleEnvelope();
  std::string base = fmt::encodeMessage(e, kData);
  Envelope updated = e;
  updated.recipients[0].state = RecipientState::Delivered;
  std::string record = fmt::encodeStateRecord(updated);
  std::string file = base + record;
  for (size_t len = 0; len < file.size(); ++len) {
    auto parsed = fmt::parseMessage(std::string_view(file).substr(0, len));
    if (len < base.size()) {
      ASSERT_FALSE(parsed.ok()) << "length " << len;
      EXPECT_NE(parsed.error().message.find(len < fmt::kHeaderSize ? "truncated" : ""), std::string::npos);
    } else {
      ASSERT_TRUE(parsed.ok()) << "length " << len << ": " << parsed.error().message;
      EXPECT_EQ(parsed->envelope.recipients[0].state, RecipientState::Pending);
      EXPECT_EQ(parsed->valid_length, base.size());
      EXPECT_EQ(parsed->torn_reason.empty(), len == base.size());
    }
  }
  auto whole = fmt::parseMessage(file);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->envelope.recipients[0].state, RecipientState::Delivered);
}

TEST(SpoolFormat, TruncationReasonsNameThePart) {
  std::string file = fmt::encodeMessage(sampleEnvelope(), kData);
  auto header = fmt::parseMessage(std::string_view(file).substr(0, 10));
  ASSERT_FALSE(header.ok());
  EXPECT_NE(header.error().message.find("header needs 36 bytes"), std::string::npos)
      << header.error().message;
  auto data = fmt::parseMessage(std::string_view(file).substr(0, file.size() - 1));
  ASSERT_FALSE(data.ok());
  EXPECT_NE(data.error().message.find("truncated: data"), std::string::npos) << data.error().message;
}

TEST(SpoolFormat, EveryBitFlipInMessageIsDetected) {
  std::string file = fmt::encodeMessage(sampleEnvelope(), kData);
  for (size_t byte = 0; byte < file.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = file;
      damaged[byte] = static_cast<char>(damaged[byte] ^ (1 << bit));
      EXPECT_FALSE(fmt::parseMessage(damaged).ok()) << "byte " << byte << " bit " << bit;
    }
  }
}

TEST(SpoolFormat, BitFlipInEarlierRecordIsCorruptionInLastIsTorn) {
  Envelope e = sampleEnvelope();
  std::string base = fmt::encodeMessage(e, kData);
  Envelope one = e, two = e;
  one.recipients[0].attempts = 1;
  two.recipients[0].attempts = 2;
  std::string r1 = fmt::encodeStateRecord(one), r2 = fmt::encodeStateRecord(two);
  std::string file = base + r1 + r2;
  // Payload of the first record (after its 16-byte header): corruption.
  std::string damaged = file;
  damaged[base.size() + fmt::kRecordHeaderSize + 3] ^= 0x01;
  auto bad = fmt::parseMessage(damaged);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("state record 1: checksum mismatch"), std::string::npos)
      << bad.error().message;
  // Header of the first record: corruption too.
  damaged = file;
  damaged[base.size() + 5] ^= 0x40;
  EXPECT_FALSE(fmt::parseMessage(damaged).ok());
  // Payload of the last record: a torn append; the first record stands.
  damaged = file;
  damaged[file.size() - 2] ^= 0x01;
  auto torn = fmt::parseMessage(damaged);
  ASSERT_TRUE(torn.ok()) << torn.error().message;
  EXPECT_EQ(torn->envelope.recipients[0].attempts, 1u);
  EXPECT_EQ(torn->valid_length, base.size() + r1.size());
  EXPECT_NE(torn->torn_reason.find("last record"), std::string::npos);
}

TEST(SpoolFormat, ZeroFilledTailIsTorn) {
  std::string file = fmt::encodeMessage(sampleEnvelope(), kData);
  size_t base = file.size();
  file.append(40, '\0');
  auto parsed = fmt::parseMessage(file);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->valid_length, base);
  EXPECT_NE(parsed->torn_reason.find("zero-filled"), std::string::npos);
}

TEST(SpoolFormat, GarbageAfterDataIsCorruption) {
  std::string file = fmt::encodeMessage(sampleEnvelope(), kData) + std::string(40, 'G');
  auto parsed = fmt::parseMessage(file);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("bad magic"), std::string::npos) << parsed.error().message;
}

TEST(SpoolFormat, UnknownVersionHasClearReason) {
  std::string file = fmt::encodeMessage(sampleEnvelope(), kData);
  file[8] = 2;  // version field, little-endian
  auto parsed = fmt::parseMessage(file);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message, "unsupported spool format version 2 (this build reads version 1)");
}

TEST(SpoolFormat, GarbageIsNotASpoolFile) {
  auto parsed = fmt::parseMessage(std::string(200, 'z'));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message, "not a spool file (bad magic)");
  EXPECT_FALSE(fmt::parseMessage("").ok());
}

TEST(SpoolFormat, RecordForAnotherQueueIdIsRejected) {
  Envelope e = sampleEnvelope();
  Envelope other = e;
  other.queue_id = "OTHER";
  auto parsed = fmt::parseMessage(fmt::encodeMessage(e, kData) + fmt::encodeStateRecord(other));
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("OTHER"), std::string::npos);
}

TEST(SpoolFormat, DecodeRejectsBadFields) {
  std::string good = fmt::encodeEnvelope(sampleEnvelope());
  EXPECT_FALSE(fmt::decodeEnvelope(good + "x").ok());  // trailing byte
  EXPECT_FALSE(fmt::decodeEnvelope(good.substr(0, good.size() - 1)).ok());
  for (size_t len = 0; len < good.size(); ++len) {
    EXPECT_FALSE(fmt::decodeEnvelope(std::string_view(good).substr(0, len)).ok()) << len;
  }

  Envelope e;  // fixed layout: empty strings are 4 zero bytes each
  e.recipients.push_back({});
  std::string bytes = fmt::encodeEnvelope(e);
  // Offsets: queue_id 4, mail_from 4, flags 1 → flags at 8.
  std::string bad_flags = bytes;
  bad_flags[8] = static_cast<char>(0x80);
  auto flags = fmt::decodeEnvelope(bad_flags);
  ASSERT_FALSE(flags.ok());
  EXPECT_NE(flags.error().message.find("flags"), std::string::npos);
  // delay_notified: after envid 4, ret 4, 3×8 ints, 3 strings → 9+8+24+12 = 53.
  std::string bad_bool = bytes;
  bad_bool[53] = 2;
  auto boolean = fmt::decodeEnvelope(bad_bool);
  ASSERT_FALSE(boolean.ok());
  EXPECT_NE(boolean.error().message.find("delay_notified"), std::string::npos) << boolean.error().message;
  // Recipient count at 54; state after three empty strings at 54+4+12 = 70.
  std::string bad_state = bytes;
  bad_state[70] = 3;
  auto state = fmt::decodeEnvelope(bad_state);
  ASSERT_FALSE(state.ok());
  EXPECT_NE(state.error().message.find("recipient state 3"), std::string::npos) << state.error().message;
  std::string huge_count = bytes;
  huge_count[54] = huge_count[55] = huge_count[56] = huge_count[57] = static_cast<char>(0xFF);
  auto count = fmt::decodeEnvelope(huge_count);
  ASSERT_FALSE(count.ok());
  EXPECT_NE(count.error().message.find("recipient_count"), std::string::npos);
}

TEST(SpoolFormat, HugeLengthsAreRejectedBeforeAllocating) {
  std::string file = fmt::encodeMessage(sampleEnvelope(), kData);
  // A state record claiming 4 GiB is caught by its header CRC or the limit.
  std::string record = fmt::encodeStateRecord(sampleEnvelope());
  record[4] = record[5] = record[6] = record[7] = static_cast<char>(0xFF);
  EXPECT_FALSE(fmt::parseMessage(file + record + record).ok());
}

}  // namespace
}  // namespace tlsrelay
