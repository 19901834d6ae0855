#!/usr/bin/env bash
# TLS reporting (RFC 8460) end to end on loopback. Today the relay delivers to
# a DANE domain, an MTA-STS domain, one whose STS policy fails (certificate
# host mismatch) and a plain one; every session is counted. Then the relay
# lives on the next day (libfaketime) and sends yesterday's reports on its own
# schedule: by DKIM-signed mail through its own spool to a Postfix receiver,
# and by HTTPS POST to a local endpoint, to the destinations each domain
# publishes in _smtp._tls (one through a CNAME). Each report is checked:
# dkimpy verifies the signature, the gzip JSON validates against the schema
# written from RFC 8460 §4, and its counts equal the sessions the TLS results
# log recorded. Nothing is sent twice (a second pass, a restart), the report
# mails' own sessions are not counted, and reports mailed to our ingest
# address by a client that may not relay are read and stored, never relayed.
set -euo pipefail
. "$(dirname "$0")/relay_env.sh"
TOOLS=$TLSRELAY_SOURCE_DIR/tests/tools
SCHEMA=$TLSRELAY_SOURCE_DIR/tests/schema/tlsrpt-report.schema.json
FIXTURES=$TLSRELAY_SOURCE_DIR/tests/fixtures/tlsrpt
use_next_day

# ---- certificates, keys, DNS --------------------------------------------------
# mx.sts-hostmismatch.test is deliberately not on the receiver's certificate.
make_certs relay.test "mx-good=mx1.example.test,mx.dane-ee.test,mx.sts-enforce.test" \
  mta-sts.sts-enforce.test mta-sts.sts-hostmismatch.test localhost
GOOD_SPKI=$(cat "$WORK/ca/mx-good.tlsa")
mkdir -p "$WORK/keys"
(cd "$WORK/keys" && "$TLSRELAY_BIN" dkim keygen --domain relay.test --selector r1 --tlsrpt >r1.txt 2>/dev/null)
sed -e 's/^[^"]*//' -e 's/" "//g' -e 's/"//g' -e 's/ )$//' "$WORK/keys/r1.txt" >"$WORK/keys/r1.record"
check "keygen --tlsrpt adds s=tlsrpt to the key record" grep -q 's=tlsrpt' "$WORK/keys/r1.record"

start_tlsrpt_sink

{
  printf 'dane-ee.test\t%s\n' "_25._tcp.mx IN TLSA 3 1 1 $GOOD_SPKI"
  printf 'dane-ee.test\t%s\n' '_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@reports.relay.test"'
  # sts-enforce.test hands its reporting to a shared record (RFC 8460 §3 allows the CNAME).
  printf 'sts-enforce.test\t%s\n' '_smtp._tls IN CNAME _smtp._tls.shared.relay.test.'
  printf 'relay.test\t%s\n' "_smtp._tls.shared IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@reports.relay.test,https://localhost:$SINK_PORT/tlsrpt\""
  printf 'sts-hostmismatch.test\t%s\n' '_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@reports.relay.test"'
  printf 'relay.test\t%s\n' 'reports IN MX 10 mx1.example.test.'
  printf 'relay.test\t%s\n' "$(cat "$WORK/keys/r1.txt")"
} >"$WORK/dns-extra"
export TLSRELAY_TEST_DNS_EXTRA=$WORK/dns-extra
start_dns
check "the CNAME'd _smtp._tls record resolves" bash -c \
  "dig +short -p $DNS_PORT @$DNS_RESOLVER_ADDR _smtp._tls.sts-enforce.test TXT | grep -q 'https://localhost:$SINK_PORT/tlsrpt'"

# ---- MTA-STS hosts and the receiver -------------------------------------------
sts_site sts-enforce enforce mx.sts-enforce.test
sts_site sts-hostmismatch enforce '*.sts-hostmismatch.test'
ensure_loopback_address 127.0.2.1
start_mta_sts_nginx "$WORK/sts" 127.0.2.1 443
ensure_loopback_address 127.0.1.1
start_postfix sink-good 127.0.1.1 25 yes "$WORK/ca/mx-good.chain.pem" "$WORK/ca/mx-good.key"

# ---- the relay ------------------------------------------------------------------
ensure_loopback_address 127.0.0.5
PORT=$(free_port 127.0.0.1)
cat >"$WORK/relay.toml" <<T
[server]
hostname = "relay.test"

[[listener]]
address = "127.0.0.1:$PORT"
tls = "starttls"

[[listener]]
address = "127.0.0.5:$PORT"
tls = "starttls"

# A reporter out on the Internet: may not relay.
[[source]]
cidr = "127.0.0.5/32"
relay = false

[spool]
directory = "$WORK/spool"

[dns]
resolvers = ["$DNS_RESOLVER_ADDR:$DNS_PORT"]

[policy]
ca_bundle = "$CA"

[retry]
initial = "1h"

[dkim]
[[dkim.sign]]
domain = "relay.test"
selector = "r1"
key_file = "$WORK/keys/relay.test.r1.key"

[reporting]
send = true
organization_name = "tlsrelay integration tests"
submitter = "relay.test"
contact_info = "mailto:tlsrpt-admin@relay.test"
from = "tlsrpt-noreply@relay.test"
https_ca_bundle = "$CA"
ingest_address = "tlsrpt@relay.test"

[accounting]
directory = "$WORK/acct"

[logging]
level = "debug"
T
"$TLSRELAY_BIN" --config "$WORK/relay.toml" check-config >"$WORK/check.out"
check "check-config: the report sender's From is DKIM-signed (no warning)" \
  bash -c "grep -q 'configuration OK' '$WORK/check.out' && ! grep -q 'report mails will go out unsigned' '$WORK/check.out'"
sed 's/^domain = "relay.test"/domain = "other.test"/' "$WORK/relay.toml" >"$WORK/unsigned.toml"
check "check-config warns when no DKIM key signs the report mails" \
  bash -c "'$TLSRELAY_BIN' --config '$WORK/unsigned.toml' check-config | grep -q 'from = tlsrpt-noreply@relay.test: no \[\[dkim.sign\]\] entry signs it'"

# ---- today: deliveries, every session counted -----------------------------------
start_relay relay "$WORK/relay.toml"
RELAY=$RELAY_PID
send() { swaks --silent 2 --server 127.0.0.1:$PORT --from sender@example.test --to "$1" >/dev/null; }
for rcpt in a1@dane-ee.test a2@dane-ee.test b1@sts-enforce.test b2@sts-enforce.test c1@sts-hostmismatch.test \
  d1@example.test; do send "$rcpt"; done
RESULTS=$WORK/spool/tls-results
acct_lines() { cat "$WORK"/acct/*.csv 2>/dev/null | grep -c '@' || true; }
check "five messages delivered" wait_for_count "postfix_count sink-good" 5 30
check "six recipients accounted for (the host mismatch defers)" wait_for_count acct_lines 6 30
TODAY=$(date -u +%Y-%m-%d)
report_cli() { "$TLSRELAY_BIN" --config "$WORK/relay.toml" report "$@"; }
out=$(report_cli send --date "$TODAY" 2>&1 || true)
check "report send refuses a day that is not over" grep -q "$TODAY is not over yet" <<<"$out"
stop_relay "$RELAY"
report_cli list --json --days 2 >"$WORK/list-today.json"
check "the store's counts equal the TLS results log" \
  /usr/bin/python3 "$TOOLS/report_counts_match.py" "$RESULTS" "$WORK/list-today.json"

# ---- the next day: the reports go out on schedule -------------------------------
RELAY_WRAPPER=$NEXT_DAY start_relay relay-next "$WORK/relay.toml"
RELAY=$RELAY_PID
reports_in_maildir() { grep -l '^TLS-Report-Domain:' "$WORK"/sink-good/mail/new/* 2>/dev/null | wc -l; }
posts() { ls "$WORK"/posts/*.body 2>/dev/null | wc -l; }
check "three report mails arrive at the receiving MTA" wait_for_count reports_in_maildir 3 60
check "one report is POSTed to the https rua" wait_for_count posts 1 30
report_mail() { grep -l "^TLS-Report-Domain: $1" "$WORK"/sink-good/mail/new/* | head -n1; }
for domain in dane-ee.test sts-enforce.test sts-hostmismatch.test; do
  mail=$(report_mail $domain)
  check "$domain: dkimpy verifies the report mail's signature (s=tlsrpt key, strict)" \
    $NEXT_DAY /usr/bin/python3 "$TOOLS/dkimpy_peer.py" verify-tlsrpt "$mail" "$WORK/keys/r1.record"
  check "$domain: RFC 8460 §5.3 form, schema-valid, counts equal the sessions made" \
    /usr/bin/python3 "$TOOLS/tlsrpt_report_check.py" mail "$mail" $domain relay.test "$SCHEMA" "$RESULTS" "$TODAY"
done
POST=$(ls "$WORK"/posts/*.body | head -n1)
check "the POST was application/tlsrpt+gzip to the rua's path" \
  /usr/bin/python3 -c "import json,sys; m=json.load(open(sys.argv[1])); sys.exit(0 if m['content_type']=='application/tlsrpt+gzip' and m['path']=='/tlsrpt' else 1)" \
  "${POST%.body}.json"
check "the POSTed report: schema-valid, counts equal the sessions made" \
  /usr/bin/python3 "$TOOLS/tlsrpt_report_check.py" body "$POST" sts-enforce.test relay.test "$SCHEMA" "$RESULTS" "$TODAY"
report_cli list --json --days 3 >"$WORK/list-next.json"
state_of() {  # state_of DOMAIN: the report state of TODAY's report for DOMAIN
  /usr/bin/python3 -c "import json,sys; print(''.join(r['report'] for r in json.load(open(sys.argv[1])) if r['day']==sys.argv[2] and r['policy-domain']==sys.argv[3]))" \
    "$WORK/list-next.json" "$TODAY" "$1"
}
check "report list: the three reports are sent" \
  test "$(state_of dane-ee.test) $(state_of sts-enforce.test) $(state_of sts-hostmismatch.test)" = "sent sent sent"
check "report list: example.test publishes no _smtp._tls record" test "$(state_of example.test)" = no-rua
check "the report mails' own sessions are not counted" \
  bash -c "! grep -q 'reports.relay.test' '$WORK/list-next.json'"
out=$(report_cli send --date "$TODAY")
check "report send afterwards: nothing left to send" grep -q '^no reports to send' <<<"$out"

# A restart sends nothing twice.
stop_relay "$RELAY"
RELAY_WRAPPER=$NEXT_DAY start_relay relay-next "$WORK/relay.toml"
RELAY=$RELAY_PID
sleep 15  # past the first schedule tick
check "after a restart: still three report mails and one POST" \
  bash -c "[ \$(grep -l '^TLS-Report-Domain:' '$WORK'/sink-good/mail/new/* | wc -l) = 3 ] && [ \$(ls '$WORK'/posts/*.body | wc -l) = 1 ]"

# ---- reports mailed to us -----------------------------------------------------
from_outside() { swaks --server 127.0.0.5:$PORT --local-interface 127.0.0.5 --from noreply@reporter.example "$@" 2>&1 || true; }
out=$(from_outside --to tlsrpt@relay.test --data "$FIXTURES/rfc8460-section5.3-mail.eml")
check "a report mailed to the ingest address gets 250 from a client that may not relay" grep -qE '^<- +250 2.0.0 ' <<<"$out"
out=$(from_outside --to victim@elsewhere.example)
check "the same client still may not relay" grep -qE '<\*\* 554 5.7.1 ' <<<"$out"
out=$(from_outside --to tlsrpt@relay.test,victim@elsewhere.example --data "$FIXTURES/rfc8460-section5.3-mail.eml")
check "the ingest address does not take other recipients in its transaction" grep -qE '<\*\* 452 4.5.3 ' <<<"$out"
check "report received lists the mailed report" \
  bash -c "'$TLSRELAY_BIN' --config '$WORK/relay.toml' report received --json | grep -q '\"organization-name\": \"Company-X\"'"
out=$(from_outside --to tlsrpt@relay.test --body 'not a report at all')
check "a mailed non-report is taken (250) and kept for inspection" \
  bash -c "grep -qE '^<- +250 ' <<<\"\$0\" && ls '$WORK'/spool/tls-reports-malformed/*.report >/dev/null" "$out"
# Relayed, it would have been tried at relay.test's MX (where nothing
# listens) and left a deferred accounting row at once.
check "nothing mailed to the ingest address was relayed" \
  bash -c "! cat '$WORK'/acct/*.csv | grep -qi 'tlsrpt@relay.test'"
stop_relay "$RELAY"
check "no private key material in the logs" bash -c "! grep -q 'PRIVATE KEY' '$WORK'/relay*.log"
finish_checks
