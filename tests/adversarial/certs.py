#!/usr/bin/python3
"""Certificates for the adversarial suite, generated per run with the `openssl` command.

Test tooling only: the library never runs openssl.  `generate(dir)` builds a small PKI in
`dir` and returns (and writes as `manifest.json`) a manifest:

    {"ca": "<root.pem>", "certs": {NAME: {"chain": PEM leaf+chain, "key": PEM, "cert": PEM,
                                          "sha256": hex of the DER certificate,
                                          "spki_sha256": hex of the DER SubjectPublicKeyInfo,
                                          "what": description}}}

Trust: `ca` (root.pem) is the only trust anchor the client is given.  Leaves are issued by an
intermediate `int`; the served chain is leaf + intermediate unless the server is told otherwise.

Usage: certs.py DIR  (prints the manifest)
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys

NAME = "mail.adv.test"          # the reference identity used by the scenarios
IDN_ULABEL = "m\u00e4il.adv.test"  # its IDN sibling; the certificate carries the A-label
IDN_ALABEL = IDN_ULABEL.encode("idna").decode("ascii")

_CA_CNF = """\
[ ca ]
default_ca = adv
[ adv ]
dir = {dir}
database = $dir/index.txt
serial = $dir/serial.txt
new_certs_dir = $dir/new
certificate = $dir/{issuer}.pem
private_key = $dir/{issuer}.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
email_in_dn = no
[ anything ]
commonName = optional
organizationName = optional
[ leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ leaf_san ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = {san}
[ intca ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""

_ROOT_EXT = ("-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")

# name: (key, issuer, subject CN, SAN or None, start, end, digest, description)
# key: "rsa2048" | "rsa1024" | "ec"; issuer: "int" | "evilroot" | "self"
_LEAVES = {
    "valid":       ("rsa2048", "int", NAME, f"DNS:{NAME},IP:127.0.0.1,IP:::1", None, None, "sha256",
                    "valid for mail.adv.test, 127.0.0.1 and ::1 (RSA-2048)"),
    "valid_ec":    ("ec", "int", NAME, f"DNS:{NAME},IP:127.0.0.1,IP:::1", None, None, "sha256",
                    "valid for mail.adv.test (EC P-256)"),
    "expired":     ("ec", "int", NAME, f"DNS:{NAME},IP:127.0.0.1", "20200101000000Z", "20210101000000Z",
                    "sha256", "expired in 2021"),
    "notyet":      ("ec", "int", NAME, f"DNS:{NAME},IP:127.0.0.1", "20990101000000Z", "21000101000000Z",
                    "sha256", "valid only from 2099"),
    "othername":   ("ec", "int", "other.adv.test", "DNS:other.adv.test", None, None, "sha256",
                    "valid, but for other.adv.test"),
    "selfsigned":  ("ec", "self", NAME, f"DNS:{NAME},IP:127.0.0.1", None, None, "sha256",
                    "self-signed leaf for mail.adv.test"),
    "untrusted":   ("ec", "evilroot", NAME, f"DNS:{NAME},IP:127.0.0.1", None, None, "sha256",
                    "for mail.adv.test, issued by a root the client does not trust"),
    "cnonly":      ("ec", "int", NAME, None, None, None, "sha256",
                    "CN=mail.adv.test and no subjectAltName (no CN fallback, RFC 9525)"),
    "wild":        ("ec", "int", "*.adv.test", "DNS:*.adv.test", None, None, "sha256",
                    "wildcard *.adv.test (matches mail.adv.test)"),
    "wild_partial": ("ec", "int", "m*.adv.test", "DNS:m*.adv.test", None, None, "sha256",
                     "partial-label wildcard m*.adv.test (must not match)"),
    "wild_deep":   ("ec", "int", "*.mail.adv.test", "DNS:*.mail.adv.test", None, None, "sha256",
                    "wildcard one level too deep: *.mail.adv.test"),
    "wild_inner":  ("ec", "int", "mail.*.test", "DNS:mail.*.test", None, None, "sha256",
                    "wildcard not in the left-most label: mail.*.test"),
    "wild_tld":    ("ec", "int", "*.test", "DNS:*.test", None, None, "sha256",
                    "wildcard *.test (one label only: must not match mail.adv.test)"),
    "rsa1024":     ("rsa1024", "int", NAME, f"DNS:{NAME},IP:127.0.0.1", None, None, "sha256",
                    "valid names and dates, RSA-1024 key"),
    "sha1":        ("rsa2048", "int", NAME, f"DNS:{NAME},IP:127.0.0.1", None, None, "sha1",
                    "valid names and dates, signed with SHA-1"),
    "idn":         ("ec", "int", IDN_ALABEL, f"DNS:{IDN_ALABEL}", None, None, "sha256",
                    f"valid for the IDN {IDN_ALABEL} (A-label)"),
}


def _run(args, cwd):
    p = subprocess.run(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("openssl failed: %s\n%s" % (" ".join(args), p.stderr.decode(errors="replace")))
    return p.stdout


def _key(kind, path, cwd):
    if kind == "ec":
        _run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-out", path], cwd)
    else:
        bits = kind[3:]
        _run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:" + bits,
              "-out", path], cwd)


def _read(path):
    with open(path, "r", encoding="ascii") as f:
        return f.read()


def _write(path, text):
    with open(path, "w", encoding="ascii") as f:
        f.write(text)


def _der(pem_text):
    import ssl
    return ssl.PEM_cert_to_DER_cert(pem_text)


def _spki_der(cert_path, cwd):
    pub = _run(["openssl", "x509", "-in", cert_path, "-noout", "-pubkey"], cwd)
    p = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, cwd=cwd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("openssl pkey failed: " + p.stderr.decode(errors="replace"))
    return p.stdout


def _ca_sign(d, issuer, csr, out, ext_section, san, start, end, md):
    cnf = os.path.join(d, "ca-%s.cnf" % issuer)
    _write(cnf, _CA_CNF.format(dir=d, issuer=issuer, san=san or "DNS:unused.invalid"))
    args = ["openssl", "ca", "-batch", "-config", cnf, "-in", csr, "-out", out, "-notext",
            "-md", md, "-extensions", ext_section]
    if start:
        args += ["-startdate", start, "-enddate", end]
    else:
        args += ["-startdate", "20240101000000Z", "-days", "3650"]
    _run(args, d)


def generate(d):
    """Build the PKI in directory `d` (created if needed); return the manifest."""
    os.makedirs(d, exist_ok=True)
    os.makedirs(os.path.join(d, "new"), exist_ok=True)
    _write(os.path.join(d, "index.txt"), "")
    _write(os.path.join(d, "index.txt.attr"), "unique_subject = no\n")
    _write(os.path.join(d, "serial.txt"), "1000\n")
    # Roots: the trusted one and an untrusted one ("evil").
    for name, cn in (("root", "smtpio adversarial root"), ("evilroot", "untrusted adversarial root")):
        _key("rsa2048", name + ".key", d)
        _run(["openssl", "req", "-x509", "-new", "-key", name + ".key", "-subj", "/CN=" + cn,
              "-days", "3650", "-sha256", "-out", name + ".pem", *_ROOT_EXT], d)
    # The intermediate, issued by the root.
    _key("rsa2048", "int.key", d)
    _run(["openssl", "req", "-new", "-key", "int.key", "-subj", "/CN=smtpio adversarial intermediate",
          "-out", "int.csr"], d)
    _ca_sign(d, "root", "int.csr", "int.pem", "intca", None, None, None, "sha256")
    certs = {}
    for name, (kind, issuer, cn, san, start, end, md, what) in _LEAVES.items():
        key = name + ".key"
        _key(kind, key, d)
        cert = name + ".pem"
        if issuer == "self":
            args = ["openssl", "req", "-x509", "-new", "-key", key, "-subj", "/CN=" + cn,
                    "-days", "3650", "-sha256", "-out", cert,
                    "-addext", "basicConstraints=critical,CA:FALSE",
                    "-addext", "extendedKeyUsage=serverAuth"]
            if san:
                args += ["-addext", "subjectAltName=" + san]
            _run(args, d)
        else:
            _run(["openssl", "req", "-new", "-key", key, "-subj", "/CN=" + cn, "-out", name + ".csr"], d)
            _ca_sign(d, issuer, name + ".csr", cert, "leaf_san" if san else "leaf", san, start, end, md)
        leaf_pem = _read(os.path.join(d, cert))
        chain = leaf_pem
        if issuer == "int":
            chain += _read(os.path.join(d, "int.pem"))
        elif issuer == "evilroot":
            chain += _read(os.path.join(d, "evilroot.pem"))
        _write(os.path.join(d, name + ".chain.pem"), chain)
        certs[name] = {
            "chain": os.path.join(d, name + ".chain.pem"),
            "cert": os.path.join(d, cert),
            "key": os.path.join(d, key),
            "sha256": hashlib.sha256(_der(leaf_pem)).hexdigest(),
            "spki_sha256": hashlib.sha256(_spki_der(cert, d)).hexdigest(),
            "spki_sha512": hashlib.sha512(_spki_der(cert, d)).hexdigest(),
            "spki_der_hex": _spki_der(cert, d).hex(),
            "what": what,
        }
    for name in ("int", "root"):
        pem = _read(os.path.join(d, name + ".pem"))
        certs[name] = {"chain": os.path.join(d, name + ".pem"), "cert": os.path.join(d, name + ".pem"),
                       "key": os.path.join(d, name + ".key"),
                       "sha256": hashlib.sha256(_der(pem)).hexdigest(),
                       "spki_sha256": hashlib.sha256(_spki_der(name + ".pem", d)).hexdigest(),
                       "spki_sha512": hashlib.sha512(_spki_der(name + ".pem", d)).hexdigest(),
                       "spki_der_hex": _spki_der(name + ".pem", d).hex(),
                       "what": "the %s CA" % name}
    # FFDHE-2048 parameters (RFC 7919) for servers that offer DHE suites.
    _run(["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "dh_param:ffdhe2048",
          "-out", "dh.pem"], d)
    manifest = {"dir": d, "ca": os.path.join(d, "root.pem"), "dhparams": os.path.join(d, "dh.pem"),
                "certs": certs}
    with open(os.path.join(d, "manifest.json"), "w", encoding="ascii") as f:
        json.dump(manifest, f, indent=1)
    return manifest


def main(argv):
    if len(argv) != 2:
        print("usage: certs.py DIR", file=sys.stderr)
        return 64
    if shutil.which("openssl") is None:
        print("certs.py: the openssl command is required", file=sys.stderr)
        return 1
    m = generate(os.path.abspath(argv[1]))
    json.dump(m, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
