#!/usr/bin/env bash
# Memory per idle inbound connection: starts tlsrelay on loopback, opens N
# connections that read the greeting and send EHLO (plain) or also finish
# STARTTLS (tls), then stay idle; prints the relay's RSS growth per
# connection. Not a test: the figure goes into bench/README.md and the notes.
#
#   bench/idle_connections.sh [--connections N] [--mode plain|tls]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${TLSRELAY_BIN:-$ROOT/build/tlsrelay}
N=10000
MODE=plain
while [ $# -gt 0 ]; do
  case $1 in
    --connections) N=$2; shift 2 ;;
    --mode) MODE=$2; shift 2 ;;
    *) echo "usage: $0 [--connections N] [--mode plain|tls]" >&2; exit 2 ;;
  esac
done
WORK=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
ulimit -n $((N + 1024))
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=idle.test -days 2 \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
cat > "$WORK/relay.toml" <<TOML
[server]
hostname = "idle.test"
[[listener]]
address = "127.0.0.1:2599"
tls = "starttls"
[tls]
certificate = "$WORK/cert.pem"
key = "$WORK/key.pem"
[limits]
max_connections = $((N + 100))
[spool]
directory = "$WORK/spool"
[mta_sts]
enabled = false
[logging]
level = "error"
TOML
"$BIN" serve --config "$WORK/relay.toml" &
PID=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/2599) 2>/dev/null && break; sleep 0.1; done
sleep 1
rss() { awk '/VmRSS/ {print $2}' /proc/$PID/status; }
BEFORE=$(rss)
AFTER=$(/usr/bin/python3 - "$N" "$MODE" "$PID" <<'PY'
import socket, ssl, sys, time
n, mode, pid = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
conns = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", 2599))
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"EHLO idle\r\n")
    while True:
        line = f.readline()
        if line[3:4] == b" ":
            break
    if mode == "tls":
        s.sendall(b"STARTTLS\r\n")
        f.readline()
        s = ctx.wrap_socket(s, server_hostname="idle.test")
    conns.append(s)
time.sleep(2)
with open("/proc/%s/status" % pid) as st:
    print([l for l in st if l.startswith("VmRSS")][0].split()[1])
sys.stdout.flush()
for s in conns:
    s.close()
PY
)
echo "mode=$MODE connections=$N rss_before=${BEFORE}KiB rss_open=${AFTER}KiB" \
  "per_connection=$(echo "scale=2; ($AFTER - $BEFORE) / $N" | bc)KiB"
