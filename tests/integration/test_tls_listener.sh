#!/usr/bin/env bash
# The inbound TLS configuration as an independent scanner sees it: testssl
# against the STARTTLS listener (no SSLv2/3, TLS 1.0/1.1; TLS 1.2 and 1.3; no
# NULL, anonymous, export, LOW, 3DES or CBC ciphers), and openssl s_client
# against the implicit-TLS listener (TLS 1.1 refused, TLS 1.2 accepted).
set -euo pipefail
. "$(dirname "$0")/relay_env.sh"

make_certs relay.test
PORT=$(free_port 127.0.0.1)
IPORT=$(free_port 127.0.0.1)
cat >"$WORK/relay.toml" <<T
[server]
hostname = "relay.test"
[[listener]]
address = "127.0.0.1:$PORT"
tls = "starttls"
[[listener]]
address = "127.0.0.1:$IPORT"
tls = "implicit"
[tls]
certificate = "$WORK/ca/relay.test.pem"
key = "$WORK/ca/relay.test.key"
[spool]
directory = "$WORK/spool"
[dns]
resolvers = ["127.0.0.1:53"]
T
start_relay relay "$WORK/relay.toml"

# testssl exits non-zero on any finding (e.g. the test CA has no OCSP URI), so
# its verdicts are read line by line instead.
timeout 120 testssl --quiet --nodns none --add-ca "$CA" -t smtp -p -s --color 0 "127.0.0.1:$PORT" \
  >"$WORK/testssl.out" 2>&1 || true
line() { grep -E "^ *$1" "$WORK/testssl.out" | head -n1; }
check "SSLv2 not offered" grep -q 'not offered' <<<"$(line 'SSLv2 ')"
check "SSLv3 not offered" grep -q 'not offered' <<<"$(line 'SSLv3 ')"
check "TLS 1.0 not offered" grep -q 'not offered' <<<"$(line 'TLS 1 ')"
check "TLS 1.1 not offered" grep -q 'not offered' <<<"$(line 'TLS 1.1 ')"
check "TLS 1.2 offered" grep -q 'offered (OK)' <<<"$(line 'TLS 1.2 ')"
check "TLS 1.3 offered" grep -q 'offered (OK)' <<<"$(line 'TLS 1.3 ')"
for category in 'NULL ciphers' 'Anonymous NULL' 'Export ciphers' 'LOW: ' 'Triple DES' 'Obsolete CBC'; do
  check "$category not offered" grep -q 'not offered' <<<"$(line "$category")"
done

check "implicit TLS refuses TLS 1.1" bash -c "! echo | timeout 10 openssl s_client -connect 127.0.0.1:$IPORT -tls1_1 -CAfile '$CA' >/dev/null 2>&1"
out=$( (sleep 1; printf "QUIT\r\n"; sleep 1) | timeout 10 openssl s_client -connect 127.0.0.1:$IPORT -tls1_2 -CAfile "$CA" -servername relay.test -ign_eof 2>&1 || true)
check "implicit TLS 1.2 handshake verifies against the CA" grep -q 'Verify return code: 0 (ok)' <<<"$out"
check "implicit TLS greets with 220 after the handshake" grep -q '^220 relay.test' <<<"$out"
finish_checks
