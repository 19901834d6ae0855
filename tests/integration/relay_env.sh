# Shared setup for the relay's integration tests (sourced, not run): a private
# DNSSEC hierarchy (nsd + unbound), a test CA, receiving Postfix instances and
# helpers to start tlsrelay with a generated relay.toml. Everything on loopback;
# everything torn down by `relay_env_cleanup` (installed as an EXIT trap).
: "${TLSRELAY_SOURCE_DIR:?}" "${TLSRELAY_BIN:?}"
. "$TLSRELAY_SOURCE_DIR/tests/fixtures/lib.sh"

WORK=$(mktemp -d /tmp/tlsrelay-it.XXXXXX)
chmod 755 "$WORK"  # Postfix and smtp-sink run as user postfix below it
CLEANUP_CMDS=()
RELAY_PIDS=()

relay_env_cleanup() {
  local rc=$?
  for pid in "${RELAY_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  local i
  for ((i = ${#CLEANUP_CMDS[@]} - 1; i >= 0; i--)); do eval "${CLEANUP_CMDS[$i]}" >/dev/null 2>&1 || true; done
  if [ $rc -ne 0 ]; then
    echo "---- failure: relay logs (tail) ----" >&2
    for f in "$WORK"/relay*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -n 40 "$f" >&2; }; done
  fi
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
  exit $rc
}
trap relay_env_cleanup EXIT

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
    echo "not ok - $what" >&2
  fi
}
finish_checks() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

start_dns() {
  bash "$TLSRELAY_SOURCE_DIR/tests/fixtures/dns_fixture.sh" start "$WORK/dns" >"$WORK/dns.out" 2>&1 \
    || { cat "$WORK/dns.out" >&2; die "dns fixture failed"; }
  CLEANUP_CMDS+=("bash '$TLSRELAY_SOURCE_DIR/tests/fixtures/dns_fixture.sh' stop '$WORK/dns'")
  . "$WORK/dns/dns.env"
}

make_certs() {  # make_certs HOST...
  bash "$TLSRELAY_SOURCE_DIR/tests/fixtures/test_ca.sh" "$WORK/ca" "$@" >/dev/null 2>&1 || die "test CA failed"
  CA="$WORK/ca/ca.pem"
}

start_postfix() {  # start_postfix NAME IP PORT yes|no [CERT KEY]
  local name=$1
  shift
  # One retry: a Postfix of the previous test on the same address may still be
  # exiting (its master lingers ~1 s after stop).
  bash "$TLSRELAY_SOURCE_DIR/tests/fixtures/postfix_sink.sh" start "$WORK/$name" "$@" >"$WORK/$name.out" 2>&1 \
    || { sleep 2; bash "$TLSRELAY_SOURCE_DIR/tests/fixtures/postfix_sink.sh" start "$WORK/$name" "$@" >>"$WORK/$name.out" 2>&1; } \
    || { cat "$WORK/$name.out" >&2; die "postfix $name failed to start"; }
  CLEANUP_CMDS+=("bash '$TLSRELAY_SOURCE_DIR/tests/fixtures/postfix_sink.sh' stop '$WORK/$name'")
}

postfix_count() { count_maildir "$WORK/$1/mail"; }

# start_relay NAME CONFIG_FILE: runs `tlsrelay serve` in the background, waits
# for its first listener. Sets RELAY_PID. RELAY_WRAPPER (words) runs before the
# binary, e.g. "faketime -f +1d" for a relay living on the next day.
start_relay() {
  local name=$1 config=$2 addr port
  # shellcheck disable=SC2086
  ${RELAY_WRAPPER:-} "$TLSRELAY_BIN" --config "$config" serve >>"$WORK/$name.log" 2>&1 &
  RELAY_PID=$!
  RELAY_PIDS+=("$RELAY_PID")
  addr=$(sed -n 's/^address = "\(.*\):\([0-9]*\)"/\1/p' "$config" | head -n1)
  port=$(sed -n 's/^address = "\(.*\):\([0-9]*\)"/\2/p' "$config" | head -n1)
  wait_for_port "$addr" "$port" 15 || { tail -n 30 "$WORK/$name.log" >&2; die "relay $name did not listen on $addr:$port"; }
}

# Accounting rows (all days) whose recipient matches $1, as CSV lines.
acct_rows() { cat "$WORK"/acct/*.csv 2>/dev/null | grep -F -- "$1" || true; }

# ---- TLS policy helpers (test_tls_policy.sh) ----

# Accounting queries by column name (tests/tools/acct_query.py), so tests do
# not depend on column positions. ACCT_DIR overrides $WORK/acct.
# acct_match RECIPIENT COLUMN=REGEX...: true if one row of RECIPIENT fully
# matches every condition (case-insensitive).
acct_match() {
  /usr/bin/python3 "$TLSRELAY_SOURCE_DIR/tests/tools/acct_query.py" "${ACCT_DIR:-$WORK/acct}" "$@" >/dev/null 2>&1
}
# acct_show RECIPIENT: its rows as "column=value | ..." lines (for failure output).
acct_show() {
  /usr/bin/python3 "$TLSRELAY_SOURCE_DIR/tests/tools/acct_query.py" "${ACCT_DIR:-$WORK/acct}" "$1" || true
}
# check_acct DESCRIPTION RECIPIENT COLUMN=REGEX...: one assertion that waits
# up to ACCT_WAIT (default 20) seconds for such a row; on failure prints the
# rows the recipient does have.
check_acct() {
  local what=$1 rcpt=$2
  shift
  if wait_for_count "acct_match $(printf '%q ' "$@") && echo 1 || echo 0" 1 "${ACCT_WAIT:-20}" >/dev/null; then
    check "$what" true
  else
    check "$what" false
    { echo "    accounting rows of $rcpt:"; acct_show "$rcpt" | sed 's/^/      /'; } >&2
  fi
}

# maildir_has NAME RECIPIENT: a message delivered to RECIPIENT (Postfix's
# Delivered-To: field) sits in the maildir of the Postfix started as NAME.
maildir_has() {
  grep -rqixF -- "Delivered-To: $2" "$WORK/$1/mail/new" "$WORK/$1/mail/cur" 2>/dev/null
}

# start_mta_sts_nginx DIR IP [PORT]: nginx serving DIR/sites/<name>/ over HTTPS
# (tests/fixtures/mta_sts_nginx.sh); stopped by the cleanup trap.
start_mta_sts_nginx() {
  bash "$TLSRELAY_SOURCE_DIR/tests/fixtures/mta_sts_nginx.sh" start "$@" >"$1.out" 2>&1 ||
    { cat "$1.out" >&2; die "mta-sts nginx failed to start"; }
  CLEANUP_CMDS+=("bash '$TLSRELAY_SOURCE_DIR/tests/fixtures/mta_sts_nginx.sh' stop '$1'")
}

# stop_relay PID: SIGTERM and wait for the exit (it drains first).
stop_relay() {
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# ---- TLS reporting helpers (test_tls_reporting.sh, test_report_fleet.sh) ----

# use_next_day: sets NEXT_DAY, a command prefix that runs a program at noon UTC
# of the next day (libfaketime), so a relay can send the reports of the day the test
# delivered on. libfaketime is preloaded by `env`, not through the faketime
# wrapper, which would stay the parent: a signal must reach the relay itself.
use_next_day() {
  local lib=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1  # the build for threaded programs
  [ -e "$lib" ] || die "libfaketime is missing (scripts/install-deps.sh installs faketime)"
  # Noon UTC tomorrow, not "+1d": a report is due only after send_after plus
  # its domain's share of send_window past midnight (01:00-05:00 UTC by
  # default), so a run started at 01:00 would find nothing due yet.
  local now noon_tomorrow
  now=$(date -u +%s)
  noon_tomorrow=$(( (now / 86400 + 1) * 86400 + 12 * 3600 ))
  NEXT_DAY="env LD_PRELOAD=$lib FAKETIME=+$(( noon_tomorrow - now ))"
  export FAKETIME_DONT_FAKE_MONOTONIC=1  # libuv's timers keep the real clock
}

# start_tlsrpt_sink: the HTTPS report endpoint (tests/tools/tlsrpt_https_sink.py)
# on 127.0.0.1 with the test CA's localhost certificate (make_certs ... localhost);
# POSTs land in $WORK/posts. Sets SINK_PORT.
start_tlsrpt_sink() {
  mkdir -p "$WORK/posts"
  /usr/bin/python3 "$TLSRELAY_SOURCE_DIR/tests/tools/tlsrpt_https_sink.py" --cert "$WORK/ca/localhost.pem" \
    --key "$WORK/ca/localhost.key" --out-dir "$WORK/posts" --port 0 >"$WORK/sink.out" 2>&1 &
  CLEANUP_CMDS+=("kill $!")
  wait_for_count "grep -c '^port ' '$WORK/sink.out' || true" 1 10 >/dev/null || die "https sink did not start"
  SINK_PORT=$(sed -n 's/^port //p' "$WORK/sink.out")
}

# sts_site ZONE MODE MX: the MTA-STS policy host mta-sts.ZONE.test under
# $WORK/sts/sites (its certificate from make_certs), for start_mta_sts_nginx.
sts_site() {
  local zone=$1 mode=$2 mx=$3 site=$WORK/sts/sites/mta-sts.$1.test
  mkdir -p "$site/.well-known"
  cp "$WORK/ca/mta-sts.$zone.test.pem" "$WORK/ca/mta-sts.$zone.test.key" "$WORK/sts/sites/"
  printf 'version: STSv1\r\nmode: %s\r\nmx: %s\r\nmax_age: 86400\r\n' "$mode" "$mx" >"$site/.well-known/mta-sts.txt"
}

# ---- the admin endpoint's tests (test_admin_endpoint.sh, test_web_view.sh) ----
# start_admin_test_relay: a relay with the admin endpoint behind a bearer token
# and a TLS report store, delivering through a Postfix on 127.0.1.2 (STARTTLS:
# opportunistic TLS sessions are what the report store counts), with
# stuck.test routed to a port nothing listens on (its mail stays queued).
# Sets TOKEN, ADMIN_PORT, SMTP_PORT, BASE and RELAY_PID; api/code/metric/submit
# query the endpoint and submit mail.
start_admin_test_relay() {
  ensure_loopback_address 127.0.1.2
  make_certs sink.test
  start_postfix sink 127.0.1.2 25 yes "$WORK/ca/sink.test.pem" "$WORK/ca/sink.test.key"
  TOKEN=tok-$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
  printf '%s\n' "$TOKEN" >"$WORK/admin.token"
  chmod 600 "$WORK/admin.token"
  ADMIN_PORT=$(free_port 127.0.0.1)
  SMTP_PORT=$(free_port 127.0.0.1)
  cat >"$WORK/relay.toml" <<T
[server]
hostname = "relay.test"

[[listener]]
address = "127.0.0.1:$SMTP_PORT"

[spool]
directory = "$WORK/spool"

[mta_sts]
enabled = false

[delivery]
smarthost = "[127.0.1.2]:25"

[policy]
directory = "$WORK/policy.d"

[retry]
initial = "1h"

[reporting]
store = "$WORK/reports.sqlite"

[admin]
listen = "127.0.0.1:$ADMIN_PORT"
bearer_token_file = "$WORK/admin.token"

[accounting]
directory = "$WORK/acct"
T
  # One domain routed to a port nothing listens on: its mail stays queued.
  mkdir -p "$WORK/policy.d"
  printf 'domain = "stuck.test"\nnext_hop = "[127.0.1.2]:%s"\n' "$(free_port 127.0.1.2)" >"$WORK/policy.d/stuck.toml"

  BASE=http://127.0.0.1:$ADMIN_PORT
  api() { curl -s -H "Authorization: Bearer $TOKEN" "$@"; }
  code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
  metric() { api "$BASE/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
  submit() { swaks --silent 2 --server "127.0.0.1:$SMTP_PORT" --from app@example.org --to "$1" --body "hello $1" >/dev/null; }
  start_relay relay "$WORK/relay.toml"
}
