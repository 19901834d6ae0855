#!/usr/bin/python3
"""Checks that the TLS report store counted exactly the sessions the TLS
results log recorded: per (UTC day, policy domain), successes and failures.

usage: report_counts_match.py TLS_RESULTS_DIR REPORT_LIST_JSON
Exit 0 when every day and domain agrees (and there is at least one), else 1
with the differences on stderr."""
import collections
import datetime
import glob
import json
import sys


def main():
    results_dir, listing = sys.argv[1], sys.argv[2]
    logged = collections.Counter()
    for path in glob.glob(results_dir + "/tls-results-*.jsonl"):
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                day = datetime.datetime.fromtimestamp(r["time"], datetime.timezone.utc).strftime("%Y-%m-%d")
                kind = "ok" if r["result-type"] == "success" else "failed"
                logged[(day, r["policy-domain"], kind)] += 1
    stored = collections.Counter()
    with open(listing) as f:
        for row in json.load(f):
            if row["successful-sessions"]:
                stored[(row["day"], row["policy-domain"], "ok")] += row["successful-sessions"]
            if row["failed-sessions"]:
                stored[(row["day"], row["policy-domain"], "failed")] += row["failed-sessions"]
    if not logged:
        print("no TLS results logged", file=sys.stderr)
        return 1
    if logged != stored:
        for key in sorted(set(logged) | set(stored)):
            if logged[key] != stored[key]:
                print(f"{key}: log {logged[key]} store {stored[key]}", file=sys.stderr)
        return 1
    print(f"{sum(logged.values())} sessions in {len(logged)} (day, domain, outcome) groups agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
