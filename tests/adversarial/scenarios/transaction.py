"""Transaction faults: per-recipient outcomes, 421 at every stage, drops and stalls around the
end of data (the *unknown* outcome), 552 while the body is written, AUTH results, RSET refused.

Issue 5 (exact outcomes; lost after the end of data = unknown; 421 = every open recipient
deferred; a 5xx during the body stops the write), issue 6 (exit codes 0-5 and precedence
4, 3, 5, 2, 1, 0; AUTH refused: 1 for 5xx, 2 for 4xx).
"""
from _lib import (CAPS_PIPE, CAPS_POST, E_EHLO, E_STARTTLS, GREETING, QUIT_TAIL, TAIL, body, caps,
                  cmd, data_cmd, delivered, e_txn, ehlo, level_args, lit, mail, rcpt, scenario,
                  send, starttls_prefix, tls_ok, txn)

CLS = "transaction"
SCENARIOS = []


def add(*a, **k):
    SCENARIOS.append(scenario(*a, **k))


V = level_args("verify")
PRE = {"plain": E_EHLO + E_STARTTLS}
E_MAIL = lit("MAIL FROM:<a@x.test>\r\n")
E_RCPT = lit("RCPT TO:<b@y.test>\r\n")
R3 = ["b@y.test", "c@y.test", "d@y.test"]
R550 = "550 5.1.1 <c@y.test>: Recipient address rejected: User unknown\r\n"
S421 = "421 4.3.2 Service shutting down, closing transmission channel\r\n"
BIG = 8 << 20


def conn(tls_re):
    return [dict(PRE, tls=tls_re)]


# --- 1. Per-recipient outcomes ----------------------------------------------------------------
for tag, caps_tls in (("pipelined", CAPS_PIPE), ("sequential", CAPS_POST)):
    add("transaction/middle-rcpt-rejected/%s" % tag, CLS,
        [starttls_prefix(tls_caps=caps_tls) + [mail(), rcpt(R3[0]), rcpt(R3[1], R550), rcpt(R3[2]),
                                               data_cmd(), body()]],
        V, 1, {"outcome": "partial", "recipients[0].outcome": "accepted", "recipients[1].outcome": "rejected",
               "recipients[1].code": 550, "recipients[1].enhanced": "5.1.1", "recipients[1].address": "c@y.test",
               "recipients[2].outcome": "accepted", "reply.code": 250},
        conn(E_EHLO + e_txn(rcpts=R3) + TAIL), common={"--to": R3})

add("transaction/all-rejected-354-dot-only/pipelined", CLS,
    [starttls_prefix(tls_caps=CAPS_PIPE) + [mail(), rcpt(R3[0], R550), rcpt(R3[1], R550), data_cmd(),
                                            body("554 5.5.1 Error: no valid recipients\r\n")]],
    V, 1, {"outcome": "rejected", "recipients[0].outcome": "rejected", "recipients[1].outcome": "rejected",
           "recipients[0].code": 550},
    conn(E_EHLO + E_MAIL + lit("RCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n.\r\n") + TAIL),
    common={"--to": R3[:2]},
    why="RFC 2920 3.1: after 354 with no accepted recipient the client sends only the final dot. "
        "DESIGN: with PIPELINING, MAIL, the RCPTs and DATA go in one write.")
add("transaction/all-rejected-554-to-data/pipelined", CLS,
    [starttls_prefix(tls_caps=CAPS_PIPE) + [mail(), rcpt(R3[0], R550), rcpt(R3[1], R550),
                                            data_cmd("554 5.5.1 Error: no valid recipients\r\n")]],
    V, 1, {"outcome": "rejected", "recipients[0].outcome": "rejected", "recipients[1].outcome": "rejected"},
    conn(E_EHLO + E_MAIL + lit("RCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n") + TAIL),
    common={"--to": R3[:2]})
add("transaction/all-rejected/sequential", CLS,
    [starttls_prefix() + [mail(), rcpt(R3[0], R550), rcpt(R3[1], R550)]],
    V, 1, {"outcome": "rejected", "recipients[0].outcome": "rejected", "recipients[1].outcome": "rejected"},
    conn(E_EHLO + E_MAIL + lit("RCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\n") + TAIL),
    common={"--to": R3[:2]})

R5 = ["r%d@y.test" % i for i in range(1, 6)]
S452 = "452 4.5.3 Error: too many recipients\r\n"
add("transaction/452-after-3/pipelined", CLS,
    [starttls_prefix(tls_caps=CAPS_PIPE) + [mail()] + [rcpt(a) for a in R5[:3]]
     + [rcpt(a, S452) for a in R5[3:]] + [data_cmd(), body(),
                                         {"op": "serve", "rules": [["RCPT .*", S452], ["DATA", "554 5.5.1 no valid recipients\r\n"]]}]],
    V, 2, dict({"outcome": {"any": ["deferred", "partial"]}, "recipients[3].outcome": "deferred", "recipients[3].code": 452,
                "recipients[4].outcome": "deferred"},
               **{"recipients[%d].outcome" % i: "accepted" for i in range(3)}),
    conn(E_EHLO + e_txn(rcpts=R5) + "(?s:.*)"), common={"--to": R5},
    why="RFC 5321 4.5.3.1.10: 452 defers those recipients (exit 2). A client may retry them in a "
        "second transaction (the server keeps answering 452), so only the first is checked.")
add("transaction/accepted-and-deferred/sequential", CLS,
    [starttls_prefix() + [mail(), rcpt(R3[0]), rcpt(R3[1], "450 4.2.0 <c@y.test>: mailbox busy\r\n"),
                          data_cmd(), body()]],
    V, 2, {"outcome": {"any": ["deferred", "partial"]}, "recipients[0].outcome": "accepted",
           "recipients[1].outcome": "deferred", "recipients[1].code": 450},
    conn(E_EHLO + e_txn(rcpts=R3[:2]) + TAIL), common={"--to": R3[:2]},
    why="Exit 2 by precedence; the message outcome may be 'deferred' (to be tried again) or "
        "'partial' (delivered to some): the contract does not say.")
add("transaction/rejected-and-deferred/sequential", CLS,
    [starttls_prefix() + [mail(), rcpt(R3[0], R550), rcpt(R3[1], "450 4.2.0 busy\r\n")]],
    V, 2, {"outcome": "deferred", "recipients[0].outcome": "rejected", "recipients[1].outcome": "deferred"},
    conn(E_EHLO + E_MAIL + lit("RCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\n") + TAIL),
    common={"--to": R3[:2]}, why="Deferred (2) takes precedence over rejected (1).")

# Replies to the end of data.
for tag, reply, code, outcome, rc in (("550", "550 5.7.1 Message rejected as spam\r\n", 1, "rejected", "rejected"),
                                      ("451", "451 4.3.0 Temporary failure\r\n", 2, "deferred", "deferred"),
                                      ("554-multiline", "554-5.7.1 Rejected\r\n554 5.7.1 see policy\r\n", 1,
                                       "rejected", "rejected")):
    add("transaction/end-of-data-%s/verify" % tag, CLS, [starttls_prefix() + txn(data_reply=reply)],
        V, code, {"outcome": outcome, "recipients[0].outcome": rc, "reply.code": int(tag[:3])},
        conn(E_EHLO + e_txn() + TAIL))

# --- 2. 421 at every stage ------------------------------------------------------------------
FIN = {"op": "fin"}
DEF = {"outcome": "deferred", "error.code": "service_not_available", "recipients[0].outcome": "deferred"}
add("transaction/421-greeting/verify", CLS, [[send(S421), FIN]], V, 2,
    dict(DEF, **{"error.code": {"any": ["service_not_available", "greeting_refused"]}}), [{"plain": QUIT_TAIL}],
    why="A 421 greeting is both 'not 220' (greeting_refused) and a 421 (service_not_available).")
add("transaction/421-ehlo/verify", CLS, [[send(GREETING), ehlo(S421), FIN]], V, 2,
    dict(DEF, **{"error.code": {"any": ["service_not_available", "hello_refused"]}}),
    [{"plain": E_EHLO + QUIT_TAIL}],
    why="A 421 to EHLO is a 421 (service_not_available); hello_refused is accepted too. No HELO "
        "after a 421: the server is closing.")
add("transaction/421-tls-ehlo/verify", CLS, [starttls_prefix(tls_caps=S421) + [FIN]], V, 2, DEF,
    conn(E_EHLO + QUIT_TAIL))
add("transaction/421-mail/verify", CLS, [starttls_prefix() + [mail(S421), FIN]], V, 2, DEF,
    conn(E_EHLO + E_MAIL + QUIT_TAIL))
add("transaction/421-rcpt/pipelined", CLS,
    [starttls_prefix(tls_caps=CAPS_PIPE) + [mail(), rcpt(R3[0]), rcpt(R3[1], S421), FIN]], V, 2,
    dict(DEF, **{"recipients[1].outcome": "deferred"}),
    conn(E_EHLO + E_MAIL + lit("RCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\n") + "(?:DATA\r\n)?" + QUIT_TAIL),
    common={"--to": R3[:2]},
    why="Issue 5: a 421 defers every open recipient, also one already accepted by RCPT.")
add("transaction/421-data/verify", CLS, [starttls_prefix() + [mail(), rcpt(), data_cmd(S421), FIN]], V, 2, DEF,
    conn(E_EHLO + E_MAIL + E_RCPT + lit("DATA\r\n") + QUIT_TAIL))
add("transaction/421-end-of-data/verify", CLS, [starttls_prefix() + txn(data_reply=S421) + [FIN]], V, 2,
    {"outcome": "deferred", "recipients[0].outcome": "deferred", "recipients[0].code": 421, "reply.code": 421},
    conn(E_EHLO + e_txn() + QUIT_TAIL),
    why="A complete 421 reply to the end of data is a definite deferral, not 'unknown'.")
add("transaction/421-quit/verify", CLS, [starttls_prefix() + txn() + [cmd("QUIT", S421), FIN]], V, 0,
    delivered(tls_ok()), conn(E_EHLO + e_txn() + TAIL),
    why="The message was accepted with 250 before QUIT; what happens after cannot undo that.")

# --- 3. Connection dropped around the message ------------------------------------------------
for how in ("fin", "rst"):
    op = {"op": how}
    add("transaction/%s-after-data-command/verify" % how, CLS,
        [starttls_prefix() + [mail(), rcpt(), data_cmd(None), op]], V, 2,
        {"outcome": "deferred", "recipients[0].outcome": "deferred"},
        conn(E_EHLO + E_MAIL + E_RCPT + lit("DATA\r\n") + QUIT_TAIL))
    add("transaction/%s-after-end-of-data/verify" % how, CLS,
        [starttls_prefix() + txn(data_reply=None) + [op]], V, 4,
        {"outcome": "unknown", "recipients[0].outcome": "unknown"}, conn(E_EHLO + e_txn() + QUIT_TAIL),
        why="Issue 5 / RFC 1047: lost after the end of data was written, before its reply: unknown.")
    add("transaction/%s-after-final-250/verify" % how, CLS, [starttls_prefix() + txn() + [op]], V, 0,
        delivered(tls_ok()), conn(E_EHLO + e_txn() + QUIT_TAIL))
add("transaction/rst-mid-body/verify", CLS,
    [starttls_prefix() + [mail(), rcpt(), data_cmd(), {"op": "data", "stop_after": 262144}, {"op": "rst"}]],
    V, 2, {"outcome": "deferred", "recipients[0].outcome": "deferred"},
    [dict(PRE, tls_len_lt=BIG)], data={"big": BIG}, rcvbuf=65536)
add("transaction/fin-mid-body/verify", CLS,
    [starttls_prefix() + [mail(), rcpt(), data_cmd(), {"op": "data", "stop_after": 262144},
                          {"op": "fin", "drain": False, "hold": 6}]],
    V, 2, {"outcome": "deferred", "recipients[0].outcome": "deferred"},
    [dict(PRE, tls_len_lt=BIG)], data={"big": BIG}, rcvbuf=65536, common={"--timeout": "2"},
    why="The server half-closes and stops reading: the end of data can never be written, so the "
        "outcome is deferred whether the client notices the close or its data deadline.")

# --- 4. Stalls and slow servers -------------------------------------------------------------------
T2 = {"--timeout": "2"}
STALL = {"op": "stall", "seconds": 15}
add("transaction/stall-after-end-of-data/verify", CLS, [starttls_prefix() + txn(data_reply=None) + [STALL]],
    V, 4, {"outcome": "unknown", "error.code": "end_of_data_timeout", "recipients[0].outcome": "unknown"},
    conn(E_EHLO + e_txn() + QUIT_TAIL), common=T2, limit=20)
add("transaction/stall-after-mail/verify", CLS, [starttls_prefix() + [mail(None), STALL]],
    V, 2, {"outcome": "deferred", "error.code": "command_timeout"}, conn(E_EHLO + E_MAIL + QUIT_TAIL),
    common=T2, limit=20)
add("transaction/stall-greeting/verify", CLS, [[STALL]], V, 2,
    {"outcome": "deferred", "error.code": "greeting_timeout"}, [{"plain": QUIT_TAIL}], common=T2, limit=20)
add("transaction/slow-reader/verify", CLS,
    [starttls_prefix() + [mail(), rcpt(), data_cmd(), {"op": "data", "slow": [2048, 0.05], "reply": None}]],
    V, 2, {"outcome": "deferred", "error.code": "data_timeout", "recipients[0].outcome": "deferred"},
    [dict(PRE, tls_len_lt=BIG)], data={"big": BIG}, rcvbuf=32768, common=T2, limit=25,
    why="Issue 6: --timeout bounds the whole message transfer; a server that reads 40 KB/s "
        "cannot take 8 MiB in 2 s.")
add("transaction/552-mid-body/verify", CLS,
    [starttls_prefix() + [mail(), rcpt(), data_cmd(),
                          {"op": "data", "reply_after": 262144, "discard_delay": 1.5,
                           "reply": "552 5.3.4 Message size exceeds fixed limit\r\n"}]],
    V, 1, {"outcome": "rejected", "recipients[0].outcome": "rejected", "recipients[0].code": 552},
    [dict(PRE, tls_len_lt=BIG)], data={"big": BIG}, rcvbuf=65536,
    why="Issue 5: a 5xx that arrives while the body is written stops the write and is reported "
        "as such; the server waits 1.5 s before reading on, so a client that only reads after "
        "writing everything is caught writing the whole body.")

# --- 5. AUTH ----------------------------------------------------------------------------------
AUTH = ["--auth-user", "u", "--auth-password-file", "{file:pw}"]
PW = {"pw": "secret\n"}
B64 = "AHUAc2VjcmV0"          # base64 of "\0u\0secret": the trailing newline is not part of it
E_AUTH_PLAIN = r"AUTH PLAIN(?: %s\r\n|\r\n%s\r\n)" % (B64, B64)
AUTH_CAPS = caps("AUTH PLAIN", "ENHANCEDSTATUSCODES")
add("transaction/auth-plain/verify", CLS,
    [starttls_prefix(tls_caps=AUTH_CAPS) + [{"op": "auth", "mech": "PLAIN", "user": "u", "password": "secret"}]
     + txn()], V + AUTH, 0, delivered(tls_ok()), conn(E_EHLO + E_AUTH_PLAIN + e_txn() + TAIL), files=PW)
add("transaction/auth-535/verify", CLS,
    [starttls_prefix(tls_caps=caps("AUTH PLAIN LOGIN")) +
     [{"op": "auth", "mech": "PLAIN|LOGIN", "reply": "535 5.7.8 Authentication credentials invalid\r\n"}]],
    V + AUTH, 1, {"error.code": "auth_failed"},
    conn(E_EHLO + r"AUTH (?:PLAIN|LOGIN)[^\r\n]*\r\n(?:[A-Za-z0-9+/=]+\r\n){0,2}" + TAIL), files=PW,
    why="Issue 5: a 535 never falls back to another mechanism: exactly one AUTH, then no MAIL.")
add("transaction/auth-454/verify", CLS,
    [starttls_prefix(tls_caps=AUTH_CAPS) +
     [{"op": "auth", "mech": "PLAIN", "reply": "454 4.7.0 Temporary authentication failure\r\n"}]],
    V + AUTH, 2, {"error.code": "auth_failed"}, conn(E_EHLO + E_AUTH_PLAIN + TAIL), files=PW)
add("transaction/auth-plaintext-refused/may", CLS, [[send(GREETING), ehlo(caps("AUTH PLAIN"))]],
    level_args("may") + AUTH, 3, {"error.code": "plaintext_auth_refused"}, [{"plain": E_EHLO + QUIT_TAIL}],
    files=PW, why="DESIGN rule 7; a policy failure with nothing of the message sent is exit 3.")
add("transaction/auth-plaintext-allowed/may", CLS,
    [[send(GREETING), ehlo(caps("AUTH PLAIN")), {"op": "auth", "mech": "PLAIN", "user": "u", "password": "secret"}]
     + txn()], level_args("may") + AUTH + ["--allow-plaintext-auth"], 0,
    delivered({"tls.verified": False, "tls.verify_result": "starttls-not-supported"}),
    [{"plain": E_EHLO + E_AUTH_PLAIN + e_txn() + TAIL}], files=PW)
add("transaction/auth-transcript-redacted/verify", CLS,
    [starttls_prefix(tls_caps=AUTH_CAPS) + [{"op": "auth", "mech": "PLAIN", "user": "u", "password": "secret"}]
     + txn()], V + AUTH + ["--transcript"], 0, delivered(tls_ok()),
    conn(E_EHLO + E_AUTH_PLAIN + e_txn() + TAIL), files=PW, stderr_lacks=["secret", B64],
    why="Issue 6: --transcript redacts credentials (neither the password nor its base64).")

# --- 6. Refusals of the session and RSET ---------------------------------------------------------
add("transaction/greeting-554/verify", CLS, [[send("554 5.3.2 No SMTP service here\r\n")]], V, 1,
    {"outcome": "rejected", "recipients[0].outcome": "rejected"}, [{"plain": QUIT_TAIL}],
    why="RFC 5321 3.1: a 554 greeting refuses the session for good: every recipient rejected (1).")
add("transaction/greeting-450/verify", CLS, [[send("450 4.3.2 Try again later\r\n")]], V, 2,
    {"outcome": "deferred", "recipients[0].outcome": "deferred"}, [{"plain": QUIT_TAIL}])
add("transaction/hello-refused/none", CLS,
    [[send(GREETING), ehlo("550 5.7.1 Go away\r\n"), cmd("HELO client\\.adv\\.test", "550 5.7.1 Go away\r\n")]],
    level_args("none"), 1, {"error.code": "hello_refused"}, [{"plain": E_EHLO + lit("HELO client.adv.test\r\n") + QUIT_TAIL}],
    why="EHLO and HELO both refused with 5xx: permanent (1).")
add("transaction/rset-refused/bulk", CLS,
    [starttls_prefix() + [mail(), rcpt(reply=R550), cmd("RSET", "500 5.5.1 RSET refused\r\n")],
     starttls_prefix() + txn()],
    V + ["--count", "2", "--per-connection", "2", "--connections", "1", "--size", "2000"], [1, 2], {},
    [dict(PRE, tls=E_EHLO + E_MAIL + E_RCPT + lit("RSET\r\n") + QUIT_TAIL)],
    nconn=[1, 2], common={"--data": None},
    why="After MAIL was accepted and every RCPT refused the transaction is still open, so the "
        "next message needs RSET first (RFC 5321 4.1.1.5); a refused RSET closes the session "
        "(issue 5) and no MAIL follows on it. Whether the bulk run reconnects for the second "
        "message or reports it deferred is not in the contract (exit 1 or 2).")

# --- 7. What the server advertised does not allow the message ----------------------------------
add("transaction/size-too-big/verify", CLS, [starttls_prefix(tls_caps=caps("SIZE 40", "ENHANCEDSTATUSCODES"))],
    V, 1, {"outcome": "rejected", "error.code": "message_too_big", "recipients[0].outcome": "rejected"},
    conn(E_EHLO + TAIL),
    why="Issue 5: a message known to be larger than SIZE fails before MAIL. RFC 1870 6.1: the "
        "client should not send it and should treat this as a permanent failure (1), not retry it.")
