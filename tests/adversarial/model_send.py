#!/usr/bin/python3
"""A reference model of the `smtpio-send` contract (issue 6), in Python, for testing the suite.

NOT the product.  smtpio-send is the C++ CLI; this model exists so that the adversarial
scenarios (scripts, expected exit codes, JSON and bytes) can be run and checked before the
real binary exists:

    tests/adversarial/run --send tests/adversarial/model_send.py

It implements the contract as the scenarios read it (exit codes, JSON shape, policy levels,
STARTTLS rules, reply parsing with limits, per-phase deadlines, dot-stuffing, per-recipient
outcomes, AUTH PLAIN/LOGIN, DANE/pins) with Python's ssl module.  Known gaps: no CHUNKING,
SMTPUTF8, DSN or XOAUTH2/SCRAM; bulk mode sends sequentially.

Mutants: ADV_MODEL_MUTANT=NAME switches one safety rule off, so that `selftest.py --mutants`
can show that the scenarios catch the resulting bug (see MUTANTS).
"""
import argparse
import base64
import hashlib
import ipaddress
import json
import os
import re
import select
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)

MUTANTS = {
    "no-dot-stuffing": "lines starting with '.' are not dot-stuffed",
    "no-normalise": "bare CR and bare LF are sent as they are",
    "ignore-injection": "bytes after the 220 to STARTTLS are not checked",
    "keep-caps": "the plaintext EHLO capabilities are kept after TLS (no second EHLO)",
    "plaintext-fallback": "strict levels go on in plaintext when STARTTLS is missing or refused",
    "unknown-as-delivered": "a connection lost after the end of data counts as delivered",
    "cn-fallback": "the subject CN is used when there is no DNS SAN",
    "no-arg-check": "CR/LF/NUL in arguments are not rejected",
    "lenient-replies": "malformed reply codes and bare LF are accepted",
    "write-whole-body": "replies are not read while the body is written",
    "no-timeout": "--timeout only bounds each read, not the whole phase",
    "weak-offer": "strict levels offer the wide suite list and SHA-1 signature algorithms",
}
MUTANT = os.environ.get("ADV_MODEL_MUTANT", "")

LEVELS = ["none", "may", "encrypt", "verify", "secure", "fingerprint", "dane", "dane-only"]
EXIT = {"delivered": 0, "partial": 1, "rejected": 1, "deferred": 2, "tls_failed": 3, "unknown": 4,
        "protocol_error": 5, "usage_error": 64}
# RFC 5321 4.5.3.2 defaults (seconds).
PHASE = {"greeting": 300, "command": 300, "data_init": 120, "data_block": 180, "end_of_data": 600,
         "handshake": 120}
LINE_MAX = 4096
REPLY_LINES_MAX = 500
REPLY_BYTES_MAX = 256 * 1024


class Fail(Exception):
    """Ends the send: an outcome and an errc name."""

    def __init__(self, outcome, code, message, reply=None):
        super().__init__(message)
        self.outcome, self.code, self.message, self.reply = outcome, code, message, reply


class Usage(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


# ---------------------------------------------------------------------------- validation
ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
DOT_STRING = r"%s+(?:\.%s+)*" % (ATEXT, ATEXT)
QUOTED = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"'
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DOMAIN = r"%s(?:\.%s)*" % (LABEL, LABEL)


def valid_domain_or_literal(d):
    if d.startswith("[") and d.endswith("]"):
        inner = d[1:-1]
        try:
            if inner.lower().startswith("ipv6:"):
                ipaddress.IPv6Address(inner[5:])
            else:
                ipaddress.IPv4Address(inner)
            return True
        except ValueError:
            return False
    return len(d) <= 255 and re.fullmatch(DOMAIN, d) is not None


def check_address(opt, a, allow_empty=False):
    if a == "" and allow_empty:
        return
    if "@" not in a:
        raise Usage("invalid_address", "%s: %r is not an address (local-part@domain)" % (opt, a))
    local, _, domain = a.rpartition("@")
    if not (re.fullmatch(DOT_STRING, local) or re.fullmatch(QUOTED, local)):
        raise Usage("invalid_address", "%s: invalid local part in %r" % (opt, a))
    if len(local) > 64:
        raise Usage("local_part_too_long", "%s: local part of %r is longer than 64 octets" % (opt, a))
    if not valid_domain_or_literal(domain):
        raise Usage("invalid_address", "%s: invalid domain in %r" % (opt, a))


def normalise(message):
    """DESIGN rule 6 (see the suite's _lib.wire)."""
    if message == b"":
        return b""
    if MUTANT == "no-normalise":
        lines = message.split(b"\r\n")
    else:
        lines = re.split(rb"\r\n|\r|\n", message)
    if lines and lines[-1] == b"":
        lines.pop()
    if MUTANT == "no-dot-stuffing":
        return b"".join(x + b"\r\n" for x in lines)
    return b"".join((b"." + x if x.startswith(b".") else x) + b"\r\n" for x in lines)


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="smtpio-send", add_help=False, allow_abbrev=False)

    def err(msg):
        raise Usage("invalid_option", msg)
    ap.error = err
    ap.add_argument("--server")
    ap.add_argument("--mx")
    ap.add_argument("--implicit-tls", action="store_true")
    ap.add_argument("--helo", default=socket.gethostname())
    ap.add_argument("--timeout")
    ap.add_argument("--tls")
    ap.add_argument("--ca-file")
    ap.add_argument("--servername")
    ap.add_argument("--fingerprint", action="append", default=[])
    ap.add_argument("--tlsa", action="append", default=[])
    ap.add_argument("--tls-min", default="1.2")
    ap.add_argument("--require-tls", action="store_true")
    ap.add_argument("--from", dest="sender")
    ap.add_argument("--to", action="append", default=[])
    ap.add_argument("--data")
    ap.add_argument("--auth-user")
    ap.add_argument("--auth-password-file")
    ap.add_argument("--auth-mech")
    ap.add_argument("--allow-plaintext-auth", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--transcript", action="store_true")
    ap.add_argument("--count", type=int)
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--connections", type=int, default=1)
    ap.add_argument("--per-connection", type=int, default=1)
    ap.add_argument("--demo", action="store_true")
    return ap.parse_args(argv)


def validate(o, argv):
    if MUTANT != "no-arg-check":
        for i, a in enumerate(argv):
            if re.search(r"[\x00-\x1f\x7f]", a):
                opt = argv[i - 1] if i and argv[i - 1].startswith("--") else a
                raise Usage("control_character", "%s: control character in %r" % (opt, a))
    if o.mx:
        raise Usage("invalid_option", "--mx needs the delivery layer (MX lookup), not available yet")
    if not o.server:
        raise Usage("invalid_option", "--server is required")
    m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d+))?|([^:\[\]]+)(?::(\d+))?", o.server)
    if not m:
        raise Usage("invalid_option", "--server: %r is not HOST[:PORT]" % o.server)
    o.host = m.group(1) or m.group(3)
    port = m.group(2) or m.group(4)
    o.port = int(port) if port else (465 if o.implicit_tls else 25)
    if not 0 < o.port < 65536:
        raise Usage("invalid_option", "--server: port %s out of range" % port)
    if o.timeout is not None:
        try:
            o.timeout = float(o.timeout)
        except ValueError:
            raise Usage("invalid_option", "--timeout: %r is not a number of seconds" % o.timeout)
        if not o.timeout > 0:
            raise Usage("invalid_option", "--timeout must be positive, not %r" % o.timeout)
    if o.tls is None:
        o.tls = "may" if o.port == 25 else "verify"
    if o.tls not in LEVELS:
        raise Usage("invalid_option", "--tls: unknown level %r" % o.tls)
    if o.tls_min not in ("1.2", "1.3"):
        raise Usage("invalid_option", "--tls-min: %r is not 1.2 or 1.3" % o.tls_min)
    pins = []
    for f in o.fingerprint:
        m = re.fullmatch(r"sha256:([0-9A-Fa-f:]+)", f)
        h = m.group(1).replace(":", "").lower() if m else ""
        if not m or not re.fullmatch(r"[0-9a-f]{64}", h):
            raise Usage("invalid_option", "--fingerprint: %r is not sha256: and 64 hex digits" % f)
        pins.append(h)
    o.pins = pins
    records = []
    for t in o.tlsa:
        parts = t.split()
        if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]) or \
                not re.fullmatch(r"(?:[0-9A-Fa-f]{2})+", parts[3]):
            raise Usage("invalid_option", "--tlsa: %r is not \"U S M HEX\"" % t)
        records.append((int(parts[0]), int(parts[1]), int(parts[2]), bytes.fromhex(parts[3])))
    o.records = records
    if o.tls == "fingerprint" and not pins:
        raise Usage("invalid_option", "--tls fingerprint needs --fingerprint")
    if o.tls == "dane-only" and not records:
        raise Usage("invalid_option", "--tls dane-only needs --tlsa records")
    if o.helo == "" or not valid_domain_or_literal(o.helo):
        raise Usage("invalid_helo_name", "--helo: %r is not a domain or address literal" % o.helo)
    if o.sender is None:
        raise Usage("invalid_option", "--from is required")
    check_address("--from", o.sender, allow_empty=True)
    if not o.to:
        raise Usage("no_recipients", "--to: no recipient given")
    for t in o.to:
        check_address("--to", t)
    sn = o.servername if o.servername is not None else o.host
    sn = sn[:-1] if sn.endswith(".") else sn
    try:
        ipaddress.ip_address(sn)
        o.ref_ip = True
    except ValueError:
        o.ref_ip = False
        try:
            sn = sn.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise Usage("invalid_option", "--servername: %r is not a domain" % sn)
        if not re.fullmatch(DOMAIN, sn):
            raise Usage("invalid_option", "--servername: %r is not a domain" % sn)
    o.ref = sn
    o.password = None
    if o.auth_user is not None:
        if not o.auth_password_file:
            raise Usage("invalid_option", "--auth-user needs --auth-password-file")
        try:
            with open(o.auth_password_file, "rb") as f:
                pw = f.read()
        except OSError as e:
            raise Usage("invalid_option", "--auth-password-file: %s" % e)
        if pw.endswith(b"\n"):
            pw = pw[:-1]
        if re.search(rb"[\x00\r\n]", pw):
            raise Usage("control_character", "--auth-password-file: CR, LF or NUL in the password")
        o.password = pw.decode("utf-8", "replace")
    o.message = None
    if o.count is None:
        if o.data:
            try:
                with open(o.data, "rb") as f:
                    raw = f.read()
            except OSError as e:
                raise Usage("body_read_failed", "--data: %s" % e)
        else:
            raw = b"From: %s\r\nSubject: smtpio-send\r\n\r\nHello.\r\n" % o.sender.encode()
        if b"\x00" in raw:
            raise Usage("body_contains_nul", "--data: the message holds a NUL octet")
        for line in re.split(rb"\r\n|\r|\n", raw):
            if len(line) > 998:
                raise Usage("body_line_too_long", "--data: a line is longer than 998 octets")
        o.message = raw


# ---------------------------------------------------------------------------- transport
class Transport:
    """A non-blocking socket with an optional TLS layer over memory BIOs."""

    def __init__(self, sock, o):
        self.sock = sock
        self.o = o
        self.tls = None
        self.inbio = self.outbio = None
        self.rbuf = bytearray()
        self.eof = False
        self.transcript = o.transcript

    def _wait(self, deadline, want_write=False):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, w, _ = select.select([] if want_write else [self.sock], [self.sock] if want_write else [], [],
                                min(left, 1.0))
        return bool(r or w) or None

    def _raw_recv(self):
        try:
            d = self.sock.recv(65536)
        except BlockingIOError:
            return None
        except OSError:
            d = b""
        return d

    def _ingest(self, d):
        if self.tls is None:
            self.rbuf += d
            return
        self.inbio.write(d)
        while True:
            try:
                x = self.tls.read(65536)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                self.eof = True
                break
            except ssl.SSLError:
                self.eof = True
                break
            if not x:
                break
            self.rbuf += x

    def fill(self, deadline, phase_timeout_code):
        """Read more application bytes; raises on EOF/timeout."""
        while True:
            if self.eof:
                raise Fail("deferred", "connection_closed", "the server closed the connection")
            w = self._wait(deadline)
            if w is False:
                raise Fail("deferred", phase_timeout_code, "timed out")
            if w is None:
                continue
            d = self._raw_recv()
            if d is None:
                continue
            if d == b"":
                self.eof = True
                raise Fail("deferred", "connection_closed", "the server closed the connection")
            n = len(self.rbuf)
            self._ingest(d)
            if len(self.rbuf) > n:
                return
            if self.eof:
                raise Fail("deferred", "connection_closed", "the server closed the connection (TLS)")

    def send_raw(self, data, deadline, watch=None):
        """Send bytes; with watch (a callable), read meanwhile and stop if it returns True."""
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail("deferred", "data_timeout", "timed out writing")
            rl = [self.sock] if watch else []
            r, w, _ = select.select(rl, [self.sock], [], min(left, 1.0))
            if r:
                d = self._raw_recv()
                if d == b"":
                    self.eof = True
                    raise Fail("deferred", "connection_closed", "closed while writing")
                if d:
                    self._ingest(d)
                    if watch():
                        return False
            if w:
                try:
                    n = self.sock.send(view[:65536])
                except BlockingIOError:
                    continue
                except OSError as e:
                    raise Fail("deferred", "connection_closed", "write failed: %s" % e)
                view = view[n:]
        return True

    def write(self, data, deadline, watch=None):
        if self.transcript:
            sys.stderr.write("C: %s\n" % redact(data))
        if self.tls is None:
            return self.send_raw(data, deadline, watch)
        for i in range(0, len(data), 16384):
            self.tls.write(data[i:i + 16384])
            if not self.send_raw(self.outbio.read(), deadline, watch):
                return False
        return True

    def handshake(self, ctx, server_hostname, deadline):
        self.inbio, self.outbio = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.inbio, self.outbio, server_hostname=server_hostname)
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.send_raw(self.outbio.read(), deadline)
                while True:
                    w = self._wait(deadline)
                    if w is False:
                        raise Fail("tls_failed", "tls_handshake_timeout", "TLS handshake timed out")
                    if w:
                        break
                d = self._raw_recv()
                if d == b"":
                    raise Fail("tls_failed", "tls_handshake_failed", "connection closed during the handshake")
                if d:
                    self.inbio.write(d)
        out = self.outbio.read()
        if out:
            self.send_raw(out, deadline)
        self._ingest(b"")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def redact(data):
    text = data.decode("latin-1").rstrip("\r\n")
    if text.upper().startswith("AUTH "):
        return " ".join(text.split(" ")[:2]) + " <redacted>"
    return text if len(text) < 200 else text[:200] + "..."


# ---------------------------------------------------------------------------- replies
REPLY_LINE = re.compile(rb"([2-5][0-5][0-9])([ -].*)?")


class Session:
    def __init__(self, o):
        self.o = o
        self.t = None
        self.caps = {}
        self.pending_auth_redact = False
        self.tls_report = None
        self.tls_attempted = False
        self.verified = False
        self.in_tls = False
        self.secret_lines = 0

    def deadline(self, phase):
        d = PHASE[phase]
        if self.o.timeout is not None:
            d = min(d, self.o.timeout)
        return time.monotonic() + d

    def read_reply(self, phase, timeout_code="command_timeout"):
        """One complete reply: (code, [texts]); enforces the RFC 5321 4.2 grammar and limits."""
        deadline = self.deadline(phase)
        lines = []
        total = 0
        code = None
        while True:
            i = self.t.rbuf.find(b"\n")
            if i < 0:
                if len(self.t.rbuf) > LINE_MAX:
                    raise Fail("protocol_error", "reply_line_too_long", "reply line too long")
                if total + len(self.t.rbuf) > REPLY_BYTES_MAX:
                    raise Fail("protocol_error", "reply_too_large", "reply too large")
                self.t.fill(deadline, timeout_code)
                if MUTANT == "no-timeout":
                    deadline = self.deadline(phase)     # the bug: a deadline per read
                continue
            raw = bytes(self.t.rbuf[:i + 1])
            del self.t.rbuf[:i + 1]
            total += len(raw)
            lenient = MUTANT == "lenient-replies"
            if raw.endswith(b"\r\n"):
                line = raw[:-2]
            elif lenient:
                line = raw[:-1].rstrip(b"\r")
            else:
                raise Fail("protocol_error", "reply_malformed", "reply line ends in a bare LF")
            if len(line) > LINE_MAX:
                raise Fail("protocol_error", "reply_line_too_long", "reply line too long")
            m = REPLY_LINE.fullmatch(line)
            if (m is None or b"\r" in line) and not lenient:
                raise Fail("protocol_error", "reply_malformed", "malformed reply line %r" % line[:60])
            if m is None:
                m = re.match(rb"(\d{3})(.?)", line + b" ")
            c = int(m.group(1))
            if code is not None and c != code:
                raise Fail("protocol_error", "reply_code_mismatch", "multi-line reply with codes %d and %d" % (code, c))
            code = c
            rest = m.group(2) or b""
            lines.append(rest[1:].decode("utf-8", "replace"))
            if self.o.transcript:
                sys.stderr.write("S: %s\n" % line.decode("latin-1", "replace")[:200])
            if len(lines) > REPLY_LINES_MAX:
                raise Fail("protocol_error", "reply_too_many_lines", "too many reply lines")
            if total > REPLY_BYTES_MAX:
                raise Fail("protocol_error", "reply_too_large", "reply too large")
            if not rest.startswith(b"-"):
                return code, lines

    def no_extra(self):
        if self.t.rbuf:
            raise Fail("protocol_error", "unsolicited_reply", "the server sent bytes when no reply was due")

    def cmd(self, line, phase="command"):
        self.t.write(line.encode("latin-1") + b"\r\n", self.deadline(phase))
        r = self.read_reply(phase)
        self.no_extra()
        return r

    # ------------------------------------------------------------------ open
    def connect(self):
        o = self.o
        fam = socket.AF_INET6 if ":" in o.host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(o.timeout or 30)
        try:
            s.connect((o.host, o.port))
        except OSError as e:
            raise Fail("deferred", "connect_failed", "connect: %s" % e)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        self.t = Transport(s, o)

    def greeting(self):
        code, text = self.read_reply("greeting", "greeting_timeout")
        if code == 220:
            self.no_extra()
            return
        if code == 421:
            raise Fail("deferred", "service_not_available", "421 greeting", (code, text))
        if 400 <= code < 500:
            raise Fail("deferred", "greeting_refused", "greeting %d" % code, (code, text))
        if 500 <= code < 600:
            raise Fail("rejected", "greeting_refused", "greeting %d" % code, (code, text))
        raise Fail("protocol_error", "unexpected_reply", "greeting %d" % code, (code, text))

    def ehlo(self):
        code, text = self.cmd("EHLO " + self.o.helo)
        if code == 250:
            self.caps = {}
            for t in text[1:]:
                parts = t.split()
                if parts:
                    self.caps[parts[0].upper()] = parts[1:]
            return
        if code == 421:
            raise Fail("deferred", "service_not_available", "421 to EHLO", (code, text))
        if 500 <= code < 600:
            c2, t2 = self.cmd("HELO " + self.o.helo)
            if c2 == 250:
                self.caps = {}
                return
            if c2 == 421:
                raise Fail("deferred", "service_not_available", "421 to HELO", (c2, t2))
            raise Fail("rejected" if c2 >= 500 else "deferred", "hello_refused", "EHLO and HELO refused", (c2, t2))
        if 400 <= code < 500:
            raise Fail("deferred", "hello_refused", "EHLO %d" % code, (code, text))
        raise Fail("protocol_error", "unexpected_reply", "EHLO answered %d" % code, (code, text))

    def tls_context(self):
        o = self.o
        strict = o.tls not in ("may", "encrypt")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3 if o.tls_min == "1.3" else ssl.TLSVersion.TLSv1_2
        if strict and MUTANT != "weak-offer":
            ctx.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:@SECLEVEL=2")
        else:
            ctx.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES:RSA+AESGCM:RSA+AES:!aNULL:!eNULL:"
                            "!3DES:!RC4:!MD5:!EXP:@SECLEVEL=0")
        if o.tls in ("verify", "secure"):
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.check_hostname = True
            ctx.hostname_checks_common_name = MUTANT == "cn-fallback"
            if MUTANT == "cn-fallback":
                ctx.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:@SECLEVEL=2")
            if o.ca_file:
                ctx.load_verify_locations(o.ca_file)
            else:
                ctx.load_default_certs()
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def start_tls(self):
        o = self.o
        self.tls_attempted = True
        ctx = self.tls_context()
        sni = None if o.ref_ip else o.ref
        try:
            self.t.handshake(ctx, o.ref if o.ref_ip else sni, self.deadline("handshake"))
        except ssl.SSLCertVerificationError as e:
            code, result = {10: ("certificate_expired", "certificate-expired"),
                            9: ("certificate_not_yet_valid", "certificate-not-yet-valid"),
                            62: ("certificate_name_mismatch", "certificate-host-mismatch"),
                            64: ("certificate_name_mismatch", "certificate-host-mismatch"),
                            66: ("weak_key", "validation-failure"),
                            68: ("certificate_invalid", "validation-failure")}.get(
                e.verify_code, ("certificate_untrusted", "certificate-not-trusted"))
            self.tls_report = {"verified": False, "verify_result": result}
            raise Fail("tls_failed", code, "certificate: %s" % e.verify_message)
        except ssl.SSLError as e:
            self.tls_report = {"verified": False, "verify_result": "validation-failure"}
            msg = str(e)
            if "KEY_TOO_SMALL" in msg or "too small" in msg:
                raise Fail("tls_failed", "weak_key", msg)
            raise Fail("tls_failed", "tls_handshake_failed", "TLS handshake failed: %s" % e)
        tls = self.t.tls
        chain = [c.public_bytes(2) for c in tls._sslobj.get_unverified_chain()]
        leaf = chain[0]
        report = {"version": tls.version(), "cipher": tls.cipher()[0], "group": None,
                  "verified": False, "verify_result": "validation-failure",
                  "peer_subject": None, "peer_fingerprint_sha256": hashlib.sha256(leaf).hexdigest(),
                  "policy": o.tls, "resumed": False,
                  "received_clause": "version=%s cipher=%s bits=%d/%d" % (
                      tls.version().replace("TLSv", "TLS").replace(".", "_"), tls.cipher()[0],
                      tls.cipher()[2], tls.cipher()[2])}
        self.tls_report = report
        if o.tls in ("verify", "secure"):
            report.update(verified=True, verify_result="ok")
        elif o.tls == "fingerprint":
            spki = spki_der(leaf)
            if hashlib.sha256(leaf).hexdigest() in o.pins or hashlib.sha256(spki).hexdigest() in o.pins:
                report.update(verified=True, verify_result="ok")
            else:
                raise Fail("tls_failed", "fingerprint_mismatch", "no pin matches")
        elif o.tls in ("dane", "dane-only"):
            ok, code = dane_match(o, chain)
            if ok:
                report.update(verified=True, verify_result="ok")
            else:
                report["verify_result"] = "tlsa-invalid" if code == "tlsa_unusable" else "validation-failure"
                raise Fail("tls_failed", code, "DANE: %s" % code)
        self.in_tls = True

    def open(self):
        o = self.o
        self.connect()
        if o.implicit_tls:
            if o.tls == "none":
                raise Usage("invalid_option", "--implicit-tls with --tls none")
            self.start_tls()
        self.greeting()
        self.ehlo()
        if o.implicit_tls or o.tls == "none":
            return
        if "STARTTLS" not in self.caps:
            self.tls_report = {"verified": False, "verify_result": "starttls-not-supported"}
            if o.tls == "may" or MUTANT == "plaintext-fallback":
                return
            raise Fail("tls_failed", "starttls_not_offered", "STARTTLS not advertised")
        self.t.write(b"STARTTLS\r\n", self.deadline("command"))
        code, text = self.read_reply("command")
        if code == 220:
            if self.t.rbuf and MUTANT != "ignore-injection":
                raise Fail("protocol_error", "response_injection", "bytes after the 220 to STARTTLS")
            self.t.rbuf.clear()
        elif code == 421 and o.tls == "may":
            raise Fail("deferred", "service_not_available", "421 to STARTTLS", (code, text))
        elif code >= 400:
            self.tls_report = {"verified": False, "verify_result": "starttls-not-supported"}
            if o.tls == "may" or MUTANT == "plaintext-fallback":
                self.no_extra()
                return
            raise Fail("tls_failed", "starttls_refused", "STARTTLS refused: %d" % code, (code, text))
        else:
            raise Fail("protocol_error", "unexpected_reply", "STARTTLS answered %d" % code, (code, text))
        self.start_tls()
        if MUTANT != "keep-caps":
            self.ehlo()

    # ------------------------------------------------------------------ send
    def auth(self):
        o = self.o
        if o.auth_user is None:
            return
        if not self.in_tls and not o.allow_plaintext_auth:
            raise Fail("tls_failed", "plaintext_auth_refused", "AUTH in plaintext not allowed")
        mechs = [m.upper() for m in self.caps.get("AUTH", [])]
        if not mechs:
            raise Fail("rejected", "auth_not_offered", "AUTH not offered")
        if "PLAIN" in mechs:
            ir = base64.b64encode(("\0%s\0%s" % (o.auth_user, o.password)).encode()).decode()
            code, text = self.cmd("AUTH PLAIN " + ir)
        elif "LOGIN" in mechs:
            code, text = self.cmd("AUTH LOGIN")
            for value in (o.auth_user, o.password):
                if code != 334:
                    break
                code, text = self.cmd(base64.b64encode(value.encode()).decode())
        else:
            raise Fail("rejected", "auth_mechanism_unavailable", "no usable AUTH mechanism")
        if code == 235:
            return
        if code == 421:
            raise Fail("deferred", "service_not_available", "421 to AUTH", (code, text))
        raise Fail("rejected" if code >= 500 else "deferred", "auth_failed", "AUTH refused: %d" % code, (code, text))

    def send(self, message, sender, rcpts):
        o = self.o
        if o.require_tls and not (self.verified_tls() and "REQUIRETLS" in self.caps):
            raise Fail("tls_failed", "requiretls_unavailable", "REQUIRETLS cannot be honoured")
        wire_body = normalise(message) + b".\r\n"
        params = ""
        if "SIZE" in self.caps:
            limit = self.caps["SIZE"][0] if self.caps["SIZE"] else "0"
            if limit.isdigit() and int(limit) > 0 and len(wire_body) > int(limit):
                raise Fail("rejected", "message_too_big", "the message is larger than SIZE %s" % limit)
            params += " SIZE=%d" % len(wire_body)
        if re.search(rb"[\x80-\xff]", message):
            if "8BITMIME" not in self.caps:
                raise Fail("rejected", "eightbit_not_supported", "8-bit message and no 8BITMIME")
            params += " BODY=8BITMIME"
        if o.require_tls:
            params += " REQUIRETLS"
        mail = "MAIL FROM:<%s>%s\r\n" % (sender, params)
        rl = ["RCPT TO:<%s>\r\n" % r for r in rcpts]
        outcomes = [None] * len(rcpts)
        pipelining = "PIPELINING" in self.caps

        def rcpt_result(i, code, text):
            enh = text[0].split(" ")[0] if text and re.fullmatch(r"\d\.\d{1,3}\.\d{1,3}", text[0].split(" ")[0]) else None
            outcomes[i] = {"address": rcpts[i], "outcome": "accepted" if code in (250, 251) else
                           ("rejected" if code >= 500 else "deferred"), "code": code, "enhanced": enh,
                           "text": " ".join(text)}

        def check(code, allowed, text):
            if code == 421:
                raise Fail("deferred", "service_not_available", "421", (code, text))
            if code not in allowed and not (400 <= code < 600):
                raise Fail("protocol_error", "unexpected_reply", "unexpected reply %d" % code, (code, text))

        dl = self.deadline("command")
        if pipelining:
            self.t.write((mail + "".join(rl) + "DATA\r\n").encode("latin-1"), dl)
        else:
            self.t.write(mail.encode("latin-1"), dl)
        code, text = self.read_reply("command")
        if not pipelining:
            self.no_extra()
        self.rcpt_state = outcomes
        check(code, (250,), text)
        if code != 250:
            for i in range(len(rcpts)):
                rcpt_result(i, code, text)
            if pipelining:
                for _ in rl:
                    self.read_reply("command")
                self.read_reply("data_init")
            return outcomes, (code, text)
        for i, line in enumerate(rl):
            if not pipelining:
                self.t.write(line.encode("latin-1"), self.deadline("command"))
            code, text = self.read_reply("command")
            if not pipelining:
                self.no_extra()
            check(code, (250, 251), text)
            rcpt_result(i, code, text)
        any_ok = any(x["outcome"] == "accepted" for x in outcomes)
        if not pipelining:
            if not any_ok:
                return outcomes, None
            self.t.write(b"DATA\r\n", self.deadline("data_init"))
        code, text = self.read_reply("data_init")
        self.no_extra()
        check(code, (354,), text)
        if code != 354:
            if any_ok:
                for x in outcomes:
                    if x["outcome"] == "accepted":
                        x.update(outcome="rejected" if code >= 500 else "deferred", code=code)
            return outcomes, (code, text)
        if not any_ok:
            self.t.write(b".\r\n", self.deadline("end_of_data"))
            code, text = self.read_reply("end_of_data", "end_of_data_timeout")
            return outcomes, (code, text)
        # The body, reading meanwhile: an early reply (552) stops the write.
        dl = self.deadline("data_block")
        early = None

        def watch():
            return b"\n" in self.t.rbuf and MUTANT != "write-whole-body"
        try:
            done = self.t.write(wire_body, dl, watch=None if MUTANT == "write-whole-body" else watch)
        except Fail as f:
            if f.code == "data_timeout" or f.code == "connection_closed":
                if b"\n" in self.t.rbuf:
                    done = False
                else:
                    for x in outcomes:
                        if x["outcome"] == "accepted":
                            x.update(outcome="deferred")
                    raise
            else:
                raise
        if not done:
            code, text = self.read_reply("command")
            early = (code, text)
            for x in outcomes:
                if x["outcome"] == "accepted":
                    x.update(outcome="rejected" if code >= 500 else "deferred", code=code)
            self.broken = True
            return outcomes, early
        try:
            code, text = self.read_reply("end_of_data", "end_of_data_timeout")
        except Fail as f:
            if f.outcome == "protocol_error" or f.code in ("connection_closed", "end_of_data_timeout"):
                for x in outcomes:
                    if x["outcome"] == "accepted":
                        x.update(outcome="accepted" if MUTANT == "unknown-as-delivered" else "unknown",
                                 code=None)
                if MUTANT == "unknown-as-delivered":
                    return outcomes, (250, ["assumed"])
                raise Fail("unknown", f.code, f.message)
            raise
        if code == 250:
            pass
        elif code in (354,) or not (400 <= code < 600):
            for x in outcomes:
                if x["outcome"] == "accepted":
                    x.update(outcome="unknown", code=None)
            raise Fail("unknown", "unexpected_reply", "reply %d to the end of data" % code, (code, text))
        else:
            for x in outcomes:
                if x["outcome"] == "accepted":
                    x.update(outcome="rejected" if code >= 500 else "deferred", code=code)
        if code == 421:
            self.broken = True
        return outcomes, (code, text)

    def verified_tls(self):
        return bool(self.tls_report and self.tls_report.get("verified"))

    def quit(self):
        try:
            if self.t.rbuf or getattr(self, "broken", False):
                return
            self.t.write(b"QUIT\r\n", time.monotonic() + 2)
            self.read_reply("command")
        except Fail:
            pass


def spki_der(cert_der):
    pub = subprocess.run(["openssl", "x509", "-inform", "DER", "-pubkey", "-noout"], input=cert_der,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
    return subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout


def tlsa_matches(rec, cert_der):
    usage, sel, mtype, data = rec
    content = cert_der if sel == 0 else spki_der(cert_der)
    if mtype == 0:
        return content == data
    if mtype == 1:
        return hashlib.sha256(content).digest() == data
    if mtype == 2:
        return hashlib.sha512(content).digest() == data
    return False


def dane_match(o, chain):
    usable = [r for r in o.records if r[0] in (2, 3) and r[1] in (0, 1) and r[2] in (0, 1, 2)]
    if not usable:
        return False, "tlsa_unusable"
    for r in usable:
        if r[0] == 3 and tlsa_matches(r, chain[0]):
            return True, None
    for r in usable:
        if r[0] != 2:
            continue
        for ta in chain[1:]:
            if tlsa_matches(r, ta):
                return ta_verify(o, chain, ta)
    return False, "tlsa_mismatch"


def ta_verify(o, chain, ta):
    with tempfile.TemporaryDirectory() as d:
        def pem(der, name):
            p = os.path.join(d, name)
            with open(p, "w") as f:
                f.write(ssl.DER_cert_to_PEM_cert(der))
            return p
        leaf = pem(chain[0], "leaf.pem")
        tap = pem(ta, "ta.pem")
        with open(os.path.join(d, "chain.pem"), "w") as f:
            for c in chain[1:]:
                f.write(ssl.DER_cert_to_PEM_cert(c))
        p = subprocess.run(["openssl", "verify", "-partial_chain", "-trusted", tap, "-untrusted",
                            os.path.join(d, "chain.pem"), "-verify_hostname", o.ref, leaf],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = p.stdout.decode(errors="replace")
        if p.returncode == 0:
            return True, None
        if "error 62" in out:
            return False, "certificate_name_mismatch"
        return False, "tlsa_mismatch"


# ---------------------------------------------------------------------------- main
def result_json(outcome, error, tls, recipients, reply):
    return {"outcome": outcome, "error": error, "tls": tls, "recipients": recipients,
            "reply": None if reply is None else {"code": reply[0], "enhanced": None, "text": " ".join(reply[1])}}


def full_tls(report, o):
    if report is None:
        return None
    base = {"version": None, "cipher": None, "group": None, "verified": False, "verify_result": None,
            "peer_subject": None, "peer_fingerprint_sha256": None, "policy": o.tls, "resumed": False,
            "received_clause": None}
    base.update(report)
    return base


def message_outcome(rcpts):
    outs = [r["outcome"] for r in rcpts]
    if "unknown" in outs:
        return "unknown"
    if "deferred" in outs:
        return "deferred"
    if all(x == "rejected" for x in outs):
        return "rejected"
    if "rejected" in outs:
        return "partial"
    return "delivered"


def one_send(o):
    """Open, send, quit; with the `may` retry in plaintext after a failed handshake."""
    s = Session(o)
    retry_report = None
    try:
        try:
            s.open()
        except Fail as f:
            if (o.tls == "may" and f.outcome == "tls_failed" and not o.implicit_tls):
                retry_report = {"verified": False, "verify_result": "validation-failure"}
                s.t.close()
                s = Session(o)
                o_tls = o.tls
                o.tls = "none"
                try:
                    s.open()
                finally:
                    o.tls = o_tls
                s.tls_report = retry_report
            else:
                raise
        s.auth()
        rcpts, reply = s.send(o.message, o.sender, o.to)
        if reply is None and not any(r["outcome"] == "accepted" for r in rcpts):
            reply = None
        outcome = message_outcome(rcpts)
        s.quit()
        return outcome, None, full_tls(s.tls_report, o) if (s.tls_report or o.tls != "none") else None, rcpts, reply
    except Fail as f:
        rc = getattr(s, "rcpt_state", None)
        rcpts = []
        for i, a in enumerate(o.to):
            prev = rc[i] if rc and i < len(rc) and rc[i] else None
            if f.outcome == "unknown" and prev and prev["outcome"] in ("accepted", "unknown"):
                rcpts.append(dict(prev, outcome="unknown", code=None))
            elif prev and prev["outcome"] == "rejected" and f.outcome in ("deferred", "protocol_error"):
                rcpts.append(prev)
            else:
                o2 = {"tls_failed": "deferred", "protocol_error": "deferred"}.get(f.outcome, f.outcome)
                if o2 not in ("accepted", "rejected", "deferred", "unknown"):
                    o2 = "deferred"
                rcpts.append({"address": a, "outcome": o2, "code": f.reply[0] if f.reply else None,
                              "enhanced": None, "text": " ".join(f.reply[1]) if f.reply else ""})
        if s.t is not None:
            s.t.close()
        tls = full_tls(s.tls_report, o)
        if tls is None and o.tls != "none" and f.outcome == "tls_failed":
            tls = full_tls({"verified": False}, o)
        return f.outcome, {"code": f.code, "message": f.message}, tls, rcpts, f.reply


def combine(a, b):
    """The exit code when both apply: precedence 4, 3, 5, 2, 1, 0 (issue 6)."""
    order = [4, 3, 5, 2, 1, 0]
    return a if order.index(a) <= order.index(b) else b


def bulk(o):
    sent = 0
    counts = {"accepted": 0, "rejected": 0, "deferred": 0, "unknown": 0}
    worst = 0
    msg = b"Subject: bulk\r\n\r\n" + (b"x" * 76 + b"\r\n") * max(1, o.size // 78)
    while sent < o.count:
        s = Session(o)
        try:
            s.open()
            s.auth()
            n = 0
            while sent < o.count and n < o.per_connection:
                if n:
                    code, _ = s.cmd("RSET")
                    if code != 250:
                        break
                rc, _ = s.send(msg, o.sender, o.to)
                for r in rc:
                    counts[r["outcome"]] += 1
                worst = combine(worst, EXIT[message_outcome(rc)])
                sent += 1
                n += 1
            s.quit()
        except Fail as f:
            worst = combine(worst, EXIT.get(f.outcome, 5))
            sent += 1
        finally:
            if s.t:
                s.t.close()
    summary = {"messages": o.count, "recipients": counts}
    return summary, worst


def main(argv):
    o = None
    want_json = "--json" in argv
    try:
        o = parse_args(argv)
        validate(o, argv)
        if o.count is not None:
            summary, rc = bulk(o)
            print(json.dumps(summary))
            return rc
        outcome, error, tls, rcpts, reply = one_send(o)
    except Usage as u:
        if want_json:
            print(json.dumps(result_json("usage_error", {"code": u.code, "message": u.message}, None, [], None)))
        print("smtpio-send: %s" % u.message, file=sys.stderr)
        return 64
    doc = result_json(outcome, error, tls, rcpts, reply)
    if o.json:
        print(json.dumps(doc))
    else:
        print("%s%s" % (outcome, (": " + error["message"]) if error else ""))
    return EXIT[outcome]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
