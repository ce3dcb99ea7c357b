"""Helpers that build scenarios as plain data (dicts of strings, numbers and lists).

A scenario is:
    {"name": "class/what/level",  "class": CLASS,  "why": optional note on an ambiguity,
     "server": {"connections": [[step, ...], ...], "rcvbuf": N, "bind": ADDR},
     "args": [...]            smtpio-send arguments after the common ones (placeholders below),
     "common": {...}          overrides of COMMON: {"--timeout": "2", "--data": None (drop),
                              "--to": ["b@y.test", "c@y.test"] (repeat)},
     "data": str              the --data file's content (Latin-1), or {"big": N} (N bytes of
                              76-character CRLF lines), or None for no file,
     "files": {NAME: str}     extra files, named {file:NAME} in args,
     "limit": s               wall-clock bound for the client (default 30),
     "expect": {"exit": int | [ints],
                "json": {PATH: matcher},   PATH like "tls.verify_result", "recipients[1].code";
                "connections": int | [ints] (default 1),
                "conn": [{...per connection...}],
                "stderr_lacks": [regex]}}
Per connection (see run's check_conn): "plain"/"tls": regex that must match the whole
plaintext/in-TLS client byte stream; "plain_lacks"/"tls_lacks": regexes that must not occur;
"tls_established": bool; "sni": str or None (None = no server_name extension at all);
"tls_len_lt": N; "hello_versions_lack": [int] (TLS versions the ClientHello must not offer);
"hello_ciphers_within": [int] (every offered suite, GREASE aside, is in the list);
"hello_ciphers_lack" / "hello_sigalgs_lack": [int] (code points that must not be offered).
Matchers: a plain value (equality), {"any": [...]}, {"re": "..."}, {"not": v},
{"present": true}, {"hex": "..."} (hex equality ignoring case and colons).

Placeholders in args and files: {server} (HOST:PORT), {port}, {ca}, {data}, {file:NAME},
{fp:CERT} / {spki:CERT} / {spki512:CERT} / {spkider:CERT} (hex digests of a certificate of the
manifest), {fpc:CERT} (the SHA-256 as upper-case colon-separated pairs).
"""
import re

NAME = "mail.adv.test"
HELO = "client.adv.test"
FROM = "a@x.test"
TO = "b@y.test"
GREETING = "220 mail.adv.test ESMTP adversarial\r\n"
MSG = "From: a@x.test\r\nTo: b@y.test\r\nSubject: adversarial\r\n\r\nHello.\r\n"

COMMON = [("--server", "{server}"), ("--helo", HELO), ("--from", FROM), ("--to", TO),
          ("--data", "{data}"), ("--json", None), ("--timeout", "5")]

# What a client may still write after the point a scenario cares about: RSET and QUIT.
TAIL = r"(?:RSET\r\n)?(?:QUIT\r\n)?"
QUIT_TAIL = r"(?:QUIT\r\n)?"

LEVELS = ["none", "may", "encrypt", "verify", "secure", "fingerprint", "dane", "dane-only"]
STRICT = ["encrypt", "verify", "secure", "fingerprint", "dane", "dane-only"]


# TLS cipher suite code points (IANA) for ClientHello checks.
TLS13_SUITES = [0x1301, 0x1302, 0x1303, 0x1304, 0x1305]
# Issue 6: strict levels offer ECDHE with AEAD only in TLS 1.2 (plus TLS 1.3 and the SCSVs).
STRICT_SUITES = TLS13_SUITES + [0xc02b, 0xc02c, 0xc02f, 0xc030, 0xcca8, 0xcca9,
                                0xc0ac, 0xc0ad, 0xc0ae, 0xc0af, 0x00ff, 0x5600]
# Never offered at any level: NULL, RC4, 3DES, single DES, export, anonymous.
WEAK_SUITES = sorted(set(
    [0x0000, 0x0001, 0x0002, 0x002c, 0x002d, 0x002e, 0x003b, 0x00b0, 0x00b1, 0x00b4, 0x00b5, 0x00b8,
     0x00b9, 0xc001, 0xc006, 0xc00b, 0xc010, 0xc015, 0xc039, 0xc03a, 0xc03b]            # NULL
    + [0x0004, 0x0005, 0x0017, 0x0018, 0x0020, 0x0024, 0x0028, 0x002b, 0x008a, 0x008e, 0x0092,
       0xc002, 0xc007, 0xc00c, 0xc011, 0xc016, 0xc033]                                   # RC4
    + [0x000a, 0x000d, 0x0010, 0x0013, 0x0016, 0x001b, 0x001f, 0x0023, 0x008b, 0x008f, 0x0093,
       0xc003, 0xc008, 0xc00d, 0xc012, 0xc017, 0xc01a, 0xc01b, 0xc01c, 0xc034]           # 3DES
    + [0x0009, 0x000c, 0x000f, 0x0012, 0x0015, 0x001a, 0x001e, 0x0022]                   # DES
    + [0x0003, 0x0006, 0x0008, 0x000b, 0x000e, 0x0011, 0x0014, 0x0019, 0x0026, 0x0027, 0x0029,
       0x002a, 0x0062, 0x0063, 0x0064, 0x0065]                                           # export
    + [0x0034, 0x003a, 0x0046, 0x006c, 0x006d, 0x0089, 0x009b, 0x00a6, 0x00a7, 0x00bf, 0x00c5,
       0xc018, 0xc019]))                                                                 # anonymous
SHA1_SIGALGS = [0x0201, 0x0202, 0x0203]      # rsa_pkcs1_sha1, dsa_sha1, ecdsa_sha1
OLD_VERSIONS = [0x0300, 0x0301, 0x0302]      # SSL 3.0, TLS 1.0, TLS 1.1 (rule 8)


def hello_checks(level):
    """What the ClientHello of a session under `level` must (not) offer."""
    if level in ("may", "encrypt"):
        return {"hello_versions_lack": OLD_VERSIONS, "hello_ciphers_lack": WEAK_SUITES}
    return {"hello_versions_lack": OLD_VERSIONS, "hello_ciphers_within": STRICT_SUITES,
            "hello_sigalgs_lack": SHA1_SIGALGS}


def lit(s):
    """A regex matching exactly the string s."""
    return re.escape(s)


def caps(*ext, name=NAME):
    """An EHLO reply: the name line, then one line per extension."""
    lines = [name] + list(ext)
    return "".join(("250-" if i < len(lines) - 1 else "250 ") + x + "\r\n" for i, x in enumerate(lines))


CAPS_STARTTLS = caps("ENHANCEDSTATUSCODES", "STARTTLS")
CAPS_PLAIN = caps("ENHANCEDSTATUSCODES")
CAPS_POST = caps("ENHANCEDSTATUSCODES")
CAPS_PIPE = caps("PIPELINING", "ENHANCEDSTATUSCODES")


def send(data, **kw):
    d = {"op": "send", "data": data}
    d.update(kw)
    return d


def cmd(regex, reply=None, **kw):
    d = {"op": "cmd", "re": regex, "reply": reply}
    d.update(kw)
    return d


def ehlo(reply=CAPS_STARTTLS, **kw):
    return cmd(lit("EHLO " + HELO), reply, **kw)


def starttls(reply="220 2.0.0 Ready to start TLS\r\n", **kw):
    return cmd("STARTTLS", reply, **kw)


def tls(cert="valid", **kw):
    d = {"op": "tls", "cert": cert}
    d.update(kw)
    return d


def mail(reply="250 2.1.0 Sender ok\r\n", sender=FROM, params=""):
    return cmd(lit("MAIL FROM:<%s>" % sender) + params, reply)


def rcpt(addr=TO, reply="250 2.1.5 Recipient ok\r\n", params=""):
    return cmd(lit("RCPT TO:<%s>" % addr) + params, reply)


def data_cmd(reply="354 End data with <CR><LF>.<CR><LF>\r\n"):
    return cmd("DATA", reply)


def body(reply="250 2.0.0 Ok: queued as ADV1\r\n", **kw):
    d = {"op": "data", "reply": reply}
    d.update(kw)
    return d


def txn(rcpts=(TO,), data_reply="250 2.0.0 Ok: queued as ADV1\r\n", sender=FROM, params=""):
    return [mail(sender=sender, params=params)] + [rcpt(a) for a in rcpts] + [data_cmd(), body(data_reply)]


def starttls_prefix(cert="valid", plain_caps=CAPS_STARTTLS, tls_caps=CAPS_POST, greeting=GREETING, **tlskw):
    return [send(greeting), ehlo(plain_caps), starttls(), tls(cert, **tlskw), ehlo(tls_caps)]


def implicit_prefix(cert="valid", tls_caps=CAPS_POST, greeting=GREETING, **tlskw):
    return [tls(cert, **tlskw), send(greeting), ehlo(tls_caps)]


def plain_prefix(plain_caps=CAPS_PLAIN, greeting=GREETING):
    return [send(greeting), ehlo(plain_caps)]


E_EHLO = lit("EHLO %s\r\n" % HELO)
E_STARTTLS = lit("STARTTLS\r\n")


def wire(message):
    """The message as it must appear on the wire (DESIGN rule 6): every CRLF, bare CR and bare
    LF is a line end written as CRLF, lines starting with "." get one more, and the last line
    ends with CRLF.  The end-of-data line ".\\r\\n" is not included."""
    if message == "":
        return ""
    lines = re.split(r"\r\n|\r|\n", message)
    if lines and lines[-1] == "":
        lines.pop()
    return "".join(("." + x if x.startswith(".") else x) + "\r\n" for x in lines)


def e_txn(message=MSG, rcpts=(TO,), sender=FROM, params=r""):
    """The exact bytes of MAIL, RCPTs, DATA, the message and the end of data."""
    return (lit("MAIL FROM:<%s>" % sender) + params + lit("\r\n")
            + "".join(lit("RCPT TO:<%s>\r\n" % r) for r in rcpts)
            + lit("DATA\r\n") + lit(wire(message) + ".\r\n"))


def level_args(level, cert="valid", servername=NAME):
    """smtpio-send options for a policy level, trusting the run's CA / pinning `cert`."""
    sn = ["--servername", servername] if servername else []
    if level == "none":
        return ["--tls", "none"]
    if level in ("may", "verify", "secure"):
        return ["--tls", level, "--ca-file", "{ca}"] + sn
    if level == "encrypt":
        return ["--tls", "encrypt"] + sn
    if level == "fingerprint":
        return ["--tls", "fingerprint", "--fingerprint", "sha256:{fp:%s}" % cert] + sn
    if level in ("dane", "dane-only"):
        return ["--tls", level, "--tlsa", "3 1 1 {spki:%s}" % cert] + sn
    raise ValueError(level)


def delivered(extra=None, rcpts=1):
    j = {"outcome": "delivered", "error": None, "reply.code": 250}
    for i in range(rcpts):
        j["recipients[%d].outcome" % i] = "accepted"
        j["recipients[%d].code" % i] = 250
    j.update(extra or {})
    return j


def tls_ok(version="TLSv1.3"):
    """JSON facts of a verified TLS session."""
    j = {"tls.verified": True, "tls.verify_result": "ok"}
    if version:
        j["tls.version"] = version
    return j


def failed_tls(code=None, verify_result=None):
    j = {"outcome": "tls_failed", "tls.verified": False}
    if code is not None:
        j["error.code"] = code if not isinstance(code, list) else {"any": code}
    if verify_result is not None:
        j["tls.verify_result"] = verify_result if not isinstance(verify_result, list) else {"any": verify_result}
    return j


def scenario(name, cls, connections, args, exit_code, json=None, conn=None, why=None, data=MSG,
             common=None, files=None, limit=30, nconn=None, rcvbuf=None, bind=None, stderr_lacks=None,
             env=None):
    server = {"connections": connections}
    if rcvbuf:
        server["rcvbuf"] = rcvbuf
    if bind:
        server["bind"] = bind
    expect = {"exit": exit_code, "json": json or {},
              "connections": nconn if nconn is not None else len(connections),
              "conn": conn or []}
    if stderr_lacks:
        expect["stderr_lacks"] = stderr_lacks
    s = {"name": name, "class": cls, "server": server, "args": list(args), "data": data,
         "common": common or {}, "files": files or {}, "limit": limit, "expect": expect}
    if why:
        s["why"] = why
    if env:
        s["env"] = env
    return s
