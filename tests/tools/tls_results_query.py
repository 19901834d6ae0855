#!/usr/bin/env python3
"""Succeeds if some record in the TLS results logs matches every KEY=REGEX.

    tls_results_query.py DIR policy-domain=example.test result-type=success ...

DIR holds tls-results-YYYY-MM-DD.jsonl files (one JSON object per line). List
values (policy-string, mx-host) match if any element matches. Every line must
be valid JSON: a malformed line fails the query.
"""
import glob
import json
import re
import sys


def matches(record, conditions):
    for key, pattern in conditions:
        value = record.get(key)
        values = value if isinstance(value, list) else [value]
        if not any(re.fullmatch(pattern, str(v)) for v in values):
            return False
    return True


def main():
    directory, *args = sys.argv[1:]
    conditions = [tuple(a.split("=", 1)) for a in args]
    found = False
    for path in sorted(glob.glob(f"{directory}/tls-results-*.jsonl")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                found = found or matches(record, conditions)
    return 0 if found else 1


if __name__ == "__main__":
    sys.exit(main())
