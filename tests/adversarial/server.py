#!/usr/bin/python3
"""A scripted, adversarial SMTP server that records every byte the client writes.

Test tooling for smtpio's adversarial suite (issue 7).  One process serves one scenario:

    server.py --spec SPEC.json --certs MANIFEST.json --record OUT.json [--max-seconds 60]

It listens on 127.0.0.1 (or the spec's "bind") on a free port, prints `PORT <n>` on stdout,
plays one script per accepted connection, prints `DONE` when every scripted connection has
ended, and writes the record to OUT.json when it receives SIGTERM or SIGINT (or when
--max-seconds pass).  Before writing it drains what the kernel still holds from each client.

The spec (JSON):
    {"bind": "127.0.0.1", "rcvbuf": 65536,
     "connections": [[step, ...], ...]}     # the script of the 1st, 2nd, ... connection
Connections beyond the scripts get `421 4.3.2 unexpected connection` and are closed.

Steps (objects with "op"; strings are bytes in Latin-1, so "\\r\\n", "\\u0000" work):
    send      data: str|[str], gap: s (pause between the parts, each part one write; TCP_NODELAY
              makes each part its own segment), dribble: s (one byte per write, s apart)
    cmd       re: regex matched (fullmatch) against the next client line without its CRLF,
              reply: str (queued; sent when no further client bytes are buffered, the way
              Postfix flushes pipelined replies), timeout: s, optional: true (a client close
              here ends the script without error).  A line that does not end in CRLF or does
              not match is a script error; the connection then falls back to `serve`.
    data      reads the message after a 354 until CRLF.CRLF; reply: str (sent after it);
              stop_after: N (return after N body bytes, no reply: the next step decides);
              reply_after: N with reply (send the reply once N bytes arrived, then keep
              reading: discard_delay: s pause before reading on, until end of data or close);
              slow: [N, s] (read at most N bytes every s seconds).
    tls       server-side TLS now (STARTTLS's handshake, or implicit TLS as the first step):
              cert: NAME from the manifest (null: no certificate, for anonymous suites),
              chain: false (leaf only), min/max: "1.0".."1.3", ciphers: OpenSSL string
              (default "DEFAULT:@SECLEVEL=0"), dh: true (load FFDHE-2048 for DHE suites),
              sni_alert: N (abort the handshake with alert N from the SNI callback), timeout: s.
              If the client's first byte is not a TLS handshake record, its bytes are taken
              as plaintext and the script continues with `serve`.  A failed handshake ends
              the script (recorded, not a script error).
    client_hello  read and record the client's ClientHello without answering it.
    tls_alert     read the ClientHello, answer with a plaintext fatal alert (alert: N), FIN.
    raw       write bytes as they are on the socket, under any TLS (data: str).
    close_notify  send a TLS close_notify.
    fin       shutdown(SHUT_WR); then read (record) until the client closes (drain: false: do
              not read; hold the socket hold: s seconds, then close).
    rst       SO_LINGER 0 and close: the kernel sends RST.
    stall     never answer; record what arrives until the client closes or `seconds` pass.
    quiet     fail (script error) if any client byte arrives within `seconds`.
    sleep     seconds.
    flood     write `line` (default "250-x" CRLF) repeatedly, up to max_bytes or max_seconds,
              or one line of `line_bytes` 'A's without CRLF ("endless line").
    serve     a permissive SMTP server until the client closes: EHLO/HELO 250, MAIL/RCPT/RSET/
              NOOP 250, DATA 354 + read + 250, AUTH 235, STARTTLS 454, QUIT 221 then close,
              other 502.  Optional "ehlo": reply text.  Every script ends with an implicit serve.

The record (JSON): {"port", "connections": [{"index", "events": [[t, dir, layer, latin1]],
"plain", "tls", "tls_established", "tls_version", "tls_cipher", "client_hello": {...},
"sni", "errors": [...], "notes": [...], "served": [...], "end"}]}.
dir is "c2s" or "s2c"; layer is "raw" (wire), "plain" (application bytes outside TLS) or
"tls" (application bytes inside TLS).  "plain"/"tls" are the concatenated client bytes.
"""
import argparse
import asyncio
import json
import os
import re
import signal
import socket
import ssl
import struct
import sys
import time
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)

_VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3,
}

DEFAULT_CMD_TIMEOUT = 15.0
DRAIN_SECONDS = 5.0
MAX_LINE = 1 << 20


def b(s):
    """Scenario strings are bytes in Latin-1."""
    if isinstance(s, bytes):
        return s
    return s.encode("latin-1")


def parse_client_hello(data):
    """Parse the first ClientHello in raw TLS bytes; None if incomplete or not a ClientHello.

    Returns {"record_version", "legacy_version", "ciphers": [int], "sni": str|None,
    "sni_raw_hex", "supported_versions": [int], "groups": [int], "sigalgs": [int],
    "extensions": [int]}.
    """
    # Reassemble handshake bytes from consecutive handshake records.
    hs = bytearray()
    pos = 0
    rec_version = None
    while pos + 5 <= len(data):
        ctype, ver, ln = data[pos], struct.unpack(">H", data[pos + 1:pos + 3])[0], \
            struct.unpack(">H", data[pos + 3:pos + 5])[0]
        if ctype != 0x16:
            break
        if pos + 5 + ln > len(data):
            return None
        rec_version = rec_version or ver
        hs += data[pos + 5:pos + 5 + ln]
        pos += 5 + ln
        if len(hs) >= 4 and len(hs) >= 4 + int.from_bytes(hs[1:4], "big"):
            break
    if len(hs) < 4 or hs[0] != 1:
        return None
    body_len = int.from_bytes(hs[1:4], "big")
    if len(hs) < 4 + body_len:
        return None
    p = bytes(hs[4:4 + body_len])
    out = {"record_version": rec_version, "legacy_version": None, "ciphers": [], "sni": None,
           "sni_raw_hex": None, "supported_versions": [], "groups": [], "sigalgs": [],
           "extensions": []}
    try:
        i = 0
        out["legacy_version"] = struct.unpack(">H", p[i:i + 2])[0]
        i += 2 + 32
        sid = p[i]
        i += 1 + sid
        cl = struct.unpack(">H", p[i:i + 2])[0]
        i += 2
        out["ciphers"] = [struct.unpack(">H", p[i + k:i + k + 2])[0] for k in range(0, cl, 2)]
        i += cl
        comp = p[i]
        i += 1 + comp
        if i + 2 > len(p):
            return out
        el = struct.unpack(">H", p[i:i + 2])[0]
        i += 2
        end = min(len(p), i + el)
        while i + 4 <= end:
            et, ln = struct.unpack(">HH", p[i:i + 4])
            ed = p[i + 4:i + 4 + ln]
            i += 4 + ln
            out["extensions"].append(et)
            if et == 0 and len(ed) >= 5:          # server_name (RFC 6066)
                nl = struct.unpack(">H", ed[3:5])[0]
                raw = ed[5:5 + nl]
                out["sni_raw_hex"] = raw.hex()
                out["sni"] = raw.decode("latin-1")
            elif et == 43 and ed:                 # supported_versions
                out["supported_versions"] = [struct.unpack(">H", ed[1 + k:3 + k])[0]
                                             for k in range(0, ed[0], 2)]
            elif et == 10 and len(ed) >= 2:       # supported_groups
                out["groups"] = [struct.unpack(">H", ed[2 + k:4 + k])[0]
                                 for k in range(0, struct.unpack(">H", ed[:2])[0], 2)]
            elif et == 13 and len(ed) >= 2:       # signature_algorithms
                out["sigalgs"] = [struct.unpack(">H", ed[2 + k:4 + k])[0]
                                  for k in range(0, struct.unpack(">H", ed[:2])[0], 2)]
    except (IndexError, struct.error):
        out["parse_error"] = True
    return out


class ScriptError(Exception):
    pass


class Closed(Exception):
    """The peer closed (or reset) the connection."""


class Conn:
    """One client connection: its byte record, optional TLS layer and script interpreter."""

    def __init__(self, server, sock, index):
        self.srv = server
        self.sock = sock
        self.loop = asyncio.get_running_loop()
        self.index = index
        self.t0 = server.t0
        self.events = []
        self.rbuf = bytearray()          # application bytes not yet consumed by the script
        self.eof = False
        self.tls = None                  # ssl.SSLObject once TLS is up (or in handshake)
        self.inbio = None
        self.outbio = None
        self.tls_established = False
        self.tls_version = None
        self.tls_cipher = None
        self.client_hello = None
        self.client_hello_raw = bytearray()
        self.sni_cb = None
        self.sni_called = False
        self.errors = []
        self.notes = []
        self.served = []
        self.queue = bytearray()         # replies waiting for a flush
        self.end = None
        self.closed = False
        self.step_index = None
        self.tls_broken = False

    # ---------------------------------------------------------------- recording
    def _rec(self, direction, layer, data):
        if data:
            self.events.append([round(time.monotonic() - self.t0, 6), direction, layer,
                                bytes(data).decode("latin-1")])

    def note(self, text):
        self.notes.append("step %s: %s" % (self.step_index, text))

    def error(self, text):
        self.errors.append("step %s: %s" % (self.step_index, text))

    def stream(self, layer):
        return "".join(e[3] for e in self.events if e[1] == "c2s" and e[2] == layer)

    def record(self):
        return {
            "index": self.index, "events": self.events,
            "plain": self.stream("plain"), "tls": self.stream("tls"),
            "raw_c2s_bytes": sum(len(e[3]) for e in self.events if e[1] == "c2s" and e[2] == "raw"),
            "tls_established": self.tls_established, "tls_version": self.tls_version,
            "tls_cipher": self.tls_cipher, "client_hello": self.client_hello,
            "sni": (self.client_hello or {}).get("sni"),
            "errors": self.errors, "notes": self.notes, "served": self.served, "end": self.end,
        }

    # ---------------------------------------------------------------- low-level I/O
    def _ingest(self, raw):
        """Take bytes from the wire: record them, decrypt under TLS, append to rbuf."""
        self._rec("c2s", "raw", raw)
        if self.tls is None or not self.tls_established:
            self.rbuf += raw
            if self.tls is None:
                self._rec("c2s", "plain", raw)
            return
        self.inbio.write(raw)
        self._tls_read_app()

    def _tls_read_app(self):
        while not self.tls_broken:
            try:
                d = self.tls.read(65536)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                self.note("client sent close_notify")
                self.eof = True
                break
            except ssl.SSLError as e:
                self.note("TLS read error: %s" % e)
                self.tls_broken = True
                self.eof = True
                break
            if not d:
                break
            self.rbuf += d
            self._rec("c2s", "tls", d)

    async def _recv(self, timeout):
        """Read once from the socket; False on EOF/timeout-less close, None on timeout."""
        if self.eof:
            return False
        try:
            raw = await asyncio.wait_for(self.loop.sock_recv(self.sock, 65536), timeout)
        except asyncio.TimeoutError:
            return None
        except (ConnectionResetError, BrokenPipeError, OSError) as e:
            self.note("recv: %s" % e)
            self.eof = True
            return False
        if not raw:
            self.eof = True
            return False
        self._ingest(raw)
        if self.tls is not None and self.tls_established:
            await self._flush_tls_out()
        return True

    async def _sendraw(self, data):
        if not data:
            return
        self._rec("s2c", "raw", data)
        try:
            await self.loop.sock_sendall(self.sock, data)
        except (ConnectionResetError, BrokenPipeError, OSError) as e:
            raise Closed("send: %s" % e)

    async def _flush_tls_out(self):
        if self.outbio is not None:
            out = self.outbio.read()
            if out:
                await self._sendraw(out)

    async def write(self, data):
        """Write application bytes (encrypted when TLS is up) in one socket write."""
        data = b(data)
        if not data:
            return
        if self.tls is not None and self.tls_established:
            self._rec("s2c", "tls", data)
            try:
                self.tls.write(data)
            except ssl.SSLError as e:
                raise Closed("TLS write: %s" % e)
            await self._flush_tls_out()
        else:
            self._rec("s2c", "plain", data)
            await self._sendraw(data)

    async def flush(self):
        if self.queue:
            q = bytes(self.queue)
            self.queue.clear()
            await self.write(q)

    async def read_line(self, timeout):
        """A line up to and including LF; raises Closed on EOF, ScriptError on timeout."""
        deadline = self.loop.time() + timeout
        while True:
            i = self.rbuf.find(b"\n")
            if i >= 0:
                line = bytes(self.rbuf[:i + 1])
                del self.rbuf[:i + 1]
                return line
            if len(self.rbuf) > MAX_LINE:
                raise ScriptError("client line longer than %d bytes" % MAX_LINE)
            left = deadline - self.loop.time()
            if left <= 0:
                raise ScriptError("timeout waiting for a client line (have %r)" % bytes(self.rbuf[:80]))
            r = await self._recv(left)
            if r is False:
                raise Closed("client closed (pending %r)" % bytes(self.rbuf[:80]))

    async def drain(self, seconds):
        """Record client bytes until it closes or `seconds` pass."""
        deadline = self.loop.time() + seconds
        while not self.eof:
            left = deadline - self.loop.time()
            if left <= 0:
                self.note("drain: client still open after %.1fs" % seconds)
                return
            r = await self._recv(left)
            if r is None:
                continue

    def final_drain(self):
        """Synchronously read what the kernel holds (used at shutdown)."""
        if self.closed:
            return
        try:
            self.sock.setblocking(False)
            for _ in range(10000):
                raw = self.sock.recv(65536)
                if not raw:
                    self.eof = True
                    break
                self._ingest(raw)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            pass

    def close(self, how=None):
        if not self.closed:
            self.closed = True
            if how and not self.end:
                self.end = how
            try:
                self.sock.close()
            except OSError:
                pass

    # ---------------------------------------------------------------- TLS
    def _make_ctx(self, step):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = _VERSIONS[step.get("min", "1.0")]
        ctx.maximum_version = _VERSIONS[step.get("max", "1.3")]
        ctx.set_ciphers(step.get("ciphers", "DEFAULT:@SECLEVEL=0"))
        name = step.get("cert", "valid")
        if name is not None:
            c = self.srv.certs["certs"][name]
            ctx.load_cert_chain(c["chain"] if step.get("chain", True) else c["cert"], c["key"])
        if step.get("dh"):
            ctx.load_dh_params(self.srv.certs["dhparams"])
        alert = step.get("sni_alert")

        def sni(obj, server_name, c):
            self.sni_called = True
            self.notes.append("SNI callback: %r" % (server_name,))
            if alert is not None:
                return alert
            return None
        ctx.sni_callback = sni
        return ctx

    async def _first_tls_bytes(self, timeout):
        """Wait for the client's first bytes after TLS should start.  True: TLS record."""
        deadline = self.loop.time() + timeout
        while not self.rbuf:
            left = deadline - self.loop.time()
            if left <= 0:
                raise ScriptError("timeout waiting for the ClientHello")
            r = await self._recv(left)
            if r is False:
                raise Closed("client closed before the ClientHello")
        return self.rbuf[0] == 0x16

    async def _read_client_hello(self, timeout):
        """Accumulate raw bytes (in rbuf, not yet plain) until a whole ClientHello is there."""
        deadline = self.loop.time() + timeout
        while True:
            ch = parse_client_hello(bytes(self.rbuf))
            if ch is not None:
                self.client_hello = ch
                return ch
            if len(self.rbuf) > 65536:
                raise ScriptError("no parsable ClientHello in %d bytes" % len(self.rbuf))
            left = deadline - self.loop.time()
            if left <= 0:
                raise ScriptError("timeout waiting for a complete ClientHello")
            r = await self._recv(left)
            if r is False:
                raise Closed("client closed during the ClientHello")

    def _unplain(self, n):
        """Bytes already recorded as plaintext turned out to be TLS: move them to 'raw' only."""
        while n > 0:
            for k in range(len(self.events) - 1, -1, -1):
                e = self.events[k]
                if e[1] == "c2s" and e[2] == "plain":
                    take = min(n, len(e[3]))
                    e[3] = e[3][:len(e[3]) - take]
                    n -= take
                    if not e[3]:
                        del self.events[k]
                    break
            else:
                return

    async def _start_tls_capture(self, timeout):
        """Common start of TLS ops: stop treating client bytes as plaintext."""
        if self.rbuf:
            # Bytes the client wrote before the server was ready for TLS.
            self.note("client sent %d bytes before the server started TLS" % len(self.rbuf))
        is_tls = await self._first_tls_bytes(timeout)
        if not is_tls:
            return False
        self._unplain(len(self.rbuf))
        return True

    async def op_tls(self, step):
        timeout = step.get("timeout", DEFAULT_CMD_TIMEOUT)
        # From now on, bytes are not plaintext: capture them raw.
        self.tls = None
        ok = await self._start_tls_capture(timeout)
        if not ok:
            self.note("client sent plaintext where a ClientHello was due: %r" % bytes(self.rbuf[:60]))
            return "plaintext"
        ctx = self._make_ctx(step)
        self.inbio = ssl.MemoryBIO()
        self.outbio = ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.inbio, self.outbio, server_side=True)
        pending = bytes(self.rbuf)
        self.rbuf.clear()
        self.client_hello_raw += pending
        self.inbio.write(pending)
        deadline = self.loop.time() + timeout
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self._flush_tls_out()
                if self.client_hello is None:
                    self.client_hello = parse_client_hello(bytes(self.client_hello_raw))
                left = deadline - self.loop.time()
                if left <= 0:
                    self.note("TLS handshake timed out")
                    self.end = "tls handshake timeout"
                    return "failed"
                try:
                    raw = await asyncio.wait_for(self.loop.sock_recv(self.sock, 65536), left)
                except asyncio.TimeoutError:
                    continue
                except OSError as e:
                    raw = b""
                    self.note("recv during handshake: %s" % e)
                if not raw:
                    self.eof = True
                    self.note("client closed during the TLS handshake")
                    self.end = "client closed during handshake"
                    return "failed"
                self._rec("c2s", "raw", raw)
                if self.client_hello is None:
                    self.client_hello_raw += raw
                self.inbio.write(raw)
            except ssl.SSLError as e:
                try:
                    await self._flush_tls_out()       # our alert, if any
                except Closed:
                    pass
                if self.client_hello is None:
                    self.client_hello = parse_client_hello(bytes(self.client_hello_raw))
                self.note("TLS handshake failed: %s" % e)
                self.end = "tls handshake failed"
                self.tls_broken = True
                return "failed"
        if self.client_hello is None:
            self.client_hello = parse_client_hello(bytes(self.client_hello_raw))
        self.tls_established = True
        self.tls_version = self.tls.version()
        self.tls_cipher = (self.tls.cipher() or [None])[0]
        await self._flush_tls_out()
        self._tls_read_app()            # application data that came with the Finished flight
        return "ok"

    async def op_client_hello(self, step):
        timeout = step.get("timeout", DEFAULT_CMD_TIMEOUT)
        ok = await self._start_tls_capture(timeout)
        if not ok:
            self.note("client sent plaintext where a ClientHello was due: %r" % bytes(self.rbuf[:60]))
            return "plaintext"
        # Raw from here on: nothing is plaintext any more (_start_tls_capture moved rbuf already).
        self.tls = "raw"
        await self._read_client_hello(timeout)
        self.rbuf.clear()
        return "ok"

    # ---------------------------------------------------------------- the script
    async def run(self, script):
        try:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        fallback_serve = True
        try:
            for i, step in enumerate(script):
                self.step_index = i
                result = await self.do(step)
                if result in ("failed", "closed"):
                    fallback_serve = False
                    break
                if result in ("plaintext", "mismatch"):
                    break
            if fallback_serve and not self.closed and not self.eof and not self.tls_broken \
                    and self.tls != "raw":
                self.step_index = "serve"
                await self.op_serve({})
        except Closed as e:
            self.note(str(e))
            if not self.end:
                self.end = "client closed"
        except ScriptError as e:
            self.error(str(e))
            self.end = "script error"
        except asyncio.CancelledError:
            self.end = self.end or "stopped"
            raise
        finally:
            if not self.closed:
                if self.srv.stopping:
                    self.final_drain()
                elif not self.eof:
                    try:
                        await self.drain(1.0)
                    except Exception:     # noqa: BLE001 - best effort at the end
                        pass
                self.close(self.end or "done")

    async def do(self, step):
        op = step["op"]
        fn = getattr(self, "op_" + op, None)
        if fn is None:
            raise ScriptError("unknown op %r" % op)
        return await fn(step)

    async def op_send(self, step):
        await self.flush()
        data = step.get("data", "")
        parts = data if isinstance(data, list) else [data]
        gap = step.get("gap", 0)
        dribble = step.get("dribble")
        for k, part in enumerate(parts):
            if k and gap:
                await asyncio.sleep(gap)
            if dribble is not None:
                for ch in b(part):
                    await self.write(bytes([ch]))
                    await asyncio.sleep(dribble)
            else:
                await self.write(part)
        return "ok"

    async def op_raw(self, step):
        await self._sendraw(b(step["data"]))
        return "ok"

    async def op_cmd(self, step):
        timeout = step.get("timeout", DEFAULT_CMD_TIMEOUT)
        try:
            line = await self.read_line(timeout)
        except Closed:
            if step.get("optional"):
                self.end = "client closed"
                return "closed"
            raise Closed("client closed while %r was expected" % step["re"])
        if not line.endswith(b"\r\n"):
            self.error("client line does not end in CRLF: %r (expected %r)" % (line, step["re"]))
            await self._serve_line(line)
            return "mismatch"
        text = line[:-2].decode("latin-1")
        for alt_re, alt_reply in step.get("also", []):
            if re.fullmatch(step["re"], text, re.S) is None and re.fullmatch(alt_re, text, re.S):
                self.note("optional line %r answered" % text)
                await self.write(alt_reply)
                return await self.op_cmd(step)
        if re.fullmatch(step["re"], text, re.S) is None:
            self.error("client line %r does not match %r" % (text, step["re"]))
            await self._serve_line(line)
            return "mismatch"
        if step.get("reply") is not None:
            self.queue += b(step["reply"])
        if not self.rbuf or step.get("flush"):
            await self.flush()
        return "ok"

    async def op_flush(self, step):
        await self.flush()
        return "ok"

    async def _read_body(self, step, body, limit=None):
        """Read message bytes into `body` until end of data; True if the end was seen."""
        slow = step.get("slow")
        timeout = step.get("timeout", DEFAULT_CMD_TIMEOUT)
        scanned = 0
        while True:
            if body[:3] == b".\r\n" or body.find(b"\r\n.\r\n", max(0, scanned - 4)) >= 0:
                return True
            scanned = len(body)
            if limit is not None and len(body) >= limit:
                return False
            if self.rbuf:
                take = len(self.rbuf) if not slow else min(len(self.rbuf), slow[0])
                if limit is not None:
                    take = min(take, limit - len(body))
                body += self.rbuf[:take]
                del self.rbuf[:take]
                if slow:
                    await asyncio.sleep(slow[1])
                continue
            if slow:
                # Read as little as the slow rate allows, so the client stays blocked.
                try:
                    raw = await asyncio.wait_for(self.loop.sock_recv(self.sock, slow[0]), timeout)
                except asyncio.TimeoutError:
                    raise ScriptError("timeout in the message body")
                except OSError:
                    raw = b""
                if not raw:
                    self.eof = True
                    raise Closed("client closed in the message body after %d bytes" % len(body))
                self._ingest(raw)
                continue
            r = await self._recv(timeout)
            if r is None:
                raise ScriptError("timeout in the message body after %d bytes" % len(body))
            if r is False:
                raise Closed("client closed in the message body after %d bytes" % len(body))

    async def op_data(self, step):
        await self.flush()
        body = bytearray()
        if "reply_after" in step:
            done = await self._read_body(step, body, limit=step["reply_after"])
            await self.write(step["reply"])
            self.note("sent %r after %d body bytes" % (step["reply"], len(body)))
            if step.get("discard_delay"):
                await asyncio.sleep(step["discard_delay"])
            if not done:
                try:
                    await self._read_body({}, body, limit=None)
                except (Closed, ScriptError) as e:
                    self.note("after early reply: %s" % e)
                    self.end = "client closed"
                    return "closed"
            self._end_body(body)
            return "ok"
        done = await self._read_body(step, body, limit=step.get("stop_after"))
        if not done:
            self.note("stopped reading after %d body bytes" % len(body))
            return "ok"
        self._end_body(body)
        if step.get("reply") is not None:
            await self.write(step["reply"])
        return "ok"

    def _end_body(self, body):
        """Bytes after the end-of-data marker belong to the next commands."""
        if body[:3] == b".\r\n":
            cut = 3
        else:
            i = body.find(b"\r\n.\r\n")
            cut = i + 5 if i >= 0 else len(body)
        rest = bytes(body[cut:])
        if rest:
            self.rbuf[:0] = rest
        self.notes.append("message body: %d bytes" % cut)

    async def op_tls_alert(self, step):
        r = await self.op_client_hello(step)
        if r != "ok":
            return r
        vers = int(step.get("version", "0303"), 16)
        await self._sendraw(struct.pack(">BHHBB", 0x15, vers, 2, 2, step.get("alert", 40)))
        return await self.op_fin({})

    async def op_close_notify(self, step):
        if self.tls is None or not self.tls_established:
            raise ScriptError("close_notify without TLS")
        try:
            self.tls.unwrap()
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError as e:
            self.note("unwrap: %s" % e)
        await self._flush_tls_out()
        self.note("sent close_notify")
        return "ok"

    async def op_fin(self, step):
        await self.flush()
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            self.note("shutdown: %s" % e)
        self.end = "server FIN"
        if step.get("drain", True):
            await self.drain(step.get("seconds", DRAIN_SECONDS))
        else:
            await asyncio.sleep(step.get("hold", 3.0))
        self.close("server FIN")
        return "closed"

    async def op_rst(self, step):
        await self.flush()
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError as e:
            self.note("SO_LINGER: %s" % e)
        self.end = "rst"
        self.close("rst")
        return "closed"

    async def op_stall(self, step):
        await self.flush()
        await self.drain(step.get("seconds", 20.0))
        self.end = self.end or "stalled"
        if self.eof:
            self.end = "client closed while stalled"
        return "closed"

    async def op_quiet(self, step):
        await self.flush()
        seconds = step.get("seconds", 0.3)
        if self.rbuf:
            self.error("client wrote %r where silence was expected" % bytes(self.rbuf[:80]))
            return "mismatch"
        r = await self._recv(seconds)
        if r is None:
            return "ok"
        if r is False:
            if step.get("optional"):
                return "closed"
            raise Closed("client closed while silence was expected")
        self.error("client wrote %r where silence was expected" % bytes(self.rbuf[:80]))
        return "mismatch"

    async def op_sleep(self, step):
        await self.flush()
        await asyncio.sleep(step.get("seconds", 0.1))
        return "ok"

    async def op_flood(self, step):
        await self.flush()
        max_bytes = step.get("max_bytes", 64 << 20)
        max_seconds = step.get("max_seconds", 10.0)
        if "line_bytes" in step:
            chunk = b(step.get("prefix", "250 ")) + b"A" * 65536
            first = True
        else:
            line = b(step.get("line", "250-x\r\n"))
            chunk = line * max(1, 65536 // len(line))
            first = False
        sent = 0
        deadline = self.loop.time() + max_seconds
        limit = step.get("line_bytes", max_bytes)
        while sent < min(limit, max_bytes) and self.loop.time() < deadline:
            piece = chunk if first or "line_bytes" not in step else b"A" * 65536
            first = False
            try:
                await asyncio.wait_for(self._write_quiet(piece), max(0.01, deadline - self.loop.time()))
            except asyncio.TimeoutError:
                self.note("flood: client stopped reading after %d bytes" % sent)
                break
            except Closed as e:
                self.note("flood: %s after %d bytes" % (e, sent))
                self.end = "client closed during flood"
                return "closed"
            sent += len(piece)
            if self.eof:
                break
            # Pick up a close from the client without blocking.
            await self._recv(0.0001)
        self.note("flood: wrote %d bytes" % sent)
        return "ok"

    async def _write_quiet(self, data):
        """Write without recording every byte (floods are large): record a summary."""
        if self.tls is not None and self.tls_established:
            try:
                self.tls.write(data)
            except ssl.SSLError as e:
                raise Closed("TLS write: %s" % e)
            out = self.outbio.read()
        else:
            out = data
        try:
            await self.loop.sock_sendall(self.sock, out)
        except OSError as e:
            raise Closed("send: %s" % e)

    async def op_auth(self, step):
        """AUTH PLAIN or LOGIN (RFC 4954, 4616), with or without an initial response.

        mech: expected mechanism(s), "PLAIN|LOGIN"; user/password: expected credentials (a mismatch is a script
        error); reply: the final reply (default 235).
        """
        import base64
        timeout = step.get("timeout", DEFAULT_CMD_TIMEOUT)
        line = await self.read_line(timeout)
        text = line.rstrip(b"\r\n").decode("latin-1")
        m = re.fullmatch(r"AUTH (\S+)(?: (\S+))?", text, re.I)
        mechs = step["mech"].upper().split("|")
        if not line.endswith(b"\r\n") or m is None or m.group(1).upper() not in mechs:
            self.error("expected AUTH %s, got %r" % (step["mech"], text))
            await self._serve_line(line)
            return "mismatch"
        mech = m.group(1).upper()
        ir = m.group(2)

        async def ask(prompt):
            await self.write("334 %s\r\n" % prompt)
            resp = await self.read_line(timeout)
            if not resp.endswith(b"\r\n"):
                raise ScriptError("AUTH response does not end in CRLF: %r" % resp)
            return resp[:-2].decode("latin-1")

        def dec(x):
            try:
                return base64.b64decode(x, validate=True).decode("latin-1")
            except Exception:  # noqa: BLE001 - report any decoding problem as a script error
                raise ScriptError("AUTH data is not base64: %r" % x)
        if mech == "PLAIN":
            if ir is None:
                ir = await ask("")
            parts = dec(ir).split("\0")
            got = (parts[1], parts[2]) if len(parts) == 3 else None
        else:
            user = dec(ir) if ir is not None and ir != "=" else dec(await ask("VXNlcm5hbWU6"))
            got = (user, dec(await ask("UGFzc3dvcmQ6")))
        self.notes.append("AUTH %s credentials %r" % (mech, got))
        if "user" in step and got != (step["user"], step["password"]):
            self.error("AUTH credentials %r, expected %r" % (got, (step["user"], step["password"])))
        await self.write(step.get("reply", "235 2.7.0 Authentication successful\r\n"))
        return "ok"

    # ---------------------------------------------------------------- permissive server
    async def _serve_line(self, line, rules=()):
        """Answer one line as a permissive server would (used after a mismatch)."""
        self.served.append(line.decode("latin-1"))
        text = line.rstrip(b"\r\n").decode("latin-1")
        for rule_re, reply in rules:
            if re.fullmatch(rule_re, text, re.S | re.I):
                await self.write(reply)
                return "ok"
        word = line.strip().split(b" ", 1)[0].upper()
        if word in (b"EHLO", b"HELO"):
            await self.write("250 mail.adv.test\r\n")
        elif word in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            await self.write("250 2.0.0 ok\r\n")
        elif word == b"DATA":
            await self.write("354 go ahead\r\n")
            body = bytearray()
            await self._read_body({}, body)
            self._end_body(body)
            self.served.append("<message body %d bytes>" % len(body))
            await self.write("250 2.0.0 accepted by serve\r\n")
        elif word == b"AUTH":
            parts = line.strip().split(b" ")
            if len(parts) == 2:
                await self.write("334 \r\n")
                resp = await self.read_line(DEFAULT_CMD_TIMEOUT)
                self.served.append(resp.decode("latin-1"))
            await self.write("235 2.7.0 ok\r\n")
        elif word == b"STARTTLS":
            await self.write("454 4.7.0 TLS not available now\r\n")
        elif word == b"QUIT":
            await self.write("221 2.0.0 bye\r\n")
            return "quit"
        else:
            await self.write("502 5.5.2 not implemented\r\n")
        return "ok"

    async def op_serve(self, step):
        await self.flush()
        while True:
            try:
                line = await self.read_line(step.get("timeout", DEFAULT_CMD_TIMEOUT))
            except Closed:
                self.end = self.end or "client closed"
                return "closed"
            except ScriptError as e:
                self.note("serve: %s" % e)
                self.end = "serve idle"
                return "closed"
            if await self._serve_line(line, step.get("rules", ())) == "quit":
                try:
                    self.sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                await self.drain(DRAIN_SECONDS)
                self.end = "quit"
                self.close("quit")
                return "closed"


class Server:
    """One scenario's server: listens on a free port, one script per accepted connection.

    In-process use (the runner): `port = await start()`, `await wait_done(t)`, `rec = await stop()`.
    Standalone use: `main()` below.
    """

    def __init__(self, spec, certs):
        self.spec = spec
        self.certs = certs
        self.t0 = time.monotonic()
        self.conns = []
        self.tasks = []
        self.scripts = spec.get("connections", [])
        self.finished = 0
        self.extra = 0
        self.stopping = False
        self.done = asyncio.Event()
        self.port = None
        self._ls = None
        self._acceptor = None

    def _maybe_done(self):
        if self.finished >= len(self.scripts):
            self.done.set()

    async def handle(self, sock, index):
        conn = Conn(self, sock, index)
        self.conns.append(conn)
        if index < len(self.scripts):
            try:
                await conn.run(self.scripts[index])
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a bug in the server fails the scenario, loudly
                import traceback
                conn.errors.append("server bug: %s" % traceback.format_exc())
                conn.close("server bug")
            finally:
                self.finished += 1
                self._maybe_done()
        else:
            self.extra += 1
            try:
                await conn.write("421 4.3.2 unexpected connection\r\n")
            except Closed:
                pass
            conn.errors.append("unexpected connection #%d" % (index + 1))
            conn.close("extra connection")

    async def start(self):
        """Bind 127.0.0.1 (or spec "bind") port 0, start accepting; the port."""
        bind = self.spec.get("bind", "127.0.0.1")
        fam = socket.AF_INET6 if ":" in bind else socket.AF_INET
        ls = socket.socket(fam, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.spec.get("rcvbuf"):
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(self.spec["rcvbuf"]))
        ls.bind((bind, 0))
        ls.listen(16)
        ls.setblocking(False)
        self._ls = ls
        self.port = ls.getsockname()[1]
        self._maybe_done()
        loop = asyncio.get_running_loop()

        async def acceptor():
            index = 0
            while True:
                s, _ = await loop.sock_accept(ls)
                s.setblocking(False)
                self.tasks.append(asyncio.ensure_future(self.handle(s, index)))
                index += 1
        self._acceptor = asyncio.ensure_future(acceptor())
        return self.port

    async def wait_done(self, timeout):
        """True when every scripted connection has ended."""
        try:
            await asyncio.wait_for(self.done.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    def record(self):
        return {"port": self.port, "connections": [c.record() for c in self.conns],
                "extra_connections": self.extra}

    async def stop(self):
        """Stop scripts (draining what the kernel holds from each client), close, the record."""
        self.stopping = True
        if self._acceptor is not None:
            self._acceptor.cancel()
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, *([self._acceptor] if self._acceptor else []),
                             return_exceptions=True)
        for c in self.conns:
            c.final_drain()
            c.close()
        if self._ls is not None:
            self._ls.close()
        return self.record()

    async def main(self, record_path, max_seconds):
        """Standalone: print PORT, DONE when scripts end; record on SIGTERM/SIGINT or timeout."""
        await self.start()
        print("PORT %d" % self.port, flush=True)
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)

        async def announce():
            await self.done.wait()
            print("DONE", flush=True)
        ann = asyncio.ensure_future(announce())
        try:
            await asyncio.wait_for(stop.wait(), max_seconds)
        except asyncio.TimeoutError:
            pass
        ann.cancel()
        rec = await self.stop()
        tmp = record_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(rec, f)
        os.replace(tmp, record_path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="scripted adversarial SMTP server")
    ap.add_argument("--spec", required=True)
    ap.add_argument("--certs", required=True, help="manifest.json written by certs.py")
    ap.add_argument("--record", required=True)
    ap.add_argument("--max-seconds", type=float, default=90.0)
    a = ap.parse_args(argv)
    with open(a.spec, encoding="utf-8") as f:
        spec = json.load(f)
    with open(a.certs, encoding="utf-8") as f:
        certs = json.load(f)
    async def run():
        await Server(spec, certs).main(a.record, a.max_seconds)
    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
