// The message pipeline (relay/outbound/message_pipeline.h) running stages
// (message/stage.h) just before transmission: with no stages the spooled bytes
// go out untouched; stages run in order, each over the groups the earlier ones
// made; refusals come back as per-recipient outcomes with the stage's status;
// a stage that loses or duplicates recipients is contained; blocking stages run
// on the libuv thread pool of a real loop and complete through `done`; Content-
// and Recipients-scope results are kept per message so another hop or another
// destination does not transform the message again, and Hop-scope results never.
#include "relay/outbound/message_pipeline.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace tlsrelay {
namespace {

// What a stage saw on one process() call.
struct SeenInput {
  std::vector<size_t> recipients;
  std::string data;
  const std::string* data_identity = nullptr;
  std::optional<StageHop> hop;
  std::thread::id thread;
};

// Base for the test stages: records every input (thread-safe, since blocking
// stages run on the thread pool).
class RecordingStage : public MessageStage {
 public:
  RecordingStage(std::string name, Scope scope, bool blocking)
      : name_(std::move(name)), scope_(scope), blocking_(blocking) {}
  const char* name() const override { return name_.c_str(); }
  Scope scope() const override { return scope_; }
  bool blocking() const override { return blocking_; }
  StageResult process(const StageInput& in) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      SeenInput s{in.recipients, *in.data, in.data.get(), std::nullopt, std::this_thread::get_id()};
      if (in.hop) s.hop = *in.hop;
      seen_.push_back(std::move(s));
    }
    return transform(in);
  }
  std::vector<SeenInput> seen() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }

 protected:
  virtual StageResult transform(const StageInput& in) = 0;

 private:
  std::string name_;
  Scope scope_;
  bool blocking_;
  mutable std::mutex mutex_;
  std::vector<SeenInput> seen_;
};

// Appends a marker to the bytes of every group it is given.
class AppendStage : public RecordingStage {
 public:
  AppendStage(std::string marker, Scope scope = Scope::Content, bool blocking = false)
      : RecordingStage("append" + marker, scope, blocking), marker_(std::move(marker)) {}

 protected:
  StageResult transform(const StageInput& in) override {
    return StageResult{{{in.recipients, std::make_shared<const std::string>(*in.data + marker_)}}, {}};
  }

 private:
  std::string marker_;
};

// Like encryption to recipient keys: recipients with an even index get a body
// of their own ("[even]" appended), those with an odd index another ("[odd]").
class SplitByParityStage : public RecordingStage {
 public:
  SplitByParityStage() : RecordingStage("split", Scope::Recipients, false) {}

 protected:
  StageResult transform(const StageInput& in) override {
    StageGroup even{{}, std::make_shared<const std::string>(*in.data + "[even]")};
    StageGroup odd{{}, std::make_shared<const std::string>(*in.data + "[odd]")};
    for (size_t i : in.recipients) (i % 2 == 0 ? even : odd).recipients.push_back(i);
    return StageResult{{even, odd}, {}};
  }
};

// Puts every recipient in a group of its own, all with the unchanged bytes
// (a stage may group recipients without changing what they get).
class OneGroupPerRecipientStage : public RecordingStage {
 public:
  OneGroupPerRecipientStage() : RecordingStage("pergroup", Scope::Recipients, false) {}

 protected:
  StageResult transform(const StageInput& in) override {
    StageResult r;
    for (size_t i : in.recipients) r.groups.push_back({{i}, in.data});
    return r;
  }
};

// Refuses recipients by address: "nokey@..." permanently (5.7.1), "later@..."
// transiently (4.7.1); passes the others on unchanged.
class RefuseByAddressStage : public RecordingStage {
 public:
  RefuseByAddressStage() : RecordingStage("gateway", Scope::Recipients, false) {}

 protected:
  StageResult transform(const StageInput& in) override {
    StageResult r;
    StageGroup pass{{}, in.data};
    for (size_t i : in.recipients) {
      const std::string& address = in.envelope->recipients[i].address;
      if (address.rfind("nokey@", 0) == 0)
        r.refused.push_back({i, EnhancedStatus{5, 7, 1}, "must be encrypted, no key for " + address});
      else if (address.rfind("later@", 0) == 0)
        r.refused.push_back({i, EnhancedStatus{4, 7, 1}, "key server unreachable"});
      else
        pass.recipients.push_back(i);
    }
    r.groups.push_back(std::move(pass));
    return r;
  }
};

// A broken stage: keeps only the first recipient, lists it twice, invents an
// index that was never given, and refuses the first one as well.
class LosingStage : public RecordingStage {
 public:
  LosingStage() : RecordingStage("broken", Scope::Content, false) {}

 protected:
  StageResult transform(const StageInput& in) override {
    size_t first = in.recipients.front();
    return StageResult{{{{first, first, 99}, nullptr}}, {{first, EnhancedStatus{5, 7, 1}, "twice"}}};
  }
};

std::vector<size_t> sorted(std::vector<size_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

class MessagePipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    envelope_ = std::make_shared<Envelope>();
    envelope_->queue_id = "0001A2B3C4D5E6F70000DEADBEEF";
    envelope_->mail_from = "sender@example.org";
    for (const char* a : {"a@example.com", "b@example.com", "c@example.net", "d@example.net"})
      envelope_->recipients.push_back({a});
    data_ = std::make_shared<const std::string>("Subject: hi\r\n\r\nbody\r\n");
  }
  void TearDown() override {
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  JobMessage message(std::vector<size_t> recipients) const {
    return JobMessage{envelope_, data_, recipients};
  }
  static JobTarget hop(const std::string& ip, const std::string& mx = "mx.example.com") {
    JobTarget t;
    t.mx_host = mx;
    t.ip = ip;
    t.port = 2525;
    return t;
  }

  // A run that must complete at once, without the thread pool.
  PreparedMessage runNow(MessagePipeline& pipeline, const JobMessage& m, const JobTarget& h) {
    bool called = false;
    auto ready = pipeline.run(m, h, [&](PreparedMessage) { called = true; });
    EXPECT_TRUE(ready.has_value());
    EXPECT_FALSE(called);
    return ready ? std::move(*ready) : PreparedMessage{};
  }

  uv_loop_t loop_;
  std::shared_ptr<Envelope> envelope_;
  std::shared_ptr<const std::string> data_;
};

TEST_F(MessagePipelineTest, WithoutStagesEveryRecipientGetsTheSpooledBytesThemselves) {
  MessagePipeline pipeline(&loop_, {});
  EXPECT_TRUE(pipeline.empty());
  PreparedMessage p = runNow(pipeline, message({0, 1, 2, 3}), hop("192.0.2.1"));
  ASSERT_EQ(p.bodies.size(), 1u);
  EXPECT_EQ(p.bodies[0].recipients, (std::vector<size_t>{0, 1, 2, 3}));
  EXPECT_EQ(p.bodies[0].data.get(), data_.get());  // shared, not copied
  EXPECT_EQ(*p.bodies[0].data, "Subject: hi\r\n\r\nbody\r\n");
  EXPECT_TRUE(p.refused.empty());
  EXPECT_EQ(pipeline.stageRuns(), 0u);
}

TEST_F(MessagePipelineTest, StagesRunInOrderEachOnTheBytesTheEarlierOnesMade) {
  auto first = std::make_shared<AppendStage>("+enc");
  auto second = std::make_shared<AppendStage>("+sig");
  MessagePipeline pipeline(&loop_, {first, second});
  EXPECT_FALSE(pipeline.empty());
  PreparedMessage p = runNow(pipeline, message({0, 2}), hop("192.0.2.1"));
  ASSERT_EQ(p.bodies.size(), 1u);
  EXPECT_EQ(p.bodies[0].recipients, (std::vector<size_t>{0, 2}));
  EXPECT_EQ(*p.bodies[0].data, *data_ + "+enc+sig");
  EXPECT_EQ(*data_, "Subject: hi\r\n\r\nbody\r\n");  // the spooled bytes are never changed
  ASSERT_EQ(first->seen().size(), 1u);
  EXPECT_EQ(first->seen()[0].data, *data_);
  EXPECT_EQ(first->seen()[0].recipients, (std::vector<size_t>{0, 2}));
  ASSERT_EQ(second->seen().size(), 1u);
  EXPECT_EQ(second->seen()[0].data, *data_ + "+enc");
  EXPECT_EQ(pipeline.stageRuns(), 2u);
}

TEST_F(MessagePipelineTest, ASplitGivesEachGroupItsOwnBodyAndLaterStagesRunPerGroup) {
  auto split = std::make_shared<SplitByParityStage>();
  auto sign = std::make_shared<AppendStage>("+sig");
  MessagePipeline pipeline(&loop_, {split, sign});
  PreparedMessage p = runNow(pipeline, message({0, 1, 2, 3}), hop("192.0.2.1"));
  ASSERT_EQ(p.bodies.size(), 2u);
  EXPECT_EQ(p.bodies[0].recipients, (std::vector<size_t>{0, 2}));
  EXPECT_EQ(*p.bodies[0].data, *data_ + "[even]+sig");
  EXPECT_EQ(p.bodies[1].recipients, (std::vector<size_t>{1, 3}));
  EXPECT_EQ(*p.bodies[1].data, *data_ + "[odd]+sig");
  EXPECT_TRUE(p.refused.empty());
  ASSERT_EQ(sign->seen().size(), 2u);
  EXPECT_EQ(sign->seen()[0].recipients, (std::vector<size_t>{0, 2}));
  EXPECT_EQ(sign->seen()[1].recipients, (std::vector<size_t>{1, 3}));
}

TEST_F(MessagePipelineTest, RefusedRecipientsComeBackWithTheStagesStatusWhileTheOthersGoOn) {
  envelope_->recipients[1].address = "nokey@example.com";
  envelope_->recipients[2].address = "later@example.net";
  auto gateway = std::make_shared<RefuseByAddressStage>();
  auto sign = std::make_shared<AppendStage>("+sig");
  MessagePipeline pipeline(&loop_, {gateway, sign});
  PreparedMessage p = runNow(pipeline, message({0, 1, 2, 3}), hop("192.0.2.1"));

  ASSERT_EQ(p.bodies.size(), 1u);
  EXPECT_EQ(p.bodies[0].recipients, (std::vector<size_t>{0, 3}));
  EXPECT_EQ(*p.bodies[0].data, *data_ + "+sig");
  ASSERT_EQ(sign->seen().size(), 1u);
  EXPECT_EQ(sign->seen()[0].recipients, (std::vector<size_t>{0, 3}));  // refused ones go no further

  ASSERT_EQ(p.refused.size(), 2u);
  const RecipientResult& no_key = p.refused[0].index == 1 ? p.refused[0] : p.refused[1];
  const RecipientResult& later = p.refused[0].index == 1 ? p.refused[1] : p.refused[0];
  EXPECT_EQ(no_key.index, 1u);
  EXPECT_EQ(no_key.outcome.verdict, RecipientVerdict::Fail);  // 5.x.x bounces
  EXPECT_EQ(no_key.outcome.status, (EnhancedStatus{5, 7, 1}));
  EXPECT_EQ(no_key.outcome.response, "must be encrypted, no key for nokey@example.com");
  EXPECT_EQ(no_key.outcome.cause, FailureCause::Local);
  EXPECT_EQ(later.index, 2u);
  EXPECT_EQ(later.outcome.verdict, RecipientVerdict::Retry);  // 4.x.x defers
  EXPECT_EQ(later.outcome.status, (EnhancedStatus{4, 7, 1}));
  EXPECT_EQ(later.outcome.response, "key server unreachable");
  EXPECT_EQ(later.outcome.cause, FailureCause::Local);
}

// stage.h: every input recipient ends up in exactly one group or one refusal.
// A stage that breaks this is contained: nobody is delivered twice, nobody
// vanishes, and invented recipients are ignored.
TEST_F(MessagePipelineTest, AStageThatLosesOrDuplicatesRecipientsIsContained) {
  auto broken = std::make_shared<LosingStage>();
  MessagePipeline pipeline(&loop_, {broken});
  testing::internal::CaptureStderr();
  PreparedMessage p = runNow(pipeline, message({1, 2, 3}), hop("192.0.2.1"));
  std::string log = testing::internal::GetCapturedStderr();

  ASSERT_EQ(p.bodies.size(), 1u);
  EXPECT_EQ(p.bodies[0].recipients, (std::vector<size_t>{1}));  // once, and 99 dropped
  EXPECT_EQ(p.bodies[0].data.get(), data_.get());               // no bytes given: the input bytes
  std::set<size_t> refused;
  for (const auto& r : p.refused) {
    refused.insert(r.index);
    EXPECT_EQ(r.outcome.verdict, RecipientVerdict::Retry) << r.index;
    EXPECT_EQ(r.outcome.status, status::kLocalError) << r.index;
    EXPECT_NE(r.outcome.response.find("broken"), std::string::npos) << r.outcome.response;
  }
  EXPECT_EQ(refused, (std::set<size_t>{2, 3}));  // 1 is in a group already: its refusal is dropped
  EXPECT_EQ(p.refused.size(), 2u);
  EXPECT_NE(log.find("stage lost a recipient"), std::string::npos) << log;
}

TEST_F(MessagePipelineTest, OnlyHopScopeStagesSeeTheHop) {
  auto by_hop = std::make_shared<AppendStage>("+hop", MessageStage::Scope::Hop);
  auto by_content = std::make_shared<AppendStage>("+sig", MessageStage::Scope::Content);
  MessagePipeline pipeline(&loop_, {by_hop, by_content});
  runNow(pipeline, message({0}), hop("192.0.2.7", "mx2.example.com"));
  ASSERT_EQ(by_hop->seen().size(), 1u);
  ASSERT_TRUE(by_hop->seen()[0].hop.has_value());
  EXPECT_EQ(by_hop->seen()[0].hop->mx_host, "mx2.example.com");
  EXPECT_EQ(by_hop->seen()[0].hop->ip, "192.0.2.7");
  EXPECT_EQ(by_hop->seen()[0].hop->port, 2525);
  ASSERT_EQ(by_content->seen().size(), 1u);
  EXPECT_FALSE(by_content->seen()[0].hop.has_value());
}

TEST_F(MessagePipelineTest, BlockingStagesRunOnTheThreadPoolAndFinishThroughDoneOnTheLoopThread) {
  auto quick_before = std::make_shared<AppendStage>("+a");
  auto slow = std::make_shared<AppendStage>("+b", MessageStage::Scope::Content, /*blocking=*/true);
  auto quick_after = std::make_shared<SplitByParityStage>();
  MessagePipeline pipeline(&loop_, {quick_before, slow, quick_after});

  int calls = 0;
  std::thread::id done_thread;
  PreparedMessage result;
  auto ready = pipeline.run(message({0, 1}), hop("192.0.2.1"), [&](PreparedMessage p) {
    ++calls;
    done_thread = std::this_thread::get_id();
    result = std::move(p);
  });
  EXPECT_FALSE(ready.has_value());
  EXPECT_EQ(calls, 0);  // never before the loop runs the completion
  EXPECT_TRUE(quick_after->seen().empty());

  ASSERT_EQ(uv_run(&loop_, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(calls, 1);
  EXPECT_EQ(done_thread, std::this_thread::get_id());  // this thread runs the loop
  ASSERT_EQ(slow->seen().size(), 1u);
  EXPECT_NE(slow->seen()[0].thread, std::this_thread::get_id());
  EXPECT_EQ(slow->seen()[0].data, *data_ + "+a");
  ASSERT_EQ(quick_after->seen().size(), 1u);
  EXPECT_EQ(quick_after->seen()[0].thread, std::this_thread::get_id());
  ASSERT_EQ(result.bodies.size(), 2u);
  EXPECT_EQ(result.bodies[0].recipients, (std::vector<size_t>{0}));
  EXPECT_EQ(*result.bodies[0].data, *data_ + "+a+b[even]");
  EXPECT_EQ(result.bodies[1].recipients, (std::vector<size_t>{1}));
  EXPECT_EQ(*result.bodies[1].data, *data_ + "+a+b[odd]");
}

TEST_F(MessagePipelineTest, BlockingStageRunsOncePerGroupOnThePool) {
  auto split = std::make_shared<SplitByParityStage>();
  auto slow = std::make_shared<AppendStage>("+sig", MessageStage::Scope::Content, /*blocking=*/true);
  MessagePipeline pipeline(&loop_, {split, slow});
  int calls = 0;
  PreparedMessage result;
  EXPECT_FALSE(pipeline.run(message({0, 1, 2}), hop("192.0.2.1"), [&](PreparedMessage p) {
    ++calls;
    result = std::move(p);
  }));
  ASSERT_EQ(uv_run(&loop_, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(calls, 1);
  ASSERT_EQ(result.bodies.size(), 2u);
  EXPECT_EQ(result.bodies[0].recipients, (std::vector<size_t>{0, 2}));
  EXPECT_EQ(*result.bodies[0].data, *data_ + "[even]+sig");
  EXPECT_EQ(result.bodies[1].recipients, (std::vector<size_t>{1}));
  EXPECT_EQ(*result.bodies[1].data, *data_ + "[odd]+sig");
  EXPECT_EQ(slow->seen().size(), 2u);
}

TEST_F(MessagePipelineTest, DoneNeverRunsOnceThePipelineIsGone) {
  auto slow = std::make_shared<AppendStage>("+sig", MessageStage::Scope::Content, /*blocking=*/true);
  int calls = 0;
  {
    MessagePipeline pipeline(&loop_, {slow});
    EXPECT_FALSE(pipeline.run(message({0}), hop("192.0.2.1"), [&](PreparedMessage) { ++calls; }));
  }  // destroyed before the loop could run the completion
  ASSERT_EQ(uv_run(&loop_, UV_RUN_DEFAULT), 0);
  EXPECT_EQ(slow->seen().size(), 1u);  // the work itself still ran, and finished cleanly
  EXPECT_EQ(calls, 0);
}

// The same recipients retried on another hop: a Content-scope stage's result
// (and its bytes) is reused, not made again.
TEST_F(MessagePipelineTest, ContentStageRunsOnceForTheSameMessageOnAnotherHop) {
  auto sign = std::make_shared<AppendStage>("+sig");
  MessagePipeline pipeline(&loop_, {sign});
  PreparedMessage first = runNow(pipeline, message({0, 1}), hop("192.0.2.1"));
  PreparedMessage second = runNow(pipeline, message({0, 1}), hop("198.51.100.2", "mx2.example.com"));
  EXPECT_EQ(sign->seen().size(), 1u);
  EXPECT_EQ(pipeline.stageRuns(), 1u);
  EXPECT_EQ(pipeline.reused(), 1u);
  ASSERT_EQ(first.bodies.size(), 1u);
  ASSERT_EQ(second.bodies.size(), 1u);
  EXPECT_EQ(second.bodies[0].recipients, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(second.bodies[0].data.get(), first.bodies[0].data.get());  // one body, shared
  EXPECT_EQ(*second.bodies[0].data, *data_ + "+sig");
}

// message_pipeline.h: "a message that goes to several destinations ... is
// transformed once". Each destination carries its own recipients; reusing the
// signed bytes must not reuse the first destination's recipient list.
TEST_F(MessagePipelineTest, ContentStageReusedForAnotherDestinationKeepsThatDestinationsRecipients) {
  auto sign = std::make_shared<AppendStage>("+sig");
  MessagePipeline pipeline(&loop_, {sign});
  PreparedMessage com = runNow(pipeline, message({0, 1}), hop("192.0.2.1", "mx.example.com"));
  PreparedMessage net = runNow(pipeline, message({2, 3}), hop("198.51.100.2", "mx.example.net"));
  EXPECT_EQ(sign->seen().size(), 1u);  // signed once
  ASSERT_EQ(com.bodies.size(), 1u);
  EXPECT_EQ(com.bodies[0].recipients, (std::vector<size_t>{0, 1}));
  ASSERT_EQ(net.bodies.size(), 1u);
  EXPECT_EQ(net.bodies[0].recipients, (std::vector<size_t>{2, 3}));
  EXPECT_EQ(net.bodies[0].data.get(), com.bodies[0].data.get());
  EXPECT_TRUE(net.refused.empty());
}

// Within one message: groups an earlier stage made with the same bytes share a
// Content-scope result, but each group keeps its own recipients.
TEST_F(MessagePipelineTest, ContentStageOverGroupsWithTheSameBytesKeepsEachGroupsRecipients) {
  auto group = std::make_shared<OneGroupPerRecipientStage>();
  auto sign = std::make_shared<AppendStage>("+sig");
  MessagePipeline pipeline(&loop_, {group, sign});
  PreparedMessage p = runNow(pipeline, message({0, 1, 2}), hop("192.0.2.1"));
  std::vector<size_t> delivered;
  for (const auto& b : p.bodies) {
    EXPECT_EQ(*b.data, *data_ + "+sig");
    delivered.insert(delivered.end(), b.recipients.begin(), b.recipients.end());
  }
  EXPECT_EQ(sorted(delivered), (std::vector<size_t>{0, 1, 2}));  // each once, none lost
  EXPECT_TRUE(p.refused.empty());
}

// A stage declared Content-scope that still refuses recipients depended on
// them: its result is not kept, so another destination's recipients are
// judged by the stage itself, never by the first destination's refusals.
class RefusingContentStage : public RefuseByAddressStage {
 public:
  Scope scope() const override { return Scope::Content; }
};

TEST_F(MessagePipelineTest, ContentStageThatRefusedRecipientsIsNotReused) {
  envelope_->recipients[0].address = "nokey@example.com";
  auto gateway = std::make_shared<RefusingContentStage>();
  MessagePipeline pipeline(&loop_, {gateway});
  PreparedMessage com = runNow(pipeline, message({0, 1}), hop("192.0.2.1", "mx.example.com"));
  ASSERT_EQ(com.refused.size(), 1u);
  EXPECT_EQ(com.refused[0].index, 0u);
  PreparedMessage net = runNow(pipeline, message({2, 3}), hop("198.51.100.2", "mx.example.net"));
  EXPECT_EQ(gateway->seen().size(), 2u);
  EXPECT_EQ(pipeline.reused(), 0u);
  EXPECT_TRUE(net.refused.empty());
  ASSERT_EQ(net.bodies.size(), 1u);
  EXPECT_EQ(net.bodies[0].recipients, (std::vector<size_t>{2, 3}));
}

TEST_F(MessagePipelineTest, RecipientsStageIsReusedOnlyForTheSameRecipients) {
  auto encrypt = std::make_shared<AppendStage>("+enc", MessageStage::Scope::Recipients);
  MessagePipeline pipeline(&loop_, {encrypt});
  PreparedMessage first = runNow(pipeline, message({0, 1}), hop("192.0.2.1"));
  PreparedMessage same_set = runNow(pipeline, message({1, 0}), hop("192.0.2.2"));  // order does not matter
  EXPECT_EQ(pipeline.stageRuns(), 1u);
  EXPECT_EQ(pipeline.reused(), 1u);
  ASSERT_EQ(same_set.bodies.size(), 1u);
  EXPECT_EQ(same_set.bodies[0].data.get(), first.bodies[0].data.get());
  EXPECT_EQ(sorted(same_set.bodies[0].recipients), (std::vector<size_t>{0, 1}));

  PreparedMessage other = runNow(pipeline, message({0}), hop("192.0.2.1"));
  EXPECT_EQ(pipeline.stageRuns(), 2u);
  ASSERT_EQ(encrypt->seen().size(), 2u);
  EXPECT_EQ(encrypt->seen()[1].recipients, (std::vector<size_t>{0}));
  ASSERT_EQ(other.bodies.size(), 1u);
  EXPECT_EQ(other.bodies[0].recipients, (std::vector<size_t>{0}));
}

TEST_F(MessagePipelineTest, HopStageIsNeverReused) {
  auto by_hop = std::make_shared<AppendStage>("+hop", MessageStage::Scope::Hop);
  MessagePipeline pipeline(&loop_, {by_hop});
  runNow(pipeline, message({0}), hop("192.0.2.1"));
  runNow(pipeline, message({0}), hop("192.0.2.1"));  // even the same hop again
  runNow(pipeline, message({0}), hop("192.0.2.2"));
  EXPECT_EQ(pipeline.stageRuns(), 3u);
  EXPECT_EQ(pipeline.reused(), 0u);
  ASSERT_EQ(by_hop->seen().size(), 3u);
  EXPECT_EQ(by_hop->seen()[2].hop->ip, "192.0.2.2");
}

// A kept result of a blocking stage means the next hop needs no thread pool:
// the prepared message comes back at once.
TEST_F(MessagePipelineTest, KeptResultOfABlockingStageIsReturnedAtOnce) {
  auto slow = std::make_shared<AppendStage>("+sig", MessageStage::Scope::Content, /*blocking=*/true);
  MessagePipeline pipeline(&loop_, {slow});
  int calls = 0;
  EXPECT_FALSE(pipeline.run(message({0}), hop("192.0.2.1"), [&](PreparedMessage) { ++calls; }));
  ASSERT_EQ(uv_run(&loop_, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(calls, 1);
  PreparedMessage again = runNow(pipeline, message({0}), hop("192.0.2.2"));
  ASSERT_EQ(again.bodies.size(), 1u);
  EXPECT_EQ(*again.bodies[0].data, *data_ + "+sig");
  EXPECT_EQ(slow->seen().size(), 1u);
  EXPECT_EQ(calls, 1);
}

TEST_F(MessagePipelineTest, ForgetDropsOnlyThatMessagesKeptResults) {
  auto sign = std::make_shared<AppendStage>("+sig");
  MessagePipeline pipeline(&loop_, {sign});
  auto other_envelope = std::make_shared<Envelope>(*envelope_);
  other_envelope->queue_id = "0001A2B3C4D5E6F70001CAFEF00D";
  JobMessage other{other_envelope, data_, {0}};

  runNow(pipeline, message({0}), hop("192.0.2.1"));
  runNow(pipeline, other, hop("192.0.2.1"));
  EXPECT_EQ(pipeline.stageRuns(), 2u);  // another queued message is never a cache hit

  pipeline.forget(envelope_->queue_id);
  runNow(pipeline, message({0}), hop("192.0.2.1"));
  EXPECT_EQ(pipeline.stageRuns(), 3u);  // forgotten: signed again
  runNow(pipeline, other, hop("192.0.2.1"));
  EXPECT_EQ(pipeline.stageRuns(), 3u);  // still kept
  EXPECT_EQ(pipeline.reused(), 1u);
}

}  // namespace
}  // namespace tlsrelay
