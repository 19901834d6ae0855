#!/usr/bin/python3
"""An HTTPS endpoint for TLS report POSTs (RFC 8460 §5.4), for tests.

  tlsrpt_https_sink.py --cert PEM --key PEM --out-dir DIR
                       [--bind 127.0.0.1] [--port 0] [--parent-watch]

Prints "port N" on stdout once it listens (N is the chosen port when --port
is 0). Every POST is saved before the answer: DIR/NNNN.body holds the body,
DIR/NNNN.json {"path", "content_type", "length", "status"}. The answer is
200, except for paths that ask for something else:
  /status/<code>   that status (a 3xx carries "Location: /moved")
  /sleep/<secs>    waits that long, then 200 (for client timeouts)
With --parent-watch the sink exits when its stdin reaches end of file, so a
test that dies cannot leave it running.
"""
import argparse
import http.server
import json
import os
import ssl
import sys
import threading
import time

MAX_BODY = 16 * 1024 * 1024

parser = argparse.ArgumentParser()
parser.add_argument("--cert", required=True)
parser.add_argument("--key", required=True)
parser.add_argument("--out-dir", required=True)
parser.add_argument("--bind", default="127.0.0.1")
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--parent-watch", action="store_true")
args = parser.parse_args()

counter_lock = threading.Lock()
counter = [0]


def save(path, content_type, body, status):
    with counter_lock:
        counter[0] += 1
        n = counter[0]
    base = os.path.join(args.out_dir, "%04d" % n)
    with open(base + ".body.tmp", "wb") as f:
        f.write(body)
    os.rename(base + ".body.tmp", base + ".body")
    meta = {"path": path, "content_type": content_type, "length": len(body), "status": status}
    with open(base + ".json.tmp", "w") as f:
        json.dump(meta, f)
    # The .json appears last: a reader that sees it finds the body complete.
    os.rename(base + ".json.tmp", base + ".json")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        sys.stderr.write("sink: " + (fmt % a) + "\n")

    def answer(self, status, text, extra=()):
        body = text.encode()
        self.send_response(status)
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        if length < 0 or length > MAX_BODY:
            self.answer(413, "too large")
            return
        body = self.rfile.read(length)
        status, extra, parts = 200, [], self.path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "status" and parts[1].isdigit():
            status = int(parts[1])
            if 300 <= status < 400:
                extra.append(("Location", "/moved"))
            if status in (429, 503):
                extra.append(("Retry-After", "120"))
        elif len(parts) == 2 and parts[0] == "sleep":
            time.sleep(float(parts[1]))
        save(self.path, self.headers.get("Content-Type", ""), body, status)
        self.answer(status, "sink answered %d" % status, extra)


def watch_parent():
    sys.stdin.buffer.read()  # returns at end of file: the parent is gone
    os._exit(0)


server = http.server.ThreadingHTTPServer((args.bind, args.port), Handler)
server.daemon_threads = True
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(args.cert, args.key)
server.socket = context.wrap_socket(server.socket, server_side=True)
if args.parent_watch:
    threading.Thread(target=watch_parent, daemon=True).start()
print("port %d" % server.server_address[1], flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
