#!/usr/bin/env bash
# Relay throughput benchmark: smtp-source → relay → receiver on loopback, once
# through tlsrelay and once through a private Postfix configured the same way
# (durable queue on the same disk), in the same run. Prints messages/s,
# CPU-seconds per 1,000 messages and peak RSS for both, and the ratios. Not a
# test: numbers go into bench/README.md and the issue notes.
#
#   bench/relay_bench.sh [--messages N] [--size BYTES] [--sessions S] [--variant plain|starttls|dane-sts]
#                        [--dkim none|rsa|ed25519]
#
# --dkim rsa|ed25519 (plain and starttls): both relays DKIM-sign every message
# for the sender's domain, relaxed/relaxed, with one key made per run by
# `tlsrelay dkim keygen` (RSA 2048 or Ed25519): tlsrelay through [dkim], Postfix
# through Debian's opendkim as a milter (counted with Postfix). The receiver's
# copies are checked (bench/dkim_check.py, dkimpy): the run fails if a relay
# delivered anything unsigned. Also prints `openssl speed` for the key type
# (one core) beside tlsrelay's signatures per CPU-second.
#
# BENCH_REPORTING=false runs tlsrelay without the TLS report store (to measure its cost).
#
# plain, starttls: both relays send everything to one smarthost (see README).
# dane-sts: delivery by MX to bench.relay.test, whose MX host has a
# DNSSEC-secure TLSA 3 1 1 record and which publishes an MTA-STS enforce
# policy listing that MX. Runs the DNS fixture (nsd + unbound) on
# $BENCH_DNS_AUTH/$BENCH_DNS_RESOLVER, the MTA-STS nginx on $BENCH_STS_IP:443
# and the receiver on $BENCH_MX_IP:25 (defaults 127.0.55.1, .2, .10, .20 — away
# from the 127.0.53.x / 127.0.1.x / 127.0.2.x of the integration tests).
#
# Needs a built tlsrelay (TLSRELAY_BIN, default ./build/tlsrelay from
# scripts/build.sh — RelWithDebInfo, never Debug) and root (Postfix).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/tests/fixtures/lib.sh"
BIN=${TLSRELAY_BIN:-$SRC/build/tlsrelay}
FIX=$SRC/tests/fixtures
MESSAGES=20000
SIZE=4096
SESSIONS=20
VARIANT=plain
DKIM=none
WARMUP=50  # dane-sts: messages sent through each relay before measuring
while [ $# -gt 0 ]; do
  case $1 in
    --messages) MESSAGES=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --sessions) SESSIONS=$2; shift 2 ;;
    --variant) VARIANT=$2; shift 2 ;;
    --dkim) DKIM=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
case $VARIANT in plain | starttls | dane-sts) ;; *) echo "unknown variant $VARIANT" >&2; exit 2 ;; esac
case $DKIM in none | rsa | ed25519) ;; *) echo "unknown --dkim $DKIM (none, rsa or ed25519)" >&2; exit 2 ;; esac
if [ "$DKIM" != none ] && [ "$VARIANT" = dane-sts ]; then
  echo "--dkim is wired up for the plain and starttls variants only" >&2
  exit 2
fi
# DKIM: d= is the domain of smtp-source's sender (its From: field); one selector.
# BENCH_DKIM_DOMAIN=other.test makes both relays pass the mail on unsigned (to
# see the checks fail); BENCH_DKIM_CHECK=0 skips the starttls check batch.
DKIM_DOMAIN=${BENCH_DKIM_DOMAIN:-bench.test}
DKIM_SELECTOR=bench
DKIM_CHECK=${BENCH_DKIM_CHECK:-20}  # starttls: messages sent to a dumping receiver before measuring
DKIM_RCPT=dkimcheck@bench.test
case $DKIM in rsa) DKIM_ALG=rsa-sha256 ;; ed25519) DKIM_ALG=ed25519-sha256 ;; *) DKIM_ALG= ;; esac

DNS_AUTH=${BENCH_DNS_AUTH:-127.0.55.1}
DNS_RESOLVER=${BENCH_DNS_RESOLVER:-127.0.55.2}
STS_IP=${BENCH_STS_IP:-127.0.55.10}
MX_IP=${BENCH_MX_IP:-127.0.55.20}
BENCH_DOMAIN=bench.relay.test  # new names in the fixture's signed relay.test zone
MX_HOST=mx.$BENCH_DOMAIN
RCPT=sink@bench.test
[ "$VARIANT" = dane-sts ] && RCPT=sink@$BENCH_DOMAIN

WORK=$(mktemp -d /var/tmp/tlsrelay-bench.XXXXXX)
chmod 755 "$WORK"  # Postfix and smtp-sink work below it as user postfix
PIDS=()
CLEANUP_POSTFIX=()
CLEANUP_CMDS=()
SINK_DIRS=()
DUMP_DIRS=()  # smtp-sink dumps (--dkim), kept with KEEP_WORK like $WORK
cleanup() {
  local c
  for c in "${CLEANUP_POSTFIX[@]}"; do postfix -c "$c" stop >/dev/null 2>&1 || true; done
  for c in "${SINK_DIRS[@]}"; do rm -rf "$c"; done
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  [ -f "$WORK/postfix/queue/pid/master.pid" ] && postfix -c "$WORK/postfix/etc" stop >/dev/null 2>&1 || true
  for c in "${CLEANUP_CMDS[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK" "${DUMP_DIRS[@]}"
}
trap cleanup EXIT

# CPU seconds (user+sys, including reaped children) of a process tree.
tree_pids() {  # pid → itself and all descendants
  local pid=$1
  echo "$pid"
  for c in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do tree_pids "$c"; done
}
cpu_seconds() {  # cpu_seconds PID...: summed over the trees of all PIDs
  local total=0 hz root
  hz=$(getconf CLK_TCK)
  for p in $(for root in "$@"; do tree_pids "$root"; done); do
    [ -r /proc/"$p"/stat ] || continue
    # fields after the ")" : utime=14 stime=15 cutime=16 cstime=17 (1-based in full line)
    total=$((total + $(sed 's/.*) //' /proc/"$p"/stat | awk '{print $12+$13+$14+$15}')))
  done
  echo "scale=2; $total / $hz" | bc
}
peak_rss_kib() {  # peak_rss_kib PID...
  local total=0 root
  for p in $(for root in "$@"; do tree_pids "$root"; done); do
    v=$(awk '/VmHWM/ {print $2}' /proc/"$p"/status 2>/dev/null || echo 0)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# A port for a listener, below the ephemeral range. tests/fixtures/lib.sh's
# free_port draws from 30000-49999, inside Linux's default ephemeral range
# (32768-60999): after a leg of 10,000 connections a port nothing listens on
# can still be the local end of a connection, and bind() then fails
# (EADDRINUSE) - three --dkim runs died of it, two of them silently (tlsrelay's
# listener). So: below ip_local_port_range, and not the local port of any
# socket.
bench_port() {
  local low port
  low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$low" -gt 21000 ] || low=32768
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % (low - 20000)))
    ss -Htan "( sport = :$port )" 2>/dev/null | grep -q . && continue
    port_open 127.0.0.1 "$port" && continue
    echo "$port"
    return 0
  done
  die "no free port below $low"
}

start_sink() {  # start_sink PORT [dump]: counting smtp-sink; with "dump", one file per message
  local dump=()        # in $(dump_dir PORT) (tmpfs), for the DKIM checks
  if [ "${2:-}" = dump ]; then
    rm -rf "$(dump_dir "$1")"
    install -d -o postfix -g postfix -m 755 "$(dump_dir "$1")"
    DUMP_DIRS+=("$(dump_dir "$1")")
    dump=(-d "$(dump_dir "$1")/%H%M%S.")
  fi
  smtp-sink -u postfix -c "${dump[@]}" 127.0.0.1:"$1" 1024 >"$WORK/sink-$1.out" 2>&1 &
  PIDS+=($!)
  wait_for_port 127.0.0.1 "$1" 10 || { cat "$WORK/sink-$1.out" >&2; die "smtp-sink on port $1 did not start"; }
}
dump_dir() { echo "/dev/shm/tlsrelay-bench-dump-$1"; }
sink_count() {  # messages received so far: smtp-sink -c prints "sess=N quit=N mesg=N"
  local n
  n=$(tr '\r' '\n' <"$WORK/sink-$1.out" | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -n1)
  echo "${n:-0}"
}

# The TLS variants' receiver: a Postfix with STARTTLS whose queue lives in
# /dev/shm and whose every transport is discard, so it costs little besides TLS.
# Its sink id (for tls_sink_count) is "<ip>-<port>". No reverse lookups of
# clients: 127.0.55.x has no PTR, and the system resolver may be unreachable.
start_tls_sink() {  # start_tls_sink IP PORT HOSTNAME (certificate from the test CA for HOSTNAME)
  local ip=$1 port=$2 host=$3 d=/dev/shm/tlsrelay-bench-sink-$1-$2
  rm -rf "$d"
  mkdir -p "$d/etc" "$d/queue"
  SINK_DIRS+=("$d")
  chmod 755 "$d"
  install -d -o postfix -g postfix -m 700 "$d/data"
  bash "$FIX/test_ca.sh" "$WORK/ca" "$host" >/dev/null 2>&1
  cp /etc/postfix/master.cf "$d/etc/master.cf"
  sed -i "s/^smtp      inet  n       -       y       -       -       smtpd/$ip:$port inet n - n - - smtpd/" "$d/etc/master.cf"
  sed -i 's/^\(smtp\|relay\|pickup\|cleanup\|qmgr\|tlsmgr\|rewrite\|bounce\|defer\|trace\|verify\|flush\|proxymap\|proxywrite\|showq\|error\|retry\|discard\|local\|virtual\|lmtp\|anvil\|scache\|postlog\)\( *[a-z]* *[-yn] *[-yn]\) *[-yn]/\1\2 n/' "$d/etc/master.cf"
  cat >"$d/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
myhostname = $host
mydestination =
inet_interfaces = all
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
default_transport = discard
relay_transport = discard
local_recipient_maps =
smtpd_tls_security_level = may
smtpd_tls_cert_file = $WORK/ca/$host.pem
smtpd_tls_key_file = $WORK/ca/$host.key
smtpd_client_connection_count_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_peername_lookup = no
default_process_limit = 200
maillog_file = $d/maillog
maillog_file_prefixes = /dev/shm
CF
  if [ "$DKIM" != none ]; then
    # Each DKIM-Signature field that arrives is logged (counted per leg, see
    # dkim_check_leg), and mail to DKIM_RCPT goes on to a dumping smtp-sink
    # whose copies dkimpy verifies (dkim_check_batch).
    printf '/^DKIM-Signature:/ INFO dkim\n' >"$d/etc/header_checks"
    cat >>"$d/etc/main.cf" <<CF
header_checks = regexp:$d/etc/header_checks
transport_maps = inline:{$DKIM_RCPT=smtp:[127.0.0.1]:$DKIM_DUMP_PORT}
CF
  fi
  script -qec "postfix -c '$d/etc' start" /dev/null >/dev/null
  CLEANUP_POSTFIX+=("$d/etc")
  wait_for_port "$ip" "$port" 15
  echo 0 >"$WORK/sink-$ip-$port.base"
}
tls_sink_connections() {  # SMTP connections the TLS receiver has accepted so far
  local n
  n=$(grep -c ' connect from ' "/dev/shm/tlsrelay-bench-sink-$1/maillog" 2>/dev/null) || true
  echo "${n:-0}"
}
tls_sink_count() {  # grep -c prints 0 and fails when nothing matches yet
  local n
  n=$(grep -c 'status=sent' "/dev/shm/tlsrelay-bench-sink-$1/maillog" 2>/dev/null) || true
  echo "${n:-0}"
}
counted() {  # counted SINK_ID: messages the receiver has taken, minus its base
  local base=0
  [ "$VARIANT" = plain ] && { sink_count "$1"; return; }
  [ -f "$WORK/sink-$1.base" ] && base=$(cat "$WORK/sink-$1.base")
  echo $(($(tls_sink_count "$1") - base))
}
rebase() {  # rebase SINK_ID: what the receiver has counted so far no longer counts
  [ "$VARIANT" = plain ] || tls_sink_count "$1" >"$WORK/sink-$1.base"
}
wait_counted() {  # wait_counted SINK_ID N TIMEOUT_S: until the receiver counted N; prints the count
  local sink=$1 n=$2 deadline=$(($(date +%s) + $3)) count
  while :; do
    count=$(counted "$sink")
    [ "${count:-0}" -ge "$n" ] && break
    [ "$(date +%s)" -ge "$deadline" ] && break
    sleep 0.05
  done
  echo "${count:-0}"
}

run_load() {  # run_load NAME HOST:PORT SINK_ID "PID..." → prints one result line
  local name=$1 target=$2 sink=$3 pid=$4 start end cpu0 cpu1 count conn0=0 conns=""
  [ "$VARIANT" = plain ] || conn0=$(tls_sink_connections "$sink")
  # shellcheck disable=SC2086 # one or more process trees
  cpu0=$(cpu_seconds $pid)
  start=$(date +%s.%N)
  smtp-source -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f bench@bench.test -t "$RCPT" "$target"
  count=$(wait_counted "$sink" "$MESSAGES" 600)
  end=$(date +%s.%N)
  # shellcheck disable=SC2086
  cpu1=$(cpu_seconds $pid)
  local secs rate cpu per1k rss
  secs=$(echo "$end - $start" | bc)
  rate=$(echo "scale=1; ${count:-0} / $secs" | bc)
  cpu=$(echo "$cpu1 - $cpu0" | bc)
  per1k=$(printf '%.3f' "$(echo "scale=3; $cpu * 1000 / $MESSAGES" | bc)")
  # shellcheck disable=SC2086
  rss=$(peak_rss_kib $pid)
  # How many SMTP connections carried the load (connection reuse), read after the clock stopped.
  [ "$VARIANT" = plain ] || conns="  $(($(tls_sink_connections "$sink") - conn0)) connections"
  printf '%-9s delivered=%s in %.2fs  %s msgs/s  %s CPU-s/1000 msgs  peak RSS %s MiB%s\n' \
    "$name" "$count" "$secs" "$rate" "$per1k" "$((rss / 1024))" "$conns"
  echo "$rate $per1k $rss" >"$WORK/result-$name"
  if [ "$DKIM" != none ] && [ "${count:-0}" -lt "$MESSAGES" ]; then
    die "$name: the receiver got ${count:-0} of $MESSAGES messages (signing failed and mail was deferred or tempfailed?)"
  fi
  rebase "$sink"
  return 0
}

# --- DKIM checks: did the relay really sign what it delivered? ---------------
dkim_check() {  # dkim_check LABEL DIR EXPECT SAMPLE [MISSING_OK]: bench/dkim_check.py on dumped copies
  /usr/bin/python3 "$SRC/bench/dkim_check.py" --record "$WORK/dkim/record.txt" --domain "$DKIM_DOMAIN" \
    --selector "$DKIM_SELECTOR" --algorithm "$DKIM_ALG" --expect "$3" --sample "$4" \
    --missing-ok "${5:-0}" --label "$1" "$2" || die "$1 delivered mail that was not (properly) DKIM-signed"
}
tls_sink_signed() {  # DKIM-Signature fields the TLS receiver has logged (header_checks INFO)
  local n
  n=$(grep -c ': info: header DKIM-Signature:' "/dev/shm/tlsrelay-bench-sink-$1/maillog" 2>/dev/null) || true
  echo "${n:-0}"
}
# starttls: DKIM_CHECK messages to DKIM_RCPT, which the TLS receiver passes on
# to the dumping smtp-sink; all of them must carry a signature dkimpy verifies.
dkim_check_batch() {  # dkim_check_batch NAME HOST:PORT SINK_ID
  local got
  find "$(dump_dir "$DKIM_DUMP_PORT")" -mindepth 1 -delete
  smtp-source -s 2 -m "$DKIM_CHECK" -l "$SIZE" -f bench@bench.test -t "$DKIM_RCPT" "$2"
  got=$(wait_counted "$3" "$DKIM_CHECK" 60)
  [ "$got" -ge "$DKIM_CHECK" ] || die "$1 DKIM check batch: the receiver got $got of $DKIM_CHECK messages"
  rebase "$3"
  dkim_check "$1 (check batch)" "$(dump_dir "$DKIM_DUMP_PORT")" "$DKIM_CHECK" "$DKIM_CHECK"
}
dkim_leg_start() {  # dkim_leg_start SINK_ID: before a measured leg
  [ "$VARIANT" = plain ] || tls_sink_signed "$1" >"$WORK/dkim-base-$1"
}
# After a measured leg. plain: every message the smtp-sink dumped is checked
# (smtp-sink names dumps by second + a random 32-bit number, so a name can
# collide: up to 1 in 1000 may be missing) and a sample verified. starttls:
# the receiver must have logged one DKIM-Signature per delivered message.
dkim_check_leg() {  # dkim_check_leg NAME SINK_ID
  local name=$1 sink=$2 base signed deadline=$(($(date +%s) + 15))
  if [ "$VARIANT" = plain ]; then
    dkim_check "$name" "$(dump_dir "$sink")" "$MESSAGES" 25 $((MESSAGES / 1000))
    return
  fi
  base=$(cat "$WORK/dkim-base-$sink")
  while :; do
    signed=$(($(tls_sink_signed "$sink") - base))
    [ "$signed" -ge "$MESSAGES" ] || [ "$(date +%s)" -ge "$deadline" ] && break
    sleep 0.2
  done
  echo "$name: the receiver logged $signed DKIM-Signature fields for $MESSAGES delivered messages"
  [ "$signed" -eq "$MESSAGES" ] || die "$name delivered $((MESSAGES - signed)) messages without a DKIM-Signature"
}

# warm_up TARGET SINK_ID: WARMUP messages to warmup@BENCH_DOMAIN, waits until
# the receiver has them all. DNS, MTA-STS and TLS state is then as in steady
# operation, and the checks below have rows and log lines to look at.
warm_up() {
  local target=$1 sink=$2 got
  smtp-source -s 5 -m "$WARMUP" -l "$SIZE" -f bench@bench.test -t "warmup@$BENCH_DOMAIN" "$target"
  got=$(wait_counted "$sink" "$WARMUP" 60)
  [ "$got" -ge "$WARMUP" ] || die "warm-up: the receiver got $got of $WARMUP messages"
  rebase "$sink"
}

# Accounting rows of RCPT (tests/tools/acct_query.py matches by column name).
acct_count() { /usr/bin/python3 "$SRC/tests/tools/acct_query.py" "$WORK/acct" "$@" --count; }
# check_dane_rows RCPT N: tlsrelay recorded N delivered rows for RCPT, every
# one verified by DANE with RFC 8460 result "success" (no other rows).
check_dane_rows() {
  local rcpt=$1 n=$2 all good deadline=$(($(date +%s) + 30))
  while :; do  # the row is written after the receiver's reply; give it a moment
    all=$(acct_count "$rcpt")
    [ "$all" -ge "$n" ] || [ "$(date +%s)" -ge "$deadline" ] && break
    sleep 0.2
  done
  good=$(acct_count "$rcpt" result=delivered verification=dane result_type=success policy_type=tlsa)
  echo "tlsrelay accounting for <$rcpt>: $all rows, $good delivered with verification=dane result_type=success"
  if [ "$all" -ne "$n" ] || [ "$good" -ne "$n" ]; then
    /usr/bin/python3 "$SRC/tests/tools/acct_query.py" "$WORK/acct" "$rcpt" | sort | uniq -c | sort -rn | head -n 5 >&2 || true
    die "tlsrelay did not deliver every message to <$rcpt> under DANE"
  fi
}

echo "variant=$VARIANT dkim=$DKIM messages=$MESSAGES size=$SIZE sessions=$SESSIONS cores=$(nproc) tlsrelay=$BIN"

# --- DKIM: one key per run, for both relays; the key operation's own rate ----
if [ "$DKIM" != none ]; then
  mkdir -p "$WORK/dkim"
  keygen=(--algorithm "$DKIM")
  [ "$DKIM" = rsa ] && keygen+=(--bits 2048)
  "$BIN" dkim keygen --domain "$DKIM_DOMAIN" --selector "$DKIM_SELECTOR" "${keygen[@]}" \
    --out "$WORK/dkim/bench.key" >"$WORK/dkim/record.txt" 2>"$WORK/dkim/keygen.err" ||
    { cat "$WORK/dkim/keygen.err" >&2; die "tlsrelay dkim keygen failed"; }
  # openssl speed on one core (no -multi): sign/s is the next-to-last column.
  case $DKIM in
    rsa) OSSL_SIGN=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $(NF-1)}') ;;
    ed25519) OSSL_SIGN=$(openssl speed -seconds 3 ed25519 2>/dev/null | awk '/\(Ed25519\)/ {print $(NF-1)}') ;;
  esac
  [ -n "$OSSL_SIGN" ] || die "could not read openssl speed's sign rate"
  echo "DKIM $DKIM_ALG d=$DKIM_DOMAIN s=$DKIM_SELECTOR relaxed/relaxed; openssl speed -seconds 3 $([ "$DKIM" = rsa ] && echo rsa2048 || echo ed25519): $OSSL_SIGN sign/s on one core"
fi

# --- dane-sts: DNSSEC zone, MTA-STS policy host ------------------------------
if [ "$VARIANT" = dane-sts ]; then
  for ip in "$MX_IP" "$STS_IP"; do ensure_loopback_address "$ip"; done
  bash "$FIX/test_ca.sh" "$WORK/ca" "$MX_HOST" "mta-sts.$BENCH_DOMAIN" >/dev/null 2>&1
  CA=$WORK/ca/ca.pem
  # New names in the signed relay.test zone: no committed zone file changes.
  printf 'relay.test\t%s\n' \
    "bench IN MX 10 $MX_HOST." \
    "mx.bench IN A $MX_IP" \
    "_25._tcp.mx.bench IN TLSA 3 1 1 $(cat "$WORK/ca/$MX_HOST.tlsa")" \
    "_mta-sts.bench IN TXT \"v=STSv1; id=bench1\"" \
    "mta-sts.bench IN A $STS_IP" >"$WORK/dns-extra"
  env -u TLSRELAY_TEST_DNS_CORRUPT TLSRELAY_TEST_DNS_AUTH="$DNS_AUTH" TLSRELAY_TEST_DNS_RESOLVER="$DNS_RESOLVER" \
    TLSRELAY_TEST_DNS_PORT=53 TLSRELAY_TEST_DNS_EXTRA="$WORK/dns-extra" \
    bash "$FIX/dns_fixture.sh" start "$WORK/dns" >"$WORK/dns.out" 2>&1 || { cat "$WORK/dns.out" >&2; die "dns fixture failed"; }
  CLEANUP_CMDS+=("TLSRELAY_TEST_DNS_AUTH=$DNS_AUTH TLSRELAY_TEST_DNS_RESOLVER=$DNS_RESOLVER bash '$FIX/dns_fixture.sh' stop '$WORK/dns'")
  for q in "$BENCH_DOMAIN MX" "$MX_HOST A" "_25._tcp.$MX_HOST TLSA" "_mta-sts.$BENCH_DOMAIN TXT"; do
    # shellcheck disable=SC2086 # name and type
    dig +time=2 +dnssec @"$DNS_RESOLVER" $q | grep -Eq '^;; flags:[a-z ]* ad[ ;]' || die "unbound: $q is not secure"
  done
  mkdir -p "$WORK/sts/sites/mta-sts.$BENCH_DOMAIN/.well-known"
  cp "$WORK/ca/mta-sts.$BENCH_DOMAIN.pem" "$WORK/ca/mta-sts.$BENCH_DOMAIN.key" "$WORK/sts/sites/"
  printf 'version: STSv1\r\nmode: enforce\r\nmx: %s\r\nmax_age: 86400\r\n' "$MX_HOST" \
    >"$WORK/sts/sites/mta-sts.$BENCH_DOMAIN/.well-known/mta-sts.txt"
  bash "$FIX/mta_sts_nginx.sh" start "$WORK/sts" "$STS_IP" 443 >"$WORK/sts.out" 2>&1 || { cat "$WORK/sts.out" >&2; die "nginx failed"; }
  CLEANUP_CMDS+=("bash '$FIX/mta_sts_nginx.sh' stop '$WORK/sts'")
  curl -sf --cacert "$CA" --resolve "mta-sts.$BENCH_DOMAIN:443:$STS_IP" \
    "https://mta-sts.$BENCH_DOMAIN/.well-known/mta-sts.txt" | grep -q 'mode: enforce' || die "MTA-STS policy not served"
  echo "DNS fixture on $DNS_AUTH/$DNS_RESOLVER: $BENCH_DOMAIN MX $MX_HOST ($MX_IP), secure TLSA 3 1 1;" \
    "MTA-STS enforce policy on $STS_IP:443"
fi

# --- receiver ---------------------------------------------------------------
case $VARIANT in
  plain)
    SINK1=$(bench_port)
    start_sink "$SINK1" "$([ "$DKIM" != none ] && echo dump)"
    RECEIVER=127.0.0.1:$SINK1; SINK_ID=$SINK1 ;;
  starttls)
    if [ "$DKIM" != none ]; then DKIM_DUMP_PORT=$(bench_port); start_sink "$DKIM_DUMP_PORT" dump; fi
    P=$(bench_port); start_tls_sink 127.0.0.1 "$P" sink.bench.test; RECEIVER=127.0.0.1:$P; SINK_ID=127.0.0.1-$P ;;
  dane-sts)
    port_open "$MX_IP" 25 && die "$MX_IP:25 is already in use"
    start_tls_sink "$MX_IP" 25 "$MX_HOST"; RECEIVER=$MX_IP:25; SINK_ID=$MX_IP-25 ;;
esac
if [ "$VARIANT" != plain ]; then
  # The receiver alone: plaintext smtp-source straight into it (its ceiling).
  run_load receiver "$RECEIVER" "$SINK_ID" "$(tr -d ' ' </dev/shm/tlsrelay-bench-sink-"$SINK_ID"/queue/pid/master.pid)"
fi

# --- tlsrelay ---------------------------------------------------------------
RPORT=$(bench_port)
mkdir -p "$WORK/policy.d"
[ "$VARIANT" = starttls ] && printf 'domain = "*"\nrequire_starttls = true\n' >"$WORK/policy.d/all.toml"
if [ "$VARIANT" = dane-sts ]; then
  # No policy file: DANE and MTA-STS alone make TLS mandatory and verified.
  OUTBOUND=$(
    cat <<T
[dns]
resolvers = ["$DNS_RESOLVER:53"]
dnssec = "trust-ad"
[mta_sts]
enabled = true
ca_bundle = "$CA"
cache_directory = "$WORK/sts-cache"
[delivery]
max_connections_per_destination = 20
[policy]
ca_bundle = "$CA"
T
  )
else
  OUTBOUND=$(
    cat <<T
[dns]
resolvers = ["127.0.0.1:53"]
[delivery]
smarthost = "[127.0.0.1]:${RECEIVER##*:}"
max_connections_per_destination = 20
[policy]
directory = "$WORK/policy.d"
T
  )
fi
cat >"$WORK/relay.toml" <<T
[server]
hostname = "bench.test"
[[listener]]
address = "127.0.0.1:$RPORT"
[spool]
directory = "$WORK/spool"
$OUTBOUND
[reporting]
enabled = ${BENCH_REPORTING:-true}
[accounting]
directory = "$WORK/acct"
[logging]
level = "warn"
T
if [ "$DKIM" != none ]; then
  cat >>"$WORK/relay.toml" <<T
[dkim]
canonicalization = "relaxed/relaxed"
[[dkim.sign]]
domain = "$DKIM_DOMAIN"
selector = "$DKIM_SELECTOR"
key_file = "$WORK/dkim/bench.key"
T
fi
# BENCH_RELAY_WRAPPER (words) runs before the binary, e.g. callgrind for an
# instruction count that no other load on the machine can blur.
# shellcheck disable=SC2086
${BENCH_RELAY_WRAPPER:-} "$BIN" --config "$WORK/relay.toml" serve 2>"$WORK/relay.log" &
RELAY=$!
PIDS+=("$RELAY")
# A relay that cannot listen (e.g. its port taken, see bench_port) says why.
relay_t0=$(date +%s)
wait_for_port 127.0.0.1 "$RPORT" 60 || { tail -n 20 "$WORK/relay.log" >&2; die "tlsrelay did not start listening on $RPORT"; }
[ $(($(date +%s) - relay_t0)) -le 5 ] || echo "note: tlsrelay took $(($(date +%s) - relay_t0)) s to start listening"
if [ "$VARIANT" = dane-sts ]; then
  warm_up "127.0.0.1:$RPORT" "$SINK_ID"
  check_dane_rows "warmup@$BENCH_DOMAIN" "$WARMUP"
  fetched=$(grep -c "^mta-sts.$BENCH_DOMAIN 200 " "$WORK/sts/nginx/access.log" || true)
  [ "$fetched" -ge 1 ] || die "tlsrelay never fetched the MTA-STS policy"
  "$BIN" --config "$WORK/relay.toml" policy explain "$BENCH_DOMAIN" >"$WORK/explain.txt" 2>&1 || true
  echo "tlsrelay fetched the MTA-STS policy ($fetched fetch(es)); policy explain $BENCH_DOMAIN:"
  sed 's/^/  /' "$WORK/explain.txt"
fi
if [ "$DKIM" != none ]; then
  [ "$VARIANT" = plain ] || [ "$DKIM_CHECK" -eq 0 ] || dkim_check_batch tlsrelay "127.0.0.1:$RPORT" "$SINK_ID"
  dkim_leg_start "$SINK_ID"
fi
run_load tlsrelay "127.0.0.1:$RPORT" "$SINK_ID" "$RELAY"
[ "$DKIM" != none ] && dkim_check_leg tlsrelay "$SINK_ID"
[ "$VARIANT" = dane-sts ] && check_dane_rows "$RCPT" "$MESSAGES"
kill -TERM "$RELAY"; wait "$RELAY" 2>/dev/null || true
if [ -n "${BENCH_TLSRELAY_ONLY:-}" ]; then
  echo "BENCH_TLSRELAY_ONLY: no Postfix leg"
  exit 0
fi

# --- Postfix ----------------------------------------------------------------
PPORT=$(bench_port)
SINK2_ID=$SINK_ID
if [ "$VARIANT" = plain ]; then SINK2_ID=$(bench_port); start_sink "$SINK2_ID" "$([ "$DKIM" != none ] && echo dump)"; fi
POSTFIX_MILTER=
OPENDKIM=
if [ "$DKIM" != none ]; then
  # Debian's opendkim as Postfix's signing milter: the same key, domain,
  # selector, canonicalization, signed and oversigned fields as tlsrelay
  # (dkim/dkim_signer.cc's default lists; opendkim's own SignHeaders lacks
  # Message-ID, so oversigning it would break its signatures); a message it
  # cannot sign is tempfailed, and so is one when the milter is unreachable.
  # RequireSafeKeys false: the key is 0600 root, but opendkim also refuses any
  # key below a world-writable directory, and $WORK is in /var/tmp (1777).
  MPORT=$(bench_port)
  cat >"$WORK/opendkim.conf" <<C
Syslog no
Mode s
Domain $DKIM_DOMAIN
Selector $DKIM_SELECTOR
KeyFile $WORK/dkim/bench.key
Canonicalization relaxed/relaxed
SignatureAlgorithm $DKIM_ALG
SignHeaders From,Reply-To,Subject,Date,To,Cc,Resent-Date,Resent-From,Resent-To,Resent-Cc,In-Reply-To,References,List-Id,List-Help,List-Unsubscribe,List-Unsubscribe-Post,List-Subscribe,List-Post,List-Owner,List-Archive,Message-ID,Sender,MIME-Version,Content-Type,Content-Transfer-Encoding,Content-ID,Content-Description,TLS-Report-Domain,TLS-Report-Submitter,TLS-Required
OversignHeaders From,Reply-To,Sender,Subject,Date,To,Cc,Message-ID,MIME-Version,Content-Type,Content-Transfer-Encoding
InternalHosts 127.0.0.0/8
On-SignatureError tempfail
On-InternalError tempfail
Socket inet:$MPORT@127.0.0.1
PidFile $WORK/opendkim.pid
RequireSafeKeys false
C
  opendkim -f -x "$WORK/opendkim.conf" >"$WORK/opendkim.out" 2>&1 &
  OPENDKIM=$!
  PIDS+=("$OPENDKIM")
  wait_for_port 127.0.0.1 "$MPORT" 10 || { cat "$WORK/opendkim.out" >&2; die "opendkim did not start"; }
  POSTFIX_MILTER="smtpd_milters = inet:127.0.0.1:$MPORT
non_smtpd_milters = \$smtpd_milters
milter_default_action = tempfail
milter_protocol = 6"
fi
mkdir -p "$WORK/postfix/etc" "$WORK/postfix/queue"
install -d -o postfix -g postfix -m 700 "$WORK/postfix/data"
cp /etc/postfix/master.cf "$WORK/postfix/etc/master.cf"
sed -i "s/^smtp      inet  n       -       y       -       -       smtpd/127.0.0.1:$PPORT inet n - n - - smtpd/" "$WORK/postfix/etc/master.cf"
sed -i 's/^\(smtp\|relay\|pickup\|cleanup\|qmgr\|tlsmgr\|rewrite\|bounce\|defer\|trace\|verify\|flush\|proxymap\|proxywrite\|showq\|error\|retry\|discard\|local\|virtual\|lmtp\|anvil\|scache\|postlog\)\( *[a-z]* *[-yn] *[-yn]\) *[-yn]/\1\2 n/' "$WORK/postfix/etc/master.cf"
if [ "$VARIANT" = dane-sts ]; then
  # Postfix asks the system resolver (libc, /etc/resolv.conf). A chrooted smtp
  # client reads <queue_directory>/etc/resolv.conf instead: point that one at
  # unbound, with trust-ad so glibc passes the AD bit on. /etc is untouched.
  sed -i 's/^smtp\( *unix *[-yn] *[-yn]\) *n/smtp\1 y/' "$WORK/postfix/etc/master.cf"
  grep -Eq '^smtp +unix +[-yn] +[-yn] +y ' "$WORK/postfix/etc/master.cf" || die "could not chroot Postfix's smtp client"
  mkdir -p "$WORK/postfix/queue/etc"
  printf 'nameserver %s\noptions edns0 trust-ad\n' "$DNS_RESOLVER" >"$WORK/postfix/queue/etc/resolv.conf"
  for f in services hosts host.conf nsswitch.conf localtime; do
    [ -e "/etc/$f" ] && cp -L "/etc/$f" "$WORK/postfix/queue/etc/$f"
  done
  POSTFIX_OUTBOUND="relayhost =
inet_interfaces = 127.0.0.1
smtp_dns_support_level = dnssec
smtp_tls_security_level = dane
smtp_tls_loglevel = 1"
else
  POSTFIX_OUTBOUND="relayhost = [127.0.0.1]:${SINK2_ID##*-}
inet_interfaces = all
smtp_tls_security_level = $([ "$VARIANT" = starttls ] && echo encrypt || echo none)"
fi
cat >"$WORK/postfix/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $WORK/postfix/queue
data_directory = $WORK/postfix/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.test
mydestination =
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
$POSTFIX_OUTBOUND
default_destination_concurrency_limit = 20
maillog_file = $WORK/postfix/maillog
maillog_file_prefixes = /var/tmp,/tmp
smtpd_relay_restrictions = permit_mynetworks, reject
local_recipient_maps =
$POSTFIX_MILTER
CF
postfix -c "$WORK/postfix/etc" check >/dev/null 2>&1 || true
script -qec "postfix -c '$WORK/postfix/etc' start" /dev/null >/dev/null
wait_for_port 127.0.0.1 "$PPORT" 15 || { cat "$WORK/postfix/maillog" >&2; exit 1; }
MASTER=$(tr -d ' ' <"$WORK/postfix/queue/pid/master.pid")
if [ "$VARIANT" = dane-sts ]; then
  warm_up "127.0.0.1:$PPORT" "$SINK2_ID"
  # Postfix logs a DANE match as "Verified TLS connection established".
  sent=$(grep -c "to=<warmup@$BENCH_DOMAIN>, relay=$MX_HOST\[$MX_IP\]:25, .*status=sent" "$WORK/postfix/maillog" || true)
  verified=$(grep -c "Verified TLS connection established to $MX_HOST\[$MX_IP\]:25" "$WORK/postfix/maillog" || true)
  other=$(grep -Ec "(Untrusted|Anonymous|Trusted) TLS connection established|insecure|dnssec" "$WORK/postfix/maillog" || true)
  echo "Postfix warm-up: $sent sent to $MX_HOST, $verified Verified (DANE) TLS connections, $other unverified/insecure log lines"
  if [ "$sent" -ne "$WARMUP" ] || [ "$verified" -lt 1 ] || [ "$other" -ne 0 ]; then
    grep -E "warning|Verified|Untrusted|Anonymous|Trusted|status=" "$WORK/postfix/maillog" | tail -n 20 >&2
    die "Postfix did not deliver the warm-up by MX under DANE"
  fi
fi
if [ "$DKIM" != none ]; then
  [ "$VARIANT" = plain ] || [ "$DKIM_CHECK" -eq 0 ] || dkim_check_batch postfix "127.0.0.1:$PPORT" "$SINK2_ID"
  dkim_leg_start "$SINK2_ID"
  odk0=$(cpu_seconds "$OPENDKIM")
fi
# Postfix + OpenDKIM: CPU and RSS of both process trees.
run_load postfix "127.0.0.1:$PPORT" "$SINK2_ID" "$MASTER $OPENDKIM"
if [ "$DKIM" != none ]; then
  odk=$(echo "$(cpu_seconds "$OPENDKIM") - $odk0" | bc)
  echo "postfix   of which opendkim: $(echo "scale=3; $odk * 1000 / $MESSAGES" | bc) CPU-s/1000 msgs," \
    "peak RSS $(($(peak_rss_kib "$OPENDKIM") / 1024)) MiB"
  dkim_check_leg postfix "$SINK2_ID"
fi
if [ "$VARIANT" = dane-sts ]; then
  unverified=$(grep -Ec "(Untrusted|Anonymous|Trusted) TLS connection established" "$WORK/postfix/maillog" || true)
  verified=$(grep -c "Verified TLS connection established to $MX_HOST" "$WORK/postfix/maillog" || true)
  echo "Postfix over the whole run: $verified Verified (DANE) TLS connections, $unverified unverified"
  [ "$unverified" -eq 0 ] || die "Postfix made unverified TLS connections"
fi

read -r t_rate t_cpu t_rss <"$WORK/result-tlsrelay"
read -r p_rate p_cpu p_rss <"$WORK/result-postfix"
echo "ratio tlsrelay/postfix: throughput $(echo "scale=2; $t_rate / $p_rate" | bc)x," \
  "messages per CPU-second $(echo "scale=2; $p_cpu / $t_cpu" | bc)x," \
  "peak RSS $(echo "scale=2; $t_rss / $p_rss" | bc)x"
if [ "$DKIM" != none ]; then
  # One signature per message: signatures per CPU-second of the whole relay
  # (receiving, spooling, signing, delivering), beside the bare key operation.
  t_sig=$(echo "scale=1; 1000 / $t_cpu" | bc)
  p_sig=$(echo "scale=1; 1000 / $p_cpu" | bc)
  o_sig=$(echo "scale=1; $MESSAGES / $odk" | bc)
  echo "DKIM $DKIM_ALG signatures per CPU-second: tlsrelay $t_sig (whole relay), Postfix+OpenDKIM $p_sig" \
    "(opendkim's own CPU alone: $o_sig); openssl speed $OSSL_SIGN sign/s on one core;" \
    "openssl/tlsrelay $(echo "scale=2; $OSSL_SIGN / $t_sig" | bc)x"
fi
