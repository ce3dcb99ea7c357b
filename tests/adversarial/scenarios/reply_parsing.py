"""Reply parsing: malformed and mismatched codes, endless lines and replies, a byte at a time,
replies that never end, unsolicited and unexpected replies.

RFC 5321 4.2 (Reply-line = Reply-code [ SP textstring ] CRLF, multi-line with "-", one code),
4.3.2 (the codes each command can have); errc reply_* values; issue 6: a malformed, mismatched
or unexpected reply is exit 5 (before the end of data), and --timeout bounds each reply.
"""
from _lib import (CAPS_PLAIN, CAPS_POST, E_EHLO, E_STARTTLS, GREETING, QUIT_TAIL, TAIL, body, caps,
                  cmd, data_cmd, delivered, e_txn, ehlo, level_args, lit, mail, rcpt, scenario,
                  send, starttls, starttls_prefix, tls, tls_ok, txn)

CLS = "reply_parsing"
SCENARIOS = []


def add(*a, **k):
    SCENARIOS.append(scenario(*a, **k))


NONE = level_args("none")
E_MAIL = lit("MAIL FROM:<a@x.test>\r\n")


def proto(code):
    return {"outcome": "protocol_error", "error.code": code if isinstance(code, str) else {"any": code}}


# --- 1. Malformed reply codes (to MAIL, plaintext, no pipelining) -------------------------------
MALFORMED = {
    "letter-o": "25O 2.1.0 ok\r\n",
    "four-digits": "2500 ok\r\n",
    "no-space": "250OK\r\n",
    "code-600": "600 ok\r\n",
    "code-150": "150 ok\r\n",
    "code-260": "260 ok\r\n",
    "tab-separator": "250\tok\r\n",
    "bare-lf": "250 ok\n",
    "bare-cr-inside": "250 o\rk\r\n",
    "two-digits": "25 ok\r\n",
}
for tag, reply in MALFORMED.items():
    add("reply_parsing/malformed-%s/none" % tag, CLS, [[send(GREETING), ehlo(CAPS_PLAIN), mail(reply)]],
        NONE, 5, proto("reply_malformed"), [{"plain": E_EHLO + E_MAIL + QUIT_TAIL}])

# Valid oddities that must work.
add("reply_parsing/code-without-text/none", CLS,
    [[send(GREETING), ehlo(CAPS_PLAIN), mail("250\r\n"), rcpt(reply="250 \r\n"), data_cmd("354\r\n"),
      body("250\r\n")]], NONE, 0, delivered({"tls": None}), [{"plain": E_EHLO + e_txn() + TAIL}],
    why="RFC 5321 4.2: the text after the code is optional ('250' CRLF and '250 ' CRLF are valid).")
add("reply_parsing/multiline-final-bare-code/none", CLS,
    [[send("220-mail.adv.test\r\n220\r\n"), ehlo("250-mail.adv.test\r\n250-ENHANCEDSTATUSCODES\r\n250\r\n")]
     + txn()], NONE, 0, delivered({"tls": None}), [{"plain": E_EHLO + e_txn() + TAIL}])

# --- 2. Multi-line replies whose lines carry different codes --------------------------------------
add("reply_parsing/mismatch-greeting/none", CLS, [[send("220-mail.adv.test\r\n221 bye\r\n")]],
    NONE, 5, proto("reply_code_mismatch"), [{"plain": QUIT_TAIL}])
add("reply_parsing/mismatch-ehlo/none", CLS,
    [[send(GREETING), ehlo("250-mail.adv.test\r\n251-PIPELINING\r\n250 OK\r\n")]],
    NONE, 5, proto("reply_code_mismatch"), [{"plain": E_EHLO + QUIT_TAIL}])
add("reply_parsing/mismatch-rcpt/verify", CLS,
    [starttls_prefix("valid") + [mail(), rcpt(reply="250-2.1.5 ok\r\n550 5.1.1 no\r\n")]],
    level_args("verify"), 5, proto("reply_code_mismatch"),
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + E_MAIL + lit("RCPT TO:<b@y.test>\r\n") + QUIT_TAIL}])
add("reply_parsing/mismatch-class/none", CLS,
    [[send(GREETING), ehlo(CAPS_PLAIN), mail("250-ok\r\n450 busy\r\n")]],
    NONE, 5, proto("reply_code_mismatch"), [{"plain": E_EHLO + E_MAIL + QUIT_TAIL}])

# --- 3. Endless lines and replies (limits) -----------------------------------------------------
add("reply_parsing/endless-line-greeting/none", CLS, [[{"op": "flood", "line_bytes": 64 << 20, "prefix": "220 "}]],
    NONE, 5, proto(["reply_line_too_long", "reply_too_large"]), [{"plain": QUIT_TAIL}],
    why="64 MiB without CRLF: far beyond any sane line limit (RFC 5321 says 512).")
add("reply_parsing/endless-reply-greeting/none", CLS, [[{"op": "flood", "line": "220-x\r\n"}]],
    NONE, 5, proto(["reply_too_many_lines", "reply_too_large"]), [{"plain": QUIT_TAIL}])
add("reply_parsing/endless-ehlo/verify", CLS,
    [starttls_prefix("valid", tls_caps=None) + [{"op": "flood", "line": "250-X-PADDING-EXTENSION\r\n"}]],
    level_args("verify"), 5, proto(["reply_too_many_lines", "reply_too_large"]),
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + QUIT_TAIL}])

# --- 4. A byte at a time ----------------------------------------------------------------------
D = 0.001


def dribbled(reply):
    return send(reply, dribble=D)


BYTEWISE_TXN = [cmd(lit("MAIL FROM:<a@x.test>")), dribbled("250 2.1.0 ok\r\n"),
                cmd(lit("RCPT TO:<b@y.test>")), dribbled("250 2.1.5 ok\r\n"),
                cmd("DATA"), dribbled("354 go ahead\r\n"), body(None), dribbled("250 2.0.0 queued\r\n")]
add("reply_parsing/byte-at-a-time/starttls/verify", CLS,
    [[dribbled("220-mail.adv.test ESMTP\r\n220 ready\r\n"), ehlo(None), dribbled(caps("STARTTLS")),
      starttls(None), dribbled("220 2.0.0 go ahead\r\n"), tls("valid"), ehlo(None), dribbled(CAPS_POST)]
     + BYTEWISE_TXN],
    level_args("verify"), 0, delivered(tls_ok()),
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + e_txn() + TAIL}])
add("reply_parsing/byte-at-a-time/implicit/verify", CLS,
    [[tls("valid"), dribbled(GREETING), ehlo(None), dribbled(CAPS_POST)] + BYTEWISE_TXN],
    level_args("verify") + ["--implicit-tls"], 0, delivered(tls_ok()),
    [{"plain": "", "tls": E_EHLO + e_txn() + TAIL}])
add("reply_parsing/split-everywhere/none", CLS,
    [[send(["2", "20 mail.adv", ".test\r", "\n"], gap=0.05), ehlo(None),
      send(["250-mail.adv.test\r\n250-ENHANCED", "STATUSCODES\r\n2", "50 8BITMIME\r\n"], gap=0.05),
      cmd(lit("MAIL FROM:<a@x.test>") + r"(?: BODY=7BIT)?"), send(["25", "0 ok\r\n"], gap=0.05)] + [rcpt(), data_cmd(), body()]],
    NONE, 0, delivered({"tls": None}),
    [{"plain": E_EHLO + e_txn(params=r"(?: BODY=7BIT)?") + TAIL}],
    why="8BITMIME is advertised; BODY=7BIT on MAIL is allowed, not required.")

# --- 5. Too slow, never ending -------------------------------------------------------------
T2 = {"--timeout": "2"}
add("reply_parsing/dribble-greeting-too-slow/none", CLS,
    [[send("220 mail.adv.test ESMTP slow server here\r\n", dribble=0.25)]],
    NONE, 2, {"outcome": "deferred", "error.code": "greeting_timeout"}, [{"plain": QUIT_TAIL}],
    common=T2, limit=20,
    why="Issue 6: --timeout bounds the whole greeting, not each byte (one byte every 0.25 s).")
add("reply_parsing/dribble-ehlo-too-slow/verify", CLS,
    [starttls_prefix("valid", tls_caps=None) + [send(CAPS_POST + caps("X") * 3, dribble=0.1)]],
    level_args("verify"), 2, {"outcome": "deferred", "error.code": "command_timeout"},
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + QUIT_TAIL}], common=T2, limit=20)
add("reply_parsing/reply-never-ends/verify", CLS,
    [starttls_prefix("valid", tls_caps=None) + [send("250-mail.adv.test\r\n"), {"op": "stall", "seconds": 15}]],
    level_args("verify"), 2, {"outcome": "deferred", "error.code": "command_timeout"},
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + QUIT_TAIL}], common=T2, limit=20)

# --- 6. Unsolicited replies -------------------------------------------------------------------
add("reply_parsing/unsolicited-after-greeting/none", CLS,
    [[send(GREETING + "250 2.0.0 extra\r\n"), ehlo(CAPS_PLAIN)] + txn()],
    NONE, 5, proto("unsolicited_reply"), [{"plain": QUIT_TAIL}],
    why="A reply already buffered behind the greeting would be taken for EHLO's reply; the "
        "client must see it before writing EHLO (no command was pipelined).")
add("reply_parsing/unsolicited-after-ehlo/none", CLS,
    [[send(GREETING), ehlo(CAPS_PLAIN + "250 2.0.0 extra\r\n")] + txn()],
    NONE, 5, proto("unsolicited_reply"), [{"plain": E_EHLO + QUIT_TAIL}])
add("reply_parsing/unsolicited-after-mail/verify", CLS,
    [starttls_prefix("valid") + [mail("250 2.1.0 ok\r\n250 2.1.5 extra\r\n"), rcpt(), data_cmd(), body()]],
    level_args("verify"), 5, proto("unsolicited_reply"),
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + E_MAIL + QUIT_TAIL}])
add("reply_parsing/unsolicited-after-delivery/verify", CLS,
    [starttls_prefix("valid") + txn(data_reply="250 2.0.0 queued\r\n250 2.0.0 extra\r\n")],
    level_args("verify"), 0, delivered(tls_ok()),
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + e_txn() + TAIL}],
    why="The message was accepted by a complete 250; noise afterwards cannot change that "
        "(exit 5 is only for violations before the end of data).")

# --- 7. Replies a command cannot have (RFC 5321 4.3.2) -------------------------------------
add("reply_parsing/unexpected-354-to-mail/none", CLS, [[send(GREETING), ehlo(CAPS_PLAIN), mail("354 go\r\n")]],
    NONE, 5, proto("unexpected_reply"), [{"plain": E_EHLO + E_MAIL + QUIT_TAIL}])
add("reply_parsing/unexpected-220-to-rcpt/none", CLS,
    [[send(GREETING), ehlo(CAPS_PLAIN), mail(), rcpt(reply="220 hello\r\n")]],
    NONE, 5, proto("unexpected_reply"),
    [{"plain": E_EHLO + E_MAIL + lit("RCPT TO:<b@y.test>\r\n") + QUIT_TAIL}])
add("reply_parsing/unexpected-250-to-data/none", CLS,
    [[send(GREETING), ehlo(CAPS_PLAIN), mail(), rcpt(), data_cmd("250 2.0.0 ok\r\n")]],
    NONE, 5, proto("unexpected_reply"),
    [{"plain": E_EHLO + E_MAIL + lit("RCPT TO:<b@y.test>\r\nDATA\r\n") + QUIT_TAIL}])
add("reply_parsing/unexpected-354-to-ehlo/none", CLS, [[send(GREETING), ehlo("354 what\r\n")]],
    NONE, 5, proto("unexpected_reply"), [{"plain": E_EHLO + QUIT_TAIL}])
add("reply_parsing/unexpected-354-to-end-of-data/verify", CLS,
    [starttls_prefix("valid") + txn(data_reply="354 again\r\n")],
    level_args("verify"), 4, {"outcome": "unknown"},
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + e_txn() + QUIT_TAIL}],
    why="Issue 6: an unexpected reply after the end of data was written is exit 4: whether the "
        "message was taken is not known.")
