#!/usr/bin/python3
"""An aiosmtpd server for the smtpio interop tests: STARTTLS required, AUTH required, every
message kept byte for byte.

Run with Debian's Python (/usr/bin/python3, package python3-aiosmtpd).  Three listeners on
127.0.0.1, all answering as mail.interop.test:

  --port-starttls   STARTTLS offered and required before MAIL (RFC 3207), TLS 1.2 and 1.3;
                    AUTH PLAIN and LOGIN (RFC 4954, 4616) offered only after STARTTLS
  --port-implicit   implicit TLS from the first byte (RFC 8314); AUTH offered at once
  --port-tls12      like --port-starttls, but the TLS context allows TLS 1.2 only

Every listener requires AUTH before MAIL, against the one user and password given.  For each
message accepted the DATA content exactly as received (after dot-unstuffing, RFC 5321 section
4.5.2, with its CRLF line ends) is written to STORE/NNNNNN.eml, then the envelope and session
facts to STORE/NNNNNN.json: mail_from, rcpt_tos, mail_options, rcpt_options, peer, listener,
tls (version, cipher), auth_user, auth_mechanism, size.  The .json is written last and both by rename, so a
reader that sees the .json sees a complete .eml.

Stops on SIGTERM or SIGINT.
"""

import argparse
import asyncio
import hmac
import itertools
import json
import os
import signal
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

HOSTNAME = "mail.interop.test"


class Sink:
    """aiosmtpd handler that stores each message and its envelope (see the module doc)."""

    def __init__(self, store):
        self.store = store
        self.seq = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        n = next(self.seq)
        base = os.path.join(self.store, "%06d" % n)
        content = envelope.original_content
        with open(base + ".eml.tmp", "wb") as f:
            f.write(content)
        os.rename(base + ".eml.tmp", base + ".eml")
        sslobj = server.transport.get_extra_info("ssl_object") if server.transport else None
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,
            "rcpt_options": envelope.rcpt_options,
            "peer": list(session.peer) if session.peer else None,
            "listener": server.listener_name,
            "tls": ({"version": sslobj.version(), "cipher": sslobj.cipher()[0]}
                    if sslobj is not None else None),
            "auth_user": (session.auth_data.decode("utf-8", "replace")
                          if isinstance(session.auth_data, bytes) else None),
            "auth_mechanism": getattr(session, "interop_auth_mechanism", None),
            "size": len(content),
            "received_at": time.time(),
        }
        with open(base + ".json.tmp", "w", encoding="utf-8") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Ok: stored as %06d" % n


def make_authenticator(user, password):
    """Returns an aiosmtpd authenticator accepting exactly USER/PASSWORD over PLAIN or LOGIN."""
    want_user = user.encode("utf-8")
    want_password = password.encode("utf-8")

    def authenticator(server, session, envelope, mechanism, auth_data):
        if mechanism not in ("PLAIN", "LOGIN") or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        session.interop_auth_mechanism = mechanism
        ok = (hmac.compare_digest(auth_data.login, want_user)
              & hmac.compare_digest(auth_data.password, want_password))
        # auth_data becomes session.auth_data: keep the user name for the record.  handled
        # must be False so that aiosmtpd itself answers (235, or 535 on failure).
        return AuthResult(success=bool(ok), handled=False,
                          auth_data=auth_data.login if ok else None)

    return authenticator


class InteropSMTP(SMTP):
    """aiosmtpd's SMTP with the name of the listener it serves, for the stored record."""

    listener_name = "?"


def tls_context(cert, key, tls12_only):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls12_only:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


async def serve(args):
    password = open(args.password_file, encoding="utf-8").read()
    if password.endswith("\n"):
        password = password[:-1]
    handler = Sink(args.store)
    authenticator = make_authenticator(args.user, password)
    loop = asyncio.get_running_loop()
    common = dict(hostname=HOSTNAME, ident="smtpio interop aiosmtpd", auth_required=True,
                  authenticator=authenticator, enable_SMTPUTF8=True,
                  data_size_limit=64 * 1024 * 1024, timeout=60, loop=loop)

    def factory(name, **kw):
        def make():
            s = InteropSMTP(handler, **common, **kw)
            s.listener_name = name
            return s
        return make

    servers = [
        await loop.create_server(
            factory("starttls", tls_context=tls_context(args.cert, args.key, False),
                    require_starttls=True),
            "127.0.0.1", args.port_starttls),
        await loop.create_server(
            factory("tls12", tls_context=tls_context(args.cert, args.key, True),
                    require_starttls=True),
            "127.0.0.1", args.port_tls12),
        # Implicit TLS: the transport is TLS before the first byte, so AUTH is safe at once
        # (aiosmtpd only knows about STARTTLS, hence auth_require_tls=False here).
        await loop.create_server(
            factory("implicit", auth_require_tls=False),
            "127.0.0.1", args.port_implicit,
            ssl=tls_context(args.cert, args.key, False)),
    ]
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("aiosmtpd_sink: listening on 127.0.0.1 ports %d (STARTTLS), %d (implicit TLS), "
          "%d (STARTTLS, TLS 1.2 only)" % (args.port_starttls, args.port_implicit, args.port_tls12),
          flush=True)
    await stop.wait()
    for s in servers:
        s.close()
    for s in servers:
        await s.wait_closed()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port-starttls", type=int, required=True)
    p.add_argument("--port-implicit", type=int, required=True)
    p.add_argument("--port-tls12", type=int, required=True)
    p.add_argument("--cert", required=True, help="server certificate chain, PEM")
    p.add_argument("--key", required=True, help="server private key, PEM")
    p.add_argument("--store", required=True, help="directory for NNNNNN.eml/.json")
    p.add_argument("--user", required=True)
    p.add_argument("--password-file", required=True, help="one trailing newline is ignored")
    args = p.parse_args()
    if not os.path.isdir(args.store):
        p.error("--store %s is not a directory" % args.store)
    # The warnings aiosmtpd logs about auth_require_tls=False on the implicit-TLS listener
    # are expected; keep stderr for real problems.
    import logging
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    import warnings
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    try:
        asyncio.run(serve(args))
    except OSError as e:
        sys.exit("aiosmtpd_sink: %s" % e)


if __name__ == "__main__":
    main()
