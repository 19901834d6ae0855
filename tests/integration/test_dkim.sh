#!/usr/bin/env bash
# DKIM end to end on loopback: keys made by `tlsrelay dkim keygen` are
# published in the private DNSSEC zone example.test; swaks → tlsrelay →
# Postfix. Mail from example.test arrives with an RSA and an Ed25519
# signature that dkimpy and `tlsrelay dkim verify` (live DNS, DNSSEC-secure
# key) both accept; mail from another domain is not signed; a message that
# arrives already signed by dkimpy gets an Authentication-Results field with
# dkim=pass, and a forged one claiming our authserv-id is removed.
set -euo pipefail
. "$(dirname "$0")/relay_env.sh"
PEER="/usr/bin/python3 $TLSRELAY_SOURCE_DIR/tests/tools/dkimpy_peer.py"

mkdir -p "$WORK/keys"
cd "$WORK/keys"
"$TLSRELAY_BIN" dkim keygen --domain example.test --selector s1 >"$WORK/keys/s1.txt" 2>/dev/null
"$TLSRELAY_BIN" dkim keygen --domain example.test --selector e1 --algorithm ed25519 >"$WORK/keys/e1.txt" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/keys/py.pem" 2>/dev/null
"$TLSRELAY_BIN" dkim record --key "$WORK/keys/py.pem" --domain example.test --selector py >"$WORK/keys/py.txt"
cd - >/dev/null
check "keygen writes the key with mode 600" test "$(stat -c %a "$WORK/keys/example.test.s1.key")" = 600
check "keygen prints a TXT record for s1" grep -q '^s1._domainkey.example.test. 3600 IN TXT ( "v=DKIM1; k=rsa; p=' "$WORK/keys/s1.txt"
for s in s1 e1 py; do printf 'example.test\t%s\n' "$(cat "$WORK/keys/$s.txt")"; done >"$WORK/dns-extra"
# The plain record text for dkimpy's lookup function (strings joined).
record_of() { sed -e 's/^[^"]*//' -e 's/" "//g' -e 's/"//g' -e 's/ )$//' "$WORK/keys/$1.txt"; }
for s in s1 e1 py; do record_of $s >"$WORK/keys/$s.record"; done

export TLSRELAY_TEST_DNS_EXTRA="$WORK/dns-extra"
start_dns
ensure_loopback_address 127.0.1.2
start_postfix sink-clear 127.0.1.2 25 no

PORT=$(free_port 127.0.0.1)
cat >"$WORK/relay.toml" <<T
[server]
hostname = "relay.test"

[[listener]]
address = "127.0.0.1:$PORT"
tls = "starttls"

[spool]
directory = "$WORK/spool"

[dns]
resolvers = ["$DNS_RESOLVER_ADDR:$DNS_PORT"]

[mta_sts]
enabled = false

[delivery]
smarthost = "[127.0.1.2]:25"

[dkim]
[[dkim.sign]]
domain = "example.test"
selector = "s1"
key_file = "$WORK/keys/example.test.s1.key"
[[dkim.sign]]
domain = "example.test"
selector = "e1"
key_file = "$WORK/keys/example.test.e1.key"
[dkim.verify]
authentication_results = true

[logging]
level = "debug"
T
"$TLSRELAY_BIN" --config "$WORK/relay.toml" check-config >"$WORK/check.out"
check "check-config loads both DKIM keys" sh -c "grep -q 'd=example.test s=s1 rsa-sha256 2048 bits' '$WORK/check.out' && grep -q 'd=example.test s=e1 ed25519-sha256' '$WORK/check.out'"
chmod 644 "$WORK/keys/example.test.e1.key"
check "check-config warns about a readable key file" sh -c "'$TLSRELAY_BIN' --config '$WORK/relay.toml' check-config | grep -q 'warning: .*e1.key is readable by group or others'"
chmod 600 "$WORK/keys/example.test.e1.key"
start_relay relay "$WORK/relay.toml"

MAILDIR="$WORK/sink-clear/mail"
message_with() {  # message_with SUBJECT: path of the delivered message with that subject
  grep -l "^Subject: $1" "$MAILDIR"/new/* "$MAILDIR"/cur/* 2>/dev/null | head -n1 || true
}

swaks --silent 2 --server 127.0.0.1:$PORT --from alice@example.test --to bob@elsewhere.test \
  --header "From: Alice <alice@example.test>" --header "Subject: dkim-ours" --body "signed by the relay" >/dev/null
swaks --silent 2 --server 127.0.0.1:$PORT --from carol@other.test --to bob@elsewhere.test \
  --header "From: carol@other.test" --header "Subject: dkim-not-ours" >/dev/null
# Signed before it reaches us, with a forged Authentication-Results on top.
printf 'Authentication-Results: relay.test; dkim=pass header.d=bank.example\r\nFrom: Py <py@example.test>\r\nTo: bob@elsewhere.test\r\nSubject: dkim-presigned\r\nDate: Mon, 07 Dec 2026 05:00:00 +0000\r\n\r\npresigned\r\n' >"$WORK/pre.eml"
$PEER sign-rsa "$WORK/pre.eml" "$WORK/keys/py.pem" py example.test relaxed/relaxed "$WORK/pre.signed"
swaks --silent 2 --server 127.0.0.1:$PORT --from py@example.test --to bob@elsewhere.test --data "$WORK/pre.signed" >/dev/null
check "three messages delivered" wait_for_count "postfix_count sink-clear" 3 30

OURS=$(message_with dkim-ours)
NOT=$(message_with dkim-not-ours)
PRE=$(message_with dkim-presigned)
check "our message carries two DKIM signatures" test "$(grep -c '^DKIM-Signature:' "$OURS")" = 2
check "one is rsa-sha256, one ed25519-sha256" sh -c "grep -q 'a=rsa-sha256' '$OURS' && grep -q 'a=ed25519-sha256' '$OURS'"
# Postfix prepends Return-Path/Received; dkimpy verifies each signature with its record.
# The first signature on top is the RSA one (keys sign in configuration order).
check "dkimpy verifies the RSA signature" $PEER verify "$OURS" "$WORK/keys/s1.record" 0
check "dkimpy verifies the Ed25519 signature" $PEER verify "$OURS" "$WORK/keys/e1.record" 1
"$TLSRELAY_BIN" --config "$WORK/relay.toml" dkim verify --json "$OURS" >"$WORK/verify.json" || true
check "tlsrelay dkim verify: both pass over live DNS" \
  test "$(grep -c '"result": "pass"' "$WORK/verify.json")" = 2
check "the keys came DNSSEC-secure from the signed zone" \
  test "$(grep -c '"key_dnssec": "secure"' "$WORK/verify.json")" = 2
check "unsigned arrival: Authentication-Results says dkim=none" \
  sh -c "tr -d '\\r' <'$OURS' | grep -A1 '^Authentication-Results: relay.test;' | grep -q 'dkim=none'"
check "mail from another domain is not signed" sh -c "! grep -q '^DKIM-Signature:' '$NOT'"
check "a presigned message: dkim=pass for d=example.test s=py" \
  sh -c "tr -d '\r' <'$PRE' | grep -A1 '^Authentication-Results: relay.test;' | grep -q 'dkim=pass .*header.d=example.test .*header.s=py'"
check "the forged Authentication-Results is gone" sh -c "! grep -q 'bank.example' '$PRE'"
check "the presigned message is signed by us too" test "$(grep -c '^DKIM-Signature:' "$PRE")" = 3
check "no private key material in the log" sh -c "! grep -q 'PRIVATE KEY' '$WORK/relay.log'"
finish_checks
