#!/usr/bin/env bash
# The smarthost image, built from the real Dockerfile and run with podman as a user would:
# configured by TLSRELAY_* variables only, volumes on host folders, host networking, a real
# Postfix on loopback as the smarthost it relays to. Checks: the image (size, user, health
# check, stop signal, libraries), first start (relay.toml and a self-signed certificate
# written and logged), the process (PID 1, not root, only CAP_NET_BIND_SERVICE, listening on
# port 25), mail relayed to the peer, the HEALTHCHECK, and a graceful stop with mail queued
# for an unreachable peer: nothing is lost when a new container starts from the same volumes.
# Run it through scripts/container-test.sh (podman set-up, base image, CONTAINERS_CONF);
# needs root.
# Env: TLSRELAY_IMAGE (default localhost/tlsrelay:test), TLSRELAY_SKIP_BUILD=1 (use the image
# as it is), KEEP_WORK=1 (keep the temporary folder), MAX_IMAGE_MB (default 150).
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/fixtures/lib.sh
. "$SRC/tests/fixtures/lib.sh"
SINK="$SRC/tests/fixtures/postfix_sink.sh"

IMAGE=${TLSRELAY_IMAGE:-localhost/tlsrelay:test}
MAX_IMAGE_MB=${MAX_IMAGE_MB:-150}
CONFIG=/etc/tlsrelay/relay.toml

WORK=$(mktemp -d /var/tmp/tlsrelay-container.XXXXXX)
chmod 755 "$WORK"  # the Postfix peer delivers below it as user postfix
RUN_ID=$$
CONTAINERS=()

PASSED=0
FAILED=0
check() {  # check DESCRIPTION COMMAND...: one assertion
  local what=$1
  shift
  if "$@"; then
    PASSED=$((PASSED + 1))
    echo "ok - $what"
  else
    FAILED=$((FAILED + 1))
    echo "not ok - $what"
  fi
}
finish_checks() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
note() { echo "# $*"; }

cleanup() {
  local rc=$? c
  if [ $rc -ne 0 ] || [ "$FAILED" -ne 0 ]; then
    for c in "${CONTAINERS[@]}"; do
      echo "---- container $c log (tail) ----" >&2
      podman logs "$c" 2>&1 | tail -n 40 >&2 || true
    done
    [ -f "$WORK/peer/maillog" ] && { echo "---- peer maillog (tail) ----" >&2; tail -n 20 "$WORK/peer/maillog" >&2; }
  fi
  for c in "${CONTAINERS[@]}"; do podman rm -f -t 0 "$c" >/dev/null 2>&1 || true; done
  # (podman's complaints about the missing systemd, which schedules periodic health checks,
  # are in $WORK/*.err: the test runs the health check itself.)
  bash "$SINK" stop "$WORK/peer" >/dev/null 2>&1 || true
  if [ -n "${KEEP_WORK:-}" ]; then echo "# kept $WORK" >&2; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT

# ---- the image ----
if [ -z "${TLSRELAY_SKIP_BUILD:-}" ]; then
  note "podman build --pull=never --network host --format docker -t $IMAGE $SRC"
  build_start=$(date +%s)
  if ! podman build --pull=never --network host --format docker -t "$IMAGE" "$SRC" >"$WORK/build.log" 2>&1; then
    tail -n 40 "$WORK/build.log" >&2
    check "the image builds from the Dockerfile" false
    exit 1
  fi
  check "the image builds from the Dockerfile ($(($(date +%s) - build_start)) s)" true
fi

size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
size_mb=$(( (size + 500000) / 1000000 ))
echo "# image size: $size bytes ($size_mb MB)"
check "the image is at most $MAX_IMAGE_MB MB ($size_mb MB)" test "$size" -le $((MAX_IMAGE_MB * 1000000))

inspect() { podman image inspect --format "$1" "$IMAGE"; }
check "the image runs as user tlsrelay" test "$(inspect '{{.Config.User}}')" = tlsrelay:tlsrelay
check "the image has a HEALTHCHECK running tlsrelay status" \
  grep -q 'tlsrelay --config /etc/tlsrelay/relay.toml status' <<<"$(inspect '{{.Config.Healthcheck.Test}}')"
check "the stop signal is SIGTERM" test "$(inspect '{{.Config.StopSignal}}')" = SIGTERM
# shellcheck disable=SC2016 # a Go template
volumes=$(inspect '{{range $k, $v := .Config.Volumes}}{{$k}} {{end}}')
check "volumes: /etc/tlsrelay /var/lib/tlsrelay /var/spool/tlsrelay" \
  test "$volumes" = "/etc/tlsrelay /var/lib/tlsrelay /var/spool/tlsrelay "
ldd_out=$(podman run --rm --no-healthcheck --network host --entrypoint ldd "$IMAGE" /usr/local/bin/tlsrelay 2>&1 || true)
check "every shared library of the binary is in the image" \
  bash -c "grep -q 'libssl.so' <<<\"\$1\" && ! grep -q 'not found' <<<\"\$1\"" _ "$ldd_out"
check "the CA bundle is in the image" \
  podman run --rm --no-healthcheck --network host --entrypoint test "$IMAGE" -s /etc/ssl/certs/ca-certificates.crt
check "no compiler in the image" \
  bash -c "! podman run --rm --no-healthcheck --network host --entrypoint sh '$IMAGE' -c 'command -v c++ || command -v cmake || command -v setcap'"

uid=$(podman run --rm --no-healthcheck --network host --entrypoint id "$IMAGE" -u)
gid=$(podman run --rm --no-healthcheck --network host --entrypoint id "$IMAGE" -g)
check "the image's user is not root (uid $uid)" test "$uid" -ne 0

# ---- the receiving peer: a real Postfix on loopback ----
PEER_PORT=$(free_port 127.0.0.1)
bash "$SINK" start "$WORK/peer" 127.0.0.1 "$PEER_PORT" no >"$WORK/peer.out" 2>&1 \
  || { cat "$WORK/peer.out" >&2; die "the Postfix peer did not start"; }
peer_count() { bash "$SINK" count "$WORK/peer"; }
peer_has() { grep -rqF "$1" "$WORK/peer/mail/new" "$WORK/peer/mail/cur" 2>/dev/null; }

# ---- volumes, as a user would make them: host folders owned by the image's user ----
mkdir -p "$WORK/etc" "$WORK/spool" "$WORK/state" "$WORK/secrets"
chown "$uid:$gid" "$WORK/etc" "$WORK/spool" "$WORK/state"
# The admin token as a Docker/Kubernetes secret file (TLSRELAY_ADMIN_TOKEN_FILE).
ADMIN_TOKEN="container-test-token-$RUN_ID-0123456789"
printf '%s\n' "$ADMIN_TOKEN" >"$WORK/secrets/admin_token"
chmod 0444 "$WORK/secrets/admin_token"

RELAY_PORT=$(free_port 127.0.0.1)
ADMIN_PORT=$(free_port 127.0.0.1)
# Port 25 on an otherwise unused loopback address (every 127.x address binds on Linux).
for _ in $(seq 1 50); do
  PORT25_IP="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).25"
  port_open "$PORT25_IP" 25 || break
done
HOSTNAME_TLS=relay.container.test

run_relay() {  # run_relay NAME: a detached container on the three volumes
  local name=$1
  CONTAINERS+=("$name")
  podman run -d --name "$name" --network host \
    -e TLSRELAY_HOSTNAME="$HOSTNAME_TLS" \
    -e TLSRELAY_LISTEN="127.0.0.1:$RELAY_PORT,$PORT25_IP:25" \
    -e TLSRELAY_RELAY_NETWORKS=127.0.0.0/8 \
    -e TLSRELAY_SMARTHOST="127.0.0.1:$PEER_PORT" \
    -e TLSRELAY_ADMIN_LISTEN="127.0.0.1:$ADMIN_PORT" \
    -e TLSRELAY_ADMIN_TOKEN_FILE=/run/secrets/admin_token \
    -v "$WORK/secrets/admin_token:/run/secrets/admin_token:ro" \
    -v "$WORK/etc:/etc/tlsrelay" \
    -v "$WORK/spool:/var/spool/tlsrelay" \
    -v "$WORK/state:/var/lib/tlsrelay" \
    "$IMAGE" >"$WORK/$name.id" 2>"$WORK/$name.podman.err"
}
relay_cli() {  # relay_cli NAME ARGS...: tlsrelay inside the container
  local name=$1
  shift
  podman exec "$name" tlsrelay --config "$CONFIG" "$@"
}
send() {  # send TOKEN: one message through the container's listener; true on 250
  swaks --silent 2 --server "127.0.0.1:$RELAY_PORT" --from app@example.test --to "user@peer.example" \
    --header "Subject: container test $1" --body "token $1" >>"$WORK/swaks.log" 2>&1
}
healthy() {  # healthy NAME: podman healthcheck run succeeds and the container is "healthy"
  podman healthcheck run "$1" 2>>"$WORK/podman.err" \
    && test "$(podman inspect --format '{{.State.Health.Status}}' "$1")" = healthy
}
host_pid() { podman inspect --format '{{.State.Pid}}' "$1"; }
queued() { relay_cli "$1" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["queued_messages"])'; }
stop_relay() {  # stop_relay NAME: podman stop (SIGTERM, then SIGKILL after 30 s); prints seconds
  local start
  start=$(date +%s)
  podman stop -t 30 "$1" >/dev/null 2>>"$WORK/podman.err"
  echo $(($(date +%s) - start))
}

# ---- first start ----
C1=tlsrelay-ct1-$RUN_ID
run_relay "$C1"
up=no
wait_for_port 127.0.0.1 "$RELAY_PORT" 30 && up=yes
check "the container listens on 127.0.0.1:$RELAY_PORT" test "$up" = yes
[ "$up" = yes ] || exit 1
log1=$(podman logs "$C1" 2>&1)
check "first start: the log says relay.toml was written from the environment" \
  grep -q '"msg":"first start: wrote /etc/tlsrelay/relay.toml from the TLSRELAY_\* environment variables"' <<<"$log1"
check "first start: the log says a self-signed certificate was written" \
  grep -q '"msg":"first start: no certificate at /etc/tlsrelay/tls/server.pem, wrote a self-signed one for relay.container.test' <<<"$log1"
check "first start: relay.toml is in the /etc/tlsrelay volume" test -s "$WORK/etc/relay.toml"
check "relay.toml has the smarthost" grep -q "^smarthost = \"127.0.0.1:$PEER_PORT\"$" "$WORK/etc/relay.toml"
check "first start: the certificate and key are in the volume" \
  test -s "$WORK/etc/tls/server.pem" -a -s "$WORK/etc/tls/server.key"
check "the key is mode 0600" test "$(stat -c %a "$WORK/etc/tls/server.key")" = 600
check "the admin token (from TLSRELAY_ADMIN_TOKEN_FILE) is in the state volume, mode 0600" \
  bash -c "test \"\$(cat '$WORK/state/admin.token')\" = '$ADMIN_TOKEN' && test \"\$(stat -c %a '$WORK/state/admin.token')\" = 600"
check "the token is not in relay.toml or the log" \
  bash -c "! grep -qF '$ADMIN_TOKEN' '$WORK/etc/relay.toml' && ! podman logs '$C1' 2>&1 | grep -qF '$ADMIN_TOKEN'"
check "every log line is JSON" python3 -c '
import json, sys
lines = [l for l in sys.stdin.read().splitlines() if l.strip()]
assert lines, "no log"
for l in lines: json.loads(l)' <<<"$log1"
cert_sha=$(sha256sum "$WORK/etc/tls/server.pem" | cut -d' ' -f1)

# ---- the process ----
pid=$(host_pid "$C1")
check "PID 1 in the container is tlsrelay serve" \
  bash -c "podman exec '$C1' cat /proc/1/cmdline | tr '\0' ' ' | grep -qx 'tlsrelay --config /etc/tlsrelay/relay.toml serve '"
proc_uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
check "the relay process is not root (uid $proc_uid)" test "$proc_uid" -eq "$uid" -a "$proc_uid" -ne 0
capeff=$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")
check "its only capability is CAP_NET_BIND_SERVICE (CapEff $capeff)" test "$capeff" = 0000000000000400
check "it listens on port 25 ($PORT25_IP:25)" wait_for_port "$PORT25_IP" 25 5
check "podman top: user tlsrelay" bash -c "podman top '$C1' user | tail -n +2 | grep -qx 'tlsrelay'"
check "HEALTHCHECK passes (podman healthcheck run)" healthy "$C1"
tls_out=$( (sleep 1; printf 'QUIT\r\n'; sleep 1) | timeout 10 openssl s_client -starttls smtp \
  -connect "127.0.0.1:$RELAY_PORT" -CAfile "$WORK/etc/tls/server.pem" -verify_hostname "$HOSTNAME_TLS" -ign_eof 2>&1 || true)
check "STARTTLS with the first-start certificate verifies" grep -q 'Verify return code: 0 (ok)' <<<"$tls_out"
metrics=$(curl -s -H "Authorization: Bearer $ADMIN_TOKEN" "http://127.0.0.1:$ADMIN_PORT/metrics" || true)
check "the admin endpoint answers with the token" grep -q '^tlsrelay_queue_size' <<<"$metrics"

# ---- relaying to the peer ----
T1="t1-$RUN_ID-$RANDOM"
check "swaks: the relay accepts a message" send "$T1"
wait_for_count peer_count 1 30 >/dev/null || true
check "the message arrived at the Postfix peer" peer_has "$T1"

# ---- mail queued while the peer is down, then a graceful stop ----
bash "$SINK" stop "$WORK/peer"
check "the peer is down" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$PEER_PORT) 2>/dev/null"
T2="t2-$RUN_ID-$RANDOM"
check "swaks: the relay accepts a message while the peer is down" send "$T2"
wait_for_count "queued $C1" 1 10 >/dev/null || true
q=$(queued "$C1" 2>/dev/null || echo "?")
check "the message is queued (status: $q queued)" test "$q" = 1
# Give the delivery attempt time to fail (connection refused) and be deferred.
sleep 2
check "the message is in the spool volume" grep -rqF "$T2" "$WORK/spool"
secs=$(stop_relay "$C1")
code=$(podman inspect --format '{{.State.ExitCode}}' "$C1")
check "podman stop (SIGTERM): the container exited with 0 after ${secs} s (not killed)" \
  test "$code" = 0 -a "$secs" -lt 30
check "the relay logged draining and a clean stop" \
  bash -c "podman logs '$C1' 2>&1 | grep -q '\"msg\":\"draining' && podman logs '$C1' 2>&1 | grep -q '\"msg\":\"tlsrelay stopped\"'"
check "after the stop the message is still in the spool volume" grep -rqF "$T2" "$WORK/spool"
check "no delivery happened while the peer was down" test "$(peer_count)" = 1

# ---- a new container from the same volumes, the peer back ----
bash "$SINK" start "$WORK/peer" 127.0.0.1 "$PEER_PORT" no >"$WORK/peer2.out" 2>&1 \
  || { cat "$WORK/peer2.out" >&2; die "the Postfix peer did not start again"; }
C2=tlsrelay-ct2-$RUN_ID
run_relay "$C2"
up=no
wait_for_port 127.0.0.1 "$RELAY_PORT" 30 && up=yes
check "the second container listens" test "$up" = yes
log2=$(podman logs "$C2" 2>&1)
check "second start: relay.toml is the generated one, made again (not a first start)" \
  bash -c "grep -q 'made /etc/tlsrelay/relay.toml again' <<<\"\$1\" && ! grep -q 'first start' <<<\"\$1\"" _ "$log2"
check "second start: the certificate is kept" test "$(sha256sum "$WORK/etc/tls/server.pem" | cut -d' ' -f1)" = "$cert_sha"
check "HEALTHCHECK passes in the second container" healthy "$C2"
delivered=$(wait_for_count peer_count 2 15) || true
if [ "$delivered" -lt 2 ]; then
  # The deferred message waits for its next attempt ([retry] initial = 5m); an operator
  # would flush the queue, so does the test.
  note "not delivered within 15 s of the restart (next attempt per [retry]): tlsrelay queue flush"
  note "queue flush: $(relay_cli "$C2" queue flush 2>&1 || true)"
  delivered=$(wait_for_count peer_count 2 30) || true
else
  note "delivered within 15 s of the restart without a flush"
fi
check "the message queued before the stop arrived at the peer" peer_has "$T2"
check "exactly two messages arrived (none lost, none twice)" test "$(peer_count)" = 2
for _ in $(seq 1 30); do [ "$(queued "$C2" 2>/dev/null)" = 0 ] && break; sleep 0.5; done
check "the queue is empty" test "$(queued "$C2" 2>/dev/null || echo '?')" = 0
secs=$(stop_relay "$C2")
check "the second container stops cleanly (exit $(podman inspect --format '{{.State.ExitCode}}' "$C2"), ${secs} s)" \
  test "$(podman inspect --format '{{.State.ExitCode}}' "$C2")" = 0

# ---- the open-relay warning behind NAT: a relay network holding the default gateway ----
gw_hex=$(awk '$2 == "00000000" && $8 == "00000000" && $3 != "00000000" { print $3; exit }' /proc/net/route)
if [ -n "$gw_hex" ]; then
  gw=$(printf '%d.%d.%d.%d' "0x${gw_hex:6:2}" "0x${gw_hex:4:2}" "0x${gw_hex:2:2}" "0x${gw_hex:0:2}")
  warn=$(podman run --rm --no-healthcheck --network host -e TLSRELAY_RELAY_NETWORKS="$gw/24" \
    -e TLSRELAY_POLICY_DIR=/tmp/policy.d -e TLSRELAY_SPOOL_DIR=/tmp/spool \
    -e TLSRELAY_TLS_CERT=/tmp/tls.pem -e TLSRELAY_TLS_KEY=/tmp/tls.key --entrypoint sh "$IMAGE" -c \
    'mkdir -p /tmp/policy.d && tlsrelay cert selfsigned --host gw.test --cert /tmp/tls.pem --key /tmp/tls.key >/dev/null &&
     tlsrelay config from-env --output /tmp/relay.toml --secrets-dir /tmp/secrets 2>/dev/null &&
     tlsrelay --config /tmp/relay.toml check-config' 2>&1 || true)
  check "check-config in the container warns that $gw/24 holds the default gateway" \
    grep -q "warning: \[\[source\]\] .* contains $gw, this machine's default gateway" <<<"$warn"
else
  note "no default route here: the gateway warning is not exercised"
fi

# ---- a hand-written relay.toml wins over the variables ----
C3=tlsrelay-ct3-$RUN_ID
cp "$WORK/etc/relay.toml" "$WORK/relay.generated"
sed -e '1,/^$/d' "$WORK/relay.generated" >"$WORK/etc/relay.toml"  # the generated header removed
echo "# written by hand" >>"$WORK/etc/relay.toml"
hand_sha=$(sha256sum "$WORK/etc/relay.toml" | cut -d' ' -f1)
run_relay "$C3"
wait_for_port 127.0.0.1 "$RELAY_PORT" 30 || true
check "a hand-written relay.toml is used as it is (logged, file unchanged)" \
  bash -c "podman logs '$C3' 2>&1 | grep -q 'using /etc/tlsrelay/relay.toml as it is' && test \"\$(sha256sum '$WORK/etc/relay.toml' | cut -d' ' -f1)\" = '$hand_sha'"
stop_relay "$C3" >/dev/null

finish_checks
