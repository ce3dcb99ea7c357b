#!/usr/bin/python3
"""A real SMTP server for smtpio's integration tests: aiosmtpd (Debian's
python3-aiosmtpd) on 127.0.0.1, started and stopped by the test itself.

    aiosmtpd_server.py --cert CHAIN.pem --key KEY.pem --store DIR --user U --password P

Listens on an ephemeral port of 127.0.0.1 and prints "PORT <n>" on stdout once
ready.  STARTTLS is offered and required before mail (RFC 3207); AUTH PLAIN and
LOGIN (RFC 4954) are offered only over TLS and required before MAIL; the one
account is U/P.  Each message accepted is written to DIR/<n>.eml exactly as
received (DATA content after dot-unstuffing, CRLF line ends) and its envelope to
DIR/<n>.txt (written last, by rename).  Exits on SIGTERM or SIGINT, or when stdin
closes (so it cannot outlive the test that started it).
"""

import argparse
import asyncio
import os
import signal
import socket
import ssl
import sys
import logging

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Store:
    """aiosmtpd handler: keeps every message and its envelope in a directory."""

    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.directory, str(self.count))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content)
        tmp = base + ".txt.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("from %s\n" % envelope.mail_from)
            for rcpt in envelope.rcpt_tos:
                f.write("rcpt %s\n" % rcpt)
            f.write("tls %s\n" % (session.ssl is not None))
            auth = session.auth_data
            if isinstance(auth, LoginPassword):
                f.write("auth %s\n" % auth.login.decode("utf-8", "replace"))
        os.rename(tmp, base + ".txt")
        return "250 2.0.0 Ok: stored as %d" % self.count


def make_authenticator(user, password):
    want = (user.encode("utf-8"), password.encode("utf-8"))

    def authenticate(server, session, envelope, mechanism, auth_data):
        # handled=False: aiosmtpd then sends the 535 itself.
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        if (auth_data.login, auth_data.password) != want:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=auth_data)

    return authenticate


async def main():
    # aiosmtpd 1.4 logs a warning about its own use of Session.login_data.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--store", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    args = p.parse_args()

    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(args.cert, args.key)

    handler = Store(args.store)
    authenticator = make_authenticator(args.user, args.password)

    def factory():
        return SMTP(handler, hostname="mx.example.test", tls_context=tls, require_starttls=True,
                    auth_required=True, auth_require_tls=True, authenticator=authenticator,
                    decode_data=False)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, sock=sock)

    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    # The parent holds our stdin: when it goes away, so do we.
    def on_stdin():
        if not os.read(sys.stdin.fileno(), 4096):
            loop.remove_reader(sys.stdin.fileno())
            if not stop.done():
                stop.set_result(None)

    loop.add_reader(sys.stdin.fileno(), on_stdin)

    print("PORT %d" % sock.getsockname()[1], flush=True)
    await stop
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
