#!/usr/bin/env bash
# The admin HTTP endpoint ([admin], libh2o) of a running relay, with curl as
# the client: probes without the token, everything else only with it; /metrics
# agrees with the accounting log after real deliveries to a Postfix; the queue
# API shows a deferred message and its recipients; the sent and received
# report views; a TLS report POSTed as application/tlsrpt+gzip is stored once
# (a second POST is a duplicate, a wrong media type 415, garbage 400); while
# draining /readyz says 503 and /healthz still 200; the token is in no log.
set -euo pipefail
. "$(dirname "$0")/relay_env.sh"

start_admin_test_relay
check "the admin endpoint listens" wait_for_port 127.0.0.1 "$ADMIN_PORT" 10

echo "# probes and the bearer token"
check "/healthz answers 200 without a token" test "$(code "$BASE/healthz")" = 200
check "/readyz answers 200 while running" test "$(code "$BASE/readyz")" = 200
check "/metrics without a token: 401" test "$(code "$BASE/metrics")" = 401
check "/metrics with a wrong token: 401" test "$(code -H 'Authorization: Bearer wrong-token-0000000' "$BASE/metrics")" = 401
check "an unknown path with the token: 404" test "$(code -H "Authorization: Bearer $TOKEN" "$BASE/nope")" = 404
check "/metrics with the token: 200, Prometheus text" \
  sh -c "curl -s -H 'Authorization: Bearer $TOKEN' '$BASE/metrics' | grep -q '^# TYPE tlsrelay_delivery_attempts_total counter'"
check "/api/status says running" sh -c "curl -s -H 'Authorization: Bearer $TOKEN' '$BASE/api/status' | grep -q '\"state\":\"running\"'"

echo "# deliveries and what /metrics says about them"
for r in a b c; do check "submit to $r@remote.test" submit "$r@remote.test"; done
check "the sink received 3" wait_for_count "postfix_count sink" 3 20
check_acct "accounting: c@remote.test delivered" c@remote.test result=delivered
delivered_rows=$(acct_rows @remote.test | grep -c ',delivered,' || true)
check "tlsrelay_delivery_attempts_total{delivered} = accounting's delivered rows (3)" \
  test "$(metric 'tlsrelay_delivery_attempts_total{result="delivered"}')" = "$delivered_rows" -a "$delivered_rows" = 3
check "tlsrelay_messages_received_total = 3" test "$(metric tlsrelay_messages_received_total)" = 3

echo "# the queue API"
check "submit to stuck.test (its next hop refuses connections)" submit dave@stuck.test
check_acct "accounting: deferred" dave@stuck.test result=deferred
queue=$(api "$BASE/api/queue")
check "/api/queue lists one message for stuck.test" /usr/bin/python3 -c '
import json, sys
q = json.loads(sys.argv[1])
d = [x for x in q["destinations"] if "stuck.test" in x["destination"]]
assert q["messages"] == 1 and len(d) == 1 and d[0]["messages"] == 1, q' "$queue"
queue_id=$(/usr/bin/python3 "$TLSRELAY_SOURCE_DIR/tests/tools/acct_query.py" "$WORK/acct" dave@stuck.test --print queue_id | head -n1)
message=$(api "$BASE/api/queue/$queue_id")
check "/api/queue/<id> shows dave@stuck.test pending" /usr/bin/python3 -c '
import json, sys
m = json.loads(sys.argv[1])
r = [x for x in m["recipients"] if x["address"] == "dave@stuck.test"]
assert r and r[0]["state"] == "pending", m' "$message"
check "/api/queue/<unknown> is 404" test "$(code -H "Authorization: Bearer $TOKEN" "$BASE/api/queue/NOSUCHID")" = 404
check "tlsrelay_queue_size = 1" test "$(metric tlsrelay_queue_size)" = 1

echo "# TLS reports others POST to us (RFC 8460 §5.4)"
gzip -c "$TLSRELAY_SOURCE_DIR/tests/fixtures/tlsrpt/rfc8460-example.json" >"$WORK/report.json.gz"
post() {  # post CONTENT_TYPE FILE: the HTTP status; no token (the receiver is public)
  curl -s -o /dev/null -w '%{http_code}' -X POST -H "Content-Type: $1" --data-binary "@$2" "$BASE/tlsrpt"
}
check "a gzip report is stored: 201" test "$(post application/tlsrpt+gzip "$WORK/report.json.gz")" = 201
check "the same report again: 200 (a duplicate)" test "$(post application/tlsrpt+gzip "$WORK/report.json.gz")" = 200
check "another media type: 415" test "$(post application/json "$WORK/report.json.gz")" = 415
printf 'not a report' >"$WORK/garbage"
check "garbage: 400" test "$(post application/tlsrpt+json "$WORK/garbage")" = 400
org=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["organization-name"])' \
  "$TLSRELAY_SOURCE_DIR/tests/fixtures/tlsrpt/rfc8460-example.json")
rid=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["report-id"])' \
  "$TLSRELAY_SOURCE_DIR/tests/fixtures/tlsrpt/rfc8460-example.json")
check "/api/reports/received lists it once" /usr/bin/python3 -c '
import json, sys
rows = json.loads(sys.argv[1])["received"]
assert len(rows) >= 1 and all(r["reports"] == 1 for r in rows) and rows[0]["organization-name"] == sys.argv[2], rows' \
  "$(api "$BASE/api/reports/received")" "$org"
check "/api/reports/received/report gives back the JSON as sent" sh -c "
  curl -s -G -H 'Authorization: Bearer $TOKEN' --data-urlencode 'organization=$org' --data-urlencode 'id=$rid' \
    '$BASE/api/reports/received/report' | cmp -s - '$TLSRELAY_SOURCE_DIR/tests/fixtures/tlsrpt/rfc8460-example.json'"
check "tlsrelay_tls_reports_received_total{stored} = 1" \
  test "$(metric 'tlsrelay_tls_reports_received_total{result="stored"}')" = 1

echo "# the reports we send"
today=$(date -u +%F)
# The observer thread commits counts in batches: wait for them.
# Sessions to a smarthost count under the smarthost as the policy domain.
reports_count() { api "$BASE/api/reports?days=2" | grep -c '"policy-domain": "127.0.1.2"' || true; }
wait_for_count reports_count 1 10 >/dev/null || true
sent=$(api "$BASE/api/reports?days=2")
check "/api/reports has today's TLS sessions to the smarthost, all successful" /usr/bin/python3 -c '
import json, sys
rows = [r for r in json.loads(sys.argv[1])["reports"] if r["policy-domain"] == "127.0.1.2" and r["day"] == sys.argv[2]]
assert len(rows) == 1 and rows[0]["successful-sessions"] >= 1 and rows[0]["failed-sessions"] == 0, rows
print(rows[0]["successful-sessions"], file=open(sys.argv[3], "w"))' "$sent" "$today" "$WORK/sessions"
check "/api/reports/<day>/<domain> is the RFC 8460 document of those counts" /usr/bin/python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["policies"][0]["summary"]["total-successful-session-count"] == int(open(sys.argv[3]).read()), d
assert d["policies"][0]["policy"]["policy-domain"] == "127.0.1.2", d
assert d["organization-name"] and d["report-id"] and d["date-range"]["start-datetime"].startswith(sys.argv[2]), d' \
  "$(api "$BASE/api/reports/$today/127.0.1.2")" "$today" "$WORK/sessions"
check "/api/reports/<day>/<domain without counts> is 404" \
  test "$(code -H "Authorization: Bearer $TOKEN" "$BASE/api/reports/$today/nothing.test")" = 404
check "/api/reports?days=0 is 400" test "$(code -H "Authorization: Bearer $TOKEN" "$BASE/api/reports?days=0")" = 400

echo "# draining"
# An SMTP session held open keeps the relay draining for a few seconds.
exec 7<>"/dev/tcp/127.0.0.1/$SMTP_PORT"
kill -TERM "$RELAY_PID"
readyz_503() { wait_for_count "code $BASE/readyz" 503 5 >/dev/null; }
check "/readyz answers 503 while draining" readyz_503
check "/healthz still 200 while draining" test "$(code "$BASE/healthz")" = 200
exec 7>&-
wait "$RELAY_PID" 2>/dev/null || true
check "the endpoint is closed after the exit" sh -c "! curl -s -o /dev/null '$BASE/healthz'"
check "the token is in no log" sh -c "! grep -rqF -- '$TOKEN' '$WORK/relay.log' '$WORK/acct'"
finish_checks
