#!/usr/bin/python3
"""Checks one TLS report we sent (RFC 8460) against what the relay did.

  tlsrpt_report_check.py mail MESSAGE DOMAIN SUBMITTER SCHEMA TLS_RESULTS_DIR DAY
  tlsrpt_report_check.py body GZIP_BODY DOMAIN SUBMITTER SCHEMA TLS_RESULTS_DIR DAY

`mail`: MESSAGE is the report mail as the receiving MTA stored it; its form
is checked against RFC 8460 §5.3 (multipart/report; report-type="tlsrpt",
TLS-Report-Domain, TLS-Report-Submitter, the Subject, the attachment name).
`body`: what an https: rua received (application/tlsrpt+gzip).
Either way the gzip JSON must validate against SCHEMA, cover DAY (UTC), and
its counts must equal the sessions the TLS results log recorded for DOMAIN
on DAY: per policy type the successes and failures, and per result type the
failed sessions. Exit 0 when all holds, else 1 with the reasons on stderr.
Run with /usr/bin/python3 (python3-jsonschema is a Debian package)."""
import collections
import datetime
import email
import email.policy
import glob
import gzip
import json
import re
import sys

import jsonschema

problems = []


def expect(cond, what):
    if not cond:
        problems.append(what)
    return cond


def from_mail(path, domain, submitter):
    msg = email.message_from_binary_file(open(path, "rb"), policy=email.policy.default)
    expect(msg.get_content_type() == "multipart/report", "not multipart/report: " + msg.get_content_type())
    expect(msg.get_param("report-type") == "tlsrpt", "report-type is not tlsrpt")
    expect(str(msg.get("TLS-Report-Domain", "")).strip() == domain, "TLS-Report-Domain is not " + domain)
    expect(str(msg.get("TLS-Report-Submitter", "")).strip() == submitter, "TLS-Report-Submitter is not " + submitter)
    subject = " ".join(str(msg.get("Subject", "")).split())
    m = re.fullmatch(r"Report Domain: (\S+) Submitter: (\S+) Report-ID: <\S+@(\S+)>", subject)
    expect(m and m.group(1) == domain and m.group(2) == submitter and m.group(3) == submitter,
           "Subject not in the RFC 8460 form: " + subject)
    body = None
    for part in msg.walk():
        if part.get_content_type() in ("application/tlsrpt+gzip", "application/tlsrpt+json"):
            name = part.get_filename() or ""
            fields = name.split("!")
            expect(len(fields) == 5 and fields[0] == submitter and fields[1] == domain and
                   name.endswith(".json.gz"), "attachment name not submitter!domain!begin!end!id.json.gz: " + name)
            body = part.get_content()
    expect(body is not None, "no application/tlsrpt+gzip part")
    return body


def logged_counts(results_dir, domain, day):
    per_type = collections.Counter()
    per_result = collections.Counter()
    for path in glob.glob(results_dir + "/tls-results-*.jsonl"):
        for line in open(path):
            r = json.loads(line)
            when = datetime.datetime.fromtimestamp(r["time"], datetime.timezone.utc).strftime("%Y-%m-%d")
            if when != day or r["policy-domain"] != domain:
                continue
            ok = r["result-type"] == "success"
            per_type[(r["policy-type"], "ok" if ok else "failed")] += 1
            if not ok:
                per_result[r["result-type"]] += 1
    return per_type, per_result


def main():
    kind, path, domain, submitter, schema_path, results_dir, day = sys.argv[1:8]
    if kind == "mail":
        body = from_mail(path, domain, submitter)
    else:
        body = open(path, "rb").read()
    if body is None:
        print("\n".join(problems), file=sys.stderr)
        return 1
    report = json.loads(gzip.decompress(body))
    try:
        jsonschema.validate(report, json.load(open(schema_path)))
    except jsonschema.ValidationError as e:
        problems.append("schema: " + e.message)
    expect(report["date-range"]["start-datetime"] == day + "T00:00:00Z", "date-range does not start on " + day)
    expect(report["date-range"]["end-datetime"] == day + "T23:59:59Z", "date-range does not end on " + day)
    stated_type = collections.Counter()
    stated_result = collections.Counter()
    for p in report["policies"]:
        expect(p["policy"]["policy-domain"] == domain, "a policy for another domain")
        t = p["policy"]["policy-type"]
        stated_type[(t, "ok")] += p["summary"]["total-successful-session-count"]
        stated_type[(t, "failed")] += p["summary"]["total-failure-session-count"]
        for f in p.get("failure-details", []):
            stated_result[f["result-type"]] += f["failed-session-count"]
    stated_type = +stated_type
    logged_type, logged_result = logged_counts(results_dir, domain, day)
    expect(logged_type, "no sessions logged for %s on %s" % (domain, day))
    expect(stated_type == logged_type, "per policy: report %s, log %s" % (dict(stated_type), dict(logged_type)))
    expect(stated_result == logged_result,
           "per result type: report %s, log %s" % (dict(stated_result), dict(logged_result)))
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print("%s: %d sessions agree with the log" % (domain, sum(logged_type.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
