#!/usr/bin/env bash
# The upstream smarthost as container users use it, against a real Postfix that
# requires AUTH (tests/fixtures/postfix_smarthost.sh, Cyrus SASL): swaks →
# tlsrelay → smarthost over STARTTLS (587 style) and implicit TLS (465 style),
# logged in as our user; a smarthost that offers AUTH only in clear never sees
# the credentials and the mail waits; refused credentials defer with 4.3.5 and
# never bounce; the password is in no log; a policy file's next_hop sends one
# domain elsewhere; allowed_sender_domains refuses other senders.
set -euo pipefail
. "$(dirname "$0")/relay_env.sh"
. "$TLSRELAY_SOURCE_DIR/tests/fixtures/postfix_smarthost.sh"

SMARTHOST_IP=127.0.4.2
PASSWORD='pa:ss w0rd-7Qx'  # a ':' and a space: split at the first ':' only
printf 'example.test\tsmarthost.example.test. 3600 IN A %s\n' "$SMARTHOST_IP" >"$WORK/dns-extra"
export TLSRELAY_TEST_DNS_EXTRA="$WORK/dns-extra"
start_dns
ensure_loopback_address "$SMARTHOST_IP"
start_postfix_smarthost "$WORK/smarthost" "$SMARTHOST_IP" >"$WORK/smarthost.out" 2>&1 \
  || { cat "$WORK/smarthost.out" >&2; die "smarthost fixture failed"; }
CLEANUP_CMDS+=("stop_postfix_smarthost '$WORK/smarthost'")
add_smarthost_user relay "$PASSWORD"
ensure_loopback_address 127.0.1.2
start_postfix partner 127.0.1.2 25 no

mkdir -p "$WORK/policy.d" "$WORK/secrets"
cat >"$WORK/policy.d/partner.toml" <<T
domain = "partner.test"
next_hop = "[127.0.1.2]:25"
T
printf 'relay:%s\n' "$PASSWORD" >"$WORK/secrets/good.auth"
printf 'relay:wrong-password\n' >"$WORK/secrets/bad.auth"
chmod 600 "$WORK/secrets/"*.auth

# relay_config NAME SMARTHOST AUTH_FILE [EXTRA [delivery] LINES]
relay_config() {
  local name=$1 smarthost=$2 auth=$3 extra=${4:-}
  cat >"$WORK/$name.toml" <<T
[server]
hostname = "relay.test"
allowed_sender_domains = ["example.org", "*.apps.example.org"]

[[listener]]
address = "127.0.0.1:$(free_port 127.0.0.1)"
tls = "starttls"

[spool]
directory = "$WORK/$name-spool"

[dns]
resolvers = ["$DNS_RESOLVER_ADDR:$DNS_PORT"]

[mta_sts]
enabled = false

[policy]
directory = "$WORK/policy.d"
ca_bundle = "$SMARTHOST_CA_FILE"

[delivery]
smarthost = "$smarthost"
smarthost_auth_file = "$auth"
$extra

[retry]
initial = "1h"

[accounting]
directory = "$WORK/acct"
T
}
relay_port() { sed -n 's/^address = "127.0.0.1:\([0-9]*\)"/\1/p' "$WORK/$1.toml"; }
submit() {  # submit RELAY FROM TO
  swaks --silent 2 --server "127.0.0.1:$(relay_port "$1")" --from "$2" --to "$3" \
    --header "Subject: smarthost test to $3" --body "hello $3" >/dev/null
}
envelope_with() {  # envelope_with RECIPIENT: the smarthost's .env file for it
  grep -l -x "recipient=$1" $(smarthost_envelopes) 2>/dev/null | head -n1
}

echo "# STARTTLS (submission port) with AUTH PLAIN"
relay_config r-submission "smarthost.example.test:$SMARTHOST_SUBMISSION_PORT" "$WORK/secrets/good.auth"
check "check-config names the smarthost login" \
  sh -c "'$TLSRELAY_BIN' --config '$WORK/r-submission.toml' check-config | grep -q 'with AUTH as relay'"
start_relay r-submission "$WORK/r-submission.toml"
check "submit to a remote domain" submit r-submission app@example.org bob@remote.test
check "the smarthost received it" smarthost_wait_count 1 15
env_file=$(envelope_with bob@remote.test || true)
check "it was submitted as SASL user relay" grep -q -E -x 'sasl_username=relay(@smarthost.example.test)?' "${env_file:-/dev/null}"
check "the smarthost's Received field shows TLS" grep -q 'with ESMTPSA' "${env_file%.env}.eml"
check_acct "accounting: delivered via the smarthost, certificate verified" bob@remote.test \
  result=delivered verification=pkix mx_host=smarthost.example.test
echo "# transport map: a policy file's next_hop"
check "submit to partner.test" submit r-submission app@example.org carol@partner.test
check "partner.test went to its next_hop, not the smarthost" wait_for_count "postfix_count partner" 1 15
check "nothing more reached the smarthost" test "$(smarthost_count)" -eq 1
check_acct "accounting: partner.test via 127.0.1.2" carol@partner.test result=delivered ip=127.0.1.2
echo "# allowed_sender_domains"
check "a sender of another domain is refused at RCPT (553 5.7.1)" \
  sh -c "swaks --server 127.0.0.1:$(relay_port r-submission) --from x@other.test --to bob@remote.test --quit-after RCPT 2>&1 | grep -q ' 553 5.7.1 '"
check "a subdomain sender is allowed" submit r-submission app@billing.apps.example.org dave@remote.test
check "it arrived" smarthost_wait_count 2 15
echo "# metrics agree with the accounting log"
metric() {  # metric NAME_WITH_LABELS: its value in `tlsrelay metrics`
  "$TLSRELAY_BIN" --config "$WORK/r-submission.toml" metrics | awk -v m="$1" '$1 == m {print $2}'
}
delivered_rows=$(acct_rows @ | grep -c ',delivered,' || true)
check "3 deliveries in the accounting log" test "$delivered_rows" -eq 3
check "tlsrelay_delivery_attempts_total{delivered} = accounting's delivered rows" \
  test "$(metric 'tlsrelay_delivery_attempts_total{result="delivered"}')" = "$delivered_rows"
check "tlsrelay_messages_received_total counts the 3 accepted messages, not the refused one" \
  test "$(metric tlsrelay_messages_received_total)" = 3
check "the queue is empty" test "$(metric tlsrelay_queue_size)" = 0
check "PKIX-verified TLS sessions to the smarthost are counted" \
  test "$(metric 'tlsrelay_tls_sessions_total{result_type="success",verification="pkix",protocol="TLSv1.3"}')" -ge 1
stop_relay "$RELAY_PID"

echo "# implicit TLS (465 style) with AUTH"
relay_config r-smtps "smarthost.example.test:$SMARTHOST_SMTPS_PORT" "$WORK/secrets/good.auth" 'smarthost_tls = "implicit"'
start_relay r-smtps "$WORK/r-smtps.toml"
check "submit over the implicit-TLS smarthost" submit r-smtps app@example.org erin@remote.test
check "the smarthost received it" smarthost_wait_count 3 15
env_file=$(envelope_with erin@remote.test || true)
check "logged in as relay" grep -q -E -x 'sasl_username=relay(@smarthost.example.test)?' "${env_file:-/dev/null}"
stop_relay "$RELAY_PID"

echo "# a smarthost that offers AUTH only in clear"
logins_before=$(grep -c 'sasl_username=' "$SMARTHOST_MAILLOG" || true)
relay_config r-clear "smarthost.example.test:$SMARTHOST_CLEAR_PORT" "$WORK/secrets/good.auth"
start_relay r-clear "$WORK/r-clear.toml"
check "submit" submit r-clear app@example.org frank@remote.test
check_acct "accounting: deferred, never sent in clear" frank@remote.test result=deferred
check "the smarthost saw no AUTH attempt" \
  test "$(grep -c 'sasl_username=\|authentication failed' "$SMARTHOST_MAILLOG" || true)" -eq "$logins_before"
check "nothing arrived" test "$(smarthost_count)" -eq 3
check "the message stays queued" sh -c "'$TLSRELAY_BIN' --config '$WORK/r-clear.toml' queue list | grep -q '^1 message(s)'"
stop_relay "$RELAY_PID"

echo "# refused credentials"
relay_config r-bad "smarthost.example.test:$SMARTHOST_SUBMISSION_PORT" "$WORK/secrets/bad.auth"
start_relay r-bad "$WORK/r-bad.toml"
check "submit" submit r-bad app@example.org grace@remote.test
check_acct "accounting: deferred with 4.3.5 (a configuration fault, not the message's)" grace@remote.test \
  result=deferred dsn_status=4.3.5 response='.*refused AUTH.*535.*'
check "the smarthost logged the failed login" grep -q 'authentication failed' "$SMARTHOST_MAILLOG"
never_bounced() { ! acct_rows "$1" | grep -q bounced; }
check "it was not bounced" never_bounced grace@remote.test
stop_relay "$RELAY_PID"

echo "# secrets"
check "the password is in no relay log" sh -c "! grep -rqF -- '$PASSWORD' '$WORK'/r-*.log"
check "nor in the accounting log" sh -c "! grep -rqF -- '$PASSWORD' '$WORK/acct'"
check "nor in base64 (AUTH PLAIN) anywhere in the logs" \
  sh -c "! grep -rqF -- \"\$(printf '\\0relay\\0%s' '$PASSWORD' | base64 -w0)\" '$WORK'/r-*.log '$WORK/acct'"

finish_checks
