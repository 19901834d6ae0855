// The durable spool on a real directory: store/read/remove, state updates
// across reopen, recovery of damaged files into quarantine, tmp cleanup, torn
// state records, concurrent group-committed batches and large messages.
#include "relay/queue/spool.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "relay/queue/queue_id.h"
#include "relay/queue/spool_format.h"

namespace tlsrelay {
namespace {

namespace fs = std::filesystem;

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "spool_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    spool_ = openSpool();
  }
  void TearDown() override {
    spool_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<Spool> openSpool(bool fsync = true) {
    auto spool = Spool::open(SpoolOptions{dir_, fsync});
    EXPECT_TRUE(spool.ok()) << (spool.ok() ? "" : spool.error().message);
    return spool.ok() ? std::move(spool).value() : nullptr;
  }

  static Envelope makeEnvelope(const std::string& id, size_t recipients = 2) {
    Envelope e;
    e.queue_id = id;
    e.mail_from = "sender@example.org";
    for (size_t i = 0; i < recipients; ++i)
      e.recipients.push_back({"r" + std::to_string(i) + "@example.com"});
    e.received_at = 1795000000;
    e.client_ip = "127.0.0.1";
    return e;
  }

  std::string queuePath(const std::string& id) const { return dir_ + "/queue/" + id + ".msg"; }

  static std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static void writeFile(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  size_t countFiles(const std::string& sub) const {
    size_t n = 0;
    for ([[maybe_unused]] auto& entry : fs::directory_iterator(dir_ + "/" + sub)) ++n;
    return n;
  }
  // Stores three messages; returns their ids.
  std::vector<std::string> storeThree() {
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
      ids.push_back(newQueueId());
      EXPECT_TRUE(
          spool_->store(makeEnvelope(ids.back()), "Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n").ok());
    }
    return ids;
  }

  std::string dir_;
  std::unique_ptr<Spool> spool_;
};

TEST_F(SpoolTest, CreatesLayout) {
  for (const char* sub : {"queue", "tmp", "quarantine"})
    EXPECT_TRUE(fs::is_directory(dir_ + "/" + sub)) << sub;
  EXPECT_EQ(spool_->directory(), dir_);
}

TEST_F(SpoolTest, OpenFailsCleanlyOnAFile) {
  writeFile(dir_ + "/plainfile", "x");
  auto spool = Spool::open(SpoolOptions{dir_ + "/plainfile", true});
  ASSERT_FALSE(spool.ok());
  EXPECT_FALSE(spool.error().message.empty());
  EXPECT_FALSE(Spool::open(SpoolOptions{"", true}).ok());
}

TEST_F(SpoolTest, RoundTrip) {
  std::string id = newQueueId();
  Envelope e = makeEnvelope(id, 3);
  e.flags.requiretls = true;
  std::string data = "From: x\r\n\r\nhello\r\n";
  ASSERT_TRUE(spool_->store(e, data).ok());
  auto read = spool_->readData(id);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(*read, data);
  auto envelope = spool_->readEnvelope(id);
  ASSERT_TRUE(envelope.ok()) << envelope.error().message;
  EXPECT_EQ(envelope->queue_id, id);
  EXPECT_EQ(envelope->recipients.size(), 3u);
  EXPECT_TRUE(envelope->flags.requiretls);
  EXPECT_EQ(envelope->size, data.size());
  EXPECT_EQ(spool_->listQueueIds(), std::vector<std::string>{id});
  EXPECT_EQ(countFiles("tmp"), 0u);
}

TEST_F(SpoolTest, RejectsBadAndDuplicateIds) {
  EXPECT_FALSE(spool_->store(makeEnvelope("../escape"), "x").ok());
  EXPECT_FALSE(spool_->store(makeEnvelope(""), "x").ok());
  EXPECT_FALSE(spool_->readData("../../etc/passwd").ok());
  EXPECT_FALSE(fs::exists(dir_ + "/escape.msg"));
  std::string id = newQueueId();
  ASSERT_TRUE(spool_->store(makeEnvelope(id), "first").ok());
  auto again = spool_->store(makeEnvelope(id), "second");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("already spooled"), std::string::npos) << again.error().message;
  EXPECT_EQ(*spool_->readData(id), "first");
  EXPECT_EQ(countFiles("tmp"), 0u);
}

TEST_F(SpoolTest, BatchReportsEachMessage) {
  Envelope a = makeEnvelope(newQueueId()), bad = makeEnvelope("no/slash"), c = makeEnvelope(newQueueId());
  auto results = spool_->storeBatch({{&a, "aaa"}, {&bad, "bbb"}, {&c, "ccc"}});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].ok());
  EXPECT_FALSE(results[1].ok());
  EXPECT_TRUE(results[2].ok());
  EXPECT_EQ(*spool_->readData(c.queue_id), "ccc");
  SpoolStats s = spool_->stats();
  EXPECT_EQ(s.messages_stored, 2u);
  EXPECT_EQ(s.file_syncs, 2u);
  EXPECT_EQ(s.directory_syncs, 1u);  // one for the whole batch
}

TEST_F(SpoolTest, LargeMessage50MiB) {
  std::string data(50u << 20, '\0');
  for (size_t i = 0; i < data.size(); i += 4096) data[i] = static_cast<char>('a' + (i / 4096) % 26);
  std::string id = newQueueId();
  ASSERT_TRUE(spool_->store(makeEnvelope(id), data).ok());
  auto read = spool_->readData(id);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_TRUE(*read == data);
  EXPECT_EQ(spool_->readEnvelope(id)->size, data.size());
  auto recovery = openSpool()->recover();
  ASSERT_EQ(recovery.messages.size(), 1u);
  EXPECT_EQ(recovery.messages[0].size, data.size());
}

TEST_F(SpoolTest, StateUpdatesSurviveReopen) {
  std::string id = newQueueId();
  ASSERT_TRUE(spool_->store(makeEnvelope(id, 2), "data").ok());
  Envelope e = *spool_->readEnvelope(id);
  e.recipients[0].state = RecipientState::Delivered;
  e.recipients[0].attempts = 1;
  e.recipients[0].last_response = "250 2.0.0 queued as X";
  e.recipients[1].attempts = 1;
  e.recipients[1].last_response = "451 try later";
  e.next_attempt_at = 1795000600;
  ASSERT_TRUE(spool_->updateEnvelope(e).ok());
  e.delay_notified = true;
  ASSERT_TRUE(spool_->updateEnvelope(e).ok());

  spool_ = openSpool();
  auto recovery = spool_->recover();
  ASSERT_EQ(recovery.messages.size(), 1u);
  const Envelope& r = recovery.messages[0];
  EXPECT_EQ(r.recipients[0].state, RecipientState::Delivered);
  EXPECT_EQ(r.recipients[0].last_response, "250 2.0.0 queued as X");
  EXPECT_EQ(r.recipients[1].state, RecipientState::Pending);
  EXPECT_EQ(r.recipients[1].attempts, 1u);
  EXPECT_EQ(r.next_attempt_at, 1795000600);
  EXPECT_TRUE(r.delay_notified);
  EXPECT_EQ(*spool_->readData(id), "data");  // appends never disturb the data
  EXPECT_EQ(recovery.quarantined, 0u);
}

TEST_F(SpoolTest, UpdateBatchAndMissingMessage) {
  std::string a = newQueueId(), b = newQueueId();
  ASSERT_TRUE(spool_->store(makeEnvelope(a), "a").ok());
  ASSERT_TRUE(spool_->store(makeEnvelope(b), "b").ok());
  Envelope ea = *spool_->readEnvelope(a), eb = *spool_->readEnvelope(b), missing = makeEnvelope(newQueueId());
  ea.recipients[0].state = RecipientState::Failed;
  eb.recipients[1].state = RecipientState::Delivered;
  auto results = spool_->updateBatch({&ea, &missing, &eb});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].ok());
  ASSERT_FALSE(results[1].ok());
  EXPECT_NE(results[1].error().message.find("no message"), std::string::npos);
  EXPECT_TRUE(results[2].ok());
  EXPECT_EQ(spool_->readEnvelope(a)->recipients[0].state, RecipientState::Failed);
  EXPECT_EQ(spool_->readEnvelope(b)->recipients[1].state, RecipientState::Delivered);
  EXPECT_FALSE(fs::exists(queuePath(missing.queue_id)));
}

TEST_F(SpoolTest, Remove) {
  auto ids = storeThree();
  ASSERT_TRUE(spool_->remove(ids[1]).ok());
  EXPECT_FALSE(spool_->readData(ids[1]).ok());
  EXPECT_FALSE(spool_->readEnvelope(ids[1]).ok());
  EXPECT_FALSE(spool_->remove(ids[1]).ok());  // already gone
  EXPECT_EQ(spool_->listQueueIds(), (std::vector<std::string>{ids[0], ids[2]}));
  auto recovery = openSpool()->recover();
  EXPECT_EQ(recovery.messages.size(), 2u);
}

TEST_F(SpoolTest, RecoverReturnsOldestFirst) {
  auto ids = storeThree();
  auto recovery = openSpool()->recover();
  ASSERT_EQ(recovery.messages.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(recovery.messages[i].queue_id, ids[i]);
  EXPECT_EQ(recovery.quarantined, 0u);
  EXPECT_EQ(recovery.tmp_removed, 0u);
}

TEST_F(SpoolTest, LeftoverTmpIsRemoved) {
  auto ids = storeThree();
  std::string half = spool_format::encodeMessage(makeEnvelope("HALF"), "never acknowledged");
  writeFile(dir_ + "/tmp/HALF.msg", half.substr(0, half.size() / 2));
  writeFile(dir_ + "/tmp/FULL.msg", half);
  auto recovery = openSpool()->recover();
  EXPECT_EQ(recovery.tmp_removed, 2u);
  EXPECT_EQ(recovery.messages.size(), 3u);
  EXPECT_EQ(countFiles("tmp"), 0u);
  for (const auto& m : recovery.messages) EXPECT_NE(m.queue_id, "HALF");
}

// Truncated at a sample of lengths covering every part of the file: the
// damaged message is quarantined with a warning, the others recovered.
TEST_F(SpoolTest, TruncatedFilesAreQuarantined) {
  auto ids = storeThree();
  const std::string original = readFile(queuePath(ids[1]));
  auto header = spool_format::parseHeader(original);
  ASSERT_TRUE(header.ok());
  std::set<size_t> lengths = {0,
                              1,
                              7,
                              8,
                              12,
                              35,
                              36,
                              37,
                              static_cast<size_t>(header->dataOffset()) - 1,
                              static_cast<size_t>(header->dataOffset()),
                              original.size() - 1};
  for (size_t len = 0; len < original.size(); len += 9) lengths.insert(len);
  for (size_t len : lengths) {
    SCOPED_TRACE("length " + std::to_string(len));
    writeFile(queuePath(ids[1]), original.substr(0, len));
    testing::internal::CaptureStderr();
    auto recovery = openSpool()->recover();
    std::string log = testing::internal::GetCapturedStderr();
    EXPECT_EQ(recovery.quarantined, 1u);
    ASSERT_EQ(recovery.messages.size(), 2u);
    EXPECT_EQ(recovery.messages[0].queue_id, ids[0]);
    EXPECT_EQ(recovery.messages[1].queue_id, ids[2]);
    EXPECT_FALSE(fs::exists(queuePath(ids[1])));
    EXPECT_EQ(readFile(dir_ + "/quarantine/" + ids[1] + ".msg"), original.substr(0, len));
    EXPECT_NE(log.find("\"level\":\"warn\""), std::string::npos) << log;
    EXPECT_NE(log.find("\"stage\":\"spool\""), std::string::npos) << log;
    EXPECT_NE(log.find(ids[1] + ".msg"), std::string::npos) << log;
    EXPECT_NE(log.find("truncated"), std::string::npos) << log;
    fs::remove(dir_ + "/quarantine/" + ids[1] + ".msg");
  }
}

TEST_F(SpoolTest, BitFlipsAreQuarantined) {
  auto ids = storeThree();
  const std::string original = readFile(queuePath(ids[2]));
  for (size_t at : {size_t{0}, size_t{20}, size_t{40}, original.size() / 2, original.size() - 1}) {
    SCOPED_TRACE("byte " + std::to_string(at));
    std::string damaged = original;
    damaged[at] ^= 0x04;
    writeFile(queuePath(ids[2]), damaged);
    testing::internal::CaptureStderr();
    auto recovery = openSpool()->recover();
    std::string log = testing::internal::GetCapturedStderr();
    EXPECT_EQ(recovery.quarantined, 1u);
    EXPECT_EQ(recovery.messages.size(), 2u);
    EXPECT_NE(log.find("quarantined"), std::string::npos);
    EXPECT_TRUE(fs::exists(dir_ + "/quarantine/" + ids[2] + ".msg"));
    fs::remove(dir_ + "/quarantine/" + ids[2] + ".msg");
  }
}

TEST_F(SpoolTest, GarbageAndForeignFilesAreQuarantined) {
  auto ids = storeThree();
  std::string garbage_id = newQueueId();
  writeFile(queuePath(garbage_id), std::string(5000, '\x7f'));
  writeFile(dir_ + "/queue/notes.txt", "hello");
  writeFile(dir_ + "/queue/" + ids[0] + ".msg.orig", readFile(queuePath(ids[0])));
  fs::create_directory(dir_ + "/queue/subdir.msg");
  // The same name already in quarantine: the newcomer gets a suffix, nothing is overwritten.
  writeFile(dir_ + "/quarantine/notes.txt", "older");
  testing::internal::CaptureStderr();
  auto recovery = openSpool()->recover();
  std::string log = testing::internal::GetCapturedStderr();
  EXPECT_EQ(recovery.messages.size(), 3u);
  EXPECT_EQ(recovery.quarantined, 4u);
  EXPECT_EQ(countFiles("queue"), 3u);
  EXPECT_EQ(readFile(dir_ + "/quarantine/notes.txt"), "older");
  EXPECT_EQ(readFile(dir_ + "/quarantine/notes.txt.1"), "hello");
  EXPECT_NE(log.find("not a spool file (bad magic)"), std::string::npos) << log;
  EXPECT_NE(log.find("not a spool file name"), std::string::npos) << log;
}

TEST_F(SpoolTest, UnknownVersionIsQuarantinedWithReason) {
  auto ids = storeThree();
  std::string bytes = readFile(queuePath(ids[0]));
  bytes[8] = 9;
  writeFile(queuePath(ids[0]), bytes);
  testing::internal::CaptureStderr();
  auto recovery = openSpool()->recover();
  std::string log = testing::internal::GetCapturedStderr();
  EXPECT_EQ(recovery.quarantined, 1u);
  EXPECT_EQ(recovery.messages.size(), 2u);
  EXPECT_NE(log.find("unsupported spool format version 9"), std::string::npos) << log;
  EXPECT_TRUE(fs::exists(dir_ + "/quarantine/" + ids[0] + ".msg"));
}

TEST_F(SpoolTest, FileHoldingAnotherIdIsQuarantined) {
  auto ids = storeThree();
  fs::copy_file(queuePath(ids[0]), queuePath("COPY"));
  auto recovery = openSpool()->recover();
  EXPECT_EQ(recovery.quarantined, 1u);
  EXPECT_EQ(recovery.messages.size(), 3u);
  EXPECT_TRUE(fs::exists(dir_ + "/quarantine/COPY.msg"));
}

// A crash in the middle of an append: the torn record is dropped and cut off,
// the previous state stands, and later updates are readable.
TEST_F(SpoolTest, TornStateRecordIsDroppedAndTruncated) {
  std::string id = newQueueId();
  ASSERT_TRUE(spool_->store(makeEnvelope(id), "data").ok());
  Envelope e = *spool_->readEnvelope(id);
  e.recipients[0].state = RecipientState::Delivered;
  ASSERT_TRUE(spool_->updateEnvelope(e).ok());
  const uint64_t good_size = fs::file_size(queuePath(id));
  Envelope lost = e;
  lost.recipients[1].state = RecipientState::Delivered;
  std::string record = spool_format::encodeStateRecord(lost);
  {
    std::ofstream out(queuePath(id), std::ios::binary | std::ios::app);
    out << record.substr(0, record.size() - 3);
  }
  testing::internal::CaptureStderr();
  spool_ = openSpool();
  auto recovery = spool_->recover();
  std::string log = testing::internal::GetCapturedStderr();
  EXPECT_EQ(recovery.quarantined, 0u);
  ASSERT_EQ(recovery.messages.size(), 1u);
  EXPECT_EQ(recovery.messages[0].recipients[0].state, RecipientState::Delivered);
  EXPECT_EQ(recovery.messages[0].recipients[1].state, RecipientState::Pending);
  EXPECT_EQ(fs::file_size(queuePath(id)), good_size);
  EXPECT_NE(log.find("torn"), std::string::npos) << log;

  ASSERT_TRUE(spool_->updateEnvelope(lost).ok());
  auto again = openSpool()->recover();
  ASSERT_EQ(again.messages.size(), 1u);
  EXPECT_EQ(again.messages[0].recipients[1].state, RecipientState::Delivered);
}

// updateEnvelope also cuts a torn tail itself, so appending never buries
// garbage between records even when recover() did not run (CLI use).
TEST_F(SpoolTest, UpdateAfterTornTailWithoutRecover) {
  std::string id = newQueueId();
  ASSERT_TRUE(spool_->store(makeEnvelope(id), "data").ok());
  Envelope e = *spool_->readEnvelope(id);
  std::string record = spool_format::encodeStateRecord(e);
  {
    std::ofstream out(queuePath(id), std::ios::binary | std::ios::app);
    out << record.substr(0, 10);
  }
  e.recipients[0].state = RecipientState::Delivered;
  ASSERT_TRUE(spool_->updateEnvelope(e).ok());
  auto recovery = openSpool()->recover();
  EXPECT_EQ(recovery.quarantined, 0u);
  ASSERT_EQ(recovery.messages.size(), 1u);
  EXPECT_EQ(recovery.messages[0].recipients[0].state, RecipientState::Delivered);
}

TEST_F(SpoolTest, ReadDataDetectsCorruptionAfterStore) {
  std::string id = newQueueId();
  ASSERT_TRUE(spool_->store(makeEnvelope(id), "some message data").ok());
  std::string bytes = readFile(queuePath(id));
  bytes[bytes.size() - 2] ^= 0x01;
  writeFile(queuePath(id), bytes);
  auto read = spool_->readData(id);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.error().message.find("data checksum mismatch"), std::string::npos);
}

TEST_F(SpoolTest, ConcurrentBatchesFromSeveralThreads) {
  constexpr int kThreads = 4, kBatches = 25, kBatchSize = 8;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<Envelope> envelopes;
        std::vector<std::string> bodies;
        for (int i = 0; i < kBatchSize; ++i) {
          envelopes.push_back(makeEnvelope(newQueueId()));
          bodies.push_back("thread " + std::to_string(t) + " batch " + std::to_string(b) + " item " +
                           std::to_string(i));
        }
        std::vector<std::pair<const Envelope*, std::string_view>> batch;
        for (int i = 0; i < kBatchSize; ++i) batch.emplace_back(&envelopes[i], bodies[i]);
        for (const auto& st : spool_->storeBatch(batch)) failures += st.ok() ? 0 : 1;
        for (const auto& e : envelopes) ids[t].push_back(e.queue_id);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  SpoolStats s = spool_->stats();
  EXPECT_EQ(s.messages_stored, uint64_t{kThreads * kBatches * kBatchSize});
  EXPECT_EQ(s.file_syncs, uint64_t{kThreads * kBatches * kBatchSize});
  EXPECT_LE(s.directory_syncs, uint64_t{kThreads * kBatches});
  EXPECT_EQ(s.directory_syncs + s.directory_syncs_saved, uint64_t{kThreads * kBatches});
  auto recovery = openSpool()->recover();
  EXPECT_EQ(recovery.messages.size(), size_t{kThreads * kBatches * kBatchSize});
  EXPECT_EQ(*spool_->readData(ids[2][17]), "thread 2 batch 2 item 1");
}

// Two deliveries of one message may record their results at the same time;
// their appends must not overwrite each other.
TEST_F(SpoolTest, ConcurrentUpdatesOfOneMessageStayReadable) {
  std::string id = newQueueId();
  ASSERT_TRUE(spool_->store(makeEnvelope(id, 4), "data").ok());
  const Envelope base = *spool_->readEnvelope(id);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Envelope e = base;
      for (int i = 0; i < 20; ++i) {
        e.recipients[t].attempts = static_cast<uint32_t>(i + 1);
        // Different lengths per thread, so an overlapping write would leave debris.
        e.recipients[t].last_response = std::string(static_cast<size_t>(10 + 37 * t + i), 'r');
        failures += spool_->updateEnvelope(e).ok() ? 0 : 1;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto recovery = openSpool()->recover();
  EXPECT_EQ(recovery.quarantined, 0u);
  ASSERT_EQ(recovery.messages.size(), 1u);
  const Envelope& last = recovery.messages[0];
  int touched = 0;
  for (const auto& r : last.recipients) touched += r.attempts == 20 ? 1 : 0;
  EXPECT_EQ(touched, 1);  // the last record written by one of the threads
  auto parsed = spool_format::parseMessage(readFile(queuePath(id)));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->state_records, 80u);
  EXPECT_TRUE(parsed->torn_reason.empty());
}

TEST_F(SpoolTest, WithoutFsyncStillStoresButSyncsNothing) {
  spool_ = openSpool(false);
  std::string id = newQueueId();
  ASSERT_TRUE(spool_->store(makeEnvelope(id), "x").ok());
  EXPECT_EQ(spool_->stats().file_syncs, 0u);
  EXPECT_EQ(spool_->stats().directory_syncs, 0u);
  EXPECT_EQ(*spool_->readData(id), "x");
}

}  // namespace
}  // namespace tlsrelay
