// Listeners and per-connection glue between Connection and SmtpServerSession;
// see inbound_server.h.
#include "relay/inbound/inbound_server.h"

#include "common/cidr.h"
#include "common/host_port.h"
#include "common/log.h"
#include "common/session_id.h"
#include "relay/config/source_rules.h"
#include "relay/inbound/users_file.h"
#include "relay/net/connection.h"
#include "relay/queue/queue_id.h"
#include "relay/queue/spool_committer.h"
#include "relay/smtp/smtp_server_session.h"
#include "relay/tls/tls_context.h"
#include "relay/tls/tls_engine.h"

namespace tlsrelay {

struct InboundServer::Listener {
  uv_tcp_t tcp;
  InboundServer* server;
  ListenerConfig config;
};

// One accepted connection: owns the session, reacts to its events.
class InboundSession : public Connection::Handler {
 public:
  InboundSession(InboundServer* server, std::shared_ptr<const InboundSettings> settings, bool implicit_tls)
      : server_(server), settings_(std::move(settings)), implicit_tls_(implicit_tls) {}

  void start(Connection* conn) {
    conn_ = conn;
    client_ip_ = conn_->peerAddress();
    session_id_ = newSessionId();
    auto ip = IpAddress::parse(client_ip_).value_or(IpAddress{});
    const InboundConfig& cfg = *settings_->config;
    const SourceRule& rule = matchSource(cfg.sources, ip);
    source_key_ = rule.cidr.toString();
    ++server_->active_;
    int& per_source = server_->per_source_[source_key_];
    ++per_source;
    counted_ = true;

    SourcePolicy policy;
    policy.relay = rule.relay;
    policy.allow_starttls = rule.allow_starttls;
    policy.require_starttls = rule.require_starttls;
    policy.require_starttls_before_auth = rule.require_starttls_before_auth;
    policy.allow_plaintext_auth = rule.allow_plaintext_auth;
    policy.allowed_sender_domains = rule.allowed_sender_domains.value_or(cfg.allowed_sender_domains);

    ServerSessionConfig sc;
    sc.hostname = cfg.hostname;
    sc.max_recipients = cfg.max_recipients;
    sc.max_message_size = cfg.max_message_size;
    sc.max_errors = cfg.max_errors;
    sc.tls_available = settings_->server_tls != nullptr;
    sc.implicit_tls = implicit_tls_;
    sc.new_queue_id = [] { return newQueueId(); };
    sc.now = [] { return static_cast<int64_t>(::time(nullptr)); };
    sc.session_id = session_id_;
    sc.accept_address_literals = cfg.accept_address_literals;
    sc.max_received_headers = cfg.max_received_headers;
    sc.local_report_address = cfg.local_report_address;
    session_ = std::make_unique<SmtpServerSession>(std::move(sc), policy, client_ip_);

    conn_->startReading();
    bool over_global = cfg.max_connections > 0 && server_->active_ > static_cast<size_t>(cfg.max_connections);
    bool over_source = rule.max_connections > 0 && per_source > rule.max_connections;
    if (over_global || over_source) {
      // RFC 5321 §3.8: a server that cannot serve now answers 421 and closes.
      log::info("smtpd", "connection refused: too many connections",
                {{"session", session_id_}, {"client", client_ip_}});
      conn_->write("421 4.7.0 " + cfg.hostname + " Too many connections, try again later\r\n");
      conn_->close();
      return;
    }
    conn_->setTimeout(session_->currentTimeout());
    if (implicit_tls_) {
      if (!settings_->server_tls) {
        conn_->abort();
        return;
      }
      conn_->startTls(TlsEngine::server(settings_->server_tls));
    } else {
      session_->start();
      process();
    }
  }

  void onPlaintext(std::string_view bytes) override {
    if (!session_) return;
    session_->feed(bytes);
    process();
  }

  void onTlsDone(bool ok, const std::string& error) override {
    if (!ok) {
      log::info("smtpd", "TLS handshake failed",
                {{"session", session_id_}, {"client", client_ip_}, {"error", error}});
      if (session_ && !implicit_tls_) session_->tlsFailed();
      return;
    }
    TlsInfo info{conn_->tls()->protocol(), conn_->tls()->cipher()};
    if (implicit_tls_) {
      session_->start(info);
    } else {
      session_->tlsEstablished(info);
    }
    process();
  }

  void onTimeout() override {
    if (!session_ || waiting_) {
      // Waiting on our own work (fsync, hash): the client is not idle.
      if (conn_) conn_->setTimeout(std::chrono::minutes(5));
      return;
    }
    session_->timeout();
    process();
  }

  void onClosed() override {
    conn_ = nullptr;
    if (counted_) {
      --server_->active_;
      --server_->per_source_[source_key_];
      counted_ = false;
    }
    if (pending_ == 0) delete this;
  }

 private:
  void process() {
    if (!conn_ || conn_->closing()) return;
    std::string out = session_->takeOutput();
    if (!out.empty()) conn_->write(out);
    while (auto event = session_->nextEvent()) {
      switch (event->kind) {
        case SmtpServerSession::EventKind::StartTls:
          if (!settings_->server_tls) {
            conn_->abort();
            return;
          }
          conn_->startTls(TlsEngine::server(settings_->server_tls));
          break;
        case SmtpServerSession::EventKind::Authenticate:
          authenticate(std::move(event->user), std::move(event->password));
          break;
        case SmtpServerSession::EventKind::MessageReady:
          storeMessage(std::move(event->message));
          break;
        case SmtpServerSession::EventKind::Close:
          conn_->close();
          return;
      }
      if (!conn_ || conn_->closing()) return;
      out = session_->takeOutput();
      if (!out.empty()) conn_->write(out);
    }
    conn_->setTimeout(session_->currentTimeout());
  }

  struct AuthWork {
    uv_work_t work;
    InboundSession* self;
    std::shared_ptr<const UsersFile> users;
    std::string user, password;
    bool ok = false;
  };

  void authenticate(std::string user, std::string password) {
    auto* w = new AuthWork{{}, this, settings_->users, std::move(user), std::move(password)};
    w->work.data = w;
    ++pending_;
    waiting_ = true;
    uv_queue_work(
        server_->loop_, &w->work,
        [](uv_work_t* req) {
          auto* a = static_cast<AuthWork*>(req->data);
          a->ok = a->users && a->users->verify(a->user, a->password);
          // The password leaves memory as soon as it is checked.
          std::fill(a->password.begin(), a->password.end(), '\0');
        },
        [](uv_work_t* req, int) {
          std::unique_ptr<AuthWork> a(static_cast<AuthWork*>(req->data));
          InboundSession* self = a->self;
          log::info("smtpd", a->ok ? "authenticated" : "authentication failed",
                    {{"session", self->session_id_}, {"client", self->client_ip_}, {"user", a->user}});
          self->waiting_ = false;
          if (self->finishPending()) return;
          self->session_->authResult(a->ok);
          self->process();
        });
  }

  void storeMessage(ReceivedMessage message) {
    if (message.local_report) return ingestReport(std::move(message));
    auto envelope = std::make_shared<Envelope>(std::move(message.envelope));
    auto data = std::make_shared<const std::string>(std::move(message.data));
    envelope->size = data->size();
    ++pending_;
    waiting_ = true;
    server_->committer_->store(envelope, data, [this, envelope, data](const Status& status) {
      waiting_ = false;
      if (status.ok()) {
        if (log::enabled(log::Level::Info))
          log::info("smtpd", "message accepted",
                    {{"id", envelope->queue_id},
                     {"session", session_id_},
                     {"client", client_ip_},
                     {"from", envelope->mail_from},
                     {"rcpts", std::to_string(envelope->recipients.size())},
                     {"size", std::to_string(data->size())}});
        server_->accepted_(envelope, data);
      } else {
        log::error("spool", "could not store message",
                   {{"id", envelope->queue_id}, {"session", session_id_}, {"error", status.error().message}});
      }
      if (finishPending()) return;
      session_->messageStored(status.ok(), status.ok() ? envelope->queue_id : status.error().message);
      process();
    });
  }

  // A TLS report for us: read and kept by the report store, never spooled.
  void ingestReport(ReceivedMessage message) {
    const std::string id = message.envelope.queue_id;
    if (!server_->ingest_report_) {
      session_->messageStored(false, "TLS reporting is off");
      process();
      return;
    }
    ++pending_;
    waiting_ = true;
    log::info(
        "smtpd", "TLS report received",
        {{"id", id}, {"session", session_id_}, {"client", client_ip_}, {"from", message.envelope.mail_from}});
    server_->ingest_report_(std::make_shared<const std::string>(std::move(message.data)),
                            [this](bool ok, std::string detail) {
                              waiting_ = false;
                              if (finishPending()) return;
                              session_->messageStored(ok, detail);
                              process();
                            });
  }

  // Returns true when the connection went away meanwhile and this object is gone.
  bool finishPending() {
    --pending_;
    if (conn_ == nullptr) {
      if (pending_ == 0) delete this;
      return true;
    }
    return false;
  }

  InboundServer* server_;
  std::shared_ptr<const InboundSettings> settings_;
  bool implicit_tls_;
  Connection* conn_ = nullptr;
  std::unique_ptr<SmtpServerSession> session_;
  std::string client_ip_;
  std::string session_id_;
  std::string source_key_;
  bool counted_ = false;
  bool waiting_ = false;
  int pending_ = 0;
};

InboundServer::InboundServer(uv_loop_t* loop, SpoolCommitter* committer, Accepted accepted)
    : loop_(loop), committer_(committer), accepted_(std::move(accepted)) {}

InboundServer::~InboundServer() = default;

Status InboundServer::listen(std::shared_ptr<const InboundSettings> settings) {
  settings_ = std::move(settings);
  for (const auto& lc : settings_->config->listeners) {
    auto hp = parseHostPort(lc.address, 25);
    if (!hp.ok()) return makeError("listener " + lc.address + ": " + hp.error().message);
    auto sa = toSockaddr(hp->host, hp->port);
    if (!sa.ok()) return makeError("listener " + lc.address + ": " + sa.error().message);
    if (lc.tls == ListenerConfig::Tls::Implicit && !settings_->server_tls)
      return makeError("listener " + lc.address +
                       ": implicit TLS needs a server certificate ([tls] certificate)");
    auto* l = new Listener{{}, this, lc};
    uv_tcp_init(loop_, &l->tcp);
    l->tcp.data = l;
    unsigned flags = sa->ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0;
    int rc = uv_tcp_bind(&l->tcp, reinterpret_cast<const sockaddr*>(&sa.value()), flags);
    if (rc == 0)
      rc = uv_listen(reinterpret_cast<uv_stream_t*>(&l->tcp), 511, [](uv_stream_t* s, int status) {
        if (status < 0) return;
        auto* listener = static_cast<Listener*>(s->data);
        listener->server->onNewConnection(listener);
      });
    if (rc != 0) {
      uv_close(reinterpret_cast<uv_handle_t*>(&l->tcp),
               [](uv_handle_t* h) { delete static_cast<Listener*>(h->data); });
      return makeError("cannot listen on " + lc.address + ": " + uv_strerror(rc));
    }
    listeners_.push_back(l);
    bound_.push_back(lc.address);
    log::info("smtpd", "listening",
              {{"address", lc.address},
               {"tls", lc.tls == ListenerConfig::Tls::Implicit ? "implicit" : "starttls"}});
  }
  return okStatus();
}

void InboundServer::reload(std::shared_ptr<const InboundSettings> settings) {
  settings_ = std::move(settings);
}

void InboundServer::stopAccepting() {
  for (auto* l : listeners_)
    uv_close(reinterpret_cast<uv_handle_t*>(&l->tcp),
             [](uv_handle_t* h) { delete static_cast<Listener*>(h->data); });
  listeners_.clear();
}

void InboundServer::onNewConnection(Listener* listener) {
  bool implicit = listener->config.tls == ListenerConfig::Tls::Implicit;
  auto* session = new InboundSession(this, settings_, implicit);
  Connection* conn = Connection::create(loop_, session);
  if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener->tcp),
                reinterpret_cast<uv_stream_t*>(conn->tcp())) != 0) {
    conn->abort();
    return;
  }
  session->start(conn);
}

}  // namespace tlsrelay
