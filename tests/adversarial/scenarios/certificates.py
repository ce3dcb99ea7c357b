"""Certificates: every bad certificate over STARTTLS and implicit TLS, names and SNI, pins, DANE.

Issue 4 (verification per RFC 9525: DNS-ID/IP-ID only, no CN fallback, one wildcard as the
whole left-most label; minimum key strength and no SHA-1 in strict levels; pins on the
certificate or its SubjectPublicKeyInfo; DANE per RFC 7672), issue 6 (exit 3, `tls`
verify_result in the RFC 8460 vocabulary).  Certificates come from certs.py.
"""
from _lib import (hello_checks, E_EHLO, E_STARTTLS, NAME, QUIT_TAIL, TAIL, caps, delivered, e_txn, ehlo,
                  implicit_prefix, level_args, scenario, send, starttls, starttls_prefix, tls,
                  tls_ok, txn)

CLS = "certificates"
SCENARIOS = []

WHY_UNTRUSTED = ("RFC 8460 4.3.1 names a chain that cannot be built 'certificate-not-trusted'; the "
                 "contract lists 'validation-failure' as its general result; either is accepted.")
UNTRUSTED = ["certificate-not-trusted", "validation-failure"]
MISMATCH = "certificate-host-mismatch"

# cert: (error.code, verify_result or None, why)
BAD = {
    "expired": ("certificate_expired", "certificate-expired", None),
    "notyet": ("certificate_not_yet_valid", "certificate-not-yet-valid", None),
    "othername": ("certificate_name_mismatch", MISMATCH, None),
    "selfsigned": ("certificate_untrusted", UNTRUSTED, WHY_UNTRUSTED),
    "untrusted": ("certificate_untrusted", UNTRUSTED, WHY_UNTRUSTED),
    "noint": ("certificate_untrusted", UNTRUSTED,
              "The server sends its leaf without the intermediate; the client has only the root. "
              + WHY_UNTRUSTED),
    "cnonly": ("certificate_name_mismatch", MISMATCH, "RFC 9525 6.2.1: no fallback to the subject CN."),
    "wild_partial": ("certificate_name_mismatch", MISMATCH, "RFC 9525 6.3: no partial-label wildcards."),
    "wild_deep": ("certificate_name_mismatch", MISMATCH, "A wildcard matches exactly one label."),
    "wild_inner": ("certificate_name_mismatch", MISMATCH, "A wildcard only as the whole left-most label."),
    "wild_tld": ("certificate_name_mismatch", MISMATCH, "*.test covers one label under .test, not two."),
    "rsa1024": ("weak_key", None, "Issue 4: RSA >= 2048 in strict levels; RFC 8460 has no result "
                                  "for it, so only error.code is checked."),
    "sha1": (None, None, "Issue 4/6: no SHA-1 signatures in strict levels. Whether this surfaces "
                         "as certificate_invalid, certificate_untrusted or a handshake failure "
                         "is open; the outcome must be tls_failed."),
}


def add(*a, **k):
    SCENARIOS.append(scenario(*a, **k))


def served(cert):
    """(certificate name, tls op options) for a bad-certificate key."""
    if cert == "noint":
        return "valid", {"chain": False}
    return cert, {}


# --- 1. Every bad certificate, STARTTLS and implicit TLS, under verify ---------------------------
for cert, (code, result, why) in BAD.items():
    name, kw = served(cert)
    j = {"outcome": "tls_failed", "tls.verified": False}
    if code:
        j["error.code"] = code
    if result:
        j["tls.verify_result"] = result if isinstance(result, str) else {"any": result}
    add("certificates/%s/starttls/verify" % cert, CLS, [starttls_prefix(name, **kw) + txn()],
        level_args("verify"), 3, j,
        [{"plain": E_EHLO + E_STARTTLS, "tls": QUIT_TAIL, "sni": NAME}], why=why)
    add("certificates/%s/implicit/verify" % cert, CLS, [implicit_prefix(name, **kw) + txn()],
        level_args("verify") + ["--implicit-tls"], 3, j,
        [{"plain": "", "tls": QUIT_TAIL, "sni": NAME}], why=why)

# --- 2. Good certificates and names --------------------------------------------------------------
OK_T = {"plain": E_EHLO + E_STARTTLS, "tls": E_EHLO + e_txn() + TAIL, "tls_established": True}
OK_I = {"plain": "", "tls": E_EHLO + e_txn() + TAIL, "tls_established": True}
add("certificates/valid/implicit/verify", CLS, [implicit_prefix("valid") + txn()],
    level_args("verify") + ["--implicit-tls"], 0,
    delivered(dict(tls_ok(), **{"tls.peer_fingerprint_sha256": {"hex": "{fp:valid}"},
                                "tls.received_clause": {"re": r"version=TLS1_3 cipher=\S+ bits=\d+/\d+"},
                                "tls.policy": "verify"})),
    [dict(OK_I, sni=NAME, **hello_checks("verify"))])
add("certificates/valid-ec/implicit/verify", CLS, [implicit_prefix("valid_ec") + txn()],
    level_args("verify") + ["--implicit-tls"], 0, delivered(tls_ok()), [dict(OK_I, sni=NAME)])
add("certificates/wildcard/starttls/verify", CLS, [starttls_prefix("wild") + txn()],
    level_args("verify"), 0, delivered(tls_ok()), [dict(OK_T, sni=NAME)])
add("certificates/wildcard/implicit/verify", CLS, [implicit_prefix("wild") + txn()],
    level_args("verify") + ["--implicit-tls"], 0, delivered(tls_ok()), [dict(OK_I, sni=NAME)])
add("certificates/ip-reference/starttls/verify", CLS, [starttls_prefix("valid") + txn()],
    ["--tls", "verify", "--ca-file", "{ca}"], 0, delivered(tls_ok()), [dict(OK_T, sni=None)],
    why="No --servername: the reference identity is 127.0.0.1, matched against the IP-ID; "
        "RFC 6066 3 forbids an IP literal in SNI, so no server_name extension.")
add("certificates/ipv6-reference/implicit/verify", CLS, [implicit_prefix("valid") + txn()],
    ["--tls", "verify", "--ca-file", "{ca}", "--implicit-tls"], 0, delivered(tls_ok()),
    [dict(OK_I, sni=None)], bind="::1")
add("certificates/sni-alabel/starttls/verify", CLS, [starttls_prefix("idn") + txn()],
    ["--tls", "verify", "--ca-file", "{ca}", "--servername", "xn--mil-qla.adv.test"], 0,
    delivered(tls_ok()), [dict(OK_T, sni="xn--mil-qla.adv.test")])
add("certificates/sni-ulabel/starttls/verify", CLS, [starttls_prefix("idn") + txn()],
    ["--tls", "verify", "--ca-file", "{ca}", "--servername", "m\u00e4il.adv.test"], 0,
    delivered(tls_ok()), [dict(OK_T, sni="xn--mil-qla.adv.test")],
    why="Issue 4: SNI is always the A-label. A U-label --servername is converted (IDNA) rather "
        "than refused.")
add("certificates/sni-trailing-dot/starttls/verify", CLS, [starttls_prefix("valid") + txn()],
    ["--tls", "verify", "--ca-file", "{ca}", "--servername", NAME + "."], 0,
    delivered(tls_ok()), [dict(OK_T, sni=NAME)],
    why="Issue 4: SNI without the trailing dot; the absolute name still matches the certificate.")
add("certificates/sni-uppercase/starttls/verify", CLS, [starttls_prefix("valid") + txn()],
    ["--tls", "verify", "--ca-file", "{ca}", "--servername", NAME.upper()], 0,
    delivered(tls_ok()), [dict(OK_T, sni={"re": "(?i)" + NAME.replace(".", r"\.")})],
    why="DNS names compare case-insensitively (RFC 9525 6.3); the SNI's case is not checked.")

# --- 3. The reference name is the caller's, never one learned from the server --------------------
OTHER_CAPS = caps("ENHANCEDSTATUSCODES", "STARTTLS", name="other.adv.test")
add("certificates/name-from-greeting/starttls/verify", CLS,
    [[send("220 other.adv.test ESMTP\r\n"), ehlo(OTHER_CAPS), starttls(), tls("othername"),
      ehlo(caps(name="other.adv.test"))] + txn()],
    level_args("verify"), 3, {"outcome": "tls_failed", "error.code": "certificate_name_mismatch"},
    [{"plain": E_EHLO + E_STARTTLS, "tls": QUIT_TAIL}])
add("certificates/name-from-greeting-ip/starttls/verify", CLS,
    [[send("220 other.adv.test ESMTP\r\n"), ehlo(OTHER_CAPS), starttls(), tls("othername"),
      ehlo(caps(name="other.adv.test"))] + txn()],
    ["--tls", "verify", "--ca-file", "{ca}"], 3,
    {"outcome": "tls_failed", "error.code": "certificate_name_mismatch"},
    [{"plain": E_EHLO + E_STARTTLS, "tls": QUIT_TAIL, "sni": None}],
    why="Reference identity 127.0.0.1 (from --server); the greeting's name must not be used.")

# --- 4. Levels that do not check the certificate -----------------------------------------------
for level, cert in (("encrypt", "expired"), ("encrypt", "selfsigned"), ("encrypt", "rsa1024"),
                    ("may", "untrusted"), ("may", "othername")):
    add("certificates/%s/starttls/%s" % (cert, level), CLS, [starttls_prefix(cert) + txn()],
        level_args(level), 0, delivered({"tls.verified": False, "tls.version": "TLSv1.3"}),
        [dict(OK_T)],
        why="Issue 4: encrypt = TLS required, certificate not checked; may = opportunistic. "
            "The reason it is unverified is not asserted (whether it is computed is open).")

# --- 5. Pins (--fingerprint) -------------------------------------------------------------------
FP = "--fingerprint"
add("certificates/pin-cert-selfsigned/starttls/fingerprint", CLS, [starttls_prefix("selfsigned") + txn()],
    ["--tls", "fingerprint", FP, "sha256:{fp:selfsigned}", "--servername", NAME], 0,
    delivered(tls_ok()), [dict(OK_T)],
    why="A matching pin authenticates the peer (Postfix 'fingerprint': no chain or name check); "
        "it is reported as verified.")
add("certificates/pin-spki-colons-uppercase/starttls/fingerprint", CLS, [starttls_prefix("valid") + txn()],
    ["--tls", "fingerprint", FP, "sha256:{spkic:valid}", "--servername", NAME], 0,
    delivered(tls_ok()), [dict(OK_T)])
add("certificates/pin-second-matches/implicit/fingerprint", CLS, [implicit_prefix("untrusted") + txn()],
    ["--tls", "fingerprint", FP, "sha256:{fp:valid}", FP, "sha256:{fp:untrusted}", "--implicit-tls",
     "--servername", NAME], 0, delivered(tls_ok()), [dict(OK_I)])
add("certificates/pin-mismatch/starttls/fingerprint", CLS, [starttls_prefix("othername") + txn()],
    ["--tls", "fingerprint", FP, "sha256:{fp:valid}", "--servername", NAME], 3,
    {"outcome": "tls_failed", "error.code": "fingerprint_mismatch", "tls.verified": False},
    [{"plain": E_EHLO + E_STARTTLS, "tls": QUIT_TAIL}])
add("certificates/pin-intermediate/starttls/fingerprint", CLS, [starttls_prefix("valid") + txn()],
    ["--tls", "fingerprint", FP, "sha256:{fp:int}", "--servername", NAME], 3,
    {"outcome": "tls_failed", "error.code": "fingerprint_mismatch"},
    [{"plain": E_EHLO + E_STARTTLS, "tls": QUIT_TAIL}],
    why="A pin is matched against the peer's own certificate or key, not its issuer's.")

# --- 6. DANE (TLSA records given with --tlsa; RFC 7672) ----------------------------------------
TL = "--tlsa"


def dane(tag, cert, records, exit_code, j=None, level="dane-only", implicit=False, why=None, kw=None):
    args = ["--tls", level, "--servername", NAME]
    for r in records:
        args += [TL, r]
    if implicit:
        args.append("--implicit-tls")
    script = (implicit_prefix(cert, **(kw or {})) if implicit else starttls_prefix(cert, **(kw or {}))) + txn()
    if exit_code == 0:
        conn = dict(OK_I if implicit else OK_T)
        j = delivered(dict(tls_ok(), **(j or {})))
    else:
        conn = {"plain": "" if implicit else E_EHLO + E_STARTTLS, "tls": QUIT_TAIL}
        j = dict({"outcome": "tls_failed", "tls.verified": False}, **(j or {}))
    add("certificates/dane-%s/%s/%s" % (tag, "implicit" if implicit else "starttls", level), CLS, [script],
        args, exit_code, j, [conn], why=why)


WHY_EE = "RFC 7672 3.1.1: with DANE-EE(3) the certificate's names and dates are not checked."
dane("ee-spki-expired", "expired", ["3 1 1 {spki:expired}"], 0, why=WHY_EE)
dane("ee-spki-othername", "othername", ["3 1 1 {spki:othername}"], 0, why=WHY_EE)
dane("ee-cert-selfsigned", "selfsigned", ["3 0 1 {fp:selfsigned}"], 0)
dane("ee-spki-sha512", "valid", ["3 1 2 {spki512:valid}"], 0)
dane("ee-spki-full", "valid", ["3 1 0 {spkider:valid}"], 0)
dane("ee-implicit", "valid", ["3 1 1 {spki:valid}"], 0, implicit=True)
dane("unusable-plus-ee", "valid", ["0 0 1 {fp:valid}", "3 1 1 {spki:valid}"], 0,
     why="RFC 7672 3.1.3: PKIX usages are unusable and ignored; the DANE-EE record decides.")
dane("ta-intermediate", "valid", ["2 0 1 {fp:int}"], 0)
dane("ta-name-mismatch", "othername", ["2 0 1 {fp:int}"], 3,
     {"error.code": {"any": ["certificate_name_mismatch", "tlsa_mismatch"]}},
     why="RFC 7672 3.2.2: DANE-TA(2) still needs the reference name in the certificate.")
dane("ta-not-in-chain", "valid", ["2 0 1 {fp:int}"], 3, {"error.code": {"any": ["tlsa_mismatch",
                                                                                 "certificate_untrusted"]}},
     kw={"chain": False},
     why="RFC 7672 3.2.2: the DANE-TA certificate must be in the chain the server presents.")
dane("ee-mismatch", "valid", ["3 1 1 {spki:othername}"], 3, {"error.code": "tlsa_mismatch"})
dane("ee-mismatch", "valid", ["3 1 1 {spki:othername}"], 3, {"error.code": "tlsa_mismatch"}, level="dane",
     why="RFC 7672 2.2: usable TLSA records make TLS and a match mandatory, also under 'dane'.")
dane("pkix-only", "valid", ["0 0 1 {fp:valid}", "1 1 1 {spki:valid}"], 3, {"error.code": "tlsa_unusable"},
     why="RFC 7672 3.1.3: PKIX-TA(0) and PKIX-EE(1) are not usable for SMTP; dane-only fails.")
