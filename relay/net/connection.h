// One TCP connection on a libuv loop, with optional TLS through a TlsEngine.
// It moves bytes between the socket, the TLS engine and a Handler (an SMTP
// session adapter), and owns the idle timer. It makes no protocol decisions.
// The object deletes itself once the socket and timer handles are closed,
// after calling Handler::onClosed().
#pragma once

#include <uv.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace tlsrelay {

class TlsEngine;

class Connection {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void onConnected(int status) { (void)status; }  // outbound only; status < 0 = libuv error
    virtual void onPlaintext(std::string_view bytes) = 0;
    virtual void onTlsDone(bool ok, const std::string& error) = 0;
    virtual void onTimeout() = 0;
    virtual void onClosed() = 0;  // last call; the Connection is about to be deleted
  };

  // Creates a connection whose uv_tcp_t is initialised but not connected.
  static Connection* create(uv_loop_t* loop, Handler* handler);

  uv_tcp_t* tcp() { return &tcp_; }
  void setHandler(Handler* handler) { handler_ = handler; }
  int connect(const struct sockaddr* address);  // outbound; result via Handler::onConnected
  void startReading();
  void write(std::string_view plaintext);              // encrypted when TLS is active
  void startTls(std::unique_ptr<TlsEngine> engine);    // begins the handshake (client or server side)
  void setTimeout(std::chrono::milliseconds timeout);  // restarted by every read
  // Flushes queued writes (and a TLS close_notify), then closes. Safe to call twice.
  void close();
  // Closes at once without flushing (peer misbehaved, shutdown).
  void abort();

  bool tlsActive() const;
  TlsEngine* tls() { return tls_.get(); }
  std::string peerAddress() const;   // textual IP of the peer, "" when unknown
  std::string localAddress() const;  // our end's IP (RFC 8460 sending-mta-ip), "" when unknown
  bool closing() const { return closing_; }

 private:
  Connection(uv_loop_t* loop, Handler* handler);
  ~Connection();
  void onRead(ssize_t nread, const uv_buf_t* buf);
  void pumpTls();
  void flushCiphertext();
  void rawWrite(std::string data);
  void closeHandles();
  void maybeFinish();

  uv_loop_t* loop_;
  Handler* handler_;
  uv_tcp_t tcp_{};
  uv_timer_t timer_{};
  uv_connect_t connect_req_{};
  std::unique_ptr<TlsEngine> tls_;
  bool handshaking_ = false;
  bool closing_ = false;
  bool handles_closing_ = false;
  int open_handles_ = 2;
  int pending_writes_ = 0;
  std::chrono::milliseconds timeout_{0};
};

}  // namespace tlsrelay
