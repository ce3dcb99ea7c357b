#!/usr/bin/python3
"""STAND-IN STARTTLS sink for bench/run (Python, standard library only).

This is a temporary replacement for `smtpio-sink` (the fast sink built with
smtpio's own protocol types).  It exists so that the TLS cases of the benchmark
can be developed and validated before that sink lands.  It is slow compared with
a native sink: every figure measured against it is labelled "stand-in" by
bench/run, and its own CPU use is reported next to each run so that a run it
limits is visible.

What it does: accepts SMTP sessions on one address, answers EHLO/HELO (with
PIPELINING and, unless --no-tls, STARTTLS per RFC 3207), MAIL, RCPT, DATA, RSET,
NOOP and QUIT, discards message content, and answers a whole pipelined group
(RFC 2920) with one write.  After the 220 reply to STARTTLS, any byte the client
already sent is treated as command injection and the connection is closed
(RFC 3207 section 6).  It never relays or stores anything.

Counters: while they change, at most every --stats-interval seconds, and once
more on SIGTERM/SIGINT, it writes one line to stdout:

    sess=N quit=N mesg=N bytes=N tls=N tls13=N resumed=N tlsfail=N

The first three fields use the same names as Postfix smtp-sink's -c counters,
so bench/run reads both sinks the same way.  `bytes` counts message content as
received (dot-stuffing included, the terminating CRLF.CRLF excluded).

Usage:
    standin_sink.py --listen 127.0.0.1:PORT --cert CERT --key KEY [--no-tls]
"""

import argparse
import os
import signal
import socket
import ssl
import sys
import threading
import time

MAX_LINE = 4096  # longer command lines are a protocol error (RFC 5321 4.5.3.1.4: 512)
TERMINATOR = b"\r\n.\r\n"


class Counters:
    """Process-wide counters, updated by the session threads under one lock."""

    FIELDS = ("sess", "quit", "mesg", "bytes", "tls", "tls13", "resumed", "tlsfail")

    def __init__(self):
        self.lock = threading.Lock()
        self.values = dict.fromkeys(self.FIELDS, 0)

    def add(self, **deltas):
        with self.lock:
            for key, delta in deltas.items():
                self.values[key] += delta

    def line(self):
        with self.lock:
            return " ".join(f"{k}={self.values[k]}" for k in self.FIELDS)


class Session:
    """One SMTP session: a small state machine fed with received bytes."""

    def __init__(self, sock, server):
        self.sock = sock
        self.server = server
        self.pending = b""      # incomplete command line
        self.tls_active = False
        self.in_data = False
        self.window = b""       # last bytes of message content (terminator search)
        self.data_len = 0
        self.mail = False
        self.rcpts = 0
        self.quit = False
        self.starttls = False   # 220 sent, handshake due
        self.injected = False   # bytes followed STARTTLS in the same segment

    def run(self):
        counters = self.server.counters
        counters.add(sess=1)
        try:
            self.sock.sendall(b"220 " + self.server.hostname + b" ESMTP stand-in sink\r\n")
            # recv_into one buffer: recv(N) would allocate (and for large N mmap) N bytes per call.
            buf = bytearray(65536)
            view = memoryview(buf)
            while not self.quit:
                got = self.sock.recv_into(buf)
                if not got:
                    return
                chunk = bytes(view[:got])
                replies = self.feed(self.pending + chunk if self.pending else chunk)
                if replies:
                    self.sock.sendall(b"".join(replies))
                if self.injected:
                    return
                if self.starttls:
                    self.start_tls()
        except (OSError, ssl.SSLError):
            return
        finally:
            try:
                self.sock.close()
            except OSError:
                pass

    def start_tls(self):
        counters = self.server.counters
        try:
            self.sock = self.server.tls_context.wrap_socket(self.sock, server_side=True)
        except (OSError, ssl.SSLError):
            counters.add(tlsfail=1)
            raise
        self.starttls = False
        self.tls_active = True
        # RFC 3207 4.2: forget everything learned before TLS; the client must EHLO again.
        self.mail = False
        self.rcpts = 0
        counters.add(tls=1,
                     tls13=1 if self.sock.version() == "TLSv1.3" else 0,
                     resumed=1 if self.sock.session_reused else 0)

    def feed(self, data):
        """Consumes `data`; returns the replies to write, in order, as one batch."""
        out = []
        pos = 0
        n = len(data)
        while pos < n:
            if self.in_data:
                pos = self.feed_data(data, pos, out)
                continue
            eol = data.find(b"\r\n", pos)
            if eol == -1:
                if n - pos > MAX_LINE:
                    out.append(b"500 5.5.2 Line too long\r\n")
                    self.quit = True
                    return out
                break
            line = data[pos:eol]
            pos = eol + 2
            out.append(self.command(line))
            if self.quit:
                return out
            if self.starttls:
                # RFC 3207 section 6: nothing may follow STARTTLS in the same flight.
                if pos < n:
                    self.injected = True
                return out
        self.pending = data[pos:] if pos < n and not self.in_data else b""
        return out

    def feed_data(self, data, pos, out):
        """Message content mode: finds CRLF.CRLF, possibly split across reads."""
        w = self.window
        head = w + data[pos:pos + 5]
        j = head.find(TERMINATOR)
        if j != -1 and j < len(w):
            # The terminator starts in bytes already seen.
            end = pos + j + 5 - len(w)
            content = self.data_len + j - len(w) + 2
        else:
            k = data.find(TERMINATOR, pos)
            if k == -1:
                self.data_len += len(data) - pos
                self.window = (w + data[max(pos, len(data) - 4):])[-4:]
                return len(data)
            end = k + 5
            content = self.data_len + k + 2 - pos
        self.server.counters.add(mesg=1, bytes=content)
        self.in_data = False
        self.mail = False
        self.rcpts = 0
        out.append(b"250 2.0.0 Ok: queued\r\n")
        return end

    def command(self, line):
        verb = line[:4].upper()
        if verb == b"EHLO":
            self.mail = False
            self.rcpts = 0
            lines = [b"250-" + self.server.hostname, b"250-PIPELINING", b"250-SIZE 104857600",
                     b"250-8BITMIME", b"250-ENHANCEDSTATUSCODES"]
            if self.server.tls_context is not None and not self.tls_active:
                lines.append(b"250-STARTTLS")
            lines[-1] = b"250 " + lines[-1][4:]
            return b"\r\n".join(lines) + b"\r\n"
        if verb == b"HELO":
            self.mail = False
            self.rcpts = 0
            return b"250 " + self.server.hostname + b"\r\n"
        if verb == b"MAIL":
            if self.mail:
                return b"503 5.5.1 Error: nested MAIL command\r\n"
            self.mail = True
            self.rcpts = 0
            return b"250 2.1.0 Ok\r\n"
        if verb == b"RCPT":
            if not self.mail:
                return b"503 5.5.1 Error: need MAIL command\r\n"
            self.rcpts += 1
            return b"250 2.1.5 Ok\r\n"
        if verb == b"DATA":
            if self.rcpts == 0:
                return b"554 5.5.1 Error: no valid recipients\r\n"
            self.in_data = True
            self.window = b"\r\n"  # content starts at a line start
            self.data_len = 0
            return b"354 End data with <CR><LF>.<CR><LF>\r\n"
        if verb == b"RSET":
            self.mail = False
            self.rcpts = 0
            return b"250 2.0.0 Ok\r\n"
        if verb == b"NOOP":
            return b"250 2.0.0 Ok\r\n"
        if verb == b"QUIT":
            self.server.counters.add(quit=1)
            self.quit = True
            return b"221 2.0.0 Bye\r\n"
        if line.upper() == b"STARTTLS":
            if self.server.tls_context is None or self.tls_active:
                return b"502 5.5.1 Error: command not implemented\r\n"
            self.starttls = True
            return b"220 2.0.0 Ready to start TLS\r\n"
        return b"502 5.5.2 Error: command not recognized\r\n"


class Server:
    def __init__(self, args):
        host, _, port = args.listen.rpartition(":")
        if not host or not port.isdigit():
            sys.exit(f"standin_sink: --listen wants HOST:PORT, got {args.listen!r}")
        self.hostname = args.hostname.encode()
        self.counters = Counters()
        self.tls_context = None
        if not args.no_tls:
            if not args.cert or not args.key:
                sys.exit("standin_sink: --cert and --key are required unless --no-tls")
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(args.cert, args.key)
            self.tls_context = ctx
        family = socket.AF_INET6 if host.startswith("[") else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host.strip("[]"), int(port)))
        self.listener.listen(1024)

    def serve_forever(self):
        while True:
            conn, _ = self.listener.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=Session(conn, self).run, daemon=True).start()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", required=True, help="HOST:PORT to listen on")
    parser.add_argument("--cert", help="server certificate chain, PEM")
    parser.add_argument("--key", help="server private key, PEM")
    parser.add_argument("--no-tls", action="store_true", help="do not offer STARTTLS")
    parser.add_argument("--hostname", default="mx.bench.test", help="name in greeting and EHLO")
    parser.add_argument("--stats-interval", type=float, default=0.02,
                        help="seconds between counter lines while they change")
    args = parser.parse_args()
    server = Server(args)

    def emit_final(_signum, _frame):
        sys.stdout.write(server.counters.line() + "\n")
        sys.stdout.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, emit_final)
    signal.signal(signal.SIGINT, emit_final)

    def stats_loop():
        last = None
        while True:
            time.sleep(args.stats_interval)
            line = server.counters.line()
            if line != last:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
                last = line

    threading.Thread(target=stats_loop, daemon=True).start()
    print(f"standin_sink: STAND-IN sink listening on {args.listen}"
          f" ({'plaintext only' if args.no_tls else 'STARTTLS offered'})", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
