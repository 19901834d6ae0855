#!/usr/bin/env bash
# Two relays of a fleet share one TLS report store in a real PostgreSQL
# (started here on loopback, password login). Both deliver today; on the next
# day (libfaketime) exactly one of them sends each report, with the sessions
# of both counted. The node sending one report is killed (-9) in the middle of
# its HTTPS POST: the other node takes the report over once the dead node's
# claim expires and sends it, under the same report-id.
set -euo pipefail
. "$(dirname "$0")/relay_env.sh"
TOOLS=$TLSRELAY_SOURCE_DIR/tests/tools
SCHEMA=$TLSRELAY_SOURCE_DIR/tests/schema/tlsrpt-report.schema.json
use_next_day

make_certs relay.test "mx-good=mx1.example.test,mx.dane-ee.test,mx.sts-enforce.test" mta-sts.sts-enforce.test localhost
GOOD_SPKI=$(cat "$WORK/ca/mx-good.tlsa")

start_tlsrpt_sink

{
  printf 'dane-ee.test\t%s\n' "_25._tcp.mx IN TLSA 3 1 1 $GOOD_SPKI"
  printf 'dane-ee.test\t%s\n' '_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@reports.relay.test"'
  # A slow endpoint: the POST takes 8 s, time enough to kill its sender.
  printf 'sts-enforce.test\t%s\n' "_smtp._tls IN TXT \"v=TLSRPTv1; rua=https://localhost:$SINK_PORT/sleep/8\""
  printf 'relay.test\t%s\n' 'reports IN MX 10 mx1.example.test.'
} >"$WORK/dns-extra"
export TLSRELAY_TEST_DNS_EXTRA=$WORK/dns-extra
start_dns

sts_site sts-enforce enforce mx.sts-enforce.test
ensure_loopback_address 127.0.2.1
start_mta_sts_nginx "$WORK/sts" 127.0.2.1 443
ensure_loopback_address 127.0.1.1
start_postfix sink-good 127.0.1.1 25 yes "$WORK/ca/mx-good.chain.pem" "$WORK/ca/mx-good.key"

PG_PORT=$(free_port 127.0.0.1)
bash "$TLSRELAY_SOURCE_DIR/tests/fixtures/postgres_fixture.sh" start "$WORK/pg" 127.0.0.1 "$PG_PORT" \
  >"$WORK/pg.out" 2>&1 || { cat "$WORK/pg.out" >&2; die "postgres fixture failed"; }
CLEANUP_CMDS+=("bash '$TLSRELAY_SOURCE_DIR/tests/fixtures/postgres_fixture.sh' stop '$WORK/pg'")
STORE=$(cat "$WORK/pg/url")
PG_PASSWORD=$(cat "$WORK/pg/pwfile")

write_node() {  # write_node NAME PORT
  cat >"$WORK/$1.toml" <<T
[server]
hostname = "$1.relay.test"

[[listener]]
address = "127.0.0.1:$2"
tls = "starttls"

[spool]
directory = "$WORK/spool-$1"

[dns]
resolvers = ["$DNS_RESOLVER_ADDR:$DNS_PORT"]

[policy]
ca_bundle = "$CA"

[reporting]
store = "$STORE"
send = true
submitter = "relay.test"
from = "tlsrpt-noreply@relay.test"
node = "$1"
claim_timeout = "20s"
https_ca_bundle = "$CA"

[logging]
level = "debug"
T
}
PORT_A=$(free_port 127.0.0.1)
write_node node-a "$PORT_A"
PORT_B=$(free_port 127.0.0.1)
[ "$PORT_B" != "$PORT_A" ] || PORT_B=$((PORT_A + 1))
write_node node-b "$PORT_B"
check "check-config accepts the PostgreSQL store (and warns about the short claim)" \
  bash -c "'$TLSRELAY_BIN' --config '$WORK/node-a.toml' check-config | grep -q 'claim_timeout is shorter'"

# ---- today: both nodes deliver --------------------------------------------------
start_relay node-a "$WORK/node-a.toml"
A=$RELAY_PID
start_relay node-b "$WORK/node-b.toml"
B=$RELAY_PID
send() { swaks --silent 2 --server 127.0.0.1:$1 --from sender@example.test --to "$2" >/dev/null; }
send "$PORT_A" a1@dane-ee.test
send "$PORT_A" a2@sts-enforce.test
send "$PORT_B" b1@dane-ee.test
send "$PORT_B" b2@dane-ee.test
send "$PORT_B" b3@sts-enforce.test
check "five messages delivered by the two nodes" wait_for_count "postfix_count sink-good" 5 30
stop_relay "$A"
stop_relay "$B"
# One view of both nodes' TLS results logs, for the count checks.
mkdir -p "$WORK/results"
for n in a b; do
  for f in "$WORK/spool-node-$n"/tls-results/tls-results-*.jsonl; do cp "$f" "$WORK/results/tls-results-$n-${f##*/tls-results-}"; done
done
"$TLSRELAY_BIN" --config "$WORK/node-b.toml" report list --json --days 2 >"$WORK/list-today.json"
check "the shared store holds the sessions of both nodes" \
  /usr/bin/python3 "$TOOLS/report_counts_match.py" "$WORK/results" "$WORK/list-today.json"
check "each node's log has sessions of its own" \
  bash -c "test -s '$WORK/spool-node-a/tls-results/'*.jsonl && test -s '$WORK/spool-node-b/tls-results/'*.jsonl"
TODAY=$(date -u +%Y-%m-%d)

# ---- the next day: node A starts sending and dies mid-POST ----------------------
RELAY_WRAPPER=$NEXT_DAY start_relay node-a-next "$WORK/node-a.toml"
A=$RELAY_PID
list() { "$TLSRELAY_BIN" --config "$WORK/node-b.toml" report list --json --days 3 >"$WORK/list.json"; }
field_of() {  # field_of DOMAIN FIELD
  /usr/bin/python3 -c "import json,sys; print(''.join(str(r.get(sys.argv[4],'')) for r in json.load(open(sys.argv[1])) if r['day']==sys.argv[2] and r['policy-domain']==sys.argv[3]))" \
    "$WORK/list.json" "$TODAY" "$1" "$2"
}
# Reports go out in domain order: dane-ee.test (mail), then sts-enforce.test,
# whose claim is taken just before its 8-second POST.
claimed_by_a() { list; [ "$(field_of sts-enforce.test report) $(field_of sts-enforce.test node)" = "claimed node-a" ] && echo 1 || echo 0; }
check "node A claims the sts-enforce.test report" wait_for_count claimed_by_a 1 45
sleep 1  # its POST is now waiting on the slow endpoint
kill -KILL "$A"
wait "$A" 2>/dev/null || true
check "the killed node is gone" bash -c "! kill -0 $A 2>/dev/null"
report_mails() { grep -l '^TLS-Report-Domain:' "$WORK"/sink-good/mail/new/* 2>/dev/null | wc -l; }
list
check "node A mailed the dane-ee.test report before it died" wait_for_count report_mails 1 30
check "after the kill: dane-ee.test sent by node-a" test "$(field_of dane-ee.test report) $(field_of dane-ee.test node)" = "sent node-a"
check "after the kill: sts-enforce.test still claimed by the dead node-a" \
  test "$(field_of sts-enforce.test report) $(field_of sts-enforce.test node)" = "claimed node-a"

# ---- node B takes over once the claim expires ---------------------------------
RELAY_WRAPPER=$NEXT_DAY start_relay node-b-next "$WORK/node-b.toml"
B=$RELAY_PID
sent_by_b() { list; [ "$(field_of sts-enforce.test report) $(field_of sts-enforce.test node)" = "sent node-b" ] && echo 1 || echo 0; }
check "node B sends the sts-enforce.test report after node A's claim expired" wait_for_count sent_by_b 1 120
posts() { ls "$WORK"/posts/*.json 2>/dev/null | wc -l; }
check "the slow endpoint got the dead node's POST and node B's" wait_for_count posts 2 20
check "both POSTs carry the same report (one report-id), so the receiver can drop the resend" \
  /usr/bin/python3 -c "import glob,gzip,json,sys; ids={json.loads(gzip.decompress(open(f,'rb').read()))['report-id'] for f in glob.glob(sys.argv[1]+'/*.body')}; sys.exit(0 if len(ids)==1 else 1)" "$WORK/posts"
LAST_POST=$(ls "$WORK"/posts/*.body | tail -n1)
check "node B's report counts the sessions of both nodes" \
  /usr/bin/python3 "$TOOLS/tlsrpt_report_check.py" body "$LAST_POST" sts-enforce.test relay.test "$SCHEMA" "$WORK/results" "$TODAY"
check "node B did not mail the dane-ee.test report again" test "$(report_mails)" = 1
check "the one dane-ee.test report counts the sessions of both nodes" \
  /usr/bin/python3 "$TOOLS/tlsrpt_report_check.py" mail "$(grep -l '^TLS-Report-Domain: dane-ee.test' "$WORK"/sink-good/mail/new/*)" \
  dane-ee.test relay.test "$SCHEMA" "$WORK/results" "$TODAY"
stop_relay "$B"
check "the store password never reaches a log" bash -c "! grep -qF -- '$PG_PASSWORD' '$WORK'/node-*.log"
finish_checks
