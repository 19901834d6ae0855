#!/usr/bin/env bash
# Relay throughput benchmark: smtp-source → relay → smtp-sink on loopback, once
# through tlsrelay and once through a private Postfix configured the same way
# (relay to one next hop, durable queue on the same disk), in the same run.
# Prints messages/s, CPU-seconds per 1,000 messages and peak RSS for both, and
# the ratios. Not a test: numbers go into the issue notes.
#
#   bench/relay_bench.sh [--messages N] [--size BYTES] [--sessions S] [--variant plain|starttls]
#
# Needs a built ./build/tlsrelay (scripts/build.sh) and root (Postfix).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/tests/fixtures/lib.sh"
BIN=${TLSRELAY_BIN:-$SRC/build/tlsrelay}
MESSAGES=20000
SIZE=4096
SESSIONS=20
VARIANT=plain
while [ $# -gt 0 ]; do
  case $1 in
    --messages) MESSAGES=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --sessions) SESSIONS=$2; shift 2 ;;
    --variant) VARIANT=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

WORK=$(mktemp -d /var/tmp/tlsrelay-bench.XXXXXX)
chmod 755 "$WORK"  # Postfix and smtp-sink work below it as user postfix
PIDS=()
CLEANUP_POSTFIX=()
cleanup() {
  for c in "${CLEANUP_POSTFIX[@]}"; do postfix -c "$c" stop >/dev/null 2>&1 || true; done
  rm -rf /dev/shm/tlsrelay-bench-sink-*
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  [ -f "$WORK/postfix/queue/pid/master.pid" ] && postfix -c "$WORK/postfix/etc" stop >/dev/null 2>&1 || true
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

# CPU seconds (user+sys, including reaped children) of a process tree.
tree_pids() {  # pid → itself and all descendants
  local pid=$1
  echo "$pid"
  for c in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do tree_pids "$c"; done
}
cpu_seconds() {
  local total=0 hz
  hz=$(getconf CLK_TCK)
  for p in $(tree_pids "$1"); do
    [ -r /proc/"$p"/stat ] || continue
    # fields after the ")" : utime=14 stime=15 cutime=16 cstime=17 (1-based in full line)
    total=$((total + $(sed 's/.*) //' /proc/"$p"/stat | awk '{print $12+$13+$14+$15}')))
  done
  echo "scale=2; $total / $hz" | bc
}
peak_rss_kib() {
  local total=0
  for p in $(tree_pids "$1"); do
    v=$(awk '/VmHWM/ {print $2}' /proc/"$p"/status 2>/dev/null || echo 0)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

start_sink() {  # start_sink PORT: counting smtp-sink, no dumps
  smtp-sink -u postfix -c 127.0.0.1:"$1" 1024 >"$WORK/sink-$1.out" 2>&1 &
  PIDS+=($!)
  wait_for_port 127.0.0.1 "$1" 10
}
sink_count() {  # messages received so far: smtp-sink -c prints "sess=N quit=N mesg=N"
  local n
  n=$(tr '\r' '\n' <"$WORK/sink-$1.out" | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -n1)
  echo "${n:-0}"
}

# The STARTTLS variant's receiver: a Postfix with STARTTLS whose queue lives in
# /dev/shm and whose every transport is discard, so it costs little besides TLS.
start_tls_sink() {  # start_tls_sink PORT
  local port=$1 d=/dev/shm/tlsrelay-bench-sink-$1
  rm -rf "$d"
  mkdir -p "$d/etc" "$d/queue"
  chmod 755 "$d"
  install -d -o postfix -g postfix -m 700 "$d/data"
  bash "$SRC/tests/fixtures/test_ca.sh" "$WORK/ca" sink.bench.test >/dev/null 2>&1
  cp /etc/postfix/master.cf "$d/etc/master.cf"
  sed -i "s/^smtp      inet  n       -       y       -       -       smtpd/127.0.0.1:$port inet n - n - - smtpd/" "$d/etc/master.cf"
  sed -i 's/^\(smtp\|relay\|pickup\|cleanup\|qmgr\|tlsmgr\|rewrite\|bounce\|defer\|trace\|verify\|flush\|proxymap\|proxywrite\|showq\|error\|retry\|discard\|local\|virtual\|lmtp\|anvil\|scache\|postlog\)\( *[a-z]* *[-yn] *[-yn]\) *[-yn]/\1\2 n/' "$d/etc/master.cf"
  cat >"$d/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
myhostname = sink.bench.test
mydestination =
inet_interfaces = all
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
default_transport = discard
relay_transport = discard
local_recipient_maps =
smtpd_tls_security_level = may
smtpd_tls_cert_file = $WORK/ca/sink.bench.test.pem
smtpd_tls_key_file = $WORK/ca/sink.bench.test.key
smtpd_client_connection_count_limit = 0
smtpd_client_message_rate_limit = 0
default_process_limit = 200
maillog_file = $d/maillog
maillog_file_prefixes = /dev/shm
CF
  script -qec "postfix -c '$d/etc' start" /dev/null >/dev/null
  CLEANUP_POSTFIX+=("$d/etc")
  wait_for_port 127.0.0.1 "$port" 15
  echo 0 >"$WORK/sink-$port.base"
}
tls_sink_count() { grep -c 'status=sent' "/dev/shm/tlsrelay-bench-sink-$1/maillog" 2>/dev/null || echo 0; }

run_load() {  # run_load NAME PORT SINK_PORT PID → prints one result line
  local name=$1 port=$2 sink=$3 pid=$4 start end cpu0 cpu1 count
  cpu0=$(cpu_seconds "$pid")
  start=$(date +%s.%N)
  smtp-source -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f bench@bench.test -t sink@bench.test 127.0.0.1:"$port"
  local deadline=$(( $(date +%s) + 600 ))
  local base=0
  [ -f "$WORK/sink-$sink.base" ] && base=$(cat "$WORK/sink-$sink.base")
  while :; do
    if [ "$VARIANT" = starttls ]; then count=$(( $(tls_sink_count "$sink") - base )); else count=$(sink_count "$sink"); fi
    [ "${count:-0}" -ge "$MESSAGES" ] && break
    [ "$(date +%s)" -ge "$deadline" ] && break
    sleep 0.05
  done
  end=$(date +%s.%N)
  cpu1=$(cpu_seconds "$pid")
  local secs rate cpu per1k rss
  secs=$(echo "$end - $start" | bc)
  rate=$(echo "scale=1; ${count:-0} / $secs" | bc)
  cpu=$(echo "$cpu1 - $cpu0" | bc)
  per1k=$(echo "scale=3; $cpu * 1000 / $MESSAGES" | bc)
  rss=$(peak_rss_kib "$pid")
  printf '%-9s delivered=%s in %.2fs  %s msgs/s  %s CPU-s/1000 msgs  peak RSS %s MiB\n' \
    "$name" "$count" "$secs" "$rate" "$per1k" "$((rss / 1024))"
  echo "$rate $per1k $rss" >"$WORK/result-$name"
  [ "$VARIANT" = starttls ] && tls_sink_count "$sink" >"$WORK/sink-$sink.base"
  return 0
}

echo "variant=$VARIANT messages=$MESSAGES size=$SIZE sessions=$SESSIONS cores=$(nproc)"

# --- tlsrelay ---------------------------------------------------------------
RPORT=$(free_port); SINK1=$(free_port)
mkdir -p "$WORK/policy.d"
if [ "$VARIANT" = starttls ]; then
  start_tls_sink "$SINK1"
  # The receiver alone: plaintext smtp-source straight into it (its ceiling).
  VARIANT_SAVED=$VARIANT
  run_load receiver "$SINK1" "$SINK1" "$(tr -d ' ' </dev/shm/tlsrelay-bench-sink-$SINK1/queue/pid/master.pid)"
  VARIANT=$VARIANT_SAVED
  printf 'domain = "*"\nrequire_starttls = true\n' >"$WORK/policy.d/all.toml"
else
  start_sink "$SINK1"
fi
cat >"$WORK/relay.toml" <<T
[server]
hostname = "bench.test"
[[listener]]
address = "127.0.0.1:$RPORT"
[spool]
directory = "$WORK/spool"
[dns]
resolvers = ["127.0.0.1:53"]
[delivery]
smarthost = "[127.0.0.1]:$SINK1"
max_connections_per_destination = 20
[policy]
directory = "$WORK/policy.d"
[accounting]
directory = "$WORK/acct"
[logging]
level = "warn"
T
"$BIN" --config "$WORK/relay.toml" serve 2>"$WORK/relay.log" &
RELAY=$!
PIDS+=("$RELAY")
wait_for_port 127.0.0.1 "$RPORT" 10
run_load tlsrelay "$RPORT" "$SINK1" "$RELAY"
kill -TERM "$RELAY"; wait "$RELAY" 2>/dev/null || true

# --- Postfix ----------------------------------------------------------------
PPORT=$(free_port); SINK2=$SINK1
[ "$VARIANT" = starttls ] || { SINK2=$(free_port); start_sink "$SINK2"; }
mkdir -p "$WORK/postfix/etc" "$WORK/postfix/queue"
install -d -o postfix -g postfix -m 700 "$WORK/postfix/data"
cp /etc/postfix/master.cf "$WORK/postfix/etc/master.cf"
sed -i "s/^smtp      inet  n       -       y       -       -       smtpd/127.0.0.1:$PPORT inet n - n - - smtpd/" "$WORK/postfix/etc/master.cf"
sed -i 's/^\(smtp\|relay\|pickup\|cleanup\|qmgr\|tlsmgr\|rewrite\|bounce\|defer\|trace\|verify\|flush\|proxymap\|proxywrite\|showq\|error\|retry\|discard\|local\|virtual\|lmtp\|anvil\|scache\|postlog\)\( *[a-z]* *[-yn] *[-yn]\) *[-yn]/\1\2 n/' "$WORK/postfix/etc/master.cf"
cat >"$WORK/postfix/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $WORK/postfix/queue
data_directory = $WORK/postfix/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.test
mydestination =
inet_interfaces = all
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$SINK2
default_destination_concurrency_limit = 20
smtp_tls_security_level = $([ "$VARIANT" = starttls ] && echo encrypt || echo none)
maillog_file = $WORK/postfix/maillog
maillog_file_prefixes = /var/tmp,/tmp
smtpd_relay_restrictions = permit_mynetworks, reject
local_recipient_maps =
CF
postfix -c "$WORK/postfix/etc" check >/dev/null 2>&1 || true
script -qec "postfix -c '$WORK/postfix/etc' start" /dev/null >/dev/null
wait_for_port 127.0.0.1 "$PPORT" 15 || { cat "$WORK/postfix/maillog" >&2; exit 1; }
MASTER=$(tr -d ' ' <"$WORK/postfix/queue/pid/master.pid")
run_load postfix "$PPORT" "$SINK2" "$MASTER"

read -r t_rate t_cpu t_rss <"$WORK/result-tlsrelay"
read -r p_rate p_cpu p_rss <"$WORK/result-postfix"
echo "ratio tlsrelay/postfix: throughput $(echo "scale=2; $t_rate / $p_rate" | bc)x," \
  "messages per CPU-second $(echo "scale=2; $p_cpu / $t_cpu" | bc)x," \
  "peak RSS $(echo "scale=2; $t_rss / $p_rss" | bc)x"
