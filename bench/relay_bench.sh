#!/usr/bin/env bash
# Relay throughput benchmark: smtp-source → relay → receiver on loopback, once
# through tlsrelay and once through a private Postfix configured the same way
# (durable queue on the same disk), in the same run. Prints messages/s,
# CPU-seconds per 1,000 messages and peak RSS for both, and the ratios. Not a
# test: numbers go into bench/README.md and the issue notes.
#
#   bench/relay_bench.sh [--messages N] [--size BYTES] [--sessions S] [--variant plain|starttls|dane-sts]
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
WARMUP=50  # dane-sts: messages sent through each relay before measuring
while [ $# -gt 0 ]; do
  case $1 in
    --messages) MESSAGES=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --sessions) SESSIONS=$2; shift 2 ;;
    --variant) VARIANT=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
case $VARIANT in plain | starttls | dane-sts) ;; *) echo "unknown variant $VARIANT" >&2; exit 2 ;; esac

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
cleanup() {
  local c
  for c in "${CLEANUP_POSTFIX[@]}"; do postfix -c "$c" stop >/dev/null 2>&1 || true; done
  for c in "${SINK_DIRS[@]}"; do rm -rf "$c"; done
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  [ -f "$WORK/postfix/queue/pid/master.pid" ] && postfix -c "$WORK/postfix/etc" stop >/dev/null 2>&1 || true
  for c in "${CLEANUP_CMDS[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
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

run_load() {  # run_load NAME HOST:PORT SINK_ID PID → prints one result line
  local name=$1 target=$2 sink=$3 pid=$4 start end cpu0 cpu1 count conn0=0 conns=""
  [ "$VARIANT" = plain ] || conn0=$(tls_sink_connections "$sink")
  cpu0=$(cpu_seconds "$pid")
  start=$(date +%s.%N)
  smtp-source -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f bench@bench.test -t "$RCPT" "$target"
  count=$(wait_counted "$sink" "$MESSAGES" 600)
  end=$(date +%s.%N)
  cpu1=$(cpu_seconds "$pid")
  local secs rate cpu per1k rss
  secs=$(echo "$end - $start" | bc)
  rate=$(echo "scale=1; ${count:-0} / $secs" | bc)
  cpu=$(echo "$cpu1 - $cpu0" | bc)
  per1k=$(echo "scale=3; $cpu * 1000 / $MESSAGES" | bc)
  rss=$(peak_rss_kib "$pid")
  # How many SMTP connections carried the load (connection reuse), read after the clock stopped.
  [ "$VARIANT" = plain ] || conns="  $(($(tls_sink_connections "$sink") - conn0)) connections"
  printf '%-9s delivered=%s in %.2fs  %s msgs/s  %s CPU-s/1000 msgs  peak RSS %s MiB%s\n' \
    "$name" "$count" "$secs" "$rate" "$per1k" "$((rss / 1024))" "$conns"
  echo "$rate $per1k $rss" >"$WORK/result-$name"
  rebase "$sink"
  return 0
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

echo "variant=$VARIANT messages=$MESSAGES size=$SIZE sessions=$SESSIONS cores=$(nproc) tlsrelay=$BIN"

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
  plain) SINK1=$(free_port); start_sink "$SINK1"; RECEIVER=127.0.0.1:$SINK1; SINK_ID=$SINK1 ;;
  starttls) P=$(free_port); start_tls_sink 127.0.0.1 "$P" sink.bench.test; RECEIVER=127.0.0.1:$P; SINK_ID=127.0.0.1-$P ;;
  dane-sts)
    port_open "$MX_IP" 25 && die "$MX_IP:25 is already in use"
    start_tls_sink "$MX_IP" 25 "$MX_HOST"; RECEIVER=$MX_IP:25; SINK_ID=$MX_IP-25 ;;
esac
if [ "$VARIANT" != plain ]; then
  # The receiver alone: plaintext smtp-source straight into it (its ceiling).
  run_load receiver "$RECEIVER" "$SINK_ID" "$(tr -d ' ' </dev/shm/tlsrelay-bench-sink-"$SINK_ID"/queue/pid/master.pid)"
fi

# --- tlsrelay ---------------------------------------------------------------
RPORT=$(free_port)
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
"$BIN" --config "$WORK/relay.toml" serve 2>"$WORK/relay.log" &
RELAY=$!
PIDS+=("$RELAY")
wait_for_port 127.0.0.1 "$RPORT" 10
if [ "$VARIANT" = dane-sts ]; then
  warm_up "127.0.0.1:$RPORT" "$SINK_ID"
  check_dane_rows "warmup@$BENCH_DOMAIN" "$WARMUP"
  fetched=$(grep -c "^mta-sts.$BENCH_DOMAIN 200 " "$WORK/sts/nginx/access.log" || true)
  [ "$fetched" -ge 1 ] || die "tlsrelay never fetched the MTA-STS policy"
  "$BIN" --config "$WORK/relay.toml" policy explain "$BENCH_DOMAIN" >"$WORK/explain.txt" 2>&1 || true
  echo "tlsrelay fetched the MTA-STS policy ($fetched fetch(es)); policy explain $BENCH_DOMAIN:"
  sed 's/^/  /' "$WORK/explain.txt"
fi
run_load tlsrelay "127.0.0.1:$RPORT" "$SINK_ID" "$RELAY"
[ "$VARIANT" = dane-sts ] && check_dane_rows "$RCPT" "$MESSAGES"
kill -TERM "$RELAY"; wait "$RELAY" 2>/dev/null || true

# --- Postfix ----------------------------------------------------------------
PPORT=$(free_port)
SINK2_ID=$SINK_ID
if [ "$VARIANT" = plain ]; then SINK2_ID=$(free_port); start_sink "$SINK2_ID"; fi
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
run_load postfix "127.0.0.1:$PPORT" "$SINK2_ID" "$MASTER"
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
