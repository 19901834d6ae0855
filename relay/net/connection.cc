// libuv plumbing for one connection; see connection.h.
#include "relay/net/connection.h"

#include <arpa/inet.h>

#include "common/log.h"
#include "relay/tls/tls_engine.h"

namespace tlsrelay {
namespace {

struct WriteRequest {
  uv_write_t req;
  std::string data;
};

// One read buffer per loop thread: onRead consumes every byte before the next
// read can start (sessions and the TLS engine copy what they keep), so no
// connection needs a buffer of its own and no read allocates.
void allocBuffer(uv_handle_t*, size_t, uv_buf_t* buf) {
  thread_local char read_buffer[64 * 1024];
  buf->base = read_buffer;
  buf->len = sizeof read_buffer;
}

}  // namespace

Connection* Connection::create(uv_loop_t* loop, Handler* handler) {
  return new Connection(loop, handler);
}

Connection::Connection(uv_loop_t* loop, Handler* handler) : loop_(loop), handler_(handler) {
  uv_tcp_init(loop_, &tcp_);
  uv_timer_init(loop_, &timer_);
  tcp_.data = this;
  timer_.data = this;
  uv_tcp_nodelay(&tcp_, 1);
}

Connection::~Connection() = default;

int Connection::connect(const struct sockaddr* address) {
  connect_req_.data = this;
  return uv_tcp_connect(&connect_req_, &tcp_, address, [](uv_connect_t* req, int status) {
    auto* self = static_cast<Connection*>(req->data);
    if (self->closing_) return;
    if (status == 0) uv_tcp_nodelay(&self->tcp_, 1);
    self->handler_->onConnected(status);
  });
}

void Connection::startReading() {
  uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), allocBuffer,
                [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
                  static_cast<Connection*>(stream->data)->onRead(nread, buf);
                });
}

void Connection::setTimeout(std::chrono::milliseconds timeout) {
  timeout_ = timeout;
  if (closing_) return;
  if (timeout_.count() <= 0) {
    uv_timer_stop(&timer_);
    return;
  }
  uv_timer_start(
      &timer_,
      [](uv_timer_t* t) {
        auto* self = static_cast<Connection*>(t->data);
        if (!self->closing_) self->handler_->onTimeout();
      },
      static_cast<uint64_t>(timeout_.count()), 0);
}

void Connection::onRead(ssize_t nread, const uv_buf_t* buf) {
  if (closing_) return;
  if (nread < 0) {
    abort();
    return;
  }
  if (nread == 0) return;
  if (timeout_.count() > 0) setTimeout(timeout_);
  std::string_view bytes(buf->base, static_cast<size_t>(nread));
  if (!tls_) {
    handler_->onPlaintext(bytes);
    return;
  }
  tls_->feedCiphertext(bytes);
  pumpTls();
}

void Connection::pumpTls() {
  if (handshaking_) {
    auto state = tls_->handshake();
    flushCiphertext();
    if (state == TlsEngine::HandshakeState::Pending) return;
    handshaking_ = false;
    if (state == TlsEngine::HandshakeState::Failed) {
      handler_->onTlsDone(false, tls_->error());
      abort();
      return;
    }
    handler_->onTlsDone(true, "");
    if (closing_) return;
  }
  std::string plain = tls_->readPlaintext();
  flushCiphertext();  // a read may produce protocol bytes (key updates, tickets)
  if (!plain.empty()) handler_->onPlaintext(plain);
  if (!closing_ && (tls_->failed() || tls_->peerClosed())) {
    if (tls_->failed())
      log::debug("tls", "tls stream failed", {{"peer", peerAddress()}, {"error", tls_->error()}});
    close();
  }
}

void Connection::flushCiphertext() {
  if (!tls_) return;
  std::string out = tls_->takeCiphertext();
  if (!out.empty()) rawWrite(std::move(out));
}

void Connection::write(std::string_view plaintext) {
  if (closing_ || plaintext.empty()) return;
  if (tls_) {
    // During the handshake the engine holds the bytes until it is done: once
    // TLS has started nothing may leave in clear.
    tls_->writePlaintext(plaintext);
    flushCiphertext();
  } else {
    rawWrite(std::string(plaintext));
  }
}

void Connection::rawWrite(std::string data) {
  auto* w = new WriteRequest;
  w->data = std::move(data);
  w->req.data = this;
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  ++pending_writes_;
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, [](uv_write_t* req, int status) {
    auto* wr = reinterpret_cast<WriteRequest*>(req);
    auto* self = static_cast<Connection*>(req->data);
    delete wr;
    --self->pending_writes_;
    if (status < 0 && !self->closing_) {
      self->abort();
      return;
    }
    self->maybeFinish();
  });
  if (rc < 0) {
    --pending_writes_;
    delete w;
    if (!closing_) abort();
  }
}

void Connection::startTls(std::unique_ptr<TlsEngine> engine) {
  tls_ = std::move(engine);
  handshaking_ = true;
  pumpTls();  // a client engine produces its ClientHello now
}

bool Connection::tlsActive() const {
  return tls_ && !handshaking_;
}

namespace {

std::string addressText(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&ss), buf, sizeof buf);
  } else {
    uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&ss), buf, sizeof buf);
  }
  return buf;
}

}  // namespace

std::string Connection::peerAddress() const {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "";
  return addressText(ss);
}

std::string Connection::localAddress() const {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getsockname(&tcp_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "";
  return addressText(ss);
}

void Connection::close() {
  if (closing_) return;
  if (tls_ && !handshaking_ && !tls_->failed()) {
    tls_->shutdown();
    flushCiphertext();
  }
  closing_ = true;
  uv_timer_stop(&timer_);
  maybeFinish();
}

void Connection::abort() {
  closing_ = true;
  closeHandles();
}

void Connection::maybeFinish() {
  if (closing_ && pending_writes_ == 0) closeHandles();
}

void Connection::closeHandles() {
  if (handles_closing_) return;
  handles_closing_ = true;
  auto on_close = [](uv_handle_t* h) {
    auto* self = static_cast<Connection*>(h->data);
    if (--self->open_handles_ == 0) {
      self->handler_->onClosed();
      delete self;
    }
  };
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_close);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_close);
}

}  // namespace tlsrelay
