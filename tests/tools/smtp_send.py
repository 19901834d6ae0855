#!/usr/bin/python3
"""Submits one message over SMTP with the options swaks lacks: the RFC 8689
REQUIRETLS parameter on MAIL FROM (after STARTTLS, which the server must
advertise REQUIRETLS on) and arbitrary header fields.

  smtp_send.py --server HOST:PORT --from ADDR --to ADDR [--to ADDR...]
               [--starttls] [--requiretls] [--header "Name: value"...]
               [--subject TEXT]

Prints the server's final reply; exit status 0 only when the message was
accepted (250 after DATA).
"""
import argparse
import smtplib
import ssl
import sys
import uuid

parser = argparse.ArgumentParser()
parser.add_argument("--server", required=True)
parser.add_argument("--from", dest="sender", required=True)
parser.add_argument("--to", action="append", required=True)
parser.add_argument("--starttls", action="store_true")
parser.add_argument("--requiretls", action="store_true", help="MAIL FROM:<..> REQUIRETLS (implies --starttls)")
parser.add_argument("--header", action="append", default=[])
parser.add_argument("--subject", default="smtp_send")
args = parser.parse_args()

host, _, port = args.server.rpartition(":")
headers = [
    "From: <%s>" % args.sender,
    "To: %s" % ", ".join("<%s>" % t for t in args.to),
    "Subject: %s" % args.subject,
    "Message-ID: <%s@smtp-send.test>" % uuid.uuid4().hex,
] + args.header
message = "\r\n".join(headers) + "\r\n\r\nBody of %s.\r\n" % args.subject

try:
    conn = smtplib.SMTP(host.strip("[]"), int(port), timeout=30)
    conn.ehlo("smtp-send.test")
    if args.starttls or args.requiretls:
        # The relay's certificate comes from the test CA; what is tested here is
        # the relay's outbound side, not this client's verification.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn.starttls(context=context)
        conn.ehlo("smtp-send.test")
    options = []
    if args.requiretls:
        if not conn.has_extn("requiretls"):
            print("server does not advertise REQUIRETLS after STARTTLS", file=sys.stderr)
            sys.exit(1)
        options.append("REQUIRETLS")
    refused = conn.sendmail(args.sender, args.to, message, mail_options=options)
    conn.quit()
except (OSError, smtplib.SMTPException) as e:
    print("smtp_send: %s" % e, file=sys.stderr)
    sys.exit(1)
if refused:
    print("refused recipients: %s" % refused, file=sys.stderr)
    sys.exit(1)
print("250 accepted")
