"""TLS faults: old protocol versions, weak suites, alerts, close_notify, FIN and RST at each stage.

Issue 4 (TLS 1.2 floor, strict suites ECDHE+AEAD, never RC4/3DES/export/NULL/anonymous),
DESIGN rule 4 (a failed handshake under `may` is reported and the message still goes, in
plaintext: which needs a new connection), issue 6 exit codes: a failed handshake 3, a
connection lost before the end of data 2.

Not testable here: RC4, 3DES and export suites, which this OpenSSL 3 cannot offer even at
@SECLEVEL=0 (they are absent from its default provider); NULL and anonymous suites are tested.
"""
from _lib import (CAPS_STARTTLS, E_EHLO, E_STARTTLS, GREETING, QUIT_TAIL, TAIL, cmd, delivered,
                  e_txn, ehlo, implicit_prefix, level_args, lit, mail, scenario, send, starttls,
                  starttls_prefix, tls, tls_ok, txn)

CLS = "tls_faults"
SCENARIOS = []


def add(*a, **k):
    SCENARIOS.append(scenario(*a, **k))


HS_FAIL = {"outcome": "tls_failed", "tls.verified": False}
NO_TLS = {"plain": E_EHLO + E_STARTTLS, "tls": QUIT_TAIL, "tls_established": False}
OLD = [0x0300, 0x0301, 0x0302]
WHY_MAY_RETRY = ("DESIGN rule 4: under opportunistic TLS a failed handshake is reported and the "
                 "message is delivered in plaintext; after a failed handshake that takes a second "
                 "connection, which must not try STARTTLS again.")


def may_retry(name, tls_step, why=WHY_MAY_RETRY):
    """may: the first connection's handshake fails; the second delivers in plaintext."""
    first = [send(GREETING), ehlo(CAPS_STARTTLS), starttls(), tls_step]
    second = [send(GREETING), ehlo(CAPS_STARTTLS)] + txn()
    add(name, CLS, [first, second], level_args("may"), 0,
        delivered({"tls.verified": False}),
        [{"plain": E_EHLO + E_STARTTLS, "tls_established": False},
         {"plain": E_EHLO + e_txn() + TAIL, "tls_established": False}], why=why)


# --- 1. Server limited to TLS 1.0 / 1.1 ----------------------------------------------------------
for ver in ("1.0", "1.1"):
    step = tls("valid", min=ver, max=ver)
    for level in ("verify", "encrypt"):
        add("tls_faults/server-tls%s-only/%s" % (ver, level), CLS,
            [starttls_prefix("valid", min=ver, max=ver) + txn()],
            level_args(level), 3, dict(HS_FAIL, **{"error.code": "tls_handshake_failed"}),
            [dict(NO_TLS, hello_versions_lack=OLD)])
    add("tls_faults/server-tls%s-only/implicit/verify" % ver, CLS,
        [implicit_prefix("valid", min=ver, max=ver) + txn()],
        level_args("verify") + ["--implicit-tls"], 3, dict(HS_FAIL, **{"error.code": "tls_handshake_failed"}),
        [{"plain": "", "tls": QUIT_TAIL, "tls_established": False, "hello_versions_lack": OLD}])
    may_retry("tls_faults/server-tls%s-only/may" % ver, step)

add("tls_faults/tls-min-1.3-vs-1.2-server/verify", CLS,
    [starttls_prefix("valid", max="1.2") + txn()],
    level_args("verify") + ["--tls-min", "1.3"], 3, dict(HS_FAIL),
    [dict(NO_TLS, hello_versions_lack=OLD + [0x0303])])
add("tls_faults/server-tls1.2-only/verify", CLS,
    [starttls_prefix("valid", max="1.2", ciphers="ECDHE-RSA-AES128-GCM-SHA256") + txn()],
    level_args("verify"), 0,
    delivered(dict(tls_ok("TLSv1.2"), **{"tls.cipher": {"re": r"(?i).*AES.?128.?GCM.*"}})),
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + e_txn() + TAIL, "tls_established": True,
      "hello_versions_lack": OLD}])
add("tls_faults/server-tls1.2-ecdsa-chacha/verify", CLS,
    [starttls_prefix("valid_ec", max="1.2", ciphers="ECDHE-ECDSA-CHACHA20-POLY1305") + txn()],
    level_args("verify"), 0, delivered(tls_ok("TLSv1.2")),
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + e_txn() + TAIL, "tls_established": True}])

# --- 2. Weak suites (TLS 1.2 servers offering nothing else) --------------------------------------
WEAK_STRICT = {
    "rsa-kx-cbc": dict(ciphers="AES128-SHA:@SECLEVEL=0"),
    "rsa-kx-gcm": dict(ciphers="AES128-GCM-SHA256:@SECLEVEL=0"),
    "ecdhe-cbc-sha1": dict(ciphers="ECDHE-RSA-AES128-SHA:@SECLEVEL=0"),
    "dhe-gcm": dict(ciphers="DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0", dh=True),
}
for tag, kw in WEAK_STRICT.items():
    add("tls_faults/weak-%s/verify" % tag, CLS, [starttls_prefix("valid", max="1.2", **kw) + txn()],
        level_args("verify"), 3, dict(HS_FAIL), [NO_TLS],
        why="Issue 6: verify and stricter levels use ECDHE with AEAD only in TLS 1.2.")
for level in ("fingerprint", "dane-only"):
    add("tls_faults/weak-rsa-kx-gcm/%s" % level, CLS,
        [starttls_prefix("valid", max="1.2", ciphers="AES128-GCM-SHA256:@SECLEVEL=0") + txn()],
        level_args(level), 3, dict(HS_FAIL), [NO_TLS],
        why="Issue 6: fingerprint and dane-only use the strict suites too.")
add("tls_faults/weak-ecdhe-cbc-sha1/encrypt", CLS,
    [starttls_prefix("valid", max="1.2", ciphers="ECDHE-RSA-AES128-SHA:@SECLEVEL=0") + txn()],
    level_args("encrypt"), 0, delivered({"tls.version": "TLSv1.2"}),
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + e_txn() + TAIL, "tls_established": True}],
    why="Issue 6: may and encrypt allow a wider compatible set; ECDHE-RSA-AES128-SHA is its "
        "canonical member (no RC4, 3DES, export, NULL or anonymous).")
add("tls_faults/weak-null/encrypt", CLS,
    [starttls_prefix("valid", max="1.2", ciphers="NULL-SHA256:@SECLEVEL=0") + txn()],
    level_args("encrypt"), 3, dict(HS_FAIL), [NO_TLS])
add("tls_faults/weak-anonymous/encrypt", CLS,
    [starttls_prefix(None, max="1.2", ciphers="ADH-AES128-GCM-SHA256:@SECLEVEL=0", dh=True) + txn()],
    level_args("encrypt"), 3, dict(HS_FAIL), [NO_TLS])
may_retry("tls_faults/weak-null/may", tls("valid", max="1.2", ciphers="NULL-SHA256:@SECLEVEL=0"))

# --- 3. Alerts and garbage instead of a ServerHello ---------------------------------------------
ALERTS = {"handshake-failure": 40, "protocol-version": 70, "internal-error": 80}
for tag, code in ALERTS.items():
    add("tls_faults/alert-%s/verify" % tag, CLS,
        [[send(GREETING), ehlo(CAPS_STARTTLS), starttls(), {"op": "tls_alert", "alert": code}]],
        level_args("verify"), 3, dict(HS_FAIL, **{"error.code": "tls_handshake_failed"}), [NO_TLS])
add("tls_faults/alert-unrecognized-name/verify", CLS,
    [starttls_prefix("valid", sni_alert=112) + txn()],
    level_args("verify"), 3, dict(HS_FAIL, **{"error.code": "tls_handshake_failed"}), [NO_TLS])
add("tls_faults/alert/implicit/verify", CLS, [[{"op": "tls_alert", "alert": 40}]],
    level_args("verify") + ["--implicit-tls"], 3, dict(HS_FAIL),
    [{"plain": "", "tls": "", "tls_established": False}])
add("tls_faults/smtp-instead-of-serverhello/verify", CLS,
    [[send(GREETING), ehlo(CAPS_STARTTLS), starttls(), {"op": "client_hello"},
      {"op": "raw", "data": "250 2.0.0 hello again\r\n"}, {"op": "fin"}]],
    level_args("verify"), 3, dict(HS_FAIL), [NO_TLS])
may_retry("tls_faults/alert-handshake-failure/may", {"op": "tls_alert", "alert": 40})

# --- 4. close_notify at each stage (verify, STARTTLS) ---------------------------------------------
CN = {"op": "close_notify"}
FIN = {"op": "fin"}
add("tls_faults/close-notify-before-ehlo/verify", CLS,
    [[send(GREETING), ehlo(CAPS_STARTTLS), starttls(), tls("valid"), CN, FIN]],
    level_args("verify"), 2, {"outcome": "deferred", "recipients[0].outcome": "deferred"},
    [{"plain": E_EHLO + E_STARTTLS, "tls": "(?:" + E_EHLO + ")?" + QUIT_TAIL, "tls_established": True}])
add("tls_faults/close-notify-after-mail/verify", CLS,
    [starttls_prefix("valid") + [cmd(lit("MAIL FROM:<a@x.test>")), CN, FIN]],
    level_args("verify"), 2, {"outcome": "deferred", "recipients[0].outcome": "deferred"},
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + lit("MAIL FROM:<a@x.test>\r\n") + QUIT_TAIL}])
add("tls_faults/close-notify-no-fin/verify", CLS,
    [starttls_prefix("valid") + [cmd(lit("MAIL FROM:<a@x.test>")), CN, {"op": "stall", "seconds": 15}]],
    level_args("verify"), 2, {"outcome": "deferred"},
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + lit("MAIL FROM:<a@x.test>\r\n") + QUIT_TAIL}],
    why="close_notify ends the TLS connection even if the TCP connection stays open: the client "
        "must not wait for a reply that can no longer come (it is not a timeout either way).")
add("tls_faults/close-notify-after-end-of-data/verify", CLS,
    [starttls_prefix("valid") + txn(data_reply=None) + [CN, FIN]],
    level_args("verify"), 4, {"outcome": "unknown", "recipients[0].outcome": "unknown"},
    [{"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + e_txn() + QUIT_TAIL}])

# --- 5. FIN and RST at each stage before the message (verify, STARTTLS) -----------------------
STAGES = {
    # stage: (script before the cut, exit, plaintext regex, tls regex, why)
    "at-accept": ([], 2, QUIT_TAIL, "", None),
    "mid-greeting": ([send("220 mail.adv")], [2, 5], QUIT_TAIL, "",
                     "A reply cut off by the close: connection loss (2), or reply_truncated, which "
                     "errc lists among protocol violations (5, which takes precedence)."),
    "after-ehlo": ([send(GREETING), ehlo(None)], 2, E_EHLO + QUIT_TAIL, "", None),
    "after-starttls": ([send(GREETING), ehlo(CAPS_STARTTLS), starttls(None)], [2, 3],
                       E_EHLO + E_STARTTLS + QUIT_TAIL, "",
                       "The connection is lost while the 220 to STARTTLS is due: 'connection lost' "
                       "(2) or 'TLS demand not met' (3); the contract does not decide."),
    "in-handshake": ([send(GREETING), ehlo(CAPS_STARTTLS), starttls(), {"op": "client_hello"}], 3,
                     E_EHLO + E_STARTTLS, "",
                     "A handshake that fails because the server hangs up is a failed handshake: "
                     "exit 3 takes precedence over 2."),
    "after-tls-ehlo": (starttls_prefix("valid", tls_caps=None), 2, E_EHLO + E_STARTTLS, E_EHLO + QUIT_TAIL, None),
    "after-mail": (starttls_prefix("valid") + [mail(None)], 2, E_EHLO + E_STARTTLS,
                   E_EHLO + lit("MAIL FROM:<a@x.test>\r\n") + QUIT_TAIL, None),
}
for stage, (script, code, plain, tls_re, why) in STAGES.items():
    for how in ("fin", "rst"):
        j = {"outcome": {"any": [{2: "deferred", 3: "tls_failed", 5: "protocol_error"}[c] for c in code]}
             if isinstance(code, list) else {2: "deferred", 3: "tls_failed"}[code]}
        conn = {"plain": plain, "tls": tls_re}
        add("tls_faults/%s-%s/verify" % (how, stage), CLS, [script + [{"op": how}]],
            level_args("verify"), code, j, [conn], why=why)

add("tls_faults/fin-after-handshake/implicit/verify", CLS, [[tls("valid"), FIN]],
    level_args("verify") + ["--implicit-tls"], 2, {"outcome": "deferred"},
    [{"plain": "", "tls": QUIT_TAIL, "tls_established": True}])
add("tls_faults/rst-in-handshake/implicit/verify", CLS, [[{"op": "client_hello"}, {"op": "rst"}]],
    level_args("verify") + ["--implicit-tls"], 3, {"outcome": "tls_failed"},
    [{"plain": "", "tls": ""}])
add("tls_faults/stall-in-handshake/verify", CLS,
    [[send(GREETING), ehlo(CAPS_STARTTLS), starttls(), {"op": "client_hello"}, {"op": "stall", "seconds": 15}]],
    level_args("verify"), [2, 3],
    {"outcome": {"any": ["deferred", "tls_failed"]}, "error.code": "tls_handshake_timeout"},
    [NO_TLS], common={"--timeout": "2"}, limit=20,
    why="A handshake that times out is both 'a failed handshake' (3) and 'a timeout before the "
        "end of data' (2); the contract does not say which wins, so either is accepted.")
