#!/usr/bin/python3
"""Queries tlsrelay accounting CSV files (acct-*.csv, header row first) by
column name, so integration tests do not depend on column positions.

  acct_query.py DIR RECIPIENT [COLUMN=REGEX ...] [--print COL,COL] [--count]

Rows whose recipient equals RECIPIENT (case-insensitive) and whose every
COLUMN fully matches its REGEX are selected. Default output: each selected row
as "col=value" pairs joined by " | "; --print: the named columns joined by "|";
--count: the number of rows. Exit status 0 when a row matched (or --count),
1 when none did, 2 on a bad column name or unreadable file.
"""
import csv
import glob
import os
import re
import sys


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    flags = [a for a in argv if a.startswith("--")]
    printed = None
    count_only = "--count" in flags
    if "--print" in flags:
        i = argv.index("--print")
        printed = argv[i + 1].split(",")
        args.remove(argv[i + 1])
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    directory, recipient, conditions = args[0], args[1].lower(), []
    for cond in args[2:]:
        name, sep, pattern = cond.partition("=")
        if not sep:
            print("acct_query: condition must be COLUMN=REGEX: %s" % cond, file=sys.stderr)
            return 2
        conditions.append((name, re.compile(pattern, re.IGNORECASE)))
    rows = []
    for path in sorted(glob.glob(os.path.join(directory, "*.csv"))):
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            rows.extend(csv.DictReader(f))
    known = set(rows[0].keys()) if rows else set()
    for name in [c[0] for c in conditions] + (printed or []):
        if rows and name not in known:
            print("acct_query: no column %r (have: %s)" % (name, ", ".join(rows[0].keys())), file=sys.stderr)
            return 2
    selected = [
        r for r in rows
        if (r.get("recipient") or "").lower() == recipient
        and all(p.fullmatch(r.get(n) or "") for n, p in conditions)
    ]
    if count_only:
        print(len(selected))
        return 0
    for r in selected:
        if printed:
            print("|".join(r.get(n) or "" for n in printed))
        else:
            print(" | ".join("%s=%s" % (k, v) for k, v in r.items() if v))
    return 0 if selected else 1


sys.exit(main(sys.argv[1:]))
