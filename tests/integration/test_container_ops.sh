#!/usr/bin/env bash
# The commands the smarthost container's entrypoint and HEALTHCHECK run,
# against the real binary: `cert selfsigned` makes a certificate the relay
# then serves STARTTLS with; `config from-env` makes a relay.toml it starts
# from, with the smarthost password only in the secret file; `status` answers
# while it runs, says "draining" while it drains, and fails once it is gone;
# check-config warns when a relay network holds the default gateway.
set -euo pipefail
. "$(dirname "$0")/relay_env.sh"

PORT=$(free_port 127.0.0.1)
mkdir -p "$WORK/policy.d"
CERT="$WORK/tls/server.pem"
KEY="$WORK/tls/server.key"

"$TLSRELAY_BIN" cert selfsigned --host relay.test --san 127.0.0.1 --cert "$CERT" --key "$KEY" --days 30 \
  >"$WORK/cert.out" 2>&1 || { cat "$WORK/cert.out" >&2; die "cert selfsigned failed"; }
check "cert selfsigned: key file is mode 0600" test "$(stat -c %a "$KEY")" = 600
check "cert selfsigned: the certificate verifies against itself" \
  openssl verify -purpose sslserver -CAfile "$CERT" "$CERT"
check "cert selfsigned: a second run keeps the files" \
  bash -c "! '$TLSRELAY_BIN' cert selfsigned --host relay.test --cert '$CERT' --key '$KEY' 2>/dev/null"
"$TLSRELAY_BIN" cert request --host relay.test --san mx.relay.test --key "$WORK/req.key" --csr "$WORK/req.csr" \
  >/dev/null
check "cert request: the CSR verifies" bash -c "openssl req -verify -noout -in '$WORK/req.csr' 2>&1 | grep -q 'verify OK'"

from_env() {  # from_env OUTPUT [VAR=VALUE]...
  local out=$1
  shift
  env -u TLSRELAY_BIN -u TLSRELAY_SOURCE_DIR TLSRELAY_HOSTNAME=relay.test TLSRELAY_LISTEN="127.0.0.1:$PORT" \
    TLSRELAY_TLS_CERT="$CERT" TLSRELAY_TLS_KEY="$KEY" TLSRELAY_SPOOL_DIR="$WORK/spool" \
    TLSRELAY_POLICY_DIR="$WORK/policy.d" "$@" \
    "$TLSRELAY_BIN" config from-env --output "$out" --secrets-dir "$WORK/secrets"
}
from_env "$WORK/relay.toml" TLSRELAY_SMARTHOST=127.0.0.1:1 TLSRELAY_SMARTHOST_TLS=implicit \
  TLSRELAY_SMARTHOST_USER=relayuser TLSRELAY_SMARTHOST_PASSWORD='s3cret"pw' >"$WORK/from-env.out" 2>&1 \
  || { cat "$WORK/from-env.out" >&2; die "config from-env failed"; }
check "config from-env: relay.toml is mode 0640" test "$(stat -c %a "$WORK/relay.toml")" = 640
check "config from-env: the password is not in relay.toml" bash -c "! grep -q s3cret '$WORK/relay.toml'"
check "config from-env: the password is not in its output" bash -c "! grep -q s3cret '$WORK/from-env.out'"
check "config from-env: the auth file is mode 0600" test "$(stat -c %a "$WORK/secrets/smarthost.auth")" = 600
check "config from-env: the auth file holds user:password" \
  test "$(cat "$WORK/secrets/smarthost.auth")" = 'relayuser:s3cret"pw'
check "config from-env: a bad variable is named" \
  bash -c "TLSRELAY_RELAY_NETWORKS=10.0.0.0/33 '$TLSRELAY_BIN' config from-env 2>&1 >/dev/null | grep -q '^config from-env: TLSRELAY_RELAY_NETWORKS: bad network'"
check "check-config accepts the generated file" "$TLSRELAY_BIN" --config "$WORK/relay.toml" check-config

check "status fails while no daemon runs" bash -c "! '$TLSRELAY_BIN' --config '$WORK/relay.toml' status 2>/dev/null"
start_relay relay "$WORK/relay.toml"
status_out=$("$TLSRELAY_BIN" --config "$WORK/relay.toml" status) || status_out="exit $?"
check "status: running" grep -q '^state: *running$' <<<"$status_out"
check "status: the listener" grep -q "^listening: 127.0.0.1:$PORT (starttls)$" <<<"$status_out"
check "status: the queue" grep -q '^queued: *0 message(s)$' <<<"$status_out"
json=$("$TLSRELAY_BIN" --config "$WORK/relay.toml" status --json)
check "status --json" python3 -c "
import json, sys
s = json.loads(sys.argv[1])
assert s['state'] == 'running' and s['hostname'] == 'relay.test', s
assert s['listeners'] == [{'address': '127.0.0.1:$PORT', 'tls': 'starttls'}], s
assert s['uptime_seconds'] >= 0 and s['queued_messages'] == 0, s" "$json"

out=$( (sleep 1; printf "QUIT\r\n"; sleep 1) | timeout 10 openssl s_client -starttls smtp -connect "127.0.0.1:$PORT" \
  -CAfile "$CERT" -verify_hostname relay.test -ign_eof 2>&1 || true)
check "STARTTLS with the self-signed certificate verifies" grep -q 'Verify return code: 0 (ok)' <<<"$out"

# An open SMTP session holds the drain open (up to 10 s): status says so.
exec 7<>"/dev/tcp/127.0.0.1/$PORT"
head -n1 <&7 >/dev/null
kill -TERM "$RELAY_PID"
sleep 0.5
status_out=$("$TLSRELAY_BIN" --config "$WORK/relay.toml" status 2>&1) || status_out="exit $?"
check "status: draining while a session is open" grep -q '^state: *draining' <<<"$status_out"
check "status: a draining daemon listens nowhere" grep -q '^listening: none$' <<<"$status_out"
check "a draining daemon refuses queue flush" \
  bash -c "'$TLSRELAY_BIN' --config '$WORK/relay.toml' queue flush | grep -q draining"
exec 7>&-
wait "$RELAY_PID" || true
check "status fails once the daemon is gone" \
  bash -c "! '$TLSRELAY_BIN' --config '$WORK/relay.toml' status 2>/dev/null"

# The default gateway inside a relay network: check-config warns.
gw_hex=$(awk '$2 == "00000000" && $8 == "00000000" && $3 != "00000000" { print $3; exit }' /proc/net/route)
if [ -n "$gw_hex" ]; then
  gw=$(printf '%d.%d.%d.%d' "0x${gw_hex:6:2}" "0x${gw_hex:4:2}" "0x${gw_hex:2:2}" "0x${gw_hex:0:2}")
  from_env "$WORK/open.toml" TLSRELAY_RELAY_NETWORKS="$gw/24" >/dev/null 2>&1
  warn=$("$TLSRELAY_BIN" --config "$WORK/open.toml" check-config)
  check "check-config warns about the gateway $gw" grep -q "warning: \[\[source\]\] .* contains $gw, this machine's default gateway" <<<"$warn"
  from_env "$WORK/closed.toml" TLSRELAY_RELAY_NETWORKS=198.51.100.0/24 >/dev/null 2>&1
  check "check-config is quiet without the gateway" \
    bash -c "! '$TLSRELAY_BIN' --config '$WORK/closed.toml' check-config | grep -q 'default gateway'"
else
  echo "ok - no default route here: gateway warning not exercised"
fi
finish_checks
