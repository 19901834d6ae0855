#!/usr/bin/env bash
# Self-check of the test bed: the test CA and the private Postfix sink behave as
# the relay's integration tests assume. swaks is the independent client.
#  1. test_ca.sh is idempotent and its certificates chain (or do not) as named.
#  2. Sink with TLS: STARTTLS offered, swaks verifies the certificate against the
#     test CA, the message lands in the maildir with a TLS Received: header.
#  3. Sink without TLS: STARTTLS not offered, swaks --tls fails, plain mail lands.
#  4. The instance helpers of lib.sh return 1 (not exit) when a start fails: a
#     port in use, a configuration postfix refuses; neither leaves a master.
#  5. Stop leaves no Postfix master behind, and a second stop is a no-op.
# Env: SINK_TLS_IP (127.0.1.1), SINK_PLAIN_IP (127.0.1.2), SINK_PORT (25).
set -euo pipefail

src=${TLSRELAY_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
fixtures=$src/tests/fixtures
. "$fixtures/lib.sh"

tls_ip=${SINK_TLS_IP:-127.0.1.1}
plain_ip=${SINK_PLAIN_IP:-127.0.1.2}
port=${SINK_PORT:-25}
host=mx1.example.test

work=$(mktemp -d /tmp/test_fixture_postfix.XXXXXX)
chmod 755 "$work"
cleanup() {
  bash "$fixtures/postfix_sink.sh" stop "$work/sink-tls" || true
  bash "$fixtures/postfix_sink.sh" stop "$work/sink-plain" || true
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then
    echo "ok   - $what"
  else
    echo "FAIL - $what"
    failures=$((failures + 1))
  fi
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# --- 1. test CA ---------------------------------------------------------------
t0=$(now_ms)
bash "$fixtures/test_ca.sh" "$work/ca" "$host" mx2.example.test
echo "# test_ca.sh: $(( $(now_ms) - t0 )) ms"
before=$(cd "$work/ca" && sha256sum ./* | sha256sum)
bash "$fixtures/test_ca.sh" "$work/ca" "$host" mx2.example.test
after=$(cd "$work/ca" && sha256sum ./* | sha256sum)
check "test_ca.sh is idempotent" [ "$before" = "$after" ]
check "leaf chains to the test CA" bash -c "openssl verify -CAfile '$work/ca/ca.pem' '$work/ca/$host.pem' >/dev/null"
check "untrusted leaf does not chain to the test CA" \
  bash -c "! openssl verify -CAfile '$work/ca/ca.pem' '$work/ca/untrusted-$host.pem' >/dev/null 2>&1"
check "leaf carries SAN DNS:$host" \
  bash -c "openssl x509 -in '$work/ca/$host.pem' -noout -ext subjectAltName | grep -q 'DNS:$host'"
check "encrypted key opens with key-password" \
  openssl pkey -in "$work/ca/$host.enc.key" -passin "file:$work/ca/key-password" -noout
check "encrypted key does not open with a wrong password" \
  bash -c "! openssl pkey -in '$work/ca/$host.enc.key' -passin pass:wrong -noout 2>/dev/null"

# --- 2. sink with STARTTLS -----------------------------------------------------
t0=$(now_ms)
out=$(bash "$fixtures/postfix_sink.sh" start "$work/sink-tls" "$tls_ip" "$port" yes \
  "$work/ca/$host.pem" "$work/ca/$host.key")
echo "# postfix_sink.sh start (tls): $(( $(now_ms) - t0 )) ms"
check "start prints the maildir" [ "$out" = "MAILDIR=$work/sink-tls/mail" ]
check "master.pid names a live process" pid_alive "$(tr -d ' \n' <"$work/sink-tls/queue/pid/master.pid")"
check "postfix_master_pid reads it" [ "$(postfix_master_pid "$work/sink-tls")" = "$(tr -d ' \n' <"$work/sink-tls/queue/pid/master.pid")" ]

ehlo=$(swaks --server "$tls_ip:$port" --quit-after EHLO --helo client.test 2>&1 || true)
check "TLS sink offers STARTTLS" grep -q "250-STARTTLS\|250 STARTTLS" <<<"$ehlo"

t0=$(now_ms)
check "swaks STARTTLS with verification delivers" \
  swaks --server "$tls_ip:$port" --helo client.test --from sender@example.org \
  --to "someone@any-domain.example" --header "Subject: fixture-tls-check" \
  --tls --tls-verify --tls-ca-path "$work/ca/ca.pem" --tls-sni "$host" --silent 2
echo "# swaks STARTTLS round trip: $(( $(now_ms) - t0 )) ms"
count=$(wait_for_count "bash '$fixtures/postfix_sink.sh' count '$work/sink-tls'" 1 10 || true)
check "one message in the TLS maildir (got $count)" [ "$count" = 1 ]
msg=$(find "$work/sink-tls/mail/new" -type f | head -n1)
check "message is the one sent" grep -q "^Subject: fixture-tls-check" "${msg:-/dev/null}"
check "Received: shows TLS protocol and cipher" \
  grep -Eq "using TLSv1\.[23] with cipher [A-Z0-9_-]+" "${msg:-/dev/null}"
check "Received: says ESMTPS" grep -q "with ESMTPS" "${msg:-/dev/null}"
check "maillog records the TLS connection" grep -q "TLS connection established" "$work/sink-tls/maillog"

check "swaks refuses the sink's certificate with an unrelated CA" \
  bash -c "! swaks --server '$tls_ip:$port' --helo client.test --from a@example.org --to b@example.org \
    --tls --tls-verify --tls-ca-path '$work/ca/untrusted-ca.pem' --tls-sni '$host' --silent 2 >/dev/null 2>&1"

# --- 3. sink without STARTTLS --------------------------------------------------
t0=$(now_ms)
bash "$fixtures/postfix_sink.sh" start "$work/sink-plain" "$plain_ip" "$port" no >/dev/null
echo "# postfix_sink.sh start (plain): $(( $(now_ms) - t0 )) ms"
ehlo=$(swaks --server "$plain_ip:$port" --quit-after EHLO --helo client.test 2>&1 || true)
check "plain sink answers EHLO" grep -q "^<-  250" <<<"$ehlo"
check "plain sink does not offer STARTTLS" bash -c "! grep -q STARTTLS <<<'$ehlo'"
check "swaks --tls fails against the plain sink" \
  bash -c "! swaks --server '$plain_ip:$port' --helo client.test --from a@example.org --to b@example.org \
    --tls --silent 2 >/dev/null 2>&1"
check "plaintext delivery to the plain sink works" \
  swaks --server "$plain_ip:$port" --helo client.test --from a@example.org --to b@other.example \
  --header "Subject: fixture-plain-check" --silent 2
count=$(wait_for_count "bash '$fixtures/postfix_sink.sh' count '$work/sink-plain'" 1 10 || true)
check "one message in the plain maildir (got $count)" [ "$count" = 1 ]
msg=$(find "$work/sink-plain/mail/new" -type f | head -n1)
check "plain Received: has no TLS" bash -c "! grep -q 'using TLS' '${msg:-/dev/null}' && grep -q 'with ESMTP id' '${msg:-/dev/null}'"
check "TLS sink still has exactly one message" [ "$(bash "$fixtures/postfix_sink.sh" count "$work/sink-tls")" = 1 ]

# --- 4. failed starts -----------------------------------------------------------
# Each helper call runs in this shell: an exit instead of a return would end the script.
t0=$(now_ms)
start_refused() {  # start_refused DIR ADDR PORT: start_postfix_instance returns 1
  local rc=0
  start_postfix_instance "$1" 2 "$2" "$3" 2>>"$work/failed-starts.log" || rc=$?
  [ "$rc" = 1 ]
}
no_master() { ! postfix_master_pid "$1" >/dev/null && ! pgrep -f "$1/" >/dev/null; }
busy=$work/sink-busy
check "postfix_sink.sh start fails on a port in use" \
  bash -c "! bash '$fixtures/postfix_sink.sh' start '$busy' '$plain_ip' '$port' no >/dev/null 2>&1"
check "  ... and started nothing" no_master "$busy"
# The instance that script wrote (its own queue, listening on the busy port).
check "start_postfix_instance refuses a port in use" start_refused "$busy" "$plain_ip" "$port"
check "  ... and said so" grep -q "$plain_ip:$port is already in use" "$work/failed-starts.log"
check "  ... and started nothing" no_master "$busy"
free=$(free_port "$plain_ip")
sed -i "s/^$plain_ip:$port /$plain_ip:$free /" "$busy/etc/master.cf"
printf 'mail_owner = no-such-user-here\n' >>"$busy/etc/main.cf"  # the last setting wins
check "start_postfix_instance returns 1 when postfix start fails" start_refused "$busy" "$plain_ip" "$free"
check "  ... and said so" grep -q "postfix start failed" "$work/failed-starts.log"
check "  ... and started nothing" no_master "$busy"
check "  ... and the running sinks are untouched" \
  bash -c "pid=\$(tr -d ' \n' <'$work/sink-plain/queue/pid/master.pid') && kill -0 \"\$pid\""
echo "# failed starts: $(( $(now_ms) - t0 )) ms"

# --- 5. stop -------------------------------------------------------------------
tls_master=$(tr -d ' \n' <"$work/sink-tls/queue/pid/master.pid")
plain_master=$(tr -d ' \n' <"$work/sink-plain/queue/pid/master.pid")
t0=$(now_ms)
bash "$fixtures/postfix_sink.sh" stop "$work/sink-tls"
bash "$fixtures/postfix_sink.sh" stop "$work/sink-plain"
echo "# postfix_sink.sh stop x2: $(( $(now_ms) - t0 )) ms"
master_gone() { ! pid_alive "$1"; }  # a not-yet-reaped zombie counts as gone
check "TLS sink master is gone" master_gone "$tls_master"
check "plain sink master is gone" master_gone "$plain_master"
check "TLS sink port is closed" wait_for_port_closed "$tls_ip" "$port" 5
check "plain sink port is closed" wait_for_port_closed "$plain_ip" "$port" 5
# pgrep excludes itself, so run it here, not in a "bash -c" whose own command line matches.
no_process_mentions() { ! pgrep -f "$1" >/dev/null; }
check "no process runs from the work dir" no_process_mentions "$work/"
check "postfix_master_pid finds none after stop" no_master "$work/sink-tls"
check "a second stop is a no-op" bash "$fixtures/postfix_sink.sh" stop "$work/sink-tls"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all fixture checks passed"
