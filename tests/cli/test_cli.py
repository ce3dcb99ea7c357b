#!/usr/bin/env python3
"""smtpio-send's own tests: exit codes, the JSON shape, usage errors, the
progress bar.  Runs the CLI against smtpio-sink (the embedded loopback server
as a program), the built-in --demo, and a few tiny scripted servers.

Usage: test_cli.py SMTPIO_SEND SMTPIO_SINK   (ctest passes both)
"""
import json
import os
import pty
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SEND = SINK = None
TIMEOUT = 60


def run(args, stdin=None, timeout=TIMEOUT):
    p = subprocess.run([SEND] + args, input=stdin, capture_output=True, timeout=timeout)
    obj = None
    if b"--json" in [a.encode() if isinstance(a, str) else a for a in args]:
        try:
            obj = json.loads(p.stdout.decode())
        except ValueError:
            obj = None
    return p.returncode, obj, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


class Sink:
    """smtpio-sink on 127.0.0.1:0; stopped by PID."""

    def __init__(self, *extra):
        self.dir = tempfile.mkdtemp(prefix="smtpio-cli-sink.")
        self.proc = subprocess.Popen([SINK, "--listen", "127.0.0.1:0", "--keep", self.dir] + list(extra),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError("smtpio-sink did not start: %r" % line)
        self.port = int(line.rsplit(":", 1)[1])
        # Drain the counter lines so the pipe never fills.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def messages(self):
        return sorted(f for f in os.listdir(self.dir) if f.endswith(".eml"))

    def read(self, name):
        with open(os.path.join(self.dir, name), "rb") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Listener:
    """A TCP listener that counts connections and the bytes each sends; it
    answers nothing (or a script of replies).  For "nothing was sent" checks and
    for hostile behaviour."""

    def __init__(self, script=None):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.received = b""
        self.script = script
        self.stopping = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        self.sock.settimeout(0.2)
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            try:
                if self.script:
                    self.script(c, self)
            except OSError:
                pass
            finally:
                c.close()

    def stop(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


def read_line(c, owner):
    data = b""
    while not data.endswith(b"\r\n"):
        b = c.recv(1)
        if not b:
            raise OSError("closed")
        data += b
    owner.received += data
    return data


def read_until(c, owner, marker):
    data = b""
    while not data.endswith(marker):
        b = c.recv(65536)
        if not b:
            raise OSError("closed")
        data += b
    owner.received += data
    return data


def make_certs(d):
    """A CA and a server certificate for mail.cli.test and 127.0.0.1 (openssl: test tooling)."""
    def sh(*a):
        subprocess.run(a, check=True, capture_output=True, cwd=d)
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=smtpio cli test CA")
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=mail.cli.test")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:mail.cli.test,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    sh("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
       "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="smtpio-cli-certs.")
        make_certs(cls.certs)
        cls.ca = os.path.join(cls.certs, "ca.pem")
        cls.plain = Sink()
        cls.tls = Sink("--cert", os.path.join(cls.certs, "server.pem"), "--key", os.path.join(cls.certs, "server.key"),
                       "--hostname", "mail.cli.test")

    @classmethod
    def tearDownClass(cls):
        cls.plain.stop()
        cls.tls.stop()
        shutil.rmtree(cls.certs, ignore_errors=True)

    def tls_args(self, *extra):
        return ["--server", "127.0.0.1:%d" % self.tls.port, "--tls", "verify", "--ca-file", self.ca,
                "--servername", "mail.cli.test", "--from", "a@cli.test", "--json"] + list(extra)

    def plain_args(self, *extra):
        return ["--server", "127.0.0.1:%d" % self.plain.port, "--tls", "none", "--from", "a@cli.test",
                "--json"] + list(extra)

    # ---- the JSON shape and exit 0 -----------------------------------------------------

    def check_shape(self, obj):
        for k in ("outcome", "error", "tls", "recipients", "reply"):
            self.assertIn(k, obj)
        for r in obj["recipients"]:
            for k in ("address", "outcome", "code", "enhanced", "text"):
                self.assertIn(k, r)
        if obj["tls"] is not None:
            for k in ("version", "cipher", "group", "verified", "verify_result", "peer_subject",
                      "peer_fingerprint_sha256", "policy", "resumed", "received_clause"):
                self.assertIn(k, obj["tls"])

    def test_delivered_over_verified_starttls(self):
        before = len(self.tls.messages())
        rc, obj, out, err = run(self.tls_args("--to", "b@cli.test", "--to", "c@cli.test"))
        self.assertEqual(rc, 0, err)
        self.check_shape(obj)
        self.assertEqual(obj["outcome"], "delivered")
        self.assertIsNone(obj["error"])
        self.assertEqual([r["outcome"] for r in obj["recipients"]], ["accepted", "accepted"])
        self.assertEqual(obj["recipients"][0]["code"], 250)
        self.assertEqual(obj["recipients"][0]["enhanced"], "2.0.0")
        t = obj["tls"]
        self.assertTrue(t["verified"])
        self.assertEqual(t["verify_result"], "ok")
        self.assertIn(t["version"], ("TLSv1.2", "TLSv1.3"))
        self.assertEqual(t["policy"], "verify")
        self.assertRegex(t["peer_fingerprint_sha256"], "^[0-9a-f]{64}$")
        self.assertRegex(t["received_clause"], r"^version=TLS1_[23] cipher=\S+ bits=\d+/\d+$")
        self.assertEqual(obj["reply"]["code"], 250)
        self.assertEqual(len(self.tls.messages()), before + 1)

    def test_plaintext_by_policy_has_null_tls(self):
        rc, obj, _, err = run(self.plain_args("--to", "b@cli.test"))
        self.assertEqual(rc, 0, err)
        self.assertIsNone(obj["tls"])

    def test_opportunistic_without_starttls_reports_why(self):
        rc, obj, _, err = run(["--server", "127.0.0.1:%d" % self.plain.port, "--tls", "may", "--from", "a@cli.test",
                               "--to", "b@cli.test", "--json"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(obj["outcome"], "delivered")
        self.assertIsNotNone(obj["tls"])
        self.assertFalse(obj["tls"]["verified"])
        self.assertEqual(obj["tls"]["verify_result"], "starttls-not-supported")
        self.assertIsNone(obj["tls"]["version"])

    def test_message_arrives_byte_for_byte_normalised(self):
        d = tempfile.mkdtemp()
        try:
            path = os.path.join(d, "m.eml")
            with open(path, "wb") as f:
                f.write(b"Subject: x\n\n.leading dot\nbare LF\rbare CR\r\n..two\n")
            before = set(self.tls.messages())
            rc, obj, _, err = run(self.tls_args("--to", "b@cli.test", "--data", path))
            self.assertEqual(rc, 0, err)
            new = sorted(set(self.tls.messages()) - before)
            self.assertEqual(len(new), 1)
            self.assertEqual(self.tls.read(new[0]),
                             b"Subject: x\r\n\r\n.leading dot\r\nbare LF\r\nbare CR\r\n..two\r\n")
        finally:
            shutil.rmtree(d)

    def test_chunking_sends_bdat_and_the_same_bytes_arrive(self):
        d = tempfile.mkdtemp()
        try:
            path = os.path.join(d, "m.eml")
            with open(path, "wb") as f:
                f.write(b"Subject: x\n\n.leading dot\nbare LF\r\n")
            before = set(self.tls.messages())
            p = subprocess.run([SEND] + self.tls_args("--to", "b@cli.test", "--data", path, "--chunking", "--transcript"),
                               capture_output=True, timeout=TIMEOUT)
            self.assertEqual(p.returncode, 0, p.stderr)
            err = p.stderr.decode(errors="replace")
            self.assertIn("C: BDAT ", err)
            self.assertNotIn("C: DATA", err)
            new = sorted(set(self.tls.messages()) - before)
            self.assertEqual(len(new), 1)
            # No dot-stuffing with BDAT; line ends are normalised all the same.
            self.assertEqual(self.tls.read(new[0]), b"Subject: x\r\n\r\n.leading dot\r\nbare LF\r\n")
        finally:
            shutil.rmtree(d)

    def test_data_from_stdin(self):
        p = subprocess.run([SEND] + self.tls_args("--to", "b@cli.test", "--data", "-"),
                           input=b"Subject: stdin\r\n\r\nhello\r\n", capture_output=True, timeout=TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr)

    # ---- exit 1 and 2 --------------------------------------------------------------------

    def test_exit_1_some_rejected(self):
        rc, obj, _, err = run(self.tls_args("--to", "b@cli.test", "--to", "reject-me@cli.test"))
        self.assertEqual(rc, 1, err)
        self.assertEqual(obj["outcome"], "partial")
        outcomes = {r["address"]: (r["outcome"], r["code"]) for r in obj["recipients"]}
        self.assertEqual(outcomes["b@cli.test"], ("accepted", 250))
        self.assertEqual(outcomes["reject-me@cli.test"], ("rejected", 550))

    def test_exit_1_all_rejected(self):
        rc, obj, _, err = run(self.tls_args("--to", "reject-a@cli.test", "--to", "reject-b@cli.test"))
        self.assertEqual(rc, 1, err)
        self.assertEqual(obj["outcome"], "rejected")

    def test_exit_2_deferred_beats_rejected(self):
        rc, obj, _, err = run(self.tls_args("--to", "defer-a@cli.test", "--to", "reject-b@cli.test"))
        self.assertEqual(rc, 2, err)
        outcomes = [r["outcome"] for r in obj["recipients"]]
        self.assertEqual(outcomes, ["deferred", "rejected"])
        self.assertEqual(obj["recipients"][0]["code"], 451)

    def test_exit_2_connection_refused(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        rc, obj, _, _ = run(["--server", "127.0.0.1:%d" % port, "--tls", "none", "--from", "a@cli.test",
                             "--to", "b@cli.test", "--json"])
        self.assertEqual(rc, 2)
        self.assertEqual(obj["outcome"], "deferred")
        self.assertEqual(obj["error"]["code"], "connect_failed")

    def test_exit_2_on_421(self):
        def script(c, owner):
            c.sendall(b"421 4.3.2 Service shutting down\r\n")
        l = Listener(script)
        try:
            rc, obj, _, _ = run(["--server", "127.0.0.1:%d" % l.port, "--tls", "none", "--from", "a@cli.test",
                                 "--to", "b@cli.test", "--json"])
            self.assertEqual(rc, 2)
            self.assertEqual(obj["error"]["code"], "service_not_available")
            self.assertEqual(obj["reply"]["code"], 421)
        finally:
            l.stop()

    # ---- exit 3, 4, 5 --------------------------------------------------------------------

    def test_exit_3_starttls_not_offered(self):
        rc, obj, _, _ = run(["--server", "127.0.0.1:%d" % self.plain.port, "--tls", "verify", "--ca-file", self.ca,
                             "--from", "a@cli.test", "--to", "b@cli.test", "--json"])
        self.assertEqual(rc, 3)
        self.assertEqual(obj["outcome"], "tls_failed")
        self.assertEqual(obj["error"]["code"], "starttls_not_offered")
        self.assertEqual(obj["tls"]["verify_result"], "starttls-not-supported")
        self.assertFalse(obj["tls"]["verified"])

    def test_exit_3_wrong_name_and_nothing_sent(self):
        before = len(self.tls.messages())
        rc, obj, _, _ = run(self.tls_args("--to", "b@cli.test")[:6] + ["--servername", "other.cli.test", "--from",
                                                                        "a@cli.test", "--to", "b@cli.test", "--json"])
        self.assertEqual(rc, 3)
        self.assertEqual(obj["tls"]["verify_result"], "certificate-host-mismatch")
        self.assertEqual(len(self.tls.messages()), before)

    def test_exit_3_untrusted(self):
        rc, obj, _, _ = run(["--server", "127.0.0.1:%d" % self.tls.port, "--tls", "verify", "--servername",
                             "mail.cli.test", "--from", "a@cli.test", "--to", "b@cli.test", "--json"])
        self.assertEqual(rc, 3)
        self.assertEqual(obj["tls"]["verify_result"], "certificate-not-trusted")

    def test_exit_3_fingerprint_mismatch_and_match(self):
        rc, obj, _, _ = run(["--server", "127.0.0.1:%d" % self.tls.port, "--tls", "fingerprint", "--fingerprint",
                             "sha256:" + "00" * 32, "--from", "a@cli.test", "--to", "b@cli.test", "--json"])
        self.assertEqual(rc, 3)
        # The certificate's own fingerprint, from a verified run, with colons and upper case.
        _, good, _, _ = run(self.tls_args("--to", "b@cli.test"))
        fp = good["tls"]["peer_fingerprint_sha256"].upper()
        fp = ":".join(fp[i:i + 2] for i in range(0, 64, 2))
        rc, obj, _, err = run(["--server", "127.0.0.1:%d" % self.tls.port, "--tls", "fingerprint", "--fingerprint",
                               "sha256:" + fp, "--from", "a@cli.test", "--to", "b@cli.test", "--json"])
        self.assertEqual(rc, 0, err)
        self.assertTrue(obj["tls"]["verified"])

    def test_exit_3_require_tls_unavailable_in_plaintext(self):
        rc, obj, _, _ = run(["--server", "127.0.0.1:%d" % self.plain.port, "--tls", "may", "--require-tls",
                             "--from", "a@cli.test", "--to", "b@cli.test", "--json"])
        self.assertEqual(rc, 3)

    def test_require_tls_honoured_over_verified_tls(self):
        rc, obj, _, err = run(self.tls_args("--to", "b@cli.test", "--require-tls"))
        self.assertEqual(rc, 0, err)

    def test_exit_4_connection_lost_after_end_of_data(self):
        def script(c, owner):
            c.sendall(b"220 x ESMTP\r\n")
            read_line(c, owner)
            c.sendall(b"250-x\r\n250 PIPELINING\r\n")
            read_until(c, owner, b"DATA\r\n")
            c.sendall(b"250 ok\r\n250 ok\r\n354 go\r\n")
            read_until(c, owner, b"\r\n.\r\n")
        l = Listener(script)
        try:
            rc, obj, _, _ = run(["--server", "127.0.0.1:%d" % l.port, "--tls", "none", "--from", "a@cli.test",
                                 "--to", "b@cli.test", "--json"])
            self.assertEqual(rc, 4)
            self.assertEqual(obj["outcome"], "unknown")
            self.assertEqual(obj["recipients"][0]["outcome"], "unknown")
        finally:
            l.stop()

    def test_exit_2_connection_lost_before_end_of_data(self):
        def script(c, owner):
            c.sendall(b"220 x ESMTP\r\n")
            read_line(c, owner)
            c.sendall(b"250-x\r\n250 PIPELINING\r\n")
            read_until(c, owner, b"DATA\r\n")
            c.sendall(b"250 ok\r\n250 ok\r\n")
        l = Listener(script)
        try:
            rc, obj, _, _ = run(["--server", "127.0.0.1:%d" % l.port, "--tls", "none", "--from", "a@cli.test",
                                 "--to", "b@cli.test", "--json"])
            self.assertEqual(rc, 2)
            self.assertEqual(obj["recipients"][0]["outcome"], "deferred")
        finally:
            l.stop()

    def test_exit_5_malformed_greeting(self):
        def script(c, owner):
            c.sendall(b"22O nonsense\r\n")
            time.sleep(0.2)
        l = Listener(script)
        try:
            rc, obj, _, _ = run(["--server", "127.0.0.1:%d" % l.port, "--tls", "none", "--from", "a@cli.test",
                                 "--to", "b@cli.test", "--json"])
            self.assertEqual(rc, 5)
            self.assertEqual(obj["outcome"], "protocol_error")
            self.assertEqual(obj["error"]["code"], "reply_malformed")
        finally:
            l.stop()

    def test_timeout_bounds_a_silent_server(self):
        def script(c, owner):
            time.sleep(3)
        l = Listener(script)
        try:
            start = time.time()
            rc, obj, _, _ = run(["--server", "127.0.0.1:%d" % l.port, "--tls", "none", "--timeout", "1",
                                 "--from", "a@cli.test", "--to", "b@cli.test", "--json"])
            self.assertEqual(rc, 2)
            self.assertEqual(obj["error"]["code"], "greeting_timeout")
            self.assertLess(time.time() - start, 2.9)
        finally:
            l.stop()

    # ---- exit 64: nothing is sent ---------------------------------------------------------

    def test_usage_errors_name_the_culprit_and_send_nothing(self):
        l = Listener()
        try:
            base = ["--server", "127.0.0.1:%d" % l.port, "--tls", "none", "--json"]
            cases = [
                (["--from", "a@x.test"], "--to"),
                (["--from", "a@x.test", "--to", "not an address"], "--to"),
                (["--from", "bad@@x", "--to", "b@x.test"], "--from"),
                (["--from", "a@x.test", "--to", "b@x.test\r\nRCPT TO:<c@x.test>"], "control"),
                (["--from", "a@x.test", "--to", "b@x.test", "--helo", "bad name"], "--helo"),
                (["--from", "a@x.test", "--to", "b@x.test", "--helo", "x\nMAIL"], "control"),
                (["--from", "a@x.test", "--to", "b@x.test", "--tls", "paranoid"], "--tls"),
                (["--from", "a@x.test", "--to", "b@x.test", "--tls-min", "1.1"], "--tls-min"),
                (["--from", "a@x.test", "--to", "b@x.test", "--fingerprint", "md5:00"], "--fingerprint"),
                (["--from", "a@x.test", "--to", "b@x.test", "--tlsa", "3 1 1 zz"], "--tlsa"),
                (["--from", "a@x.test", "--to", "b@x.test", "--mx", "x.test"], "--mx"),
                (["--from", "a@x.test", "--to", "b@x.test", "--timeout", "-1"], "--timeout"),
                (["--from", "a@x.test", "--to", "b@x.test", "--auth-user", "u"], "--auth-password-file"),
                (["--from", "a@x.test", "--to", "b@x.test", "--data", "/nonexistent/file"], "--data"),
                (["--from", "a@x.test", "--to", "b@x.test", "--bogus"], "bogus"),
            ]
            for extra, culprit in cases:
                with self.subTest(extra=extra):
                    rc, obj, out, err = run(base[:2] + base[2:] + extra)
                    self.assertEqual(rc, 64, out + err)
                    self.assertEqual(obj["outcome"], "usage_error")
                    self.assertIn(culprit, obj["error"]["message"])
            # The message itself: NUL octet, a line over 998 octets.
            d = tempfile.mkdtemp()
            try:
                for name, body, code in (("nul", b"Subject: x\r\n\r\na\0b\r\n", "body_contains_nul"),
                                         ("long", b"Subject: x\r\n\r\n" + b"x" * 999 + b"\r\n", "body_line_too_long")):
                    path = os.path.join(d, name)
                    with open(path, "wb") as f:
                        f.write(body)
                    rc, obj, _, _ = run(base + ["--from", "a@x.test", "--to", "b@x.test", "--data", path])
                    self.assertEqual(rc, 64)
                    self.assertEqual(obj["error"]["code"], code)
                # Exactly 998 is fine (nothing listens: deferred, not a usage error).
                path = os.path.join(d, "ok")
                with open(path, "wb") as f:
                    f.write(b"Subject: x\r\n\r\n" + b"x" * 998 + b"\r\n")
                rc, obj, _, _ = run(["--server", "127.0.0.1:%d" % self.plain.port, "--tls", "none", "--json",
                                     "--from", "a@x.test", "--to", "b@x.test", "--data", path])
                self.assertEqual(rc, 0)
            finally:
                shutil.rmtree(d)
            time.sleep(0.3)
            self.assertEqual(l.connections, 0, "a usage error must not connect")
        finally:
            l.stop()

    def test_password_file_trailing_newline_ignored_and_auth_needs_tls(self):
        d = tempfile.mkdtemp()
        try:
            pw = os.path.join(d, "pw")
            with open(pw, "w") as f:
                f.write("secret\n")
            sink = Sink("--cert", os.path.join(self.certs, "server.pem"), "--key",
                        os.path.join(self.certs, "server.key"), "--auth", "user:secret")
            try:
                common = ["--server", "127.0.0.1:%d" % sink.port, "--ca-file", self.ca, "--servername",
                          "mail.cli.test", "--from", "a@cli.test", "--to", "b@cli.test", "--json",
                          "--auth-user", "user", "--auth-password-file", pw]
                rc, obj, _, err = run(common + ["--tls", "verify"])
                self.assertEqual(rc, 0, err)
                with open(pw, "w") as f:
                    f.write("wrong\n")
                rc, obj, _, _ = run(common + ["--tls", "verify"])
                self.assertEqual(rc, 1)
                self.assertEqual(obj["error"]["code"], "auth_failed")
                self.assertEqual(obj["reply"]["code"], 535)
            finally:
                sink.stop()
        finally:
            shutil.rmtree(d)

    # ---- transcript, demo, bulk, progress bar -----------------------------------------

    def test_transcript_on_stderr_redacts_credentials(self):
        d = tempfile.mkdtemp()
        try:
            pw = os.path.join(d, "pw")
            with open(pw, "w") as f:
                f.write("hunter2")
            sink = Sink("--cert", os.path.join(self.certs, "server.pem"), "--key",
                        os.path.join(self.certs, "server.key"), "--auth", "user:hunter2")
            try:
                rc, obj, out, err = run(["--server", "127.0.0.1:%d" % sink.port, "--tls", "verify", "--ca-file",
                                         self.ca, "--servername", "mail.cli.test", "--from", "a@cli.test", "--to",
                                         "b@cli.test", "--auth-user", "user", "--auth-password-file", pw,
                                         "--auth-mech", "PLAIN", "--transcript", "--json"])
                self.assertEqual(rc, 0, err)
                self.assertIn("C: STARTTLS", err)
                self.assertIn("C: AUTH PLAIN <redacted>", err)
                self.assertNotIn("hunter2", err)
                self.assertNotIn("dXNlcgB1c2VyAGh1bnRlcjI", err)  # base64 of the PLAIN response
                self.assertIn("S: 235", err)
                json.loads(out)  # stdout holds only the JSON
            finally:
                sink.stop()
        finally:
            shutil.rmtree(d)

    def test_demo(self):
        rc, obj, out, err = run(["--demo", "--json"])
        self.assertEqual(rc, 0, err)
        self.check_shape(obj)
        self.assertEqual(obj["outcome"], "delivered")
        self.assertTrue(obj["tls"]["verified"])
        self.assertEqual(obj["tls"]["policy"], "verify")
        rc, _, out, err = run(["--demo"])
        self.assertEqual(rc, 0)
        self.assertIn("C: STARTTLS", err)
        self.assertIn("received clause: version=TLS1_", out)

    def test_bulk_summary_json(self):
        rc, obj, _, err = run(self.tls_args("--to", "b@cli.test", "--count", "40", "--size", "2048",
                                            "--connections", "2", "--per-connection", "10"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(obj["messages"], 40)
        self.assertEqual(obj["recipients"]["accepted"], 40)
        self.assertEqual(obj["connections"], 4)
        self.assertEqual(obj["tls_sessions"]["new"] + obj["tls_sessions"]["resumed"], 4)
        self.assertGreater(obj["messages_per_second"], 0)

    def test_sink_tls_max_12_and_resumed_tls12_sessions(self):
        # smtpio-sink --tls-max 1.2 offers no more than TLS 1.2; smtpio-send then
        # verifies a TLS 1.2 peer, resumes its sessions (a session ticket), and
        # refuses it with --tls-min 1.3, before anything of a message is sent.
        sink = Sink("--cert", os.path.join(self.certs, "server.pem"), "--key",
                    os.path.join(self.certs, "server.key"), "--hostname", "mail.cli.test", "--tls-max", "1.2")
        try:
            args = ["--server", "127.0.0.1:%d" % sink.port, "--tls", "verify", "--ca-file", self.ca,
                    "--servername", "mail.cli.test", "--from", "a@cli.test", "--json", "--to", "b@cli.test"]
            rc, obj, _, err = run(args)
            self.assertEqual(rc, 0, err)
            self.assertEqual(obj["tls"]["version"], "TLSv1.2")
            self.assertTrue(obj["tls"]["verified"])
            rc, obj, _, err = run(args + ["--count", "6", "--size", "1000", "--per-connection", "1"])
            self.assertEqual(rc, 0, err)
            self.assertEqual(obj["messages_delivered"], 6)
            self.assertEqual(obj["tls_sessions"]["new"] + obj["tls_sessions"]["resumed"], 6)
            self.assertGreaterEqual(obj["tls_sessions"]["resumed"], 5)
            before = len(sink.messages())
            rc, obj, _, err = run(args + ["--tls-min", "1.3"])
            self.assertEqual(rc, 3, err)
            self.assertEqual(len(sink.messages()), before)
        finally:
            sink.stop()
        bad = subprocess.run([SINK, "--listen", "127.0.0.1:0", "--tls-max", "1.1"], capture_output=True, timeout=10)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn(b"--tls-max", bad.stderr)

    def test_concurrent_connections_resume_tls13_sessions(self):
        # Eight connections at a time, one message each: a TLS 1.3 ticket serves one
        # connection, so smtpio-send keeps one per connection.  Only the first eight,
        # opened before any ticket exists, are full handshakes.
        rc, obj, _, err = run(self.tls_args("--to", "b@cli.test", "--count", "64", "--size", "1000",
                                            "--connections", "8", "--per-connection", "1"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(obj["messages_delivered"], 64)
        self.assertEqual(obj["connections"], 64)
        self.assertEqual(obj["tls_sessions"]["new"] + obj["tls_sessions"]["resumed"], 64)
        self.assertGreaterEqual(obj["tls_sessions"]["resumed"], 56)

    def test_bulk_messages_the_server_cannot_take_are_rejected(self):
        # Larger than the sink's SIZE (64 MiB): refused before MAIL, permanently, so
        # every recipient counts as rejected, as exit code 1 and the failure say.
        before = len(self.tls.messages())
        rc, obj, _, err = run(self.tls_args("--to", "b@cli.test", "--to", "c@cli.test", "--count", "3",
                                            "--size", str(64 * 1024 * 1024 + 1), "--per-connection", "3"))
        self.assertEqual(rc, 1, err)
        self.assertEqual(obj["messages_delivered"], 0)
        self.assertEqual(obj["recipients"], {"accepted": 0, "rejected": 6, "deferred": 0, "unknown": 0})
        self.assertEqual(obj["first_failure"]["outcome"], "rejected")
        self.assertEqual(obj["errors"], {"message_too_big": 3})
        self.assertEqual(len(self.tls.messages()), before)

    def test_bulk_shares_the_messages_among_the_connections(self):
        # Without --per-connection, N messages over C connections: every connection is used.
        rc, obj, _, err = run(self.plain_args("--to", "b@cli.test", "--count", "9", "--size", "1000",
                                              "--connections", "4"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(obj["messages_delivered"], 9)
        self.assertEqual(obj["connections"], 4)

    def test_bulk_counts_sessions_that_went_on_without_tls(self):
        # --tls may to a server without STARTTLS: delivered, and the summary says that
        # each session went on in plaintext, and why.
        args = ["--server", "127.0.0.1:%d" % self.plain.port, "--tls", "may", "--from", "a@cli.test",
                "--to", "b@cli.test", "--count", "4", "--size", "1000", "--per-connection", "2"]
        rc, obj, _, err = run(args + ["--json"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(obj["messages_delivered"], 4)
        self.assertEqual(obj["tls_sessions"], {"new": 0, "resumed": 0, "plaintext": 2,
                                               "plaintext_reasons": {"starttls-not-supported": 2}})
        rc, _, out, err = run(args)
        self.assertEqual(rc, 0, err)
        self.assertIn("sessions in plaintext (TLS wanted, starttls-not-supported): 2", out)

    def test_negative_or_zero_counts_are_usage_errors(self):
        # A negative number must not wrap around into a huge count (or a run that never ends).
        for extra in (["--count", "-1"], ["--count", "-1", "--per-connection", "1"],
                      ["--count", "5", "--per-connection", "-1"], ["--count", "5", "--per-connection", "0"],
                      ["--count", "1000000000001"]):
            rc, obj, _, err = run(self.plain_args("--to", "b@cli.test", *extra), timeout=20)
            self.assertEqual(rc, 64, (extra, err))
            self.assertEqual(obj["error"]["code"], "usage", extra)

    def test_a_huge_timeout_is_no_timeout_at_all(self):
        # Far above every default (and above what a deadline's clock holds): the defaults apply.
        for t in ("1e10", "1e300"):
            rc, obj, _, err = run(self.plain_args("--to", "b@cli.test", "--timeout", t))
            self.assertEqual(rc, 0, (t, err))
            self.assertEqual(obj["outcome"], "delivered")

    def test_a_connection_reset_is_named_so(self):
        # The server resets the connection (RST) when MAIL arrives.
        def script(c, owner):
            c.sendall(b"220 reset.test ESMTP\r\n")
            read_line(c, owner)
            c.sendall(b"250-reset.test\r\n250 PIPELINING\r\n")
            read_line(c, owner)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        lst = Listener(script)
        try:
            rc, obj, _, err = run(["--server", "127.0.0.1:%d" % lst.port, "--tls", "none", "--from", "a@cli.test",
                                   "--to", "b@cli.test", "--json"])
            self.assertEqual(rc, 2, err)
            self.assertEqual(obj["error"]["code"], "connection_reset")
        finally:
            lst.stop()

    def test_bulk_refused_messages_count_each_recipient_once(self):
        # REQUIRETLS over plaintext: every message is refused before MAIL; each of its
        # recipients is deferred once, not once per message plus once per recipient.
        rc, obj, _, err = run(self.plain_args("--to", "b@cli.test", "--to", "c@cli.test", "--count", "5",
                                              "--size", "1000", "--require-tls"))
        self.assertNotEqual(rc, 0, err)
        self.assertEqual(obj["messages"], 5)
        self.assertEqual(obj["messages_delivered"], 0)
        self.assertEqual(obj["recipients"], {"accepted": 0, "rejected": 0, "deferred": 10, "unknown": 0})

    def test_bulk_chunking_every_message_arrives_whole(self):
        # BDAT windows: several messages per write, RSET between them; the server (smtpio-sink,
        # which offers CHUNKING) must keep each one whole, once.
        before = set(self.tls.messages())
        rc, obj, _, err = run(self.tls_args("--to", "b@cli.test", "--count", "150", "--size", "1000",
                                            "--connections", "1", "--per-connection", "150", "--chunking"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(obj["messages"], 150)
        self.assertEqual(obj["messages_delivered"], 150)
        self.assertEqual(obj["recipients"]["accepted"], 150)
        self.assertEqual(obj["connections"], 1)
        new = sorted(set(self.tls.messages()) - before)
        self.assertEqual(len(new), 150)
        bodies = {self.tls.read(n) for n in new}
        self.assertEqual(len(bodies), 1)  # the same generated message, every copy identical
        self.assertEqual(len(bodies.pop()), 1000)

    def test_progress_bar_only_on_a_terminal(self):
        args = [SEND] + [a for a in self.tls_args("--to", "b@cli.test", "--size", "512") if a != "--json"]
        # Not a terminal: no bar.
        p = subprocess.run(args + ["--count", "300"], capture_output=True, timeout=TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(b"\r[", p.stdout)
        self.assertIn(b"messages: 300", p.stdout)
        # A terminal: the bar is drawn.
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(args[0], args + ["--count", "3000"])
        out = b""
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            r, _, _ = select.select([fd], [], [], 1)
            if not r:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, out)
        self.assertIn(b"\r[", out)
        self.assertIn(b"messages: 3000", out)


if __name__ == "__main__":
    SEND, SINK = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[3:])
