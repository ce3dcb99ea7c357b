"""What the client writes: SMTP smuggling, dot-stuffing, long lines, injection through arguments.

DESIGN rules 5 and 6; issue 6: before connecting, a bad address or EHLO name, CR/LF/NUL in any
argument, a NUL or a line over 998 octets in the message: exit 64, nothing sent (the server
sees no connection).  Bodies are compared byte for byte with `wire()` (_lib): every CRLF, bare
CR and bare LF becomes CRLF, lines starting with "." get one more dot, the last line ends CRLF.
"""
from _lib import (caps, mail, rcpt, data_cmd, body, E_EHLO, E_STARTTLS, TAIL, delivered, e_txn, lit, level_args, scenario,
                  starttls_prefix, tls_ok, txn)

CLS = "client_writes"
SCENARIOS = []


def add(*a, **k):
    SCENARIOS.append(scenario(*a, **k))


def deliver(tag, message, why=None, tls_re=None):
    """The message must arrive exactly as wire(message), over verified STARTTLS."""
    add("client_writes/%s" % tag, CLS, [starttls_prefix("valid") + txn()], level_args("verify"), 0,
        delivered(tls_ok()),
        [{"plain": E_EHLO + E_STARTTLS, "tls": tls_re or (E_EHLO + e_txn(message) + TAIL)}],
        data=message, why=why)


# --- 1. SMTP smuggling sequences (the end of data cannot be forged) ------------------------------
PAYLOAD = "MAIL FROM:<evil@z.test>\r\nRCPT TO:<victim@z.test>\r\nDATA\r\nsmuggled\r\n"
SEQS = {
    "lf-dot-lf": "\n.\n", "cr-dot-cr": "\r.\r", "cr-dot-lf": "\r.\n", "lf-dot-cr": "\n.\r",
    "crlf-dot-lf": "\r\n.\n", "lf-dot-crlf": "\n.\r\n", "cr-dot-crlf": "\r.\r\n",
    "crlf-dot-cr": "\r\n.\r", "cr-cr-lf": "\r\r\n", "crlf-dot-cr-crlf": "\r\n.\r\r\n",
    "lf-dotdot-lf": "\n..\n",
}
for tag, seq in SEQS.items():
    deliver("smuggling-%s" % tag, "Subject: smuggling\r\n\r\nhello" + seq + PAYLOAD)

add("client_writes/smuggling-nul", CLS, [], level_args("verify"), 64,
    {"outcome": "usage_error", "error.code": "body_contains_nul"}, nconn=0,
    data="Subject: nul\r\n\r\nhello\r\n.\x00\r\n" + PAYLOAD)

# --- 2. Dot-stuffing and line-end edge cases ---------------------------------------------------
DOTS = {
    "leading-dot": ".hidden first line\r\nrest\r\n",
    "dot-only-line": "Subject: x\r\n\r\na\r\n.\r\nb\r\n",
    "dotdot-line": "Subject: x\r\n\r\na\r\n..\r\nb\r\n",
    "ends-with-dot-no-crlf": "Subject: x\r\n\r\na\r\n.",
    "no-final-crlf": "Subject: x\r\n\r\na\r\nb",
    "only-a-dot": ".",
    "lf-only": "Subject: x\n\na\nb\n",
    "bare-cr": "Subject: x\r\rab\rc",
    "dot-after-lf": "Subject: x\n\na\n.b\n",
    "whitespace-kept": "Subject: x\r\n\r\na \r\n\t\r\n \r\n",
    "blank-lines-kept": "Subject: x\r\n\r\n\r\n\r\na\r\n\r\n",
}
for tag, msg in DOTS.items():
    deliver("dots-%s" % tag, msg)

EMPTY_TLS = (E_EHLO + lit("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n") + r"(?:\r\n)?"
             + lit(".\r\n") + TAIL)
deliver("dots-empty-message", "", tls_re=EMPTY_TLS,
        why="An empty --data file: '.' alone is exact; a client that adds one CRLF first is "
            "also accepted (the contract does not say).")

# --- 3. Long lines -------------------------------------------------------------------------------
deliver("line-998", "Subject: long\r\n\r\n" + "x" * 998 + "\r\nend\r\n")
deliver("line-998-then-bare-cr", "Subject: long\r\n\r\n" + "x" * 998 + "\ry" * 3 + "\r\n",
        why="A bare CR is a line end (rule 6), so no line here is over 998 octets.")
add("client_writes/line-999", CLS, [], level_args("verify"), 64,
    {"outcome": "usage_error", "error.code": "body_line_too_long"}, nconn=0,
    data="Subject: long\r\n\r\n" + "x" * 999 + "\r\nend\r\n")
add("client_writes/line-999-lf", CLS, [], level_args("verify"), 64,
    {"outcome": "usage_error", "error.code": "body_line_too_long"}, nconn=0,
    data="Subject: long\n\n" + "y" * 999 + "\nend\n")
add("client_writes/line-999-last-no-eol", CLS, [], level_args("verify"), 64,
    {"outcome": "usage_error", "error.code": "body_line_too_long"}, nconn=0,
    data="Subject: long\r\n\r\n" + "z" * 999)

# --- 4. Addresses that are valid and unusual --------------------------------------------------
add("client_writes/null-sender", CLS, [starttls_prefix("valid") + txn(sender="")],
    level_args("verify"), 0, delivered(tls_ok()),
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + e_txn(sender="") + TAIL}], common={"--from": ""})
add("client_writes/quoted-local-part", CLS,
    [starttls_prefix("valid") + txn(sender='"a b"@x.test')], level_args("verify"), 0, delivered(tls_ok()),
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + e_txn(sender='"a b"@x.test') + TAIL}],
    common={"--from": '"a b"@x.test'},
    why="RFC 5321 4.1.2: a quoted-string local part is valid and sent as given.")

# --- 5. Injection and invalid values in arguments: exit 64, no connection -----------------------
CTRL = ["control_character", "invalid_address"]


def usage(tag, common=None, args=None, codes=None, names=None, files=None, data=None, why=None,
          json_required=True):
    j = {"outcome": "usage_error"} if json_required else {}
    if codes:
        j["error.code"] = {"any": codes} if isinstance(codes, list) else codes
    if names:
        j["error.message"] = {"re": "(?s).*(?:%s).*" % names}
    kw = {"data": data} if data is not None else {}
    add("client_writes/usage-%s" % tag, CLS, [], (args if args is not None else level_args("verify")),
        64, j, nconn=0, common=common, files=files, why=why, **kw)


usage("from-crlf", {"--from": "a@x.test\r\nRCPT TO:<evil@z.test>"}, codes=CTRL, names="--from|from")
usage("from-lf-bracket", {"--from": "a@x.test>\nDATA"}, codes=CTRL, names="--from|from")
usage("to-crlf", {"--to": "b@y.test\r\nDATA"}, codes=CTRL, names="--to|b@y")
usage("to-cr", {"--to": "b@y.test\rDATA"}, codes=CTRL, names="--to|b@y")
usage("to-param-bracket", {"--to": "b@y.test> NOTIFY=NEVER"}, codes=["invalid_address", "invalid_domain"],
      names="--to|b@y")
usage("to-param-space", {"--to": "b@y.test SIZE=1"}, codes=["invalid_address", "invalid_domain"],
      names="--to|b@y")
usage("to-del", {"--to": "b\x7f@y.test"}, codes=CTRL, names="--to|b")
usage("to-empty", {"--to": ""}, codes="invalid_address", names="--to|recipient")
usage("to-missing", {"--to": None}, codes="no_recipients", names="--to|recipient")
usage("from-space", {"--from": "a b@x.test"}, codes=["invalid_address", "invalid_domain"], names="--from|a b@x")
usage("to-double-at", {"--to": "b@@y.test"}, codes="invalid_address", names="--to|b@@y")
usage("to-empty-label", {"--to": "b@y..test"}, codes=["invalid_address", "invalid_domain"], names="--to|b@y")
usage("to-bad-literal", {"--to": "b@[999.1.1.1]"}, codes=["invalid_address", "invalid_domain"],
      names="--to|999")
usage("to-local-too-long", {"--to": "l" * 65 + "@y.test"}, codes=["local_part_too_long", "invalid_address"],
      names="--to|l{10}")
usage("second-to-bad", {"--to": ["b@y.test", "c@y.test\r\nRSET"]}, codes=CTRL, names="--to|c@y",
      why="One bad recipient among good ones: nothing is sent at all.")
usage("helo-crlf", {"--helo": "client.adv.test\r\nMAIL FROM:<evil@z.test>"},
      codes=["control_character", "invalid_helo_name"], names="--helo|helo|HELO|EHLO")
usage("helo-invalid", {"--helo": "bad_name!"}, codes="invalid_helo_name", names="--helo|helo|HELO|EHLO")
usage("helo-empty", {"--helo": ""}, codes="invalid_helo_name", names="--helo|helo|HELO|EHLO")
usage("auth-user-crlf", None, level_args("verify") + ["--auth-user", "u\r\nMAIL FROM:<evil@z.test>",
                                                      "--auth-password-file", "{file:pw}"],
      codes=["control_character", "invalid_credentials"], names="--auth-user|user", files={"pw": "secret\n"})
usage("password-crlf", None, level_args("verify") + ["--auth-user", "u", "--auth-password-file", "{file:pw}"],
      codes=["control_character", "invalid_credentials"], names="--auth-password-file|password",
      files={"pw": "secret\r\nMAIL FROM:<evil@z.test>\n"},
      why="DESIGN rule 5 covers AUTH data: CR/LF inside the password (beyond the one trailing "
          "newline the contract strips) is refused before connecting.")
usage("password-nul", None, level_args("verify") + ["--auth-user", "u", "--auth-password-file", "{file:pw}"],
      codes=["control_character", "invalid_credentials"], names="--auth-password-file|password",
      files={"pw": "sec\x00ret\n"}, why="DESIGN rule 5: NUL in AUTH data is refused before connecting.")
usage("servername-crlf", None, ["--tls", "verify", "--ca-file", "{ca}", "--servername", "mail.adv.test\r\nX"],
      codes=["control_character", "invalid_option", "invalid_domain"], names="--servername|servername")
usage("tls-bogus", None, ["--tls", "bogus"], names="--tls|bogus")
usage("tls-min-1.1", None, ["--tls", "verify", "--ca-file", "{ca}", "--tls-min", "1.1"], names="--tls-min|1\\.1")
usage("timeout-zero", {"--timeout": "0"}, names="--timeout|timeout")
usage("timeout-negative", {"--timeout": "-1"}, names="--timeout|timeout")
usage("timeout-text", {"--timeout": "soon"}, names="--timeout|timeout")
usage("fingerprint-short", None, ["--tls", "fingerprint", "--fingerprint", "sha256:abcd"], names="--fingerprint|abcd")
usage("fingerprint-md5", None, ["--tls", "fingerprint", "--fingerprint", "md5:" + "ab" * 16],
      names="--fingerprint|md5")
usage("fingerprint-level-without-pin", None, ["--tls", "fingerprint"], names="--fingerprint|fingerprint",
      why="Level fingerprint with no --fingerprint can never succeed: a usage error, not a "
          "connection that is bound to fail.")
usage("dane-only-without-tlsa", None, ["--tls", "dane-only"], names="--tlsa|tlsa|TLSA|dane",
      why="dane-only with no --tlsa can never succeed (DNS lookups come later): a usage error.")
usage("tlsa-bad-hex", None, ["--tls", "dane-only", "--tlsa", "3 1 1 zz"], names="--tlsa|zz")
usage("tlsa-too-few-fields", None, ["--tls", "dane-only", "--tlsa", "3 1"], names="--tlsa|tlsa|TLSA")
usage("server-bad-port", {"--server": "127.0.0.1:99999"}, names="--server|99999")
usage("mx-not-yet", {"--server": None}, ["--tls", "verify", "--ca-file", "{ca}", "--mx", "y.test"],
      names="--mx|mx|MX", why="Issue 6: --mx is a usage error that says so until the delivery layer.")
usage("data-missing", {"--data": "/nonexistent/adv-message.eml"}, names="--data|nonexistent|adv-message")
usage("unknown-option", None, level_args("verify") + ["--no-such-option"], json_required=False,
      why="An unknown option may fail before --json is honoured; only the exit code is checked.")

# --- 6. 8-bit message bodies (RFC 6152) -----------------------------------------------------
EIGHT = "Subject: 8bit\r\n\r\ncaf\xe9 cr\xe8me\r\n"
add("client_writes/8bit-declared", CLS,
    [starttls_prefix(tls_caps=caps("8BITMIME", "ENHANCEDSTATUSCODES"))
     + [mail(params=" BODY=8BITMIME"), rcpt(), data_cmd(), body()]],
    level_args("verify"), 0, delivered(tls_ok()),
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + e_txn(EIGHT, params=" BODY=8BITMIME") + TAIL}], data=EIGHT)
add("client_writes/8bit-unsupported", CLS, [starttls_prefix()], level_args("verify"), 1,
    {"error.code": "eightbit_not_supported"}, [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + TAIL}], data=EIGHT,
    why="Issue 5: 8-bit bodies fail clearly (before MAIL) when 8BITMIME is missing. RFC 6152 3: "
        "without a downgrade the message is returned as undeliverable: permanent (1).")
