#!/usr/bin/python3
"""Self-test of the scripted server (server.py), with Python's smtplib/ssl as the client.

smtpio-send need not exist: this proves the server side of the adversarial suite works —
STARTTLS and implicit TLS, byte-exact recording split into plaintext and TLS, response
injection sent in the 220's own segment, byte-at-a-time replies, SNI capture (name and
absence for an IP), ClientHello parsing, TLS 1.0 offered on request, alerts, RST, stalls,
floods, and dot-stuffing as seen on the wire.

    tests/adversarial/selftest.py [-v] [--model]

--model also runs the whole scenario suite against the reference model (model_send.py),
which must pass, and each of the model's mutants (one safety rule switched off) on the
scenarios meant to catch it, which must fail: the scenarios are consistent and can fail.
Exits 0 when every check passes.
"""
import asyncio
import os
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import certs as certs_mod  # noqa: E402
from harness import ServerProc  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)

HELO = "client.adv.test"
CAPS = "250-mail.adv.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
TLS_CAPS = "250-mail.adv.test\r\n250 PIPELINING\r\n"


def cmd(regex, reply, **kw):
    d = {"op": "cmd", "re": "(?i)" + regex, "reply": reply}
    d.update(kw)
    return d


def txn(data_reply="250 2.0.0 queued\r\n"):
    return [cmd(r"mail FROM:<a@x\.test>.*", "250 2.1.0 ok\r\n"),
            cmd(r"rcpt TO:<b@y\.test>.*", "250 2.1.5 ok\r\n"),
            cmd(r"data", "354 go\r\n"),
            {"op": "data", "reply": data_reply},
            cmd(r"quit", "221 bye\r\n", optional=True)]


def starttls_script(cert="valid", greeting="220 mail.adv.test ESMTP\r\n", tls_extra=None):
    s = [{"op": "send", "data": greeting},
         cmd(r"ehlo " + HELO.replace(".", r"\."), CAPS),
         cmd(r"STARTTLS", "220 2.0.0 go ahead\r\n"),
         dict({"op": "tls", "cert": cert}, **(tls_extra or {})),
         cmd(r"ehlo " + HELO.replace(".", r"\."), TLS_CAPS)]
    return s + txn()


class Check:
    def __init__(self, verbose):
        self.verbose = verbose
        self.failed = []
        self.count = 0

    def __call__(self, name, cond, detail=""):
        self.count += 1
        if cond:
            if self.verbose:
                print("  ok   %s" % name)
        else:
            self.failed.append(name)
            print("  FAIL %s %s" % (name, detail))


def ctx_for(manifest, verify=True, tls_min=None):
    c = ssl.create_default_context(cafile=manifest["ca"])
    if not verify:
        c.check_hostname = False
        c.verify_mode = ssl.CERT_NONE
    if tls_min is not None:
        c.minimum_version = tls_min
        c.set_ciphers("DEFAULT:@SECLEVEL=0")
    return c


async def with_server(spec, manifest_path, client, wait=5.0):
    """Start a server for `spec`, run blocking `client(port)` in a thread, return (result, record)."""
    work = tempfile.mkdtemp(prefix="adv-selftest-")
    srv = ServerProc(spec, manifest_path, work)
    port = await srv.start()
    result = {}

    def run():
        try:
            result["value"] = client(port)
        except Exception as e:  # noqa: BLE001 - the client's failure is what some checks test
            result["error"] = e
    t = threading.Thread(target=run)
    t.start()
    while t.is_alive():
        await asyncio.sleep(0.02)
    await srv.wait_done(wait)
    rec = await srv.stop()
    return result, rec


def smtp_starttls(port, manifest, sni="mail.adv.test", msg="Subject: t\r\n\r\nhello\r\n"):
    s = smtplib.SMTP(timeout=10)
    s.connect("127.0.0.1", port)
    s._host = sni
    s.ehlo(HELO)
    s.starttls(context=ctx_for(manifest))
    s.ehlo(HELO)
    s.sendmail("a@x.test", ["b@y.test"], msg)
    s.quit()
    return s


async def main_async(verbose):
    check = Check(verbose)
    tmp = tempfile.mkdtemp(prefix="adv-certs-")
    t0 = time.time()
    manifest = certs_mod.generate(tmp)
    mpath = os.path.join(tmp, "manifest.json")
    if verbose:
        print("certificates generated in %.1fs" % (time.time() - t0))

    # 1. STARTTLS, byte-exact recording split into plaintext and TLS, SNI, ClientHello.
    print("STARTTLS delivery")
    res, rec = await with_server({"connections": [starttls_script()]}, mpath,
                                 lambda p: smtp_starttls(p, manifest, msg="Subject: t\r\n\r\na\n.\nb"))
    c = rec["connections"][0]
    check("client completed", "error" not in res, repr(res.get("error")))
    check("plaintext is exactly EHLO + STARTTLS",
          c["plain"] == "ehlo %s\r\nSTARTTLS\r\n" % HELO, repr(c["plain"]))
    want_tls = ("ehlo %s\r\nmail FROM:<a@x.test>\r\nrcpt TO:<b@y.test>\r\ndata\r\n"
                "Subject: t\r\n\r\na\r\n..\r\nb\r\n.\r\nquit\r\n" % HELO)
    check("TLS stream exact (dot-stuffed smuggling attempt)", c["tls"] == want_tls, repr(c["tls"]))
    check("TLS established, TLSv1.3", c["tls_established"] and c["tls_version"] == "TLSv1.3",
          repr((c["tls_established"], c["tls_version"])))
    check("SNI captured", c["sni"] == "mail.adv.test", repr(c["sni"]))
    ch = c["client_hello"] or {}
    check("ClientHello parsed (ciphers, TLS 1.3 offered)",
          len(ch.get("ciphers", [])) > 0 and 0x0304 in ch.get("supported_versions", []), repr(ch)[:200])
    check("no script errors", not c["errors"], repr(c["errors"]))

    # 2. Response injection: bytes after the 220 to STARTTLS in the same segment.
    print("response injection recorded")
    inj = "220 2.0.0 go ahead\r\n250-INJECTED\r\n250 AUTH PLAIN\r\n"
    script = [{"op": "send", "data": "220 mail.adv.test ESMTP\r\n"},
              cmd(r"ehlo .*", CAPS), cmd(r"STARTTLS", inj), {"op": "tls"},
              cmd(r"ehlo .*", TLS_CAPS)] + txn()
    res, rec = await with_server({"connections": [script]}, mpath, lambda p: smtp_starttls(p, manifest))
    c = rec["connections"][0]
    segs = [e for e in c["events"] if e[1] == "s2c" and e[2] == "raw"]
    check("injection left the server in the 220's own write",
          any(e[3] == inj for e in segs), repr([e[3] for e in segs][:4]))
    check("a client that ignores it (smtplib) still went on to TLS: recorded",
          c["tls_established"] and "mail FROM" in c["tls"], repr(c["tls"][:80]))

    # 3. Byte-at-a-time replies, split greeting across segments.
    print("byte-at-a-time replies")
    script = [{"op": "send", "data": ["220-mail.adv.test\r\n", "220 ESMTP\r\n"], "gap": 0.2},
              cmd(r"ehlo .*", None), {"op": "send", "data": CAPS, "dribble": 0.002},
              cmd(r"STARTTLS", None), {"op": "send", "data": "220 go\r\n", "dribble": 0.002},
              {"op": "tls"}, cmd(r"ehlo .*", None), {"op": "send", "data": TLS_CAPS, "dribble": 0.002},
              cmd(r"mail FROM:<a@x\.test>", None), {"op": "send", "data": "250 ok\r\n", "dribble": 0.002},
              cmd(r"rcpt TO:<b@y\.test>", None), {"op": "send", "data": "250 ok\r\n", "dribble": 0.002},
              cmd(r"data", None), {"op": "send", "data": "354 go\r\n", "dribble": 0.002},
              {"op": "data"}, {"op": "send", "data": "250 queued\r\n", "dribble": 0.002}]
    res, rec = await with_server({"connections": [script]}, mpath, lambda p: smtp_starttls(p, manifest))
    c = rec["connections"][0]
    check("client completed", "error" not in res, repr(res.get("error")))
    ones = [e for e in c["events"] if e[1] == "s2c" and e[2] == "tls" and not e[3].startswith("221")]
    check("TLS replies left one byte per write", ones and all(len(e[3]) == 1 for e in ones),
          repr([e[3] for e in ones][:5]))
    g = [e for e in c["events"] if e[1] == "s2c" and e[2] == "raw"][:2]
    check("greeting in two segments >= 0.2s apart", len(g) == 2 and g[1][0] - g[0][0] >= 0.19, repr(g))

    # 4. Implicit TLS and SNI absent for an IP address.
    print("implicit TLS, SNI")
    script = [{"op": "tls"}, {"op": "send", "data": "220 mail.adv.test ESMTP\r\n"},
              cmd(r"ehlo .*", TLS_CAPS)] + txn()

    def implicit(port, host):
        s = smtplib.SMTP_SSL(timeout=10, context=ctx_for(manifest))
        s._host = host
        s.connect("127.0.0.1", port)
        s.ehlo(HELO)
        s.sendmail("a@x.test", ["b@y.test"], "Subject: x\r\n\r\ny\r\n")
        s.quit()

    for host, want in (("127.0.0.1", None), ("mail.adv.test", "mail.adv.test")):
        def client(p, host=host):
            # smtplib passes the connect host as server_hostname; connect to it via a resolver shim.
            orig = socket.create_connection

            def cc(addr, *a, **k):
                return orig(("127.0.0.1", addr[1]), *a, **k)
            socket.create_connection = cc
            try:
                s = smtplib.SMTP_SSL(host, p, timeout=10, context=ctx_for(manifest))
                s.ehlo(HELO)
                s.sendmail("a@x.test", ["b@y.test"], "Subject: x\r\n\r\ny\r\n")
                s.quit()
            finally:
                socket.create_connection = orig
        res, rec = await with_server({"connections": [script]}, mpath, client)
        c = rec["connections"][0]
        check("implicit TLS delivered (%s)" % host, "error" not in res and "data\r\n" in c["tls"],
              repr(res.get("error")))
        check("plaintext empty under implicit TLS (%s)" % host, c["plain"] == "", repr(c["plain"]))
        check("SNI for %s is %r" % (host, want), c["sni"] == want, repr(c["sni"]))

    # 5. Certificate refused by the client: the server records the failed handshake.
    print("bad certificate, TLS 1.0 server, alert, RST, stall, flood")
    res, rec = await with_server({"connections": [starttls_script(cert="expired")]}, mpath,
                                 lambda p: smtp_starttls(p, manifest))
    c = rec["connections"][0]
    check("smtplib refused the expired certificate", isinstance(res.get("error"), ssl.SSLCertVerificationError),
          repr(res.get("error")))
    check("no TLS session, nothing after STARTTLS", not c["tls_established"] and c["tls"] == "", repr(c))

    # 6. Server limited to TLS 1.0: refused by a default client, accepted by one that lowers the floor.
    script = [{"op": "tls", "min": "1.0", "max": "1.0"}, {"op": "send", "data": "220 ok\r\n"},
              cmd(r"ehlo .*", TLS_CAPS), cmd(r"quit", "221 bye\r\n", optional=True)]

    def tls10(port, floor):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        s = ctx_for(manifest, tls_min=floor).wrap_socket(raw, server_hostname="mail.adv.test")
        v = s.version()
        s.close()
        return v
    res, rec = await with_server({"connections": [script]}, mpath, lambda p: tls10(p, None))
    check("default client refuses the TLS 1.0-only server", "error" in res, repr(res))
    res, rec = await with_server({"connections": [script]}, mpath,
                                 lambda p: tls10(p, ssl.TLSVersion.TLSv1))
    check("the server does offer TLS 1.0 when asked (OpenSSL 3 at SECLEVEL=0)",
          res.get("value") == "TLSv1" and rec["connections"][0]["tls_version"] == "TLSv1",
          repr((res, rec["connections"][0]["tls_version"])))

    # 7. Alert after the ClientHello; SNI alert.
    for step, what, want_alert in (({"op": "tls_alert", "alert": 40}, "handshake_failure alert", "HANDSHAKE_FAILURE"),
                                   ({"op": "tls", "sni_alert": 112}, "unrecognized_name from the SNI callback",
                                    "UNRECOGNIZED_NAME")):
        script = [step]

        def hs(port):
            raw = socket.create_connection(("127.0.0.1", port), timeout=10)
            return ctx_for(manifest).wrap_socket(raw, server_hostname="mail.adv.test")
        res, rec = await with_server({"connections": [script]}, mpath, hs)
        err = res.get("error")
        check("client sees %s" % what, isinstance(err, ssl.SSLError) and want_alert in str(err).upper(), repr(err))
        check("ClientHello recorded (%s)" % what, rec["connections"][0]["sni"] == "mail.adv.test",
              repr(rec["connections"][0]["client_hello"])[:120])

    # 8. RST after the greeting; stall after the greeting.
    def greet_then_ehlo(port, timeout=10):
        s = smtplib.SMTP(timeout=timeout)
        s.connect("127.0.0.1", port)
        return s.ehlo(HELO)
    res, rec = await with_server({"connections": [[{"op": "send", "data": "220 hi\r\n"},
                                                   cmd(r"ehlo .*", None), {"op": "rst"}]]},
                                 mpath, greet_then_ehlo)
    err = res.get("error")
    check("RST seen by the client", isinstance(err, (ConnectionResetError, smtplib.SMTPServerDisconnected)),
          repr(err))
    check("RST recorded", rec["connections"][0]["end"] == "rst", rec["connections"][0]["end"])
    res, rec = await with_server({"connections": [[{"op": "send", "data": "220 hi\r\n"},
                                                   {"op": "stall", "seconds": 10}]]},
                                 mpath, lambda p: greet_then_ehlo(p, timeout=1))
    check("stall: the client timed out", isinstance(res.get("error"), (socket.timeout, TimeoutError))
          or "timed out" in str(res.get("error")),
          repr(res.get("error")))
    check("stall: the EHLO was still recorded", rec["connections"][0]["plain"] == "ehlo %s\r\n" % HELO,
          repr(rec["connections"][0]["plain"]))

    # 9. Flood: an endless reply line; smtplib's line limit stops it.
    res, rec = await with_server({"connections": [[{"op": "flood", "line_bytes": 4 << 20}]]}, mpath,
                                 lambda p: smtplib.SMTP("127.0.0.1", p, timeout=10))
    check("endless line: smtplib refuses it", isinstance(res.get("error"), smtplib.SMTPException),
          repr(res.get("error")))

    # 10. A client that never connects: record with no connection.
    res, rec = await with_server({"connections": []}, mpath, lambda p: None, wait=0.1)
    check("no connection recorded", rec["connections"] == [], repr(rec))

    # 11. Large body, read slowly with a small receive buffer: the client is held back.
    body = ("x" * 76 + "\r\n") * ((2 << 20) // 78)
    script = [{"op": "send", "data": "220 hi\r\n"}, cmd(r"ehlo .*", TLS_CAPS),
              cmd(r"mail .*", "250 ok\r\n"), cmd(r"rcpt .*", "250 ok\r\n"), cmd(r"data", "354 go\r\n"),
              {"op": "data", "slow": [4096, 0.05], "reply": "250 ok\r\n"}]

    def slow(port):
        s = smtplib.SMTP("127.0.0.1", port, timeout=1)
        s.ehlo(HELO)
        s.sendmail("a@x.test", ["b@y.test"], body)
    res, rec = await with_server({"rcvbuf": 16384, "connections": [script]}, mpath, slow)
    check("slow reader: the client's write timed out", isinstance(res.get("error"),
                                                                  (socket.timeout, TimeoutError,
                                                                   smtplib.SMTPServerDisconnected)),
          repr(res.get("error")))
    print("%d checks, %d failed" % (check.count, len(check.failed)))
    return 1 if check.failed else 0


# Each mutant of the reference model and the scenarios that must catch it.
MUTANT_FILTERS = {
    "no-dot-stuffing": r"client_writes/(smuggling|dots)",
    "no-normalise": r"client_writes/smuggling",
    "ignore-injection": r"^injection/(same-segment|partial|bare|multiline|tls-looking)",
    "keep-caps": r"^injection/caps",
    "plaintext-fallback": r"^stripping/(not-advertised|refused)",
    "unknown-as-delivered": r"after-end-of-data",
    "cn-fallback": r"certificates/cnonly",
    "no-arg-check": r"client_writes/usage",
    "lenient-replies": r"reply_parsing/malformed",
    "write-whole-body": r"transaction/552",
    "no-timeout": r"too-slow",
    "weak-offer": r"stripping/advertised/",
}


def run_suite(filt=None, mutant=None):
    here = os.path.dirname(os.path.abspath(__file__))
    argv = [os.path.join(here, "run"), "--send", os.path.join(here, "model_send.py")]
    if filt:
        argv += ["--filter", filt]
    env = dict(os.environ)
    env.pop("ADV_MODEL_MUTANT", None)
    if mutant:
        env["ADV_MODEL_MUTANT"] = mutant
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    out = p.stdout.decode(errors="replace")
    return p.returncode, out.count("\nFAIL ") + out.startswith("FAIL "), out


def model_checks():
    """The whole suite passes against the reference model; every mutant is caught."""
    failed = []
    print("whole suite against the reference model (model_send.py)")
    rc, nfail, out = run_suite()
    print("  " + (out.strip().splitlines() or ["?"])[-1])
    if rc != 0:
        failed.append("reference model")
        print(out[-3000:])
    import model_send
    for m, filt in MUTANT_FILTERS.items():
        rc, nfail, _ = run_suite(filt, m)
        ok = rc == 1 and nfail > 0
        print("  mutant %-22s %s (%d scenario(s) failed: %s)" % (m, "caught" if ok else "NOT CAUGHT", nfail,
                                                               model_send.MUTANTS[m]))
        if not ok:
            failed.append(m)
    return failed


def main():
    verbose = "-v" in sys.argv[1:]
    rc = asyncio.run(main_async(verbose))
    if "--model" in sys.argv[1:]:
        bad = model_checks()
        if bad:
            print("model checks failed: %s" % ", ".join(bad))
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
