// Local message injection; see local_submission.h.
#include "relay/queue/local_submission.h"

#include "common/log.h"
#include "relay/queue/queue_id.h"
#include "relay/queue/spool_committer.h"

namespace tlsrelay {
namespace {

bool hasLineBreakOrNul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

}  // namespace

Status checkLocalMessage(const LocalMessage& m) {
  if (m.recipients.empty()) return makeError("a local message needs at least one recipient");
  if (hasLineBreakOrNul(m.mail_from)) return makeError("sender address holds a line break or NUL");
  for (const auto& r : m.recipients)
    if (r.empty() || hasLineBreakOrNul(r)) return makeError("bad recipient address");
  // RFC 5321 §2.3.8: CR and LF only ever as CRLF (the SMTP-smuggling rule our server enforces too).
  for (size_t i = 0; i < m.data.size(); ++i) {
    char c = m.data[i];
    if (c == '\r' && (i + 1 >= m.data.size() || m.data[i + 1] != '\n'))
      return makeError("message data holds a bare CR");
    if (c == '\n' && (i == 0 || m.data[i - 1] != '\r')) return makeError("message data holds a bare LF");
  }
  return okStatus();
}

LocalSubmission::LocalSubmission(SpoolCommitter* committer, Enqueue enqueue, std::function<int64_t()> clock)
    : committer_(committer), enqueue_(std::move(enqueue)), clock_(std::move(clock)) {}

void LocalSubmission::submit(LocalMessage message, Done done) {
  if (auto ok = checkLocalMessage(message); !ok.ok()) {
    log::error("queue", "local message refused", {{"error", ok.error().message}});
    if (done) done(ok.error());
    return;
  }
  auto env = std::make_shared<Envelope>();
  env->queue_id = newQueueId();
  env->mail_from = std::move(message.mail_from);
  for (auto& address : message.recipients) {
    Recipient r;
    r.address = std::move(address);
    env->recipients.push_back(std::move(r));
  }
  env->flags = message.flags;
  env->envid = std::move(message.envid);
  env->ret = std::move(message.ret);
  env->received_at = clock_();
  env->size = message.data.size();
  env->client_ip = "local";
  auto data = std::make_shared<const std::string>(std::move(message.data));
  committer_->store(env, data, [this, env, data, done = std::move(done)](const Status& s) {
    if (!s.ok()) {
      log::error("spool", "cannot store a local message", {{"error", s.error().message}});
      if (done) done(s.error());
      return;
    }
    enqueue_(env, data);
    if (done) done(env->queue_id);
  });
}

}  // namespace tlsrelay
