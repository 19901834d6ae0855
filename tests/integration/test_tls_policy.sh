#!/usr/bin/env bash
# End to end on loopback: the TLS policy engine against real peers. One DNSSEC
# zone per case (tests/fixtures/dns/*.zone, TLSA records added here because
# they hash certificates made here), MTA-STS policy hosts on nginx, Postfix
# receivers (one with a test-CA certificate, one with an untrusted one) and a
# second tlsrelay as the REQUIRETLS-capable receiver. Every case asserts the
# outcome (delivered / deferred / bounced), the recorded RFC 8460 result type
# and verification in the accounting log, and for delivered mail the message
# in the receiver's maildir. The DNS cases run twice: with dnssec = "trust-ad"
# (unbound validates) and with dnssec = "validate" (ldns validates against nsd).
set -euo pipefail
. "$(dirname "$0")/relay_env.sh"

TOOLS=$TLSRELAY_SOURCE_DIR/tests/tools
FIX=$TLSRELAY_SOURCE_DIR/tests/fixtures
T0=$SECONDS

# ---- certificates -----------------------------------------------------------
# One receiver certificate carries every MX name that should verify, and
# deliberately not mx.sts-hostmismatch.test. mx.dane-bad.test and
# mx.tlsa-bogus.test are on it so that only DANE can refuse those hosts (no
# PKIX fallback).
GOOD_SANS=mx1.example.test,mx.dane-ta.test,mx.dane-bad.test,mx.tlsa-bogus.test,mx.sts-enforce.test
GOOD_SANS+=,mx.sts-mxmismatch.test,mx.sts-fetchfail.test,mx.sts-idchange.test,mx.rt-postfix.test
STS_ZONES=(sts-enforce sts-mxmismatch sts-unknownca sts-hostmismatch sts-testing sts-fetchfail
  sts-badtls sts-redirect sts-404 sts-oversize sts-badsyntax sts-idchange dane-sts)
sts_hosts=()
for z in "${STS_ZONES[@]}"; do sts_hosts+=("mta-sts.$z.test"); done
make_certs relay.test "mx-good=$GOOD_SANS" mx.rt-relay.test "${sts_hosts[@]}"

spki_sha256() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1; }
GOOD_SPKI=$(cat "$WORK/ca/mx-good.tlsa")
OTHER_SPKI=$(spki_sha256 "$WORK/ca/untrusted-mx-good.pem")
CA_CERT_SHA=$(openssl x509 -in "$CA" -outform DER | sha256sum | cut -d' ' -f1)

# ---- DNS --------------------------------------------------------------------
# tlsa-bogus.test holds the right record under a corrupted signature;
# insecure.test (unsigned) holds a record that would fail if it were used.
printf '%s\t%s\n' \
  dane-ee.test "_25._tcp.mx IN TLSA 3 1 1 $GOOD_SPKI" \
  dane-bad.test "_25._tcp.mx IN TLSA 3 1 1 $OTHER_SPKI" \
  dane-ta.test "_25._tcp.mx IN TLSA 2 0 1 $CA_CERT_SHA" \
  tlsa-bogus.test "_25._tcp.mx IN TLSA 3 1 1 $GOOD_SPKI" \
  dane-sts.test "_25._tcp.mx IN TLSA 3 1 1 $GOOD_SPKI" \
  insecure.test "_25._tcp.mx IN TLSA 3 1 1 $OTHER_SPKI" >"$WORK/dns-extra"
export TLSRELAY_TEST_DNS_EXTRA=$WORK/dns-extra
export TLSRELAY_TEST_DNS_CORRUPT="tlsa-bogus.test _25._tcp.mx TLSA"
start_dns
check "TLSA of tlsa-bogus.test is bogus at the resolver" \
  bash -c "dig +time=2 -p $DNS_PORT @$DNS_RESOLVER_ADDR _25._tcp.mx.tlsa-bogus.test TLSA | grep -q SERVFAIL"

# ---- MTA-STS policy hosts ---------------------------------------------------
STS=$WORK/sts
sts_policy() {  # sts_policy ZONE MODE MX... : the policy file of mta-sts.ZONE.test (max_age $MAX_AGE)
  local zone=$1 mode=$2 mx
  shift 2
  mkdir -p "$STS/sites/mta-sts.$zone.test/.well-known"
  {
    printf 'version: STSv1\r\nmode: %s\r\n' "$mode"
    for mx in "$@"; do printf 'mx: %s\r\n' "$mx"; done
    printf 'max_age: %s\r\n' "${MAX_AGE:-86400}"
  } >"$STS/sites/mta-sts.$zone.test/.well-known/mta-sts.txt"
}
for z in "${STS_ZONES[@]}"; do
  mkdir -p "$STS/sites/mta-sts.$z.test"
  cp "$WORK/ca/mta-sts.$z.test.pem" "$STS/sites/mta-sts.$z.test.pem"
  cp "$WORK/ca/mta-sts.$z.test.key" "$STS/sites/mta-sts.$z.test.key"
done
sts_policy sts-enforce enforce mx.sts-enforce.test
sts_policy sts-mxmismatch enforce mail.sts-mxmismatch.test
sts_policy sts-unknownca enforce mx.sts-unknownca.test
sts_policy sts-hostmismatch enforce '*.sts-hostmismatch.test'
sts_policy sts-testing testing mx.sts-testing.test
# Short-lived, so the relay refreshes it (after half its life) within the test.
MAX_AGE=30 sts_policy sts-fetchfail enforce mx.sts-fetchfail.test
sts_policy sts-idchange enforce mx.sts-idchange.test
sts_policy dane-sts enforce mail.dane-sts.test  # would rule the MX out, were it applied
# The failing hosts would serve enforce policies whose MX certificate check
# fails (no SAN for their MX): were such a policy used, delivery would defer.
sts_policy sts-badtls enforce mx.sts-badtls.test
cp "$WORK/ca/untrusted-mta-sts.sts-badtls.test.pem" "$STS/sites/mta-sts.sts-badtls.test.pem"
cp "$WORK/ca/untrusted-mta-sts.sts-badtls.test.key" "$STS/sites/mta-sts.sts-badtls.test.key"
echo "https://mta-sts.sts-enforce.test/.well-known/mta-sts.txt" >"$STS/sites/mta-sts.sts-redirect.test.redirect"
sts_policy sts-oversize enforce mx.sts-oversize.test
for i in $(seq 1 700); do printf 'x-padding-%04d: %0100d\r\n' "$i" 0; done \
  >>"$STS/sites/mta-sts.sts-oversize.test/.well-known/mta-sts.txt"
mkdir -p "$STS/sites/mta-sts.sts-badsyntax.test/.well-known"
printf 'version: STSv1\r\nmode: enforce\r\nmx: mx.sts-badsyntax.test\r\nmax_age: forever\r\n' \
  >"$STS/sites/mta-sts.sts-badsyntax.test/.well-known/mta-sts.txt"
ensure_loopback_address 127.0.2.1
start_mta_sts_nginx "$STS" 127.0.2.1 443
fetches() { grep -c "^mta-sts.$1.test " "$STS/nginx/access.log" || true; }
check "nginx serves a policy with the test CA" \
  bash -c "curl -sf --cacert '$CA' --resolve mta-sts.sts-testing.test:443:127.0.2.1 \
    https://mta-sts.sts-testing.test/.well-known/mta-sts.txt | grep -q 'mode: testing'"

# ---- receivers --------------------------------------------------------------
for ip in 127.0.1.1 127.0.1.3 127.0.1.4; do ensure_loopback_address $ip; done
# The chain (leaf + test CA) lets DANE-TA match the CA certificate.
start_postfix sink-good 127.0.1.1 25 yes "$WORK/ca/mx-good.chain.pem" "$WORK/ca/mx-good.key"
start_postfix sink-untrusted 127.0.1.3 25 yes "$WORK/ca/untrusted-mx-good.pem" "$WORK/ca/untrusted-mx-good.key"

# The REQUIRETLS-capable receiver: a second tlsrelay for mx.rt-relay.test. It
# relays onward to Postfix, which lacks REQUIRETLS, so flagged messages stay
# in its queue (long retry) where `queue show` can inspect the flag.
mkdir -p "$WORK/acct-rx"
cat >"$WORK/rx.toml" <<T
[server]
hostname = "mx.rt-relay.test"

[[listener]]
address = "127.0.1.4:25"
tls = "starttls"

[tls]
certificate = "$WORK/ca/mx.rt-relay.test.pem"
key = "$WORK/ca/mx.rt-relay.test.key"

[spool]
directory = "$WORK/rx-spool"

[dns]
resolvers = ["$DNS_RESOLVER_ADDR:$DNS_PORT"]

[delivery]
smarthost = "mx1.example.test:25"

[policy]
ca_bundle = "$CA"

[retry]
initial = "1h"
max_interval = "1h"
max_lifetime = "1d"
delay_notice = 0

[accounting]
directory = "$WORK/acct-rx"

[logging]
level = "debug"
T
start_relay relay-rx "$WORK/rx.toml"
RX_PID=$RELAY_PID

# ---- the relay under test ---------------------------------------------------
PORT=$(free_port 127.0.0.1)
mkdir -p "$WORK/acct" "$WORK/sts-cache"
# write_relay_config FILE SPOOL DNSSEC RESOLVER REFRESH_BEFORE [EXEMPT_DOMAIN]
write_relay_config() {
  local file=$1 spool=$2 dnssec=$3 resolver=$4 refresh=$5 exempt=${6:-}
  cat >"$file" <<T
[server]
hostname = "relay.test"

[[listener]]
address = "127.0.0.1:$PORT"
tls = "starttls"

[tls]
certificate = "$WORK/ca/relay.test.pem"
key = "$WORK/ca/relay.test.key"

[spool]
directory = "$spool"

[dns]
resolvers = ["$resolver"]
dnssec = "$dnssec"
trust_anchor_file = "$ROOT_KEY_FILE"

[mta_sts]
enabled = true
ca_bundle = "$CA"
cache_directory = "$WORK/sts-cache"
connect_timeout = "2s"
fetch_timeout = "3s"
refresh_before = "$refresh"
exempt = [${exempt:+\"$exempt\"}]

[policy]
ca_bundle = "$CA"

[retry]
initial = "1s"
max_interval = "2s"
max_lifetime = "8s"
delay_notice = 0

[accounting]
directory = "$WORK/acct"

[logging]
level = "debug"
T
}
write_relay_config "$WORK/relay-ad.toml" "$WORK/spool-ad" trust-ad "$DNS_RESOLVER_ADDR:$DNS_PORT" 1h
check "check-config accepts the TLS policy configuration" "$TLSRELAY_BIN" --config "$WORK/relay-ad.toml" check-config
start_relay relay-ad "$WORK/relay-ad.toml"
RELAY=$RELAY_PID
echo "# setup done after $((SECONDS - T0)) s"

send() {  # send FROM TO [swaks options...]: one message over STARTTLS
  local from=$1 to=$2
  shift 2
  check "submit <$from> -> <$to>" swaks --silent 2 --tls --server "127.0.0.1:$PORT" --from "$from" --to "$to" \
    --header "Subject: tls-policy $to" "$@"
}
send_requiretls() {  # send_requiretls FROM TO: MAIL FROM:<FROM> REQUIRETLS
  check "submit <$1> -> <$2> with REQUIRETLS" \
    /usr/bin/python3 "$TOOLS/smtp_send.py" --server "127.0.0.1:$PORT" --requiretls --from "$1" --to "$2" \
    --subject "requiretls $2"
}
no_row() { ! acct_match "$@"; }  # no_row RECIPIENT COLUMN=REGEX...
not_delivered() {  # not_delivered RECIPIENT: no delivered row, in no maildir
  ! acct_match "$1" result=delivered && ! maildir_has sink-good "$1" && ! maildir_has sink-untrusted "$1"
}

# ---- phase 1: dnssec = "trust-ad" (unbound validates) -----------------------
S=sender@example.test
send $S user@dane-ee.test
send $S user@dane-bad.test
send $S user@dane-ta.test
send $S user@tlsa-bogus.test
send $S tlsa@insecure.test
send $S user@dane-sts.test
send $S user@sts-enforce.test
send $S user@sts-mxmismatch.test
send $S user@sts-unknownca.test
send $S user@sts-hostmismatch.test
send $S user@sts-testing.test
send $S user@sts-badtls.test
send $S user@sts-redirect.test
send $S user@sts-404.test
send $S user@bogus.test
send $S user@sts-oversize.test
send $S user@sts-badsyntax.test
send $S tlsno@sts-unknownca.test --header "TLS-Required: No"
send $S id1@sts-idchange.test
send_requiretls rt1sender@example.test rt1@rt-relay.test
send rt2sender@example.test rt2+requiretls@rt-relay.test
# RFC 8689 §5: the bounce of a REQUIRETLS message is itself sent with
# REQUIRETLS, so these senders live at rt-relay.test, whose MX (the tlsrelay
# receiver) can take it.
send_requiretls rtpf@rt-relay.test rt@rt-postfix.test
send_requiretls rtin@rt-relay.test rt@insecure.test

echo "# DANE"
check_acct "DANE-EE match: delivered, verification dane, success" user@dane-ee.test \
  result=delivered verification=dane result_type=success policy_type=tlsa
check "DANE-EE match: the message is in the maildir" maildir_has sink-good user@dane-ee.test
check_acct "DANE-EE mismatch: deferred as tlsa-invalid" user@dane-bad.test \
  result=deferred result_type='tlsa-invalid|validation-failure' policy_type=tlsa
check_acct "DANE-TA: delivered, verification dane" user@dane-ta.test result=delivered verification=dane result_type=success
check "DANE-TA: the message is in the maildir" maildir_has sink-good user@dane-ta.test
check_acct "TLSA bogus: deferred as dnssec-invalid" user@tlsa-bogus.test result=deferred result_type=dnssec-invalid
check_acct "insecure zone with TLSA: delivered" tlsa@insecure.test result=delivered
check "insecure zone with TLSA: no row says dane" no_row tlsa@insecure.test verification=dane
check "insecure zone with TLSA: no row names a tlsa policy" no_row tlsa@insecure.test policy_type=tlsa
check "insecure zone with TLSA: the message is in the maildir" maildir_has sink-good tlsa@insecure.test
check_acct "DANE and an MTA-STS policy excluding the MX: DANE wins, delivered" user@dane-sts.test \
  result=delivered verification=dane policy_type=tlsa
check "DANE over MTA-STS: the message is in the maildir" maildir_has sink-good user@dane-sts.test

echo "# MTA-STS"
check_acct "enforce, MX in policy, valid certificate: delivered, verification sts" user@sts-enforce.test \
  result=delivered verification=sts result_type=success policy_type=sts
check "enforce: the message is in the maildir" maildir_has sink-good user@sts-enforce.test
check_acct "enforce, MX not in policy: deferred (validation-failure)" user@sts-mxmismatch.test \
  result=deferred result_type=validation-failure policy_type=sts
check_acct "enforce, unknown CA: deferred as certificate-not-trusted" user@sts-unknownca.test \
  result=deferred result_type=certificate-not-trusted policy_type=sts
check_acct "enforce, host mismatch: deferred as certificate-host-mismatch" user@sts-hostmismatch.test \
  result=deferred result_type=certificate-host-mismatch policy_type=sts
check_acct "testing mode, bad certificate: delivered, failure recorded" user@sts-testing.test \
  result=delivered result_type=certificate-not-trusted policy_type=sts
check "testing mode: the message is in the maildir" maildir_has sink-untrusted user@sts-testing.test
check_acct "policy host with an untrusted certificate: delivered, sts-webpki-invalid" user@sts-badtls.test \
  result=delivered result_type=sts-webpki-invalid verification=none
check_acct "policy host redirecting: delivered, policy failure recorded" user@sts-redirect.test \
  result=delivered result_type='sts-policy-(fetch-error|invalid)' verification=none
check_acct "trust-ad: a bogus MX answer (SERVFAIL + EDE 6) defers as dnssec-invalid" user@bogus.test \
  result=deferred result_type=dnssec-invalid dsn_status=4.7.5
check_acct "policy 404: delivered, policy failure recorded" user@sts-404.test \
  result=delivered result_type='sts-policy-(fetch-error|invalid)' verification=none
check_acct "policy over 64 KiB: delivered, policy failure recorded" user@sts-oversize.test \
  result=delivered result_type='sts-policy-(invalid|fetch-error)' verification=none
check_acct "policy with bad syntax: delivered, sts-policy-invalid" user@sts-badsyntax.test \
  result=delivered result_type=sts-policy-invalid verification=none
for z in sts-badtls sts-redirect sts-404 sts-oversize sts-badsyntax; do
  check "$z: the message is in the maildir" maildir_has sink-good "user@$z.test"
done
check "the redirect was not followed (one fetch of mta-sts.sts-enforce.test)" test "$(fetches sts-enforce)" -eq 1
check_acct "TLS-Required: No to a failing enforce domain: delivered" tlsno@sts-unknownca.test \
  result=delivered result_type=certificate-not-trusted
check "TLS-Required: No: the message is in the maildir" maildir_has sink-untrusted tlsno@sts-unknownca.test

# id change: the cached policy is reused until the TXT id changes.
check_acct "id change: first message delivered with sts" id1@sts-idchange.test result=delivered verification=sts
check "id change: one policy fetch for the first message" test "$(fetches sts-idchange)" -eq 1
send $S id2@sts-idchange.test
check_acct "id change: second message (same id) delivered with sts" id2@sts-idchange.test result=delivered verification=sts
check "id change: same id, no refetch" test "$(fetches sts-idchange)" -eq 1
check "id change: the TXT id is changed" bash "$FIX/dns_fixture.sh" set-records "$WORK/dns" sts-idchange.test \
  _mta-sts TXT '_mta-sts 1 IN TXT "v=STSv1; id=second2"'
sleep 2  # the old TXT's TTL (1 s) at unbound and in the relay's cache
send $S id3@sts-idchange.test
check_acct "id change: third message delivered with sts" id3@sts-idchange.test result=delivered verification=sts
check "id change: the new id triggered a refetch" test "$(fetches sts-idchange)" -eq 2

echo "# REQUIRETLS"
/usr/bin/python3 - "$PORT" >"$WORK/rt-clear.out" 2>&1 <<'PY' || true
import smtplib, sys
c = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
c.ehlo("clear.test")
print("advertised" if c.has_extn("requiretls") else "not-advertised")
print(c.docmd("MAIL FROM:<clear@example.test> REQUIRETLS")[0])
c.quit()
PY
check "REQUIRETLS is not advertised before STARTTLS" grep -qx not-advertised "$WORK/rt-clear.out"
check "MAIL FROM with REQUIRETLS in clear text is refused (530)" grep -qx 530 "$WORK/rt-clear.out"
check_acct "REQUIRETLS to the tlsrelay receiver: delivered" rt1@rt-relay.test result=delivered verification='pkix|dane|sts'
check_acct "+requiretls tag to the tlsrelay receiver: delivered (tag removed)" rt2@rt-relay.test result=delivered
# Spool files at the receiver holding a DSN about RECIPIENT.
rx_dsn_for() { grep -laiE "^Final-Recipient: *rfc822; *$1" "$WORK"/rx-spool/queue/*.msg 2>/dev/null || true; }
rx_id() { "$TLSRELAY_BIN" --config "$WORK/rx.toml" queue list | awk -v s="<$1>" '$NF == s {print $1}' | head -n1; }
for n in 1 2; do
  id=$(rx_id "rt${n}sender@example.test" || true)
  check "receiver holds the message of rt${n}sender" test -n "$id"
  "$TLSRELAY_BIN" --config "$WORK/rx.toml" queue show "$id" >"$WORK/rx-show-$n.txt" 2>&1 || true
  check "receiver stored the REQUIRETLS flag of rt${n}" grep -qE '^requiretls: +yes' "$WORK/rx-show-$n.txt"
  check "receiver got rt${n}@rt-relay.test (no tag)" grep -q " rt${n}@rt-relay.test " "$WORK/rx-show-$n.txt"
done
ACCT_DIR=$WORK/acct-rx check_acct "receiver keeps REQUIRETLS onward (Postfix: requiretls:noext)" rt1@rt-relay.test \
  result=deferred requiretls_reason=requiretls:noext
check_acct "REQUIRETLS to Postfix: deferred with requiretls:noext" rt@rt-postfix.test \
  result=deferred requiretls_reason=requiretls:noext
check "REQUIRETLS to Postfix: never delivered" not_delivered rt@rt-postfix.test
ACCT_WAIT=30 check_acct "REQUIRETLS to Postfix: bounced 5.7.10 after retries" rt@rt-postfix.test \
  result=bounced dsn_status=5.7.10
check "REQUIRETLS to Postfix: the DSN reached the sender's MX (the tlsrelay receiver)" \
  wait_for_count "rx_dsn_for rt@rt-postfix.test | wc -l" 1 20
dsn=$(rx_dsn_for rt@rt-postfix.test | head -n1)
check "the DSN carries status 5.7.10" grep -aqi 'Status: 5.7.10' "${dsn:-/dev/null}"
check "the DSN returns headers only (RFC 8689 §5)" \
  bash -c "grep -aq 'Subject: requiretls rt@rt-postfix.test' '${dsn:-/dev/null}' && ! grep -aq 'Body of requiretls' '${dsn:-/dev/null}'"
check "the DSN was sent with REQUIRETLS" \
  bash -c "'$TLSRELAY_BIN' --config '$WORK/rx.toml' queue show '$(basename "${dsn:-none}" .msg)' | grep -qE '^requiretls: +yes'"
check_acct "REQUIRETLS with an insecure MX: deferred with requiretls:insecure-mx" rt@insecure.test \
  result=deferred requiretls_reason=requiretls:insecure-mx
ACCT_WAIT=30 check_acct "REQUIRETLS with an insecure MX: bounced 5.7.10" rt@insecure.test result=bounced dsn_status=5.7.10
check "REQUIRETLS with an insecure MX: the DSN reached the sender's MX" \
  wait_for_count "rx_dsn_for rt@insecure.test | wc -l" 1 20
check "REQUIRETLS with an insecure MX: never delivered" not_delivered rt@insecure.test

echo "# deferred cases never delivered"
for r in user@dane-bad.test user@tlsa-bogus.test user@sts-mxmismatch.test user@sts-unknownca.test \
  user@sts-hostmismatch.test; do
  check "$r never delivered" not_delivered "$r"
done

echo "# policy explain"
explain() {  # explain DOMAIN CONFIG: the --json output flattened to $WORK/explain-DOMAIN.txt
  "$TLSRELAY_BIN" --config "$2" policy explain "$1" --json >"$WORK/explain-$1.json" 2>"$WORK/explain-$1.err" &&
    /usr/bin/python3 "$TOOLS/json_flat.py" "$WORK/explain-$1.json" >"$WORK/explain-$1.txt"
}
explained() {  # explained DOMAIN PATH=VALUE...: every line is in the flattened output
  local f=$WORK/explain-$1.txt line
  shift
  for line in "$@"; do grep -qxF -- "$line" "$f" || { echo "    explain lacks: $line" >&2; return 1; }; done
}
check "policy explain dane-ee.test --json gives JSON" explain dane-ee.test "$WORK/relay-ad.toml"
check "explain dane-ee.test: secure MX set" explained dane-ee.test 'mx.security=secure' 'mx.records[0]=10 mx.dane-ee.test'
check "explain dane-ee.test: the secure TLSA record" \
  explained dane-ee.test 'hosts[0].tlsa.security=secure' "hosts[0].tlsa.records[0]=3 1 1 $GOOD_SPKI"
check "explain dane-ee.test: decision DANE, also for REQUIRETLS" \
  explained dane-ee.test 'decisions[0].normal.verify=dane' 'decisions[0].normal.starttls=required' \
  'decisions[0].requiretls.verify=dane' 'decisions[0].requiretls.requiretls=true'
check "explain dane-ee.test: no MTA-STS" explained dane-ee.test 'mta_sts.status=no-policy'
check "policy explain sts-enforce.test --json gives JSON" explain sts-enforce.test "$WORK/relay-ad.toml"
check "explain sts-enforce.test: the cached enforce policy" \
  explained sts-enforce.test 'mta_sts.status=policy' 'mta_sts.cached_id=enforce1' 'mta_sts.policy.mode=enforce' \
  'mta_sts.policy.mx[0]=mx.sts-enforce.test' 'mta_sts.txt=v=STSv1; id=enforce1'
check "explain sts-enforce.test: decision sts" \
  explained sts-enforce.test 'decisions[0].normal.verify=sts' 'decisions[0].normal.policy_type=sts' \
  'decisions[0].normal.policy_source=mta-sts enforce' 'decisions[0].tlsa_status=none'
check "policy sts-cache list shows cached policies" \
  bash -c "'$TLSRELAY_BIN' --config '$WORK/relay-ad.toml' policy sts-cache list | grep -q sts-enforce.test"

# ---- a cached enforce policy outlives a failing refresh ---------------------
# max_age 30 s: after 15 s the relay refreshes it; the policy host then
# answers 404, and the cached policy (valid for 30 s) must still govern delivery.
send $S seed@sts-fetchfail.test
check_acct "cached policy: seed message delivered with sts" seed@sts-fetchfail.test result=delivered verification=sts
fetched_by=$SECONDS  # the fetch came before the delivery
rm "$STS/sites/mta-sts.sts-fetchfail.test/.well-known/mta-sts.txt"
wait_s=$((16 - (SECONDS - fetched_by)))
if ((wait_s > 0)); then sleep $wait_s; fi
send $S cached@sts-fetchfail.test
check_acct "cached policy, refresh failing: delivered under the cached enforce policy" cached@sts-fetchfail.test \
  result=delivered verification=sts policy_type=sts policy_source='mta-sts enforce'
check "cached policy: a refresh was attempted (and got 404)" \
  bash -c "test \$(grep -c '^mta-sts.sts-fetchfail.test 404 ' '$STS/nginx/access.log') -ge 1"
check "cached policy: the message is in the maildir" maildir_has sink-good cached@sts-fetchfail.test
check "sts-cache clear removes one domain" \
  bash -c "'$TLSRELAY_BIN' --config '$WORK/relay-ad.toml' policy sts-cache clear sts-fetchfail.test >/dev/null &&
    ! '$TLSRELAY_BIN' --config '$WORK/relay-ad.toml' policy sts-cache list | grep -q sts-fetchfail.test &&
    '$TLSRELAY_BIN' --config '$WORK/relay-ad.toml' policy sts-cache list | grep -q sts-enforce.test"
# Every attempt's TLS outcome is also kept for TLS reporting (RFC 8460).
tls_result() { /usr/bin/python3 "$TOOLS/tls_results_query.py" "$WORK/spool-ad/tls-results" "$@"; }
check "TLS results: DANE success stored with its TLSA policy" tls_result policy-domain=dane-ee.test \
  policy-type=tlsa result-type=success "policy-string=3 1 1 $GOOD_SPKI" receiving-mx-hostname=mx.dane-ee.test
check "TLS results: STS host mismatch stored with the policy and the reason" tls_result \
  policy-domain=sts-hostmismatch.test policy-type=sts result-type=certificate-host-mismatch \
  'policy-string=mode: enforce' 'mx-host=[*][.]sts-hostmismatch[.]test' 'failure-reason-code=.+'
check "TLS results: the skipped MX outside the STS policy is stored" tls_result \
  policy-domain=sts-mxmismatch.test result-type=validation-failure receiving-ip=127.0.1.1
check "TLS results: a policy fetch failure is stored" tls_result policy-domain=sts-404.test \
  result-type=sts-policy-fetch-error
stop_relay "$RELAY"

# The TLS report store counted every one of those sessions (RFC 8460 counts
# sessions, failures and successes alike), and the report a day's counts make
# validates against the schema written from RFC 8460 §4.
report_cli() { "$TLSRELAY_BIN" --config "$WORK/relay-ad.toml" report "$@"; }
report_cli list --json --days 2 >"$WORK/report-list.json"
check "reporting: the store's session counts equal the TLS results log" \
  /usr/bin/python3 "$TOOLS/report_counts_match.py" "$WORK/spool-ad/tls-results" "$WORK/report-list.json"
TODAY=$(date -u +%Y-%m-%d)
report_cli show "$TODAY" sts-hostmismatch.test --json >"$WORK/report-sts.json"
check "reporting: the STS host-mismatch report validates against the RFC 8460 schema" \
  /usr/bin/python3 -c "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))" \
  "$WORK/report-sts.json" "$TLSRELAY_SOURCE_DIR/tests/schema/tlsrpt-report.schema.json"
check "reporting: the report names the host-mismatch failures" \
  /usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); p=r['policies'][0]; sys.exit(0 if p['policy']['policy-type']=='sts' and p['summary']['total-failure-session-count']>=1 and any(f['result-type']=='certificate-host-mismatch' for f in p['failure-details']) else 1)" \
  "$WORK/report-sts.json"
# Our end of each session is the kernel's choice; on loopback that is a 127/8 address.
check "reporting: failure details name our sending address" \
  /usr/bin/python3 -c "import json,sys; d=[f for p in json.load(open(sys.argv[1]))['policies'] for f in p['failure-details'] if f['result-type']=='certificate-host-mismatch']; sys.exit(0 if d and all(f.get('sending-mta-ip','').startswith('127.') for f in d) else 1)" \
  "$WORK/report-sts.json"
# Reports others send us: stored once, summarised, and a malformed one kept.
FIXTURES=$TLSRELAY_SOURCE_DIR/tests/fixtures/tlsrpt
check "reporting: a received report mail is stored" \
  bash -c "'$TLSRELAY_BIN' --config '$WORK/relay-ad.toml' report ingest '$FIXTURES/rfc8460-section5.3-mail.eml' | grep -q '^stored: Company-X'"
check "reporting: the same report again is a duplicate" \
  bash -c "'$TLSRELAY_BIN' --config '$WORK/relay-ad.toml' report ingest '$FIXTURES/rfc8460-example.json' | grep -q '^duplicate:'"
check "reporting: received summary per organisation and day" \
  bash -c "'$TLSRELAY_BIN' --config '$WORK/relay-ad.toml' report received --json | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); sys.exit(0 if r==[{\"day\":\"2016-04-01\",\"failed-sessions\":303,\"organization-name\":\"Company-X\",\"policy-domain\":\"company-y.example\",\"reports\":1,\"successful-sessions\":5326}] else 1)'"
printf '{"policies": [' >"$WORK/broken-report.json"
check "reporting: a malformed report is refused and kept" \
  bash -c "! '$TLSRELAY_BIN' --config '$WORK/relay-ad.toml' report ingest '$WORK/broken-report.json' 2>'$WORK/ingest.err' &&
    grep -q 'not a TLS report we can read' '$WORK/ingest.err' && ls '$WORK'/spool-ad/tls-reports-malformed/*.report >/dev/null"
echo "# phase 1 done after $((SECONDS - T0)) s"

# ---- phase 2: dnssec = "validate" (ldns validates against nsd) --------------
write_relay_config "$WORK/relay-val.toml" "$WORK/spool-val" validate "$DNS_AUTH_ADDR:$DNS_PORT" 1h \
  sts-hostmismatch.test
start_relay relay-val "$WORK/relay-val.toml"
RELAY=$RELAY_PID
enforce_fetches=$(fetches sts-enforce)
send $S v@dane-ee.test
send $S v@dane-bad.test
send $S v@dane-ta.test
send $S v@tlsa-bogus.test
send $S v@insecure.test
send $S v@sts-enforce.test
send $S v@sts-hostmismatch.test
send_requiretls vsender@example.test v@rt-relay.test
send_requiretls vin@rt-relay.test v-rt@insecure.test
send $S v@bogus.test
echo "# validate mode"
check_acct "validate: a bogus MX answer defers as dnssec-invalid" v@bogus.test result=deferred \
  result_type=dnssec-invalid dsn_status=4.7.5
check_acct "validate: DANE-EE match delivered with dane" v@dane-ee.test result=delivered verification=dane result_type=success
check "validate: DANE-EE message in the maildir" maildir_has sink-good v@dane-ee.test
check_acct "validate: DANE-EE mismatch deferred" v@dane-bad.test result=deferred result_type='tlsa-invalid|validation-failure'
check_acct "validate: DANE-TA delivered with dane" v@dane-ta.test result=delivered verification=dane
check_acct "validate: TLSA bogus deferred as dnssec-invalid" v@tlsa-bogus.test result=deferred result_type=dnssec-invalid
check_acct "validate: insecure zone with TLSA delivered" v@insecure.test result=delivered
check "validate: insecure zone's TLSA ignored" no_row v@insecure.test verification=dane
check_acct "validate: MTA-STS enforce delivered with sts" v@sts-enforce.test result=delivered verification=sts
check_acct "validate: an exempt MTA-STS domain is delivered without its policy" v@sts-hostmismatch.test \
  result=delivered policy_type=no-policy-found
check "validate: exempt domain's message in the maildir" maildir_has sink-good v@sts-hostmismatch.test
check "validate: the on-disk MTA-STS cache survived the restarts (no refetch)" test "$(fetches sts-enforce)" -eq "$enforce_fetches"
check_acct "validate: REQUIRETLS to the tlsrelay receiver delivered" v@rt-relay.test result=delivered
check_acct "validate: REQUIRETLS with an insecure MX refused" v-rt@insecure.test requiretls_reason=requiretls:insecure-mx
for r in v@dane-bad.test v@tlsa-bogus.test v-rt@insecure.test v@bogus.test; do
  check "validate: $r never delivered" not_delivered "$r"
done
check "validate: policy explain dane-ee.test" explain dane-ee.test "$WORK/relay-val.toml"
check "validate: explain dane-ee.test decides DANE" \
  explained dane-ee.test 'dnssec_mode=validate' 'hosts[0].tlsa.security=secure' 'decisions[0].normal.verify=dane'
check "validate: policy explain tlsa-bogus.test" explain tlsa-bogus.test "$WORK/relay-val.toml"
check "validate: explain tlsa-bogus.test sees the bogus TLSA" \
  explained tlsa-bogus.test 'hosts[0].tlsa.security=bogus' 'decisions[0].tlsa_status=bogus'
check "validate: explain insecure.test ignores its TLSA" \
  bash -c "'$TLSRELAY_BIN' --config '$WORK/relay-val.toml' policy explain insecure.test --json |
    /usr/bin/python3 '$TOOLS/json_flat.py' | grep -qxE 'decisions\[0\]\.normal\.verify=(none|pkix)'"
stop_relay "$RELAY"
check "the REQUIRETLS receiver is still running" pid_alive "$RX_PID"
echo "# total $((SECONDS - T0)) s"

finish_checks
