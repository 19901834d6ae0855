// The "status" verb of the control socket: the reply's encoding both ways,
// what `tlsrelay status` prints, and a real ControlSocket answering it (also
// while draining, when every other command is refused).
#include "relay/ops/daemon_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <uv.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "common/time_format.h"
#include "relay/ops/control_socket.h"

namespace tlsrelay {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

DaemonStatus sample() {
  DaemonStatus s;
  s.pid = 4242;
  s.started_at = 1767225600;  // 2026-01-01T00:00:00Z
  s.now = s.started_at + 3 * 3600 + 12 * 60 + 5;
  s.hostname = "relay.example.net";
  s.config_file = "/etc/tlsrelay/relay.toml";
  s.queued_messages = 17;
  s.listeners = {{"0.0.0.0:25", "starttls"}, {"[::]:465", "implicit"}};
  return s;
}

TEST(DaemonStatusTest, EncodingRoundTrips) {
  DaemonStatus s = sample();
  s.state = DaemonStatus::State::Draining;
  std::string json = encodeDaemonStatus(s);
  EXPECT_THAT(json, HasSubstr("\"state\":\"draining\""));
  EXPECT_THAT(json, HasSubstr("\"uptime_seconds\":11525"));
  EXPECT_EQ(json.find('\n'), std::string::npos) << "one line on the socket";
  auto back = decodeDaemonStatus(json);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->state, DaemonStatus::State::Draining);
  EXPECT_EQ(back->pid, 4242);
  EXPECT_EQ(back->started_at, s.started_at);
  EXPECT_EQ(back->now, s.now);
  EXPECT_EQ(back->hostname, s.hostname);
  EXPECT_EQ(back->config_file, s.config_file);
  EXPECT_EQ(back->queued_messages, 17u);
  ASSERT_EQ(back->listeners.size(), 2u);
  EXPECT_EQ(back->listeners[1].address, "[::]:465");
  EXPECT_EQ(back->listeners[1].tls, "implicit");
}

TEST(DaemonStatusTest, MalformedRepliesAreErrors) {
  EXPECT_FALSE(decodeDaemonStatus("").ok());
  EXPECT_FALSE(decodeDaemonStatus("[]").ok());
  auto missing = decodeDaemonStatus(R"({"state":"running","started_at":1,"now":2,"listeners":[]})");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("queued_messages"));
  auto state =
      decodeDaemonStatus(R"({"state":"sleeping","started_at":1,"now":2,"queued_messages":0,"listeners":[]})");
  ASSERT_FALSE(state.ok());
  EXPECT_THAT(state.error().message, HasSubstr("sleeping"));
  EXPECT_FALSE(
      decodeDaemonStatus(R"({"state":"running","started_at":"x","now":2,"queued_messages":0,"listeners":[]})")
          .ok());
}

TEST(DaemonStatusTest, HumanReadableForm) {
  std::string text = formatDaemonStatus(sample());
  EXPECT_EQ(text,
            "state:     running\n"
            "uptime:    3h 12m (since 2026-01-01T00:00:00Z)\n"
            "pid:       4242\n"
            "hostname:  relay.example.net\n"
            "config:    /etc/tlsrelay/relay.toml\n"
            "queued:    17 message(s)\n"
            "listening: 0.0.0.0:25 (starttls)\n"
            "           [::]:465 (implicit)\n");
  DaemonStatus draining = sample();
  draining.state = DaemonStatus::State::Draining;
  draining.listeners.clear();
  text = formatDaemonStatus(draining);
  EXPECT_THAT(text, StartsWith("state:     draining"));
  EXPECT_THAT(text, HasSubstr("listening: none\n"));
}

TEST(DaemonStatusTest, Uptime) {
  EXPECT_EQ(formatDuration(0), "0s");
  EXPECT_EQ(formatDuration(59), "59s");
  EXPECT_EQ(formatDuration(61), "1m 1s");
  EXPECT_EQ(formatDuration(3600), "1h 0m");
  EXPECT_EQ(formatDuration(3 * 86400 + 4 * 3600 + 59), "3d 4h");
  EXPECT_EQ(formatDuration(-5), "0s") << "a clock step back shows 0, not a negative time";
}

// A ControlSocket on its own loop thread; commands are sent from the test thread.
class LiveSocket {
 public:
  explicit LiveSocket(bool draining) {
    char tmpl[] = "/tmp/tlsrelay-status-test.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/control.sock";
    uv_loop_init(&loop_);
    socket_ = std::make_unique<ControlSocket>(&loop_, path_, nullptr);  // no engine: built-ins unused
    DaemonStatus s = sample();
    if (draining) s.state = DaemonStatus::State::Draining;
    socket_->setStatusSource([s] { return s; });
    if (draining) socket_->setDraining();
    EXPECT_TRUE(socket_->listen().ok());
    uv_async_init(&loop_, &stop_, [](uv_async_t* a) {
      auto* self = static_cast<LiveSocket*>(a->data);
      self->socket_->close();
      uv_close(reinterpret_cast<uv_handle_t*>(&self->stop_), nullptr);
    });
    stop_.data = this;
    thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
  }
  ~LiveSocket() {
    uv_async_send(&stop_);
    thread_.join();
    uv_loop_close(&loop_);
    std::filesystem::remove_all(dir_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
  uv_loop_t loop_{};
  uv_async_t stop_{};
  std::unique_ptr<ControlSocket> socket_;
  std::thread thread_;
};

TEST(ControlSocketStatusTest, AnswersStatusWithTheEncodedObject) {
  LiveSocket live(false);
  auto reply = ControlSocket::send(live.path(), "status", 5);
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  ASSERT_THAT(*reply, StartsWith("ok {"));
  auto status = decodeDaemonStatus(reply->substr(3));
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(status->state, DaemonStatus::State::Running);
  EXPECT_EQ(status->queued_messages, 17u);
  EXPECT_EQ(status->listeners.size(), 2u);
}

TEST(ControlSocketStatusTest, WhileDrainingOnlyStatusIsAnswered) {
  LiveSocket live(true);
  auto status = ControlSocket::send(live.path(), "status", 5);
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_THAT(*status, HasSubstr("\"state\":\"draining\""));
  auto flush = ControlSocket::send(live.path(), "flush", 5);
  ASSERT_TRUE(flush.ok()) << flush.error().message;
  EXPECT_THAT(*flush, StartsWith("error the daemon is draining"));
}

TEST(ControlSocketStatusTest, NoDaemonIsAnError) {
  auto reply = ControlSocket::send("/tmp/tlsrelay-no-such-dir/control.sock", "status", 1);
  ASSERT_FALSE(reply.ok());
  EXPECT_THAT(reply.error().message, HasSubstr("is `tlsrelay serve` running?"));
}

}  // namespace
}  // namespace tlsrelay
