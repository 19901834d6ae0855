#!/usr/bin/python3
"""Sends N uniquely tagged messages over SMTP from several threads and records
which ones the server acknowledged with 250 after DATA. Connection failures
(the relay being killed) are retried until every message got a definite
answer or the deadline passes. Output: one acknowledged tag per line."""
import argparse
import smtplib
import sys
import threading
import time

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--count", type=int, default=2000)
parser.add_argument("--threads", type=int, default=8)
parser.add_argument("--to", default="sink@crash.test")
parser.add_argument("--acked", required=True, help="file that receives acknowledged tags")
parser.add_argument("--deadline", type=float, default=600)
args = parser.parse_args()

lock = threading.Lock()
next_index = 0
acked = open(args.acked, "w")
stop_at = time.time() + args.deadline
body = "x" * 2048


def take():
    global next_index
    with lock:
        if next_index >= args.count:
            return None
        next_index += 1
        return next_index - 1


def worker():
    conn = None
    i = take()
    while i is not None and time.time() < stop_at:
        tag = "crash-%06d" % i
        msg = ("From: load@crash.test\r\nTo: %s\r\nSubject: %s\r\nX-Test-Tag: %s\r\n\r\n%s\r\n"
               % (args.to, tag, tag, body))
        try:
            if conn is None:
                conn = smtplib.SMTP(args.host, args.port, timeout=20)
                conn.ehlo("crash-test")
            conn.sendmail("load@crash.test", [args.to], msg)
            with lock:
                acked.write(tag + "\n")
                acked.flush()
            i = take()
        except (OSError, smtplib.SMTPException):
            # Killed mid-transaction: no 250 seen, so the message may or may
            # not be queued; send it again (at-least-once, like any client).
            try:
                if conn is not None:
                    conn.close()
            except Exception:
                pass
            conn = None
            time.sleep(0.2)
    if conn is not None:
        try:
            conn.quit()
        except Exception:
            pass


threads = [threading.Thread(target=worker) for _ in range(args.threads)]
for t in threads:
    t.start()
for t in threads:
    t.join()
acked.close()
sys.exit(0)
