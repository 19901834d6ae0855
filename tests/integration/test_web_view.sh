#!/usr/bin/env bash
# The web view in a real browser: headless Chromium (Debian's chromium and
# chromium-driver, driven by Selenium: tests/tools/web_view_check.py) loads
# every page of a running relay that delivered mail to a real Postfix, holds
# one deferred message and has received a TLS report, clicks through the
# drill-downs, and checks the numbers shown against the accounting log, the
# report store (`tlsrelay report list`) and the JSON API. Screenshots are
# left in $WORK/screenshots. Also: the pages need the token (Bearer, or Basic
# with the token as the password, which is what a browser can send).
set -euo pipefail
. "$(dirname "$0")/relay_env.sh"
[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || die "chromium and chromium-driver are missing (scripts/install-deps.sh)"

start_admin_test_relay
check "the admin endpoint listens" wait_for_port 127.0.0.1 "$ADMIN_PORT" 10
for r in a b c; do check "submit to $r@remote.test" submit "$r@remote.test"; done
check "the sink received 3" wait_for_count "postfix_count sink" 3 20
check "submit to stuck.test (its next hop refuses connections)" submit dave@stuck.test
check_acct "accounting: dave@stuck.test deferred" dave@stuck.test result=deferred
gzip -c "$TLSRELAY_SOURCE_DIR/tests/fixtures/tlsrpt/rfc8460-example.json" >"$WORK/report.json.gz"
check "a TLS report is POSTed to us" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
  -H 'Content-Type: application/tlsrpt+gzip' --data-binary "@$WORK/report.json.gz" "$BASE/tlsrpt")" = 201
today=$(date -u +%F)
reports_count() { api "$BASE/api/reports?days=2" | grep -c '"policy-domain": "127.0.1.2"' || true; }
wait_for_count reports_count 1 10 >/dev/null || true

echo "# the pages need the token"
check "/ without a token: 401" test "$(code "$BASE/")" = 401
check "/ with Basic and the token as the password: 200" test "$(code -u "admin:$TOKEN" "$BASE/")" = 200
check "/ is HTML with a Content-Security-Policy" sh -c \
  "curl -s -D - -o /dev/null -u 'admin:$TOKEN' '$BASE/' | grep -qi '^content-security-policy: default-src .none.'"

echo "# what the pages must show, from the accounting log, the store and the API"
queue_id=$(/usr/bin/python3 "$TLSRELAY_SOURCE_DIR/tests/tools/acct_query.py" "$WORK/acct" dave@stuck.test --print queue_id | head -n1)
deferrals=$(acct_rows dave@stuck.test | grep -c ',deferred,' || true)
"$TLSRELAY_BIN" --config "$WORK/relay.toml" report list --json --days 2 >"$WORK/store.json"
/usr/bin/python3 - "$WORK/expected.json" "$today" "$queue_id" "$deferrals" "$WORK/store.json" \
  "$(api "$BASE/api/queue")" "$(api "$BASE/api/tls-posture")" \
  "$TLSRELAY_SOURCE_DIR/tests/fixtures/tlsrpt/rfc8460-example.json" <<'PY'
import json, sys
out, today, queue_id, deferrals, store_file, queue, posture, report_file = sys.argv[1:9]
store = [r for r in json.load(open(store_file)) if r["day"] == today and r["policy-domain"] == "127.0.1.2"]
queue, posture, report = json.loads(queue), json.loads(posture), json.load(open(report_file))
stuck = [d["destination"] for d in queue["destinations"] if "stuck.test" in d["destination"]]
# Posture is kept per recipient domain; the report counts them under the smarthost.
smarthost = [p for p in posture if p["domain"] == "remote.test"]
policy = report["policies"][0]
json.dump({
    "today": today, "queued": queue["messages"],
    "stuck_destination": stuck[0] if stuck else "", "stuck_queue_id": queue_id, "stuck_attempts": int(deferrals),
    "sent_successful": store[0]["successful-sessions"] if store else -1,
    "sent_failed": store[0]["failed-sessions"] if store else -1,
    "posture_domain": "remote.test",
    "posture_sessions": sum(smarthost[0]["sessions"].values()) if smarthost else -1,
    "received": {"day": report["date-range"]["start-datetime"][:10], "organization": report["organization-name"],
                 "domain": policy["policy"]["policy-domain"], "report_id": report["report-id"],
                 "successful": policy["summary"]["total-successful-session-count"],
                 "failed": policy["summary"]["total-failure-session-count"],
                 "failure_counts": [d["failed-session-count"] for d in policy["failure-details"]]},
}, open(out, "w"), indent=1)
PY
check "the store and the posture API count the same sessions to the smarthost" \
  /usr/bin/python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); sys.exit(0 if e["sent_successful"] >= 1 and e["posture_sessions"] == e["sent_successful"] else 1)' "$WORK/expected.json"

echo "# every page in headless Chromium"
mkdir -p "$WORK/screenshots"
if /usr/bin/python3 "$TLSRELAY_SOURCE_DIR/tests/tools/web_view_check.py" "$BASE" "$TOKEN" "$WORK/screenshots" \
  "$WORK/expected.json" >"$WORK/browser.out" 2>&1; then browser_ok=yes; else browser_ok=no; fi
cat "$WORK/browser.out"
check "the browser checks passed" test "$browser_ok" = yes
check "a screenshot of every page" test "$(ls "$WORK/screenshots"/*.png | wc -l)" -ge 9
echo "# screenshots in $WORK/screenshots"
stop_relay "$RELAY_PID"
check "the token is in no log" sh -c "! grep -rqF -- '$TOKEN' '$WORK/relay.log' '$WORK/acct'"
finish_checks
