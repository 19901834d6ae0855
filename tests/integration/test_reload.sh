#!/usr/bin/env bash
# SIGHUP reloads [dns] and [mta_sts] without a restart and without dropping a
# connection: a relay started with resolvers nobody answers defers mail to
# example.test; after the file names the real (private DNSSEC) resolver and
# SIGHUP, the same process delivers it to a real Postfix over STARTTLS. An
# SMTP session opened before the reload finishes its transaction after it.
# MTA-STS turned on by a reload shows up in /metrics; turned off, it goes.
set -euo pipefail
. "$(dirname "$0")/relay_env.sh"

start_dns
make_certs relay.test mx1.example.test
ensure_loopback_address 127.0.1.1
start_postfix sink 127.0.1.1 25 yes "$WORK/ca/mx1.example.test.pem" "$WORK/ca/mx1.example.test.key"
PORT=$(free_port 127.0.0.1)
ADMIN_PORT=$(free_port 127.0.0.1)
DEAD_DNS_PORT=$(free_port 127.0.0.1)  # nothing answers there
write_config() {  # write_config RESOLVER MTA_STS_ENABLED
  cat >"$WORK/relay.toml" <<T
[server]
hostname = "relay.test"

[[listener]]
address = "127.0.0.1:$PORT"

[spool]
directory = "$WORK/spool"

[dns]
resolvers = ["$1"]

[mta_sts]
enabled = $2

[policy]
ca_bundle = "$CA"

[retry]
initial = "1h"

[admin]
listen = "127.0.0.1:$ADMIN_PORT"

[accounting]
directory = "$WORK/acct"
T
}
write_config "127.0.0.1:$DEAD_DNS_PORT" false
check "check-config accepts the first configuration" "$TLSRELAY_BIN" --config "$WORK/relay.toml" check-config
start_relay relay "$WORK/relay.toml"
PID=$RELAY_PID
metrics() { curl -s "http://127.0.0.1:$ADMIN_PORT/metrics"; }

echo "# before the reload: DNS does not answer"
check "swaks submits to user@example.test" \
  swaks --silent 2 --server "127.0.0.1:$PORT" --from sender@example.test --to user@example.test
check_acct "accounting: deferred while DNS does not answer" user@example.test result=deferred
check "no MTA-STS metrics while it is off" bash -c "! curl -s 'http://127.0.0.1:$ADMIN_PORT/metrics' | grep -q '^tlsrelay_mta_sts_lookups_total'"

echo "# an SMTP session open across the reload"
exec 7<>"/dev/tcp/127.0.0.1/$PORT"
read -r -t 5 banner <&7
check "the held session got the banner" grep -q '^220' <<<"$banner"
printf 'EHLO held.test\r\n' >&7
while read -r -t 5 line <&7; do [[ $line == 250\ * ]] && break; done

write_config "$DNS_RESOLVER_ADDR:$DNS_PORT" true
kill -HUP "$PID"
check "the reload is logged" wait_for_count "grep -c 'configuration reloaded' '$WORK/relay.log'" 1 10
check "[dns] reloaded is logged" grep -q '\[dns\] reloaded' "$WORK/relay.log"
check "[mta_sts] reloaded is logged" grep -q '\[mta_sts\] reloaded' "$WORK/relay.log"
check "the same process runs" pid_alive "$PID"

held_transaction() {
  printf 'MAIL FROM:<sender@example.test>\r\nRCPT TO:<held@example.test>\r\nDATA\r\n' >&7
  local got="" line
  for _ in 1 2 3; do read -r -t 5 line <&7 && got+="$line"$'\n'; done
  printf 'Subject: held across the reload\r\n\r\nbody\r\n.\r\n' >&7
  read -r -t 10 line <&7 && got+="$line"$'\n'
  printf 'QUIT\r\n' >&7
  grep -c '^250 \|^354 ' <<<"$got"
}
check "the session opened before the reload completes its transaction" test "$(held_transaction)" = 4
exec 7>&-

echo "# after the reload: the new resolver delivers"
"$TLSRELAY_BIN" --config "$WORK/relay.toml" queue flush >/dev/null
check "both messages reach the Postfix" wait_for_count "postfix_count sink" 2 30
check_acct "accounting: user@example.test delivered after the reload" user@example.test result=delivered
check_acct "accounting: held@example.test delivered" held@example.test result=delivered
check "MTA-STS metrics appear once it is on" bash -c "curl -s 'http://127.0.0.1:$ADMIN_PORT/metrics' | grep -q '^tlsrelay_mta_sts_lookups_total'"

write_config "$DNS_RESOLVER_ADDR:$DNS_PORT" false
kill -HUP "$PID"
check "the second reload is logged" wait_for_count "grep -c 'configuration reloaded' '$WORK/relay.log'" 2 10
check "[mta_sts] off is logged" grep -q 'MTA-STS is off' "$WORK/relay.log"
check "MTA-STS metrics gone once it is off" bash -c "! curl -s 'http://127.0.0.1:$ADMIN_PORT/metrics' | grep -q '^tlsrelay_mta_sts_lookups_total'"
check "swaks submits once more" swaks --silent 2 --server "127.0.0.1:$PORT" --from sender@example.test --to third@example.test
check "and it is delivered with MTA-STS off" wait_for_count "postfix_count sink" 3 30
stop_relay "$PID"
check "the relay drains and exits" bash -c "! kill -0 $PID 2>/dev/null"
finish_checks
