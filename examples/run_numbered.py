#!/usr/bin/env python3
"""Runs one numbered example against a real SMTP peer and checks what it did.

    run_numbered.py --sink SMTPIO_SINK --make-certs SMTPIO_MAKE_TEST_CERTS EXAMPLE

Writes a test PKI (CA, server certificate for localhost and 127.0.0.1) into a
temporary directory, starts smtpio-sink on 127.0.0.1 with that certificate
(STARTTLS, or implicit TLS, with AUTH), runs the example with
`localhost PORT ca.pem ...`, and checks its exit status and output.  Some
examples also have a run that must fail (a wrong pin, a wrong password).
Every process started here is stopped by its PID.  ctest runs this once per
example (examples/numbered.cmake).
"""
import argparse
import base64
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

TIMEOUT = 60
USER, PASSWORD = "app", "correct horse battery staple"


class Sink:
    """smtpio-sink on 127.0.0.1, a free port; stopped by PID."""

    def __init__(self, exe, certs, implicit=False):
        args = [exe, "--listen", "127.0.0.1:0", "--hostname", "localhost",
                "--cert", os.path.join(certs, "server.pem"), "--key", os.path.join(certs, "server.key"),
                "--auth", USER + ":" + PASSWORD]
        if implicit:
            args.append("--implicit-tls")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError("smtpio-sink did not start: %r %r" % (line, self.proc.stderr.read()))
        self.port = int(line.strip().rsplit(":", 1)[1])
        # Drain the counter lines so the pipe never fills.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def leaf_pin(pem_path):
    """sha256:HEX of the first certificate of a PEM file (the DER encoding)."""
    with open(pem_path) as f:
        text = f.read()
    m = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", text, re.S)
    return "sha256:" + hashlib.sha256(base64.b64decode("".join(m.group(1).split()))).hexdigest()


def cases(certs):
    """name -> list of runs: (sink kind, extra args, env, expected status, patterns on stdout+stderr)."""
    ok = [r"ops@example\.com: accepted"]
    good_pin, wrong_pin = leaf_pin(os.path.join(certs, "server.pem")), leaf_pin(os.path.join(certs, "ca.pem"))
    return {
        "01_coroutine_send": [("starttls", [], {}, 0, ok + [r"message: delivered", r"peer verified: true",
                                                         r"received clause: version=TLS1_[23] cipher=\S+ bits=\d+/\d+"])],
        "02_callback_send": [("starttls", [], {}, 0, ok + [r"message: delivered over TLSv1\.[23]"])],
        "03_blocking_send": [("starttls", [], {}, 0, [r"message: delivered", r"ops@example\.com: accepted",
                                                      r"oncall@example\.com: accepted"])],
        "04_implicit_tls": [("implicit", [], {}, 0, [r"encrypted: true, TLSv1\.[23], certificate \S",
                                                     r"message: delivered \(250 "])],
        "05_custom_policy": [
            ("starttls", [good_pin], {}, 0, [r"\[policy verify\+pin\] localhost: accepted \(ok\)",
                                             r"message: delivered, policy verify\+pin, verified true"]),
            ("starttls", [wrong_pin], {}, 1, [r"\[policy verify\+pin\] localhost: rejected",
                                              r"not sent: Neither the certificate nor its public key matches"]),
        ],
        "06_recipient_outcomes": [("starttls", ["alice@example.org", "reject-bob@example.org", "defer-carol@example.org"],
                                   {}, 0, [r"alice@example\.org: accepted -- 250 .* => done",
                                           r"reject-bob@example\.org: rejected -- 550 5\.1\.1 .* => bounce",
                                           r"defer-carol@example\.org: deferred -- 451 4\.2\.0 .* => queue",
                                           r"message: partial \(1 accepted, 1 rejected, 1 deferred, 0 unknown\)"])],
        "07_reuse_and_batch": [("starttls", ["4"], {}, 0, [r"send 3: delivered", r"batch 4: delivered",
                                                           r"BDAT batch 4: delivered",
                                                           r"second connection: TLS session resumed: true",
                                                           r"delivered 11 of 11 messages"])],
        "08_tls_demand": [("starttls", [], {}, 0, [r"session: TLSv1\.[23], peer verified: true \(ok\)",
                                                   r"password reset: delivered",
                                                   r"DANE-only message: not sent: The send demanded DANE .*"
                                                   r"\(policy violation: true\)",
                                                   r"session still open: true"])],
        "09_auth": [
            ("starttls", [USER], {"SMTP_PASSWORD": PASSWORD}, 0, [r"AUTH mechanisms offered: PLAIN LOGIN",
                                                                  r"authenticated: true", r"message: delivered"]),
            ("starttls", [USER], {"SMTP_PASSWORD": "wrong"}, 1, [r"authentication refused: 535 5\.7\.8"]),
        ],
        "10_transcript": [("starttls", [], {}, 0, [r"-- connected to 127\.0\.0\.1:\d+", r"S: 220 localhost",
                                                   r"C: STARTTLS", r"-- TLS TLSv1\.[23] \S+, peer verified \(policy verify\)",
                                                   r"C: EHLO client\.example\.org", r"C: <\d+ octets of message data>",
                                                   r"-- outcome: delivered", r"C: QUIT"])],
        "11_cancellation": [("starttls", [], {}, 0, [r"cancelled send: deferred, \d+ octets written, error "
                                                     r"The operation was cancelled",
                                                     r"session open after cancellation: false",
                                                     r"silent server: No complete greeting .* after \d+ ms",
                                                     r"timeout: true, transient: true"])],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sink", required=True)
    ap.add_argument("--make-certs", required=True)
    ap.add_argument("example")
    a = ap.parse_args()
    name = os.path.basename(a.example)
    tmp = tempfile.mkdtemp(prefix="smtpio-examples.")
    failures = []
    try:
        subprocess.run([a.make_certs, tmp, "--name", "localhost"], check=True, capture_output=True, timeout=TIMEOUT)
        table = cases(tmp)
        if name not in table:
            print("run_numbered.py: no test case for %s: add one to examples/run_numbered.py" % name)
            return 1
        for kind, extra, env, status, patterns in table[name]:
            sink = Sink(a.sink, tmp, implicit=(kind == "implicit"))
            try:
                cmd = [a.example, "localhost", str(sink.port), os.path.join(tmp, "ca.pem")] + extra
                p = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, env=dict(os.environ, **env))
            finally:
                sink.stop()
            out = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
            print("$ %s\n%s(exit %d)" % (" ".join(cmd[:1] + [os.path.basename(c) for c in cmd[1:]]), out, p.returncode))
            if p.returncode != status:
                failures.append("%s: exit %d, expected %d" % (" ".join(extra), p.returncode, status))
            for pat in patterns:
                if not re.search(pat, out):
                    failures.append("%s: output lacks /%s/" % (" ".join(extra), pat))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
