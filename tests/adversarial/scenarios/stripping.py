"""STARTTLS stripping: STARTTLS missing, refused, answered with nonsense, under every policy level.

DESIGN.md rules 1 and 4; issue 6: under `none`/`may` the send goes on in plaintext (and under
`may` the JSON `tls` object says why), under every stricter level exit 3 and no MAIL, RCPT,
AUTH or message byte in plaintext.  Also the baseline of each level against a correct server
and harmless variations (multi-line 220, split 220, lower-case keyword) that must still work.
"""
from _lib import (hello_checks, CAPS_PLAIN, CAPS_POST, CAPS_STARTTLS, E_EHLO, E_STARTTLS, GREETING, HELO, LEVELS,
                  QUIT_TAIL, STRICT, TAIL, caps, cmd, delivered, e_txn, ehlo, failed_tls, level_args,
                  lit, scenario, send, starttls, starttls_prefix, tls, tls_ok, txn)

CLS = "stripping"
SCENARIOS = []

WHY_REFUSED_RESULT = ("A refused STARTTLS has no TLS-RPT result of its own; RFC 8460 "
                      "'starttls-not-supported' is the closest, as the contract's example suggests.")


def add(*a, **k):
    SCENARIOS.append(scenario(*a, **k))


# --- 1. STARTTLS not advertised --------------------------------------------------------------
for level in LEVELS:
    name = "stripping/not-advertised/" + level
    if level in ("none", "may"):
        j = delivered({"tls": None} if level == "none" else
                      {"tls.verified": False, "tls.verify_result": "starttls-not-supported",
                       "tls.version": None})
        add(name, CLS, [[send(GREETING), ehlo(CAPS_PLAIN)] + txn()], level_args(level), 0, j,
            [{"plain": E_EHLO + e_txn() + TAIL, "tls_established": False}])
    else:
        add(name, CLS, [[send(GREETING), ehlo(CAPS_PLAIN)]], level_args(level), 3,
            failed_tls("starttls_not_offered", "starttls-not-supported"),
            [{"plain": E_EHLO + QUIT_TAIL, "tls_established": False}])

# --- 2. STARTTLS refused with 454 (RFC 3207 4) -------------------------------------------------
REFUSALS = {
    "454": "454 4.7.0 TLS not available due to temporary reason\r\n",
    "502": "502 5.5.1 Command not implemented\r\n",
    "500": "500 5.5.2 Syntax error, command unrecognized\r\n",
    "501": "501 5.5.4 Syntax error in parameters\r\n",
}
for code, reply in REFUSALS.items():
    levels = LEVELS if code == "454" else ["may", "encrypt", "verify"]
    for level in levels:
        name = "stripping/refused-%s/%s" % (code, level)
        if level == "none":
            # STARTTLS is advertised; `none` never asks for it.
            add(name, CLS, [[send(GREETING), ehlo(CAPS_STARTTLS)] + txn()], level_args(level), 0,
                delivered({"tls": None}),
                [{"plain": E_EHLO + e_txn() + TAIL, "tls_established": False}])
        elif level == "may":
            add(name, CLS, [[send(GREETING), ehlo(CAPS_STARTTLS), starttls(reply)] + txn()],
                level_args(level), 0,
                delivered({"tls.verified": False, "tls.verify_result": "starttls-not-supported"}),
                [{"plain": E_EHLO + E_STARTTLS + e_txn() + TAIL, "tls_established": False}],
                why="DESIGN rule 4: under opportunistic TLS a refused STARTTLS is reported and the "
                    "message goes out in plaintext. " + WHY_REFUSED_RESULT)
        else:
            add(name, CLS, [[send(GREETING), ehlo(CAPS_STARTTLS), starttls(reply)]],
                level_args(level), 3, failed_tls("starttls_refused", "starttls-not-supported"),
                [{"plain": E_EHLO + E_STARTTLS + QUIT_TAIL, "tls_established": False}],
                why=WHY_REFUSED_RESULT)

# --- 3. STARTTLS answered with nonsense ---------------------------------------------------------
NONSENSE = {
    "250": ("250 2.0.0 OK\r\n", "unexpected_reply"),
    "354": ("354 go on\r\n", "unexpected_reply"),
    "600": ("600 ready\r\n", "reply_malformed"),
}
for tag, (reply, code) in NONSENSE.items():
    for level in ("may", "verify"):
        name = "stripping/nonsense-%s/%s" % (tag, level)
        # If a client wrongly starts TLS anyway, the server goes along, to record how far it goes.
        script = [send(GREETING), ehlo(CAPS_STARTTLS), starttls(reply), tls("valid"), ehlo(CAPS_POST)] + txn()
        if level == "may":
            add(name, CLS, [script], level_args(level), 5, {"outcome": "protocol_error", "error.code": code},
                [{"plain": E_EHLO + E_STARTTLS + QUIT_TAIL, "tls_established": False}],
                why="A reply to STARTTLS that is neither 220 nor 4xx/5xx is a protocol violation "
                    "(exit 5), not a refusal: falling back to plaintext after it is not allowed.")
        else:
            add(name, CLS, [script], level_args(level), [3, 5],
                {"outcome": {"any": ["tls_failed", "protocol_error"]}},
                [{"plain": E_EHLO + E_STARTTLS + QUIT_TAIL, "tls_established": False}],
                why="Both 'protocol violation' (5) and 'TLS demand not met' (3) describe this; "
                    "the contract does not say whether both apply, so either is accepted. "
                    "Nothing of the message may be sent.")

# --- 4. 421 to STARTTLS ---------------------------------------------------------------------------
add("stripping/421/may", CLS,
    [[send(GREETING), ehlo(CAPS_STARTTLS), starttls("421 4.3.2 Service shutting down\r\n"), {"op": "fin"}]],
    level_args("may"), 2, {"outcome": "deferred", "error.code": "service_not_available",
                           "recipients[0].outcome": "deferred"},
    [{"plain": E_EHLO + E_STARTTLS + QUIT_TAIL, "tls_established": False}])
add("stripping/421/verify", CLS,
    [[send(GREETING), ehlo(CAPS_STARTTLS), starttls("421 4.3.2 Service shutting down\r\n"), {"op": "fin"}]],
    level_args("verify"), [2, 3], {"outcome": {"any": ["deferred", "tls_failed"]}},
    [{"plain": E_EHLO + E_STARTTLS + QUIT_TAIL, "tls_established": False}],
    why="'A 421 at any point: exit 2' and 'STARTTLS refused (4xx): exit 3' both apply; the "
        "precedence rule says 3, the 421 rule is the more specific: either is accepted.")

# --- 5. EHLO refused: HELO has no extensions, so no STARTTLS ------------------------------------
HELO_RE = lit("HELO %s\r\n" % HELO)
add("stripping/ehlo-refused/may", CLS,
    [[send(GREETING), ehlo("502 5.5.2 EHLO not supported\r\n"),
      cmd(lit("HELO " + HELO), "250 mail.adv.test\r\n")] + txn()],
    level_args("may"), 0, delivered({"tls.verified": False, "tls.verify_result": "starttls-not-supported"}),
    [{"plain": E_EHLO + HELO_RE + e_txn() + TAIL, "tls_established": False}])
add("stripping/ehlo-refused/verify", CLS,
    [[send(GREETING), ehlo("502 5.5.2 EHLO not supported\r\n")]],
    level_args("verify"), 3, {"outcome": "tls_failed", "tls.verified": False},
    [{"plain": E_EHLO + "(?:" + HELO_RE + ")?" + QUIT_TAIL, "tls_established": False}])

# --- 6. Baselines: a correct STARTTLS server under every level ---------------------------------
for level in LEVELS:
    name = "stripping/advertised/" + level
    if level == "none":
        add(name, CLS, [[send(GREETING), ehlo(CAPS_STARTTLS)] + txn()], level_args(level), 0,
            delivered({"tls": None}), [{"plain": E_EHLO + e_txn() + TAIL, "tls_established": False}])
        continue
    j = delivered({"tls.version": "TLSv1.3"})
    if level in STRICT and level != "encrypt":
        j.update(tls_ok())
    add(name, CLS, [starttls_prefix("valid") + txn()], level_args(level), 0, j,
        [dict({"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + e_txn() + TAIL, "tls_established": True,
               "sni": "mail.adv.test"}, **hello_checks(level))])

# --- 7. Harmless variations that must still work (under verify) --------------------------------
VARIANTS = {
    "multiline-220": [send(GREETING), ehlo(CAPS_STARTTLS),
                      starttls("220-2.0.0 Ready\r\n220 2.0.0 Start TLS now\r\n"), tls("valid"), ehlo(CAPS_POST)],
    "split-220": [send(GREETING), ehlo(CAPS_STARTTLS), starttls(None),
                  send(["220 2.0.0 Re", "ady to start TLS\r\n"], gap=0.1), tls("valid"), ehlo(CAPS_POST)],
    "lowercase-keyword": [send(GREETING), ehlo(caps("starttls", "enhancedstatuscodes")), starttls(),
                          tls("valid"), ehlo(CAPS_POST)],
    "multiline-greeting": [send(["220-mail.adv.test ESMTP\r\n", "220-welcome\r\n", "220 ready\r\n"], gap=0.05),
                           ehlo(CAPS_STARTTLS), starttls(), tls("valid"), ehlo(CAPS_POST)],
}
for tag, script in VARIANTS.items():
    add("stripping/variant-%s/verify" % tag, CLS, [script + txn()], level_args("verify"), 0,
        delivered(tls_ok()),
        [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + e_txn() + TAIL, "tls_established": True}])
