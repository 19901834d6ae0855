#!/usr/bin/python3
"""Checks that a relay really signed what it delivered (bench/relay_bench.sh --dkim).

Reads messages a receiver dumped (smtp-sink -d files, one message per file),
counts those carrying a DKIM-Signature with the expected d=, s=, a= and c=,
and verifies a random sample with dkimpy against the public key from
`tlsrelay dkim keygen`'s TXT record (handed to dkimpy through dnsfunc, no DNS).
Exits 1, saying why, when any message is unsigned or signed otherwise, when a
sampled signature does not verify, or when fewer messages than --expect were
dumped. Prints one summary line.

  dkim_check.py --record record.txt --domain D --selector S --algorithm rsa-sha256 \
      [--expect N] [--sample K] [--wait SECONDS] [--label NAME] DIR
"""
import argparse
import os
import random
import re
import sys
import time

import dkim


def txt_record(path):
    """The TXT record's text: keygen prints a zone-file line with quoted strings."""
    with open(path, encoding="ascii") as f:
        text = f.read()
    strings = re.findall(r'"([^"]*)"', text)
    if not strings or not strings[0].startswith("v=DKIM1"):
        sys.exit(f"dkim_check: no DKIM TXT record in {path}")
    return "".join(strings).encode("ascii")


def header_fields(raw):
    """Unfolded (name, value) pairs of the header section."""
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    fields = []
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += b" " + line.strip()
        elif b":" in line:
            name, value = line.split(b":", 1)
            fields.append([name.strip(), value.strip()])
    return fields


def tags(value):
    out = {}
    for part in value.split(b";"):
        if b"=" in part:
            k, v = part.split(b"=", 1)
            out[k.strip().decode()] = re.sub(rb"\s+", b"", v).decode()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--record", required=True)
    ap.add_argument("--domain", required=True)
    ap.add_argument("--selector", required=True)
    ap.add_argument("--algorithm", required=True)  # a= value
    ap.add_argument("--canonicalization", default="relaxed/relaxed")
    ap.add_argument("--expect", type=int, default=0, help="messages that must be there")
    ap.add_argument("--missing-ok", type=int, default=0, help="dump files that may be missing (name collisions)")
    ap.add_argument("--sample", type=int, default=20, help="signatures to verify with dkimpy")
    ap.add_argument("--wait", type=float, default=10, help="seconds to wait for --expect files")
    ap.add_argument("--label", default="relay")
    ap.add_argument("dir")
    a = ap.parse_args()

    record = txt_record(a.record)
    key_name = f"{a.selector}._domainkey.{a.domain}."

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        return record if name.rstrip(".").lower() == key_name.rstrip(".").lower() else None

    deadline = time.monotonic() + a.wait
    while True:
        files = [os.path.join(root, n) for root, _, names in os.walk(a.dir) for n in names]
        if len(files) >= a.expect or time.monotonic() >= deadline:
            break
        time.sleep(0.2)

    unsigned, wrong, multiple = [], [], 0
    for path in files:
        with open(path, "rb") as f:
            raw = f.read()
        sigs = [v for n, v in header_fields(raw) if n.lower() == b"dkim-signature"]
        if not sigs:
            unsigned.append(path)
            continue
        multiple += len(sigs) > 1
        t = tags(sigs[0])
        want = {"d": a.domain, "s": a.selector, "a": a.algorithm, "c": a.canonicalization}
        if any(t.get(k, "").lower() != v.lower() for k, v in want.items()):
            wrong.append((path, {k: t.get(k) for k in want}))

    sample = random.Random(len(files)).sample(files, min(a.sample, len(files))) if files else []
    failed = []
    for path in sample:
        if path in unsigned:
            continue
        with open(path, "rb") as f:
            raw = f.read()
        # smtp-sink writes LF line ends; DKIM is computed over the CRLF form.
        msg = re.sub(rb"\r?\n", b"\r\n", raw)
        try:
            ok = dkim.verify(msg, dnsfunc=dnsfunc)
        except Exception as e:  # dkimpy raises on malformed signatures
            ok = False
            print(f"dkim_check: {path}: {e}", file=sys.stderr)
        if not ok:
            failed.append(path)
    verified = len([p for p in sample if p not in unsigned and p not in failed])

    signed = len(files) - len(unsigned)
    print(f"{a.label}: {len(files)} messages at the receiver, {signed} with a DKIM-Signature"
          f" (d={a.domain} s={a.selector} a={a.algorithm} c={a.canonicalization}: {signed - len(wrong)}),"
          f" {len(unsigned)} unsigned; dkimpy verified {verified} of {len(sample)} sampled"
          + (f"; {multiple} with more than one signature" if multiple else ""))
    problems = []
    if not files:
        problems.append("no messages were dumped")
    if a.expect and len(files) < a.expect - a.missing_ok:
        problems.append(f"only {len(files)} of {a.expect} messages were dumped")
    if unsigned:
        problems.append(f"{len(unsigned)} UNSIGNED messages, e.g. {unsigned[0]}")
    if wrong:
        problems.append(f"{len(wrong)} signatures with other tags, e.g. {wrong[0]}")
    if failed:
        problems.append(f"{len(failed)} sampled signatures did NOT verify, e.g. {failed[0]}")
    if problems:
        for p in problems:
            print(f"dkim_check: {a.label}: {p}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
