// The public way into the queue for a message the relay makes itself (a DSN,
// a TLS report, a key sent on request): it is spooled durably like a message
// received over SMTP (same group commit), then queued for delivery under the
// same TLS policy, retries and bounce rules. The caller builds the complete
// RFC 5322 message; nothing here rewrites it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "message/envelope.h"

namespace tlsrelay {

class SpoolCommitter;

struct LocalMessage {
  std::string mail_from;  // "" = the null reverse-path (DSNs, RFC 3464 §2)
  std::vector<std::string> recipients;
  std::string data;    // the whole message, CRLF line ends, not dot-stuffed
  MessageFlags flags;  // requiretls, body_8bit, smtputf8, is_bounce, tls_report
  std::string envid, ret;
};

class LocalSubmission {
 public:
  using Enqueue = std::function<void(std::shared_ptr<Envelope>, std::shared_ptr<const std::string>)>;
  // Called on the loop thread once the message is durable (with its queue id),
  // or when it could not be stored.
  using Done = std::function<void(const Result<std::string>& queue_id)>;

  LocalSubmission(SpoolCommitter* committer, Enqueue enqueue, std::function<int64_t()> clock);

  // Loop thread only. Refuses (through `done`) a message without recipients,
  // with an address holding a line break or NUL, or with data that has a bare
  // CR or LF — the same rules our SMTP server applies to what it accepts.
  void submit(LocalMessage message, Done done);

 private:
  SpoolCommitter* committer_;
  Enqueue enqueue_;
  std::function<int64_t()> clock_;
};

// The checks submit() applies, for callers that want the reason up front.
Status checkLocalMessage(const LocalMessage& message);

}  // namespace tlsrelay
