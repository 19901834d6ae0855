// The SMTP listeners: accepts connections, applies the per-source rules, and
// runs one SmtpServerSession per connection over a Connection. Slow work
// (password hashing, spool fsync) goes to the thread pool; the session waits.
#pragma once

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "message/envelope.h"
#include "relay/config/config.h"

namespace tlsrelay {

class SpoolCommitter;
class TlsContext;
class UsersFile;

// Everything a connection needs, swapped as a whole on SIGHUP; a connection
// keeps the snapshot it started with.
struct InboundSettings {
  std::shared_ptr<const InboundConfig> config;
  std::shared_ptr<TlsContext> server_tls;  // null: no STARTTLS / no implicit TLS
  std::shared_ptr<const UsersFile> users;  // null: AUTH disabled
};

class InboundServer {
 public:
  // Called on the loop thread once a message is durably spooled (after its 250).
  using Accepted = std::function<void(std::shared_ptr<Envelope>, std::shared_ptr<const std::string>)>;

  // Reads a TLS report mailed to the local report address; `done(ok, detail)`
  // on the loop thread, ok once it is kept (stored, a duplicate, or malformed
  // and set aside), so the client may be told 250.
  using ReportIngest = std::function<void(std::shared_ptr<const std::string> message,
                                          std::function<void(bool ok, std::string detail)> done)>;

  InboundServer(uv_loop_t* loop, SpoolCommitter* committer, Accepted accepted);
  void setReportIngest(ReportIngest ingest) { ingest_report_ = std::move(ingest); }
  ~InboundServer();

  Status listen(std::shared_ptr<const InboundSettings> settings);
  void reload(std::shared_ptr<const InboundSettings> settings);
  void stopAccepting();  // graceful drain: open sessions finish
  size_t activeConnections() const { return active_; }
  const std::vector<std::string>& boundAddresses() const { return bound_; }

 private:
  friend class InboundSession;
  struct Listener;
  void onNewConnection(Listener* listener);

  uv_loop_t* loop_;
  SpoolCommitter* committer_;
  Accepted accepted_;
  ReportIngest ingest_report_;
  std::shared_ptr<const InboundSettings> settings_;
  std::vector<Listener*> listeners_;
  std::vector<std::string> bound_;
  std::map<std::string, int> per_source_;  // connections per matched source rule (by CIDR text)
  size_t active_ = 0;
};

}  // namespace tlsrelay
