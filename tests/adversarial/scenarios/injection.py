"""Response injection around STARTTLS, and capabilities that change between plaintext and TLS.

DESIGN.md rule 2 (bytes after the 220 to STARTTLS are a protocol error, never parsed as
post-TLS replies) and rule 3 (after TLS, plaintext capabilities are forgotten; EHLO again).
Issue 6: injection is exit 5.
"""
from _lib import (CAPS_POST, CAPS_STARTTLS, E_EHLO, E_STARTTLS, GREETING, QUIT_TAIL, TAIL, caps, cmd,
                  delivered, e_txn, ehlo, level_args, lit, mail, rcpt, scenario, send, starttls,
                  starttls_prefix, tls, tls_ok, txn, data_cmd, body)

CLS = "injection"
SCENARIOS = []


def add(*a, **k):
    SCENARIOS.append(scenario(*a, **k))


FAKE_EHLO = "250-mail.adv.test\r\n250 AUTH PLAIN LOGIN\r\n"
INJECTED = "220 2.0.0 Ready to start TLS\r\n" + FAKE_EHLO
NO_PROGRESS = [{"plain": E_EHLO + E_STARTTLS + QUIT_TAIL, "tls_established": False}]
PROTO = {"outcome": "protocol_error", "error.code": "response_injection"}


def injected_script(reply):
    """The 220 (plus injection) to STARTTLS; a client that goes on anyway gets a real TLS server."""
    return [send(GREETING), ehlo(CAPS_STARTTLS), starttls(reply), tls("valid"), ehlo(CAPS_POST)] + txn()


# --- 1. Injection in the 220's own segment, under several levels ---------------------------------
for level in ("may", "encrypt", "verify", "dane-only"):
    why = None
    if level == "may":
        why = ("Injection is a protocol error at every level (DESIGN rule 2, issue 6: exit 5); "
               "falling back to plaintext after it would let the attacker choose plaintext.")
    add("injection/same-segment/" + level, CLS, [injected_script(INJECTED)], level_args(level), 5, PROTO,
        NO_PROGRESS, why=why)

# --- 2. Other shapes of injected bytes, same segment (verify) ----------------------------------
SHAPES = {
    "partial-line": "220 2.0.0 Ready to start TLS\r\n25",
    "bare-crlf": "220 2.0.0 Ready to start TLS\r\n\r\n",
    "multiline-220-then-bytes": "220-2.0.0 Ready\r\n220 2.0.0 go ahead\r\n250 OK\r\n",
    "tls-looking-bytes": "220 2.0.0 Ready to start TLS\r\n\x16\x03\x03\x00\x02\x02\x28",
}
for tag, reply in SHAPES.items():
    add("injection/%s/verify" % tag, CLS, [injected_script(reply)], level_args("verify"), 5, PROTO,
        NO_PROGRESS)

# --- 3. Injection in a later segment: a race with the client's ClientHello ---------------------
for tag, gap in (("later-segment", 0.05), ("back-to-back-writes", 0)):
    script = [send(GREETING), ehlo(CAPS_STARTTLS), starttls(None),
              send(["220 2.0.0 Ready to start TLS\r\n", FAKE_EHLO], gap=gap), tls("valid"),
              ehlo(CAPS_POST)] + txn()
    add("injection/%s/verify" % tag, CLS, [script], level_args("verify"), [3, 5],
        {"outcome": {"any": ["tls_failed", "protocol_error"]}},
        [{"plain": E_EHLO + E_STARTTLS + QUIT_TAIL, "tls_established": False, "tls": QUIT_TAIL}],
        why="Whether the injected bytes arrive before the client read the 220 (exit 5, "
            "response_injection) or inside its handshake (a failed handshake, exit 3) is a race "
            "the client cannot control; either way no TLS session and nothing of the message.")

# --- 4. Capabilities that change between the plaintext EHLO and the TLS EHLO -------------------
AUTH_ARGS = ["--auth-user", "u", "--auth-password-file", "{file:pw}"]
PW = {"pw": "secret\n"}

# SIZE: tiny before TLS, large after: the message must go (post-TLS SIZE applies).
add("injection/caps-size-grows/verify", CLS,
    [starttls_prefix(plain_caps=caps("SIZE 10", "STARTTLS"), tls_caps=caps("SIZE 10485760"))
     + [mail(params=r"(?: SIZE=\d+)?")] + [rcpt(), data_cmd(), body()]],
    level_args("verify"), 0, delivered(tls_ok()),
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + e_txn(params=r"(?: SIZE=\d+)?") + TAIL}])

# PIPELINING before TLS only: after TLS, MAIL must go alone.
add("injection/caps-pipelining-dropped/verify", CLS,
    [starttls_prefix(plain_caps=caps("PIPELINING", "STARTTLS"), tls_caps=CAPS_POST)
     + [cmd(lit("MAIL FROM:<a@x.test>")), {"op": "quiet", "seconds": 0.4},
        send("250 2.1.0 ok\r\n"), cmd(lit("RCPT TO:<b@y.test>")), {"op": "quiet", "seconds": 0.4},
        send("250 2.1.5 ok\r\n"), data_cmd(), body()]],
    level_args("verify"), 0, delivered(tls_ok()),
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + e_txn() + TAIL}])

# AUTH before TLS only: the client must not send AUTH after TLS.
add("injection/caps-auth-dropped/verify", CLS,
    [starttls_prefix(plain_caps=caps("AUTH PLAIN LOGIN", "STARTTLS"), tls_caps=CAPS_POST)],
    level_args("verify") + AUTH_ARGS, [1, 3], {"error.code": "auth_not_offered"},
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + TAIL, "tls_lacks": ["AUTH", "MAIL"]}],
    files=PW,
    why="AUTH asked for but not offered after TLS: the contract names no exit code; 1 (permanent) "
        "or 3 (policy) are accepted. What matters: no AUTH and no MAIL.")

# AUTH PLAIN before TLS, AUTH LOGIN after: LOGIN is used.
add("injection/caps-auth-changes/verify", CLS,
    [starttls_prefix(plain_caps=caps("AUTH PLAIN", "STARTTLS"), tls_caps=caps("AUTH LOGIN"))
     + [{"op": "auth", "mech": "LOGIN", "user": "u", "password": "secret"}] + txn()],
    level_args("verify") + AUTH_ARGS, 0, delivered(tls_ok()),
    [{"plain": E_EHLO + E_STARTTLS, "tls_lacks": ["AUTH PLAIN"],
      "tls": E_EHLO + r"AUTH LOGIN(?: \S+)?\r\n(?:\S+\r\n){1,2}" + e_txn() + TAIL}], files=PW)

# CHUNKING before TLS only: DATA after TLS, no BDAT.
add("injection/caps-chunking-dropped/verify", CLS,
    [starttls_prefix(plain_caps=caps("CHUNKING", "STARTTLS"), tls_caps=CAPS_POST) + txn()],
    level_args("verify"), 0, delivered(tls_ok()),
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + e_txn() + TAIL, "tls_lacks": ["BDAT"]}])

# STARTTLS advertised again inside TLS: never a second STARTTLS.
add("injection/caps-starttls-again/verify", CLS,
    [starttls_prefix(tls_caps=CAPS_STARTTLS) + txn()],
    level_args("verify"), 0, delivered(tls_ok()),
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + e_txn() + TAIL}])

# REQUIRETLS (RFC 8689) advertised before TLS only: --require-tls fails before MAIL, exit 3.
add("injection/caps-requiretls-dropped/verify", CLS,
    [starttls_prefix(plain_caps=caps("REQUIRETLS", "STARTTLS"), tls_caps=CAPS_POST)],
    level_args("verify") + ["--require-tls"], 3, {"error.code": "requiretls_unavailable"},
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + TAIL}])

# REQUIRETLS after TLS: MAIL carries REQUIRETLS.
add("injection/caps-requiretls/verify", CLS,
    [starttls_prefix(tls_caps=caps("REQUIRETLS", "ENHANCEDSTATUSCODES"))
     + [mail(params=" REQUIRETLS"), rcpt(), data_cmd(), body()]],
    level_args("verify") + ["--require-tls"], 0, delivered(tls_ok()),
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + e_txn(params=" REQUIRETLS") + TAIL}])

# REQUIRETLS under may with no STARTTLS: cannot be honoured, exit 3, nothing sent.
add("injection/requiretls-plaintext/may", CLS,
    [[send(GREETING), ehlo(caps("REQUIRETLS"))]],
    level_args("may") + ["--require-tls"], 3,
    {"error.code": {"any": ["requiretls_unavailable", "demand_not_encrypted", "demand_not_verified"]}},
    [{"plain": E_EHLO + QUIT_TAIL}])
