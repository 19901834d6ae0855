#!/usr/bin/env bash
# Self-check of the authenticating smarthost fixture (tests/fixtures/postfix_smarthost.sh):
# the private Postfix behaves as the relay's smarthost tests assume. swaks is the
# independent client.
#  1. start: three listeners, exported variables, users added while running.
#  2. Submission port: STARTTLS offered, AUTH only after STARTTLS; AUTH PLAIN over
#     verified STARTTLS delivers one message to two domains, recorded with the user.
#  3. SMTPS port: implicit TLS only; AUTH LOGIN delivers as another user.
#  4. Refusals: wrong password -> 535, no AUTH -> relay denied; no refused session
#     queued a message and, the queue drained, none was delivered.
#  5. Clear port: AUTH advertised without STARTTLS and accepted in clear.
#  6. add_smarthost_user changes a password on the running instance.
#  7. Stop leaves no Postfix behind.
# Env: SMARTHOST_TEST_IP (127.0.4.1) and the fixture's SMARTHOST_*_PORT variables.
set -euo pipefail

src=${TLSRELAY_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
fixtures=$src/tests/fixtures
. "$fixtures/postfix_smarthost.sh"

ip=${SMARTHOST_TEST_IP:-127.0.4.1}

work=$(mktemp -d /tmp/test_fixture_postfix_smarthost.XXXXXX)
chmod 755 "$work"
cleanup() {
  stop_postfix_smarthost "$work/smarthost" || true
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
# swaks has no timeout for a TLS handshake the server never answers: bound each call.
swaks_bin=$(command -v swaks)
swaks() { timeout 15 "$swaks_bin" "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
t_start=$(now_ms)
contains() { grep -qE -- "$1" <<<"$2"; }        # contains REGEX TEXT
lacks() { ! grep -qE -- "$1" <<<"$2"; }          # lacks REGEX TEXT
file_has() { grep -qE -- "$1" "${2:-/dev/null}"; }  # file_has REGEX FILE
succeeded_with() { [ "$1" = 0 ] && contains "$2" "$3"; }   # succeeded_with RC REGEX TEXT
failed_with() { [ "$1" != 0 ] && contains "$2" "$3"; }     # failed_with RC REGEX TEXT

# --- 1. start --------------------------------------------------------------------
t0=$(now_ms)
start_postfix_smarthost "$work/smarthost" "$ip"
echo "# start_postfix_smarthost: $(( $(now_ms) - t0 )) ms"
add_smarthost_user alice 'alice pass 1'
add_smarthost_user bob 'b0b:secret'
check "master.pid names a live process" pid_alive "$(tr -d ' \n' <"$work/smarthost/queue/pid/master.pid")"
check "SMARTHOST_DIR/IP exported" [ "$SMARTHOST_DIR:$SMARTHOST_IP" = "$work/smarthost:$ip" ]
check "SMARTHOST_MAIL_DIR exported" [ "$SMARTHOST_MAIL_DIR" = "$work/smarthost/mail" ]
check "three distinct ports below 32768" bash -c "[ \$(printf '%s\n' $SMARTHOST_SUBMISSION_PORT $SMARTHOST_SMTPS_PORT \
  $SMARTHOST_CLEAR_PORT | sort -u | awk '\$1 < 32768' | wc -l) = 3 ]"
check "certificate for $SMARTHOST_HOSTNAME chains to SMARTHOST_CA_FILE" \
  bash -c "openssl verify -CAfile '$SMARTHOST_CA_FILE' '$SMARTHOST_CERT' >/dev/null"
check "both users are in the sasldb" \
  bash -c "[ \$(sasldblistusers2 -f '$work/smarthost/sasldb2' | grep -cE '^(alice|bob)@$SMARTHOST_HOSTNAME: userPassword') = 2 ]"
check "no message delivered yet" [ "$(smarthost_count)" = 0 ]

sub=$ip:$SMARTHOST_SUBMISSION_PORT
smtps=$ip:$SMARTHOST_SMTPS_PORT
clear=$ip:$SMARTHOST_CLEAR_PORT
tls_opts=(--tls-verify --tls-ca-path "$SMARTHOST_CA_FILE" --tls-sni "$SMARTHOST_HOSTNAME")

# --- 2. submission: STARTTLS, then AUTH PLAIN -----------------------------------
out=$(swaks --server "$sub" --helo client.test --tls "${tls_opts[@]}" --quit-after HELO 2>&1 || true)
plain_ehlo=$(sed -n '/^<-  250/p' <<<"$out")
tls_ehlo=$(sed -n '/^<~  250/p' <<<"$out")
check "submission offers STARTTLS in clear" contains '^<-  250[- ]STARTTLS' "$plain_ehlo"
check "submission does not offer AUTH before STARTTLS" lacks 'AUTH' "$plain_ehlo"
check "submission offers AUTH PLAIN and LOGIN after STARTTLS" contains '^<~  250[- ]AUTH( [A-Z0-9-]+)* PLAIN' "$tls_ehlo"
check "  ... including LOGIN" contains '^<~  250[- ]AUTH.* LOGIN' "$tls_ehlo"

out=$(swaks --server "$sub" --helo client.test --auth PLAIN --auth-user alice --auth-password 'alice pass 1' \
  --from a@example.org --to a@example.org 2>&1) && rc=0 || rc=$?
check "AUTH PLAIN without STARTTLS is impossible on submission (rc=$rc)" \
  failed_with "$rc" '^\*\*\* Host did not advertise authentication' "$out"
check "  ... and no AUTH command was sent" lacks '^ -> AUTH' "$out"

t0=$(now_ms)
out=$(swaks --server "$sub" --helo client.test --tls "${tls_opts[@]}" \
  --auth PLAIN --auth-user alice --auth-password 'alice pass 1' \
  --from sender@example.org --to 'one@first.example,two@second.example' \
  --header "Subject: smarthost-plain-check" 2>&1) && rc=0 || rc=$?
echo "# swaks STARTTLS + AUTH PLAIN round trip: $(( $(now_ms) - t0 )) ms"
check "AUTH PLAIN over STARTTLS accepted (rc=$rc)" succeeded_with "$rc" '^<~  235 ' "$out"
check "  ... and the message queued" contains '^<~  250 2\.0\.0 Ok: queued as' "$out"
count=$(smarthost_wait_count 1 10 || true)
check "one message delivered (got $count)" [ "$count" = 1 ]
env1=$(smarthost_envelopes | sed -n 1p)
eml1=${env1:+${env1%.env}.eml}
check "envelope: sasl_username=alice" file_has '^sasl_username=alice$' "$env1"
check "envelope: sasl_method=PLAIN" file_has '^sasl_method=PLAIN$' "$env1"
check "envelope: sender" file_has '^sender=sender@example\.org$' "$env1"
check "envelope: both recipients in one delivery" \
  bash -c "[ \"\$(grep '^recipient=' '${env1:-/dev/null}' | sort | tr '\n' ' ')\" = 'recipient=one@first.example recipient=two@second.example ' ]"
check "message is the one sent" file_has '^Subject: smarthost-plain-check' "$eml1"
check "Received: names the authenticated sender" file_has '\(Authenticated sender: alice\)' "$eml1"
check "Received: shows TLS and ESMTPSA" \
  bash -c "grep -Eq 'using TLSv1\.[23] with cipher' '$eml1' && grep -q 'with ESMTPSA' '$eml1'"
check "maillog: submission session with sasl_username=alice" \
  file_has 'postfix/submission/smtpd.*sasl_method=PLAIN, sasl_username=alice$' "$SMARTHOST_MAILLOG"

# --- 3. SMTPS: implicit TLS, AUTH LOGIN -----------------------------------------
out=$(swaks --server "$smtps" --helo client.test --quit-after EHLO --timeout 1 2>&1) && rc=0 || rc=$?
check "SMTPS port accepts TCP but sends no plaintext banner (rc=$rc)" \
  failed_with "$rc" '^<\*\* Timeout .* waiting for server response' "$out"
check "  ... no 220 at all" lacks '^<-  220' "$out"
out=$(swaks --server "$smtps" --helo client.test --tlsc "${tls_opts[@]}" \
  --auth LOGIN --auth-user bob --auth-password 'b0b:secret' \
  --from other@example.net --to 'three@third.example' --header "Subject: smarthost-login-check" 2>&1) && rc=0 || rc=$?
check "AUTH LOGIN over implicit TLS delivers (rc=$rc)" succeeded_with "$rc" '^<~  235 ' "$out"
count=$(smarthost_wait_count 2 10 || true)
check "two messages delivered (got $count)" [ "$count" = 2 ]
env2=$(smarthost_envelopes | sed -n 2p)
check "second envelope: sasl_username=bob, sasl_method=LOGIN" \
  bash -c "grep -qx 'sasl_username=bob' '${env2:-/dev/null}' && grep -qx 'sasl_method=LOGIN' '${env2:-/dev/null}'"
check "second envelope: its one recipient" \
  bash -c "[ \"\$(grep '^recipient=' '${env2:-/dev/null}')\" = recipient=three@third.example ]"
check "second message is bob's" file_has '^Subject: smarthost-login-check' "${env2:+${env2%.env}.eml}"
check "maillog: smtps session with sasl_username=bob" \
  file_has 'postfix/smtps/smtpd.*sasl_method=LOGIN, sasl_username=bob$' "$SMARTHOST_MAILLOG"

# --- 4. refusals ------------------------------------------------------------------
# Every refused attempt offers a message from refused@example.org to
# x@refused.example (a recipient nothing else uses); each transcript is kept for
# the checks after the last one.
refusals=()
refuse_opts=(--from refused@example.org --to x@refused.example --header "Subject: smarthost-refused")
out=$(swaks --server "$sub" --helo client.test --tls "${tls_opts[@]}" \
  --auth PLAIN --auth-user alice --auth-password 'wrong' "${refuse_opts[@]}" 2>&1) && rc=0 || rc=$?
refusals+=("$out")
check "wrong password: 535 (rc=$rc)" failed_with "$rc" '^<~\* 535 5\.7\.8' "$out"
out=$(swaks --server "$smtps" --tlsc "${tls_opts[@]}" --helo client.test \
  --auth LOGIN --auth-user nosuchuser --auth-password 'x' "${refuse_opts[@]}" 2>&1) && rc=0 || rc=$?
refusals+=("$out")
check "unknown user: 535 (rc=$rc)" failed_with "$rc" '^<~\* 535 ' "$out"
out=$(swaks --server "$sub" --helo client.test --tls "${tls_opts[@]}" "${refuse_opts[@]}" 2>&1) && rc=0 || rc=$?
refusals+=("$out")
check "no AUTH over STARTTLS: relay refused with 554 5.7.1 (rc=$rc)" \
  failed_with "$rc" '^<~\* 554 5\.7\.1 .*Relay access denied' "$out"
out=$(swaks --server "$sub" --helo client.test "${refuse_opts[@]}" 2>&1) && rc=0 || rc=$?
refusals+=("$out")
check "no AUTH, no TLS: relay refused (rc=$rc)" failed_with "$rc" '^<\*\* 554 5\.7\.1 .*Relay access denied' "$out"
out=$(swaks --server "$clear" --helo client.test "${refuse_opts[@]}" 2>&1) && rc=0 || rc=$?
refusals+=("$out")
check "no AUTH on the clear port: relay refused (rc=$rc)" \
  failed_with "$rc" '^<\*\* 554 5\.7\.1 .*Relay access denied' "$out"
# No server said "queued as" (DATA never got a 250) in any refused session...
none_queued() {
  local t
  for t in "${refusals[@]}"; do
    if contains 'queued as' "$t"; then return 1; fi
  done
}
check "no refused session got a message queued (${#refusals[@]} sessions)" none_queued
# ... and once Postfix's queue is empty, so that anything it did accept has been
# delivered, the mail directory holds only the two earlier messages and none for
# the refused recipient.
queue_drained=$(wait_for_count "postfix_queue_empty '$SMARTHOST_DIR' && echo 1 || echo 0" 1 10 || true)
check "the smarthost's queue is empty after the refusals" [ "$queue_drained" = 1 ]
# Files (envelopes, messages, pipe(8) leftovers in .tmp) with a trace of one.
refused_delivered() {
  { grep -rlE -e '^(recipient=x@refused\.example|sender=refused@example\.org)$' \
    -e '^Subject: smarthost-refused' "$SMARTHOST_MAIL_DIR" || true; } | wc -l
}
check "no refused message was delivered (got $(refused_delivered) files)" [ "$(refused_delivered)" = 0 ]
check "still exactly the two earlier deliveries (got $(smarthost_count))" [ "$(smarthost_count)" = 2 ]

# --- 5. clear port: AUTH without TLS ---------------------------------------------
out=$(swaks --server "$clear" --helo client.test --quit-after EHLO 2>&1 || true)
check "clear port advertises AUTH PLAIN LOGIN in clear" contains '^<-  250[- ]AUTH PLAIN LOGIN$' "$out"
check "clear port answers EHLO" contains '^<-  250 ' "$out"
check "clear port does not offer STARTTLS" lacks STARTTLS "$out"
out=$(swaks --server "$clear" --helo client.test --tls --from a@example.org --to x@first.example 2>&1) && rc=0 || rc=$?
check "STARTTLS fails on the clear port (rc=$rc)" failed_with "$rc" '^\*\*\* Host did not advertise STARTTLS' "$out"
out=$(swaks --server "$clear" --helo client.test --auth PLAIN --auth-user alice --auth-password 'alice pass 1' \
  --from a@example.org --to four@fourth.example --header "Subject: smarthost-clear-check" 2>&1) && rc=0 || rc=$?
check "clear port accepts credentials in clear (the client must refuse; rc=$rc)" \
  succeeded_with "$rc" '^<-  235 ' "$out"
count=$(smarthost_wait_count 3 10 || true)
check "three messages delivered (got $count)" [ "$count" = 3 ]
env3=$(smarthost_envelopes | sed -n 3p)
eml3=${env3:+${env3%.env}.eml}
check "clear-port message: alice, no TLS in Received:" \
  bash -c "grep -qx 'sasl_username=alice' '${env3:-/dev/null}' && ! grep -q 'using TLS' '${eml3:-/dev/null}' \
    && grep -q 'with ESMTPA' '${eml3:-/dev/null}'"

# --- 6. password change on the running instance ---------------------------------
add_smarthost_user alice 'alice pass 2'
out=$(swaks --server "$smtps" --tlsc "${tls_opts[@]}" --helo client.test --quit-after AUTH \
  --auth PLAIN --auth-user alice --auth-password 'alice pass 1' 2>&1) && rc=0 || rc=$?
check "old password now refused (rc=$rc)" failed_with "$rc" '^<~\* 535 ' "$out"
out=$(swaks --server "$smtps" --tlsc "${tls_opts[@]}" --helo client.test --quit-after AUTH \
  --auth PLAIN --auth-user alice --auth-password 'alice pass 2' 2>&1) && rc=0 || rc=$?
check "new password accepted (rc=$rc)" succeeded_with "$rc" '^<~  235 ' "$out"

# --- 7. stop ------------------------------------------------------------------------
master=$(tr -d ' \n' <"$work/smarthost/queue/pid/master.pid")
t0=$(now_ms)
stop_postfix_smarthost "$work/smarthost"
echo "# stop_postfix_smarthost: $(( $(now_ms) - t0 )) ms"
master_gone() { ! pid_alive "$1"; }
check "master is gone" master_gone "$master"
for port in "$SMARTHOST_SUBMISSION_PORT" "$SMARTHOST_SMTPS_PORT" "$SMARTHOST_CLEAR_PORT"; do
  check "port $port is closed" wait_for_port_closed "$ip" "$port" 5
done
# pgrep excludes itself, so run it here, not in a "bash -c" whose own command line matches.
no_process_mentions() { ! pgrep -f "$1" >/dev/null; }
check "no process runs from the work dir" no_process_mentions "$work/"
check "delivered mail survives stop" [ "$(smarthost_count)" = 3 ]

echo "# total: $(( $(now_ms) - t_start )) ms"
if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all smarthost fixture checks passed"
