#!/usr/bin/env bash
# Durability under kill -9: while 2,000 tagged messages are being submitted,
# the relay is killed with SIGKILL several times and restarted on the same
# spool. Afterwards every message that was acknowledged with 250 must have
# reached the sink (smtp-sink dumps each delivered message to a file).
set -euo pipefail
. "$(dirname "$0")/relay_env.sh"

COUNT=${CRASH_TEST_MESSAGES:-2000}
PORT=$(free_port 127.0.0.1)
SINK_PORT=$(free_port 127.0.0.1)
mkdir -p "$WORK/sink" "$WORK/acct"
chown postfix "$WORK/sink" 2>/dev/null || true
# smtp-sink writes every transaction to its own file under sink/.
smtp-sink -u postfix -d "$WORK/sink/%Y%m%d%H%M%S." -c 127.0.0.1:$SINK_PORT 256 >"$WORK/sink.log" 2>&1 &
SINK_PID=$!
CLEANUP_CMDS+=("kill $SINK_PID")
wait_for_port 127.0.0.1 "$SINK_PORT" 10 || die "smtp-sink did not start"

cat >"$WORK/relay.toml" <<T
[server]
hostname = "relay.test"
[[listener]]
address = "127.0.0.1:$PORT"
tls = "starttls"
[spool]
directory = "$WORK/spool"
[dns]
resolvers = ["127.0.0.1:53"]
[delivery]
smarthost = "[127.0.0.1]:$SINK_PORT"
[retry]
initial = "1s"
max_interval = "2s"
[accounting]
directory = "$WORK/acct"
T

start_relay relay "$WORK/relay.toml"
: >"$WORK/acked"
/usr/bin/python3 "$TLSRELAY_SOURCE_DIR/tests/tools/tagged_sender.py" --port "$PORT" --count "$COUNT" \
  --acked "$WORK/acked" --deadline 600 &
SENDER=$!

# Kill at fixed points of progress (acknowledged messages), not at fixed
# times, so a fast machine cannot finish the load between two kills.
kills=0
for threshold in 250 600 950 1300 1650; do
  [ "$threshold" -lt "$COUNT" ] || break
  while pid_alive "$SENDER" && [ "$(wc -l <"$WORK/acked")" -lt "$threshold" ]; do sleep 0.02; done
  pid_alive "$SENDER" || break
  kill -KILL "$RELAY_PID"
  wait "$RELAY_PID" 2>/dev/null || true
  kills=$((kills + 1))
  start_relay relay "$WORK/relay.toml"
done
wait "$SENDER"
echo "relay killed $kills times; $(wc -l <"$WORK/acked") messages acknowledged"

delivered_tags() { cat "$WORK"/sink/* 2>/dev/null | sed -n 's/^X-Test-Tag: \(crash-[0-9]*\).*/\1/p' | sort -u; }
acked_count=$(sort -u "$WORK/acked" | wc -l)
for _ in $(seq 1 120); do
  missing=$(comm -23 <(sort -u "$WORK/acked") <(delivered_tags) | wc -l)
  [ "$missing" -eq 0 ] && break
  sleep 1
done
missing_list=$(comm -23 <(sort -u "$WORK/acked") <(delivered_tags) | head -n 5)
check "relay was killed at least 3 times" test "$kills" -ge 3
check "all $COUNT messages were acknowledged eventually" test "$acked_count" -eq "$COUNT"
check "every acknowledged message was delivered (missing: ${missing_list:-none})" test -z "$missing_list"
check "no spool file was quarantined" bash -c "[ -z \"\$(ls -A '$WORK/spool/quarantine' 2>/dev/null)\" ]"
echo "delivered distinct: $(delivered_tags | wc -l), dumps: $(ls "$WORK/sink" | wc -l)"
finish_checks
