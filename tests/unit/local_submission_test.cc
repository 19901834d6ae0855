// Local submission (relay/queue/local_submission.h) against a real Spool in a
// temporary directory, a real SpoolCommitter and a real libuv loop:
// checkLocalMessage() refuses a message without recipients, with CR, LF or NUL
// in an address, or with a bare CR or LF in its data, each with a message that
// says why, and accepts CRLF-only data and the null reverse-path; submit()
// refuses the same messages through `done` without touching the spool or the
// enqueue callback; an accepted message is durable before `done` gets its
// queue id (it survives reopening the spool: envelope fields, null
// reverse-path, flags, data bytes), and the enqueue callback gets the same
// envelope and data, on the loop thread, before `done`; a spool that cannot
// store reports the error through `done` and enqueues nothing.
#include "relay/queue/local_submission.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "relay/queue/queue_id.h"
#include "relay/queue/spool.h"
#include "relay/queue/spool_committer.h"

namespace tlsrelay {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kNow = 1'795'000'000;

LocalMessage validMessage() {
  LocalMessage m;
  m.mail_from = "postmaster@relay.example";
  m.recipients = {"alice@example.com", "bob@example.net"};
  m.data = "From: postmaster@relay.example\r\nSubject: hello\r\n\r\nbody line\r\n";
  return m;
}

std::string refusal(const LocalMessage& m) {
  Status s = checkLocalMessage(m);
  return s.ok() ? "(accepted)" : s.error().message;
}

TEST(CheckLocalMessage, AcceptsAWellFormedMessage) {
  EXPECT_TRUE(checkLocalMessage(validMessage()).ok());
}

TEST(CheckLocalMessage, AcceptsTheNullReversePathAndEmptyData) {
  LocalMessage m = validMessage();
  m.mail_from = "";
  EXPECT_TRUE(checkLocalMessage(m).ok());
  m.data = "";
  EXPECT_TRUE(checkLocalMessage(m).ok());
  m.data = "\r\n";
  EXPECT_TRUE(checkLocalMessage(m).ok());
}

TEST(CheckLocalMessage, RefusesAMessageWithoutRecipients) {
  LocalMessage m = validMessage();
  m.recipients.clear();
  EXPECT_EQ(refusal(m), "a local message needs at least one recipient");
}

TEST(CheckLocalMessage, RefusesASenderWithALineBreakOrNul) {
  for (std::string bad :
       {std::string("a\r@example.com"), std::string("a\n@example.com"),
        std::string("a@example.com\r\nRCPT TO:<x@evil>"), std::string("a\0b@example.com", 15)}) {
    LocalMessage m = validMessage();
    m.mail_from = bad;
    EXPECT_EQ(refusal(m), "sender address holds a line break or NUL") << bad;
  }
}

TEST(CheckLocalMessage, RefusesARecipientWithALineBreakOrNulOrNothing) {
  for (std::string bad : {std::string("b\r@example.com"), std::string("b\n@example.com"),
                          std::string("b@example.com\0", 14), std::string()}) {
    LocalMessage m = validMessage();
    m.recipients.push_back(bad);  // after two good ones: every recipient is checked
    EXPECT_EQ(refusal(m), "bad recipient address") << bad;
  }
}

TEST(CheckLocalMessage, RefusesABareCrInTheData) {
  for (std::string data : {std::string("Subject: x\r\n\r\nbare\rcr\r\n"), std::string("\rSubject: x\r\n"),
                           std::string("Subject: x\r\n\r\nends in cr\r"), std::string("a\r\r\n")}) {
    LocalMessage m = validMessage();
    m.data = data;
    EXPECT_EQ(refusal(m), "message data holds a bare CR") << data;
  }
}

TEST(CheckLocalMessage, RefusesABareLfInTheData) {
  for (std::string data : {std::string("Subject: x\r\n\r\nbare\nlf\r\n"), std::string("\nSubject: x\r\n"),
                           std::string("Subject: x\r\n\r\nends in lf\n"), std::string("a\r\n\n")}) {
    LocalMessage m = validMessage();
    m.data = data;
    EXPECT_EQ(refusal(m), "message data holds a bare LF") << data;
  }
}

class LocalSubmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "local_submission_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto spool = Spool::open(SpoolOptions{dir_, true});
    ASSERT_TRUE(spool.ok()) << spool.error().message;
    spool_ = std::move(spool).value();
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    committer_ = std::make_unique<SpoolCommitter>(&loop_, spool_.get());
    submission_ = std::make_unique<LocalSubmission>(
        committer_.get(),
        [this](std::shared_ptr<Envelope> env, std::shared_ptr<const std::string> data) {
          Enqueued e{std::move(env), std::move(data), std::this_thread::get_id(), done_.size(), std::nullopt};
          // Durable before it is queued: the spool already has it.
          auto stored = spool_->readEnvelope(e.envelope->queue_id);
          if (stored.ok()) e.spooled = std::move(stored).value();
          enqueued_.push_back(std::move(e));
        },
        [] { return kNow; });
  }
  void TearDown() override {
    uv_run(&loop_, UV_RUN_DEFAULT);
    submission_.reset();
    committer_.reset();
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    spool_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void submit(LocalMessage m) {
    submission_->submit(std::move(m), [this](const Result<std::string>& r) {
      done_.push_back(r.ok() ? Done{r.value(), "", std::this_thread::get_id()}
                             : Done{"", r.error().message, std::this_thread::get_id()});
    });
  }

  struct Done {
    std::string queue_id;
    std::string error;
    std::thread::id thread;
  };
  struct Enqueued {
    std::shared_ptr<Envelope> envelope;
    std::shared_ptr<const std::string> data;
    std::thread::id thread;
    size_t done_before = 0;  // how many `done` calls had run when enqueue ran
    std::optional<Envelope> spooled;
  };

  std::string dir_;
  std::unique_ptr<Spool> spool_;
  uv_loop_t loop_;
  std::unique_ptr<SpoolCommitter> committer_;
  std::unique_ptr<LocalSubmission> submission_;
  std::vector<Done> done_;
  std::vector<Enqueued> enqueued_;
};

TEST_F(LocalSubmissionTest, AcceptedMessageIsDurableWithItsEnvelopeAndBytesBeforeDoneGetsItsQueueId) {
  LocalMessage m;
  m.mail_from = "";  // a DSN
  m.recipients = {"sender@example.org", "other@example.com"};
  m.data =
      "From: Mail Delivery System <postmaster@relay.example>\r\nSubject: failed\r\n\r\n\x80 8bit body\r\n";
  m.flags.is_bounce = true;
  m.flags.requiretls = true;
  m.flags.body_8bit = true;
  m.envid = "ENV-42";
  m.ret = "HDRS";
  const std::string data = m.data;
  submit(m);
  EXPECT_TRUE(done_.empty());  // only once the store has finished on the pool
  EXPECT_TRUE(enqueued_.empty());
  ASSERT_EQ(uv_run(&loop_, UV_RUN_DEFAULT), 0);

  ASSERT_EQ(done_.size(), 1u);
  ASSERT_EQ(done_[0].error, "");
  const std::string id = done_[0].queue_id;
  EXPECT_TRUE(isValidQueueId(id)) << id;
  EXPECT_EQ(id.size(), 26u);
  EXPECT_EQ(done_[0].thread, std::this_thread::get_id());  // the loop thread
  EXPECT_EQ(committer_->items(), 1u);

  // Durable: a fresh Spool on the same directory recovers it as stored.
  spool_.reset();
  auto reopened = Spool::open(SpoolOptions{dir_, true});
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  spool_ = std::move(reopened).value();
  EXPECT_EQ(spool_->listQueueIds(), std::vector<std::string>{id});
  auto recovery = spool_->recover();
  ASSERT_EQ(recovery.messages.size(), 1u);
  EXPECT_EQ(recovery.quarantined, 0u);
  const Envelope& e = recovery.messages[0];
  EXPECT_EQ(e.queue_id, id);
  EXPECT_EQ(e.mail_from, "");
  ASSERT_EQ(e.recipients.size(), 2u);
  EXPECT_EQ(e.recipients[0].address, "sender@example.org");
  EXPECT_EQ(e.recipients[1].address, "other@example.com");
  for (const auto& r : e.recipients) {
    EXPECT_EQ(r.state, RecipientState::Pending);
    EXPECT_EQ(r.attempts, 0u);
  }
  EXPECT_TRUE(e.flags.is_bounce);
  EXPECT_TRUE(e.flags.requiretls);
  EXPECT_TRUE(e.flags.body_8bit);
  EXPECT_FALSE(e.flags.smtputf8);
  EXPECT_FALSE(e.flags.tls_required_no);
  EXPECT_EQ(e.envid, "ENV-42");
  EXPECT_EQ(e.ret, "HDRS");
  EXPECT_EQ(e.received_at, kNow);  // from the clock it was given
  EXPECT_EQ(e.size, data.size());
  EXPECT_EQ(e.client_ip, "local");
  auto bytes = spool_->readData(id);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  EXPECT_EQ(*bytes, data);  // not rewritten, not dot-stuffed

  // Enqueued once, with the same envelope and data, on the loop thread, after
  // the message was on disk and before `done`.
  ASSERT_EQ(enqueued_.size(), 1u);
  const Enqueued& q = enqueued_[0];
  ASSERT_TRUE(q.envelope);
  ASSERT_TRUE(q.data);
  EXPECT_EQ(q.envelope->queue_id, id);
  EXPECT_EQ(q.envelope->mail_from, "");
  ASSERT_EQ(q.envelope->recipients.size(), 2u);
  EXPECT_EQ(q.envelope->recipients[0].address, "sender@example.org");
  EXPECT_EQ(q.envelope->recipients[1].address, "other@example.com");
  EXPECT_TRUE(q.envelope->flags.is_bounce);
  EXPECT_TRUE(q.envelope->flags.requiretls);
  EXPECT_EQ(q.envelope->envid, "ENV-42");
  EXPECT_EQ(q.envelope->ret, "HDRS");
  EXPECT_EQ(q.envelope->received_at, kNow);
  EXPECT_EQ(q.envelope->size, data.size());
  EXPECT_EQ(*q.data, data);
  EXPECT_EQ(q.thread, std::this_thread::get_id());
  EXPECT_EQ(q.done_before, 0u);
  ASSERT_TRUE(q.spooled.has_value());
  EXPECT_EQ(q.spooled->queue_id, id);
}

TEST_F(LocalSubmissionTest, SenderAddressIsKeptAsGiven) {
  LocalMessage m = validMessage();
  submit(m);
  ASSERT_EQ(uv_run(&loop_, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(done_.size(), 1u);
  ASSERT_EQ(done_[0].error, "");
  auto e = spool_->readEnvelope(done_[0].queue_id);
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->mail_from, "postmaster@relay.example");
  EXPECT_FALSE(e->flags.is_bounce);
  EXPECT_FALSE(e->flags.requiretls);
  EXPECT_EQ(e->envid, "");
  EXPECT_EQ(e->ret, "");
  auto bytes = spool_->readData(done_[0].queue_id);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, m.data);
}

TEST_F(LocalSubmissionTest, SeveralSubmissionsEachGetTheirOwnQueueId) {
  for (int i = 0; i < 5; ++i) {
    LocalMessage m = validMessage();
    m.data = "Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n";
    submit(m);
  }
  ASSERT_EQ(uv_run(&loop_, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(done_.size(), 5u);
  ASSERT_EQ(enqueued_.size(), 5u);
  std::set<std::string> ids;
  for (const auto& d : done_) {
    EXPECT_EQ(d.error, "");
    ids.insert(d.queue_id);
  }
  EXPECT_EQ(ids.size(), 5u);
  auto listed = spool_->listQueueIds();
  EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()), ids);
  for (const auto& q : enqueued_) {
    auto bytes = spool_->readData(q.envelope->queue_id);
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ(*bytes, *q.data);
  }
}

TEST_F(LocalSubmissionTest, RefusedMessagesNeverReachTheSpoolOrTheQueue) {
  LocalMessage none = validMessage();
  none.recipients.clear();
  LocalMessage bad_sender = validMessage();
  bad_sender.mail_from = "a@example.com\r\nDATA";
  LocalMessage bad_rcpt = validMessage();
  bad_rcpt.recipients = {std::string("x@example.com\0y", 15)};
  LocalMessage bare_lf = validMessage();
  bare_lf.data = "Subject: x\r\n\r\n.\n";
  LocalMessage bare_cr = validMessage();
  bare_cr.data = "Subject: x\r\n\r\nsmuggled\r.\r\n";
  for (const auto& m : {none, bad_sender, bad_rcpt, bare_lf, bare_cr}) submit(m);
  ASSERT_EQ(uv_run(&loop_, UV_RUN_DEFAULT), 0);

  ASSERT_EQ(done_.size(), 5u);
  EXPECT_EQ(done_[0].error, "a local message needs at least one recipient");
  EXPECT_EQ(done_[1].error, "sender address holds a line break or NUL");
  EXPECT_EQ(done_[2].error, "bad recipient address");
  EXPECT_EQ(done_[3].error, "message data holds a bare LF");
  EXPECT_EQ(done_[4].error, "message data holds a bare CR");
  for (const auto& d : done_) {
    EXPECT_EQ(d.queue_id, "");
    EXPECT_EQ(d.thread, std::this_thread::get_id());
  }
  EXPECT_TRUE(enqueued_.empty());
  EXPECT_EQ(committer_->items(), 0u);
  EXPECT_TRUE(spool_->listQueueIds().empty());
  EXPECT_TRUE(fs::is_empty(dir_ + "/queue"));
  EXPECT_TRUE(fs::is_empty(dir_ + "/tmp"));
}

TEST_F(LocalSubmissionTest, RefusalWithoutADoneCallbackIsSilent) {
  LocalMessage m = validMessage();
  m.recipients.clear();
  submission_->submit(m, nullptr);
  ASSERT_EQ(uv_run(&loop_, UV_RUN_DEFAULT), 0);
  EXPECT_TRUE(enqueued_.empty());
  EXPECT_TRUE(spool_->listQueueIds().empty());
}

// The spool's tmp/ directory removed under it (it writes through a directory
// descriptor, so creating the tmp file fails): the store error reaches `done`
// and nothing is queued.
TEST_F(LocalSubmissionTest, AStoreFailureReachesDoneAndNothingIsQueued) {
  ASSERT_TRUE(fs::remove(dir_ + "/tmp"));
  submit(validMessage());
  ASSERT_EQ(uv_run(&loop_, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(done_.size(), 1u);
  EXPECT_EQ(done_[0].queue_id, "");
  EXPECT_NE(done_[0].error, "");
  EXPECT_TRUE(enqueued_.empty());
  EXPECT_TRUE(spool_->listQueueIds().empty());
}

}  // namespace
}  // namespace tlsrelay
