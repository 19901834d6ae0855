#!/usr/bin/env bash
# End to end on loopback: swaks → tlsrelay → Postfix over STARTTLS, with MX
# lookups through a private DNSSEC hierarchy. Covers delivery with TLS recorded
# in the accounting log, require_starttls towards a server without STARTTLS,
# per-source relay refusal, AUTH refused in clear but accepted after STARTTLS,
# and a null-MX domain bouncing with a DSN.
set -euo pipefail
. "$(dirname "$0")/relay_env.sh"

start_dns
make_certs relay.test mx1.example.test mx.relay.test  # the first host also gets an encrypted key
ensure_loopback_address 127.0.1.1
ensure_loopback_address 127.0.1.2
start_postfix sink-tls 127.0.1.1 25 yes "$WORK/ca/mx1.example.test.pem" "$WORK/ca/mx1.example.test.key"
start_postfix sink-clear 127.0.1.2 25 no
# mx.relay.test presents a certificate from a CA nobody trusts.
start_postfix sink-untrusted 127.0.1.3 25 yes "$WORK/ca/untrusted-mx.relay.test.pem" "$WORK/ca/untrusted-mx.relay.test.key"

PORT=$(free_port 127.0.0.1)
IPORT=$(free_port 127.0.0.1)
PORT6=$(free_port ::1)
mkdir -p "$WORK/policy.d" "$WORK/acct"
cat >"$WORK/policy.d/nostarttls.toml" <<T
domain = "nostarttls.test"
require_starttls = true
T
cat >"$WORK/policy.d/relay.toml" <<T
domain = "relay.test"
verify = "pkix"
T
cat >"$WORK/policy.d/example.toml" <<T
domain = "example.test"
verify = "pkix"
T
printf 'relaypass\n' >"$WORK/password"
"$TLSRELAY_BIN" user add alice --users-file "$WORK/users" --password-file "$WORK/password" >/dev/null
cat >"$WORK/relay.toml" <<T
[server]
hostname = "relay.test"

[[listener]]
address = "127.0.0.1:$PORT"
tls = "starttls"

[[listener]]
address = "127.0.0.1:$IPORT"
tls = "implicit"

[[listener]]
address = "[::1]:$PORT6"
tls = "starttls"

[tls]
certificate = "$WORK/ca/relay.test.pem"
key = "$WORK/ca/relay.test.enc.key"
key_password_file = "$WORK/ca/key-password"

[[source]]
cidr = ["127.0.0.5/32"]
relay = false

[[source]]
cidr = ["127.0.0.6/32"]
relay = false
allow_plaintext_auth = false
require_starttls_before_auth = true

[[source]]
cidr = ["127.0.0.7/32"]
relay = true
max_connections = 1

[spool]
directory = "$WORK/spool"

[auth]
users_file = "$WORK/users"

[dns]
resolvers = ["$DNS_RESOLVER_ADDR:$DNS_PORT"]

[policy]
directory = "$WORK/policy.d"
ca_bundle = "$CA"

[retry]
initial = "2s"
max_interval = "5s"
max_lifetime = "1h"
delay_notice = "3s"

[accounting]
directory = "$WORK/acct"

[logging]
level = "debug"
T
check "the server key is stored encrypted" grep -q 'ENCRYPTED' "$WORK/ca/relay.test.enc.key"
check "check-config accepts the test configuration" "$TLSRELAY_BIN" --config "$WORK/relay.toml" check-config
start_relay relay "$WORK/relay.toml"

# 1. Delivery over STARTTLS with PKIX verification, recorded in the accounting log.
check "swaks submits to user@example.test" \
  swaks --silent 2 --server 127.0.0.1:$PORT --from sender@example.test --to user@example.test --header "Subject: e2e-tls"
check "message reached the STARTTLS Postfix" wait_for_count "postfix_count sink-tls" 1 30
row=$(acct_rows user@example.test | head -n1)
check "accounting row says delivered" grep -q ',delivered,' <<<"$row"
check "accounting row has TLS protocol" grep -qE ',TLSv1\.[23],' <<<"$row"
check "accounting row has a TLS cipher" grep -qE ',TLS_[A-Z0-9_]+|,ECDHE-' <<<"$row"
check "accounting row says pkix verification" grep -q ',pkix,' <<<"$row"
check "Postfix saw TLS on the inbound side" grep -rqE 'with ESMTPS' "$WORK/sink-tls/mail/new"

# 2. require_starttls towards a server without STARTTLS defers; nothing sent in clear.
check "swaks submits to user@nostarttls.test" \
  swaks --silent 2 --server 127.0.0.1:$PORT --from sender@example.test --to user@nostarttls.test
sleep 3
check "require_starttls deferral recorded" bash -c "cat '$WORK'/acct/*.csv | grep -F user@nostarttls.test | grep -q ',deferred,'"
check "deferral classified starttls-not-supported" bash -c "cat '$WORK'/acct/*.csv | grep -F user@nostarttls.test | grep -q starttls-not-supported"
check "nothing reached the clear-text server" test "$(postfix_count sink-clear)" -eq 0

# 2a. Still deferred after delay_notice (3 s): the sender gets a delay DSN.
check "delay notice reaches the sender" wait_for_count "grep -rlE 'Action: delayed' '$WORK/sink-tls/mail/new' | xargs -r grep -l 'user@nostarttls.test' | wc -l" 1 30
dsn=$(grep -rlE 'Action: delayed' "$WORK/sink-tls/mail/new" | xargs -r grep -l 'user@nostarttls.test' | head -n1)
check "delay notice is a multipart/report with the null sender" bash -c "grep -q '^Return-Path: <>' '$dsn' && grep -q 'report-type=delivery-status' '$dsn'"
check "only one delay notice per message" test "$(grep -rlE 'Action: delayed' "$WORK/sink-tls/mail/new" | xargs -r grep -l 'Final-Recipient: rfc822; *user@nostarttls.test' | wc -l)" -eq 1

# 2b. verify = "pkix" towards an untrusted certificate defers; nothing is sent.
check "swaks submits to user@relay.test" \
  swaks --silent 2 --server 127.0.0.1:$PORT --from sender@example.test --to user@relay.test
check "untrusted certificate defers" wait_for_count "acct_rows user@relay.test | grep -c ',deferred,'" 1 20
check "deferral classified certificate-not-trusted" bash -c "cat '$WORK'/acct/*.csv | grep -F user@relay.test | grep -q certificate-not-trusted"
check "nothing reached the untrusted server" test "$(postfix_count sink-untrusted)" -eq 0

# 2c. Every next hop tried is accounted for: multi.test has three MX hosts
# (four addresses) and nothing listens on any of them.
check "swaks submits to user@multi.test" \
  swaks --silent 2 --server 127.0.0.1:$PORT --from sender@example.test --to user@multi.test
check "one deferred row per address tried" wait_for_count "acct_rows user@multi.test | grep ',deferred,' | cut -d, -f7 | sort -u | wc -l" 4 20
check "the two preference-10 hosts are tried before the preference-20 one" \
  bash -c "acct_rows() { cat '$WORK'/acct/*.csv | grep -F -- \"\$1\"; }; acct_rows user@multi.test | head -n 4 | cut -d, -f6 | tail -n 1 | grep -q '^c.multi.test$'"

# 3. An unauthorized source may not relay.
out=$(swaks --server 127.0.0.1:$PORT --local-interface 127.0.0.5 --from a@example.test --to b@example.test 2>&1 || true)
check "relay refused for unauthorized source with 554" grep -qE '<\*\* 55[04] ' <<<"$out"

# 3b. Per-source max_connections: the second concurrent connection gets 421.
out=$(swaks --server 127.0.0.1:$PORT --local-interface 127.0.0.7 --from a@example.test --to b@example.test 2>&1 || true)
check "first connection from a max_connections=1 source is served" grep -qE '^<- +220 ' <<<"$out"
/usr/bin/python3 - "$PORT" >"$WORK/maxconn.out" 2>&1 <<'PY' || true
import socket, sys, time
port = int(sys.argv[1])
held = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.7", 0))
held.recv(512)
second = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.7", 0))
print(second.recv(512).decode().strip())
PY
check "second concurrent connection from that source gets 421" grep -q '^421 ' "$WORK/maxconn.out"

# 4. AUTH over plaintext refused where required; accepted after STARTTLS.
out=$(swaks --server 127.0.0.1:$PORT --local-interface 127.0.0.6 --auth PLAIN --auth-user alice \
  --auth-password relaypass --from a@example.test --to auth-clear@example.test 2>&1 || true)
check "AUTH in clear never succeeds" bash -c "! grep -qE '^<[-~] +235 ' <<<\"\$1\"" _ "$out"
check "AUTH in clear is not offered or refused (538)" grep -qE 'did not advertise|538 ' <<<"$out"
out=$(swaks --server 127.0.0.1:$PORT --local-interface 127.0.0.6 --from a@example.test --to noauth@example.test 2>&1 || true)
check "unauthenticated client of a no-relay source is refused" grep -qE '<\*\* 554 ' <<<"$out"
out=$(swaks --server 127.0.0.1:$PORT --local-interface 127.0.0.6 --tls --auth PLAIN --auth-user alice \
  --auth-password relaypass --from a@example.test --to auth-tls@example.test 2>&1 || true)
check "AUTH after STARTTLS accepted" grep -qE '<~ +235 ' <<<"$out"
check "authenticated message queued" grep -qE '<~ +250 .*queued' <<<"$out"
out=$(swaks --server 127.0.0.1:$PORT --local-interface 127.0.0.6 --tls --auth PLAIN --auth-user alice \
  --auth-password wrong --from a@example.test --to x@example.test 2>&1 || true)
check "wrong password refused with 535" grep -qE '<~\* 535 ' <<<"$out"

# 5. Implicit TLS listener (465 style).
check "implicit TLS submission works" swaks --silent 2 --server 127.0.0.1:$IPORT --tlsc --from sender@example.test --to implicit@example.test

# 5b. IPv6 listener; ::1 is loopback, so it may relay.
check "IPv6 listener accepts and relays" swaks --silent 2 --server "[::1]:$PORT6" --from sender@example.test --to v6@example.test

# 6. Null MX: immediate bounce with a DSN to the sender (whose domain is example.test).
before=$(postfix_count sink-tls)
check "swaks submits to user@nullmx.test" \
  swaks --silent 2 --server 127.0.0.1:$PORT --from bounce-me@example.test --to user@nullmx.test
check "null MX recorded as bounced 5.1.10" wait_for_count "acct_rows user@nullmx.test | grep -c ',bounced,5.1.10,'" 1 20
check "DSN reached the sender's mailbox" wait_for_count "grep -rl 'report-type=delivery-status' '$WORK/sink-tls/mail/new' | xargs -r grep -l 'user@nullmx.test' | wc -l" 1 30
dsn=$(grep -rl 'report-type=delivery-status' "$WORK/sink-tls/mail/new" | xargs -r grep -l 'user@nullmx.test' | head -n1)
check "DSN has the null sender" grep -q '^Return-Path: <>' "$dsn"
check "DSN names the failed recipient" grep -qi 'Final-Recipient: rfc822; *user@nullmx.test' "$dsn"
check "DSN carries status 5.1.10" grep -qi 'Status: 5.1.10' "$dsn"

# 7. Volume: smtp-source pipelines 200 messages over 5 sessions.
before=$(postfix_count sink-tls)
check "smtp-source sends 200 messages" smtp-source -s 5 -m 200 -l 2048 -f load@example.test -t load@example.test 127.0.0.1:$PORT
check "all 200 delivered" wait_for_count "postfix_count sink-tls" $((before + 200)) 60

# 7b. Misbehaving clients: one hangs up right after the final dot (before it
# can read the 250), one sends binary garbage with no line end, one speaks
# garbage to the implicit-TLS port. The relay stays up and the first message,
# being on disk, is delivered anyway.
before=$(postfix_count sink-tls)
/usr/bin/python3 - "$PORT" "$IPORT" <<'PY'
import os, socket, sys, time
port, iport = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
s.recv(512)
s.sendall(b"EHLO rude\r\nMAIL FROM:<rude@example.test>\r\nRCPT TO:<hangup@example.test>\r\nDATA\r\n")
time.sleep(0.3)
s.sendall(b"Subject: hangup\r\n\r\nbody\r\n.\r\n")
s.close()
g = socket.create_connection(("127.0.0.1", port))
g.recv(512)
try:
    g.sendall(os.urandom(200000).replace(b"\n", b"x"))
    g.recv(512)
except OSError:
    pass
g.close()
t = socket.create_connection(("127.0.0.1", iport))
try:
    t.sendall(os.urandom(4096))
    t.recv(512)
except OSError:
    pass
t.close()
PY
check "relay survives misbehaving clients" pid_alive "$RELAY_PID"
check "message from a client that hung up after the dot is delivered" \
  wait_for_count "grep -rl 'Subject: hangup' '$WORK/sink-tls/mail/new' | wc -l" 1 20
check "relay still answers after misbehaving clients" \
  swaks --silent 2 --server 127.0.0.1:$PORT --from sender@example.test --to after-rude@example.test

# 8. The queue CLI sees the deferred nostarttls message.
check "queue list shows the deferred message" bash -c "'$TLSRELAY_BIN' --config '$WORK/relay.toml' queue list | grep -q '1/1'"
check "queue flush reaches the daemon" "$TLSRELAY_BIN" --config "$WORK/relay.toml" queue flush

# 8b. Operator commands on deferred messages: show, bounce (DSN to the sender), delete.
swaks --silent 2 --server 127.0.0.1:$PORT --from opbounce@example.test --to op1@nostarttls.test
swaks --silent 2 --server 127.0.0.1:$PORT --from opdelete@example.test --to op2@nostarttls.test
wait_for_count "acct_rows op2@nostarttls.test | grep -c ',deferred,'" 1 20 >/dev/null
id_of() { "$TLSRELAY_BIN" --config "$WORK/relay.toml" queue list | awk -v s="<$1>" '$NF == s {print $1}' | head -n1; }
bid=$(id_of opbounce@example.test)
did=$(id_of opdelete@example.test)
check "queue list finds both deferred messages" test -n "$bid" -a -n "$did"
check "queue show lists the pending recipient" bash -c "'$TLSRELAY_BIN' --config '$WORK/relay.toml' queue show '$bid' | grep -q 'op1@nostarttls.test  pending'"
check "queue bounce accepted" "$TLSRELAY_BIN" --config "$WORK/relay.toml" queue bounce "$bid"
check "operator bounce sends a DSN to the sender" wait_for_count "grep -rl 'Action: failed' '$WORK/sink-tls/mail/new' | xargs -r grep -l 'Final-Recipient: rfc822; *op1@nostarttls.test' | wc -l" 1 20
opdsn=$(grep -rl 'Action: failed' "$WORK/sink-tls/mail/new" | xargs -r grep -l 'Final-Recipient: rfc822; *op1@nostarttls.test' | head -n1)
check "operator bounce returns the original message" grep -qE 'Content-Type: (message/rfc822|text/rfc822-headers)' "$opdsn"
check "queue delete accepted" "$TLSRELAY_BIN" --config "$WORK/relay.toml" queue delete "$did"
gone() { for _ in $(seq 1 50); do "$TLSRELAY_BIN" --config "$WORK/relay.toml" queue list | grep -q "<$1>" || return 0; sleep 0.2; done; return 1; }
check "deleted message leaves the queue" gone opdelete@example.test
check "deleting an unknown id fails" bash -c "! '$TLSRELAY_BIN' --config '$WORK/relay.toml' queue delete NOSUCHID"

# 9. check-config names file, line and key; SIGHUP reloads policy files.
cat >"$WORK/bad.toml" <<T
[server]
hostname = "x"
[limits]
max_recipients = 500
max_recipents = 5
T
out=$("$TLSRELAY_BIN" --config "$WORK/bad.toml" check-config 2>&1 || true)
check "check-config names file:line:key of a typo" grep -qE 'bad\.toml:5: .*max_recipents' <<<"$out"
cat >"$WORK/policy.d/clear.toml" <<T
domain = "nostarttls.test"
require_starttls = false
T
rm "$WORK/policy.d/nostarttls.toml"
kill -HUP "$RELAY_PID"
check "SIGHUP reload logged" wait_for_count "grep -c 'configuration reloaded' '$WORK/relay.log'" 1 10
"$TLSRELAY_BIN" --config "$WORK/relay.toml" queue flush >/dev/null
check "after reload the relaxed policy delivers in clear" wait_for_count "postfix_count sink-clear" 1 20
echo "garbage = [" >"$WORK/policy.d/broken.toml"
kill -HUP "$RELAY_PID"
check "a broken policy file is refused on reload" wait_for_count "grep -c 'reload failed' '$WORK/relay.log'" 1 10
check "the relay keeps running after a failed reload" pid_alive "$RELAY_PID"

# 10. SIGTERM drains and exits 0.
kill -TERM "$RELAY_PID"
check "relay exits cleanly on SIGTERM" wait "$RELAY_PID"

finish_checks
