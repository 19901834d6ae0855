#!/usr/bin/python3
"""Flattens a JSON document (stdin or a file) to one "path=value" line per
scalar, e.g. `mx[0].tlsa[1].usage=3`, so shell tests can grep fields of
`tlsrelay ... --json` output without knowing its nesting. Exit status 2 when
the input is not JSON."""
import json
import sys


def walk(node, path):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, "%s.%s" % (path, key) if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, "%s[%d]" % (path, i))
    else:
        if isinstance(node, bool):
            node = "true" if node else "false"
        elif node is None:
            node = "null"
        yield "%s=%s" % (path, node)


try:
    doc = json.load(open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin)
except (OSError, ValueError) as e:
    print("json_flat: %s" % e, file=sys.stderr)
    sys.exit(2)
for line in walk(doc, ""):
    print(line)
