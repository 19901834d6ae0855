#!/usr/bin/python3
"""dkimpy (python3-dkim) as an independent DKIM implementation for the tests.

  dkimpy_peer.py verify MESSAGE RECORD [INDEX]
                                            exit 0 when every signature (or the
                                            INDEX-th, from the top) verifies, the
                                            key record answering every lookup
  dkimpy_peer.py verify-tlsrpt MESSAGE RECORD [INDEX]
                                            the same for an RFC 8460 report mail,
                                            whose key must carry s=tlsrpt (strict)
  dkimpy_peer.py sign-rsa MESSAGE KEY.pem SELECTOR DOMAIN CANON OUT
  dkimpy_peer.py sign-ed25519 MESSAGE SELECTOR DOMAIN OUT
                                            signs with a fresh key; prints the key record

Run with /usr/bin/python3: dkimpy is a Debian package, not in other interpreters.
"""
import base64
import sys

import dkim


def main():
    cmd = sys.argv[1]
    message = open(sys.argv[2], "rb").read()
    if cmd in ("verify", "verify-tlsrpt"):
        record = open(sys.argv[3], "rb").read().strip()
        d = dkim.DKIM(message, minkey=1024, tlsrpt="strict" if cmd == "verify-tlsrpt" else False)
        count = len([h for h in d.headers if h[0].lower() == b"dkim-signature"])
        if count == 0:
            print("no signature")
            return 1
        ok = True
        chosen = [int(sys.argv[4])] if len(sys.argv) > 4 else range(count)
        for i in chosen:
            result = d.verify(idx=i, dnsfunc=lambda name, timeout=5: record)
            print("signature %d: %s" % (i, "pass" if result else "fail"))
            ok = ok and result
        return 0 if ok else 1
    if cmd == "sign-rsa":
        key, selector, domain, canon, out = sys.argv[3:8]
        h, b = canon.split("/")
        sig = dkim.sign(message, selector.encode(), domain.encode(), open(key, "rb").read(),
                        canonicalize=(h.encode(), b.encode()),
                        include_headers=[b"from", b"to", b"subject", b"date"])
        open(out, "wb").write(sig + message)
        return 0
    if cmd == "sign-ed25519":
        import nacl.signing
        selector, domain, out = sys.argv[3:6]
        key = nacl.signing.SigningKey.generate()
        sig = dkim.sign(message, selector.encode(), domain.encode(), base64.b64encode(bytes(key)),
                        canonicalize=(b"relaxed", b"relaxed"), signature_algorithm=b"ed25519-sha256",
                        include_headers=[b"from", b"to", b"subject", b"date"])
        open(out, "wb").write(sig + message)
        print("v=DKIM1; k=ed25519; p=" + base64.b64encode(bytes(key.verify_key)).decode())
        return 0
    print("unknown command " + cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
