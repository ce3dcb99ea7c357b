#!/usr/bin/python3
"""Writes the seed inputs of smtpio's fuzz targets into tests/fuzz/corpus/<target>/.

Each seed is named seed-<what>; files named crash-*, regress-* or anything else
(regression cases, inputs the fuzzer found) are left alone.  Run it again after
changing a seed here; it only rewrites seed-* files.  The input layout of each
target is described at the top of its .cpp file.

    /usr/bin/python3 tests/fuzz/make_seeds.py
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

# ---- realistic server conversations (greeting, EHLO, MAIL, 3 RCPT, DATA, end, QUIT) ----

POSTFIX_EHLO = (b"250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
                b"250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n"
                b"250 CHUNKING\r\n")
EXIM_EHLO = (b"250-mail.example.com Hello client.example.org [127.0.0.1]\r\n250-SIZE 52428800\r\n"
             b"250-8BITMIME\r\n250-PIPELINING\r\n250-PIPE_CONNECT\r\n250-CHUNKING\r\n250-PRDR\r\n250 HELP\r\n")
GMAIL_EHLO = (b"250-mx.google.com at your service, [192.0.2.1]\r\n250-SIZE 157286400\r\n250-8BITMIME\r\n"
              b"250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n")
MS_EHLO = (b"250-mail.example.org Hello [192.0.2.7]\r\n250-SIZE 37748736\r\n250-PIPELINING\r\n250-DSN\r\n"
           b"250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250-X-ANONYMOUSTLS\r\n250-AUTH NTLM LOGIN\r\n"
           b"250-AUTH=LOGIN\r\n250-X-EXPS GSSAPI NTLM\r\n250-8BITMIME\r\n250-BINARYMIME\r\n250-CHUNKING\r\n"
           b"250 XRDST\r\n")
PLAIN_EHLO = b"250-smtp.example.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
LOCKSTEP_EHLO = b"250-smtp.example.test\r\n250-SIZE\r\n250 8BITMIME\r\n"

POSTFIX = (b"220 mx.example.net ESMTP Postfix (Debian/GNU)\r\n" + POSTFIX_EHLO +
           b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
           b"354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued as 4F1A2B3C4D\r\n221 2.0.0 Bye\r\n")
EXIM = (b"220 mail.example.com ESMTP Exim 4.96 Sun, 29 Nov 2026 08:00:00 +0000\r\n" + EXIM_EHLO +
        b"250 OK\r\n250 Accepted\r\n250 Accepted\r\n250 Accepted\r\n"
        b"354 Enter message, ending with \".\" on a line by itself\r\n250 OK id=1kXyZ-000123-AB\r\n"
        b"221 mail.example.com closing connection\r\n")
GMAIL = (b"220 mx.google.com ESMTP a1-20020a170906 - gsmtp\r\n" + GMAIL_EHLO +
         b"250 2.1.0 OK a1-20020a170906 - gsmtp\r\n" + b"250 2.1.5 OK a1-20020a170906 - gsmtp\r\n" * 3 +
         b"354  Go ahead a1-20020a170906 - gsmtp\r\n250 2.0.0 OK  1700000000 a1-20020a170906 - gsmtp\r\n"
         b"221 2.0.0 closing connection a1-20020a170906 - gsmtp\r\n")
MIXED = (b"220-mx.example.net ESMTP\r\n220-No UCE\r\n220 ready\r\n" + POSTFIX_EHLO +
         b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <r2@example.net>: Recipient address rejected: User unknown\r\n"
         b"451 4.7.1 <r3@example.net>: Recipient address rejected: greylisted\r\n"
         b"354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued as ABC\r\n221 2.0.0 Bye\r\n")
ALL_REJECTED = (b"220 mx.example.net ESMTP\r\n" + POSTFIX_EHLO + b"250 2.1.0 Ok\r\n" +
                b"550 5.1.1 User unknown\r\n" * 3 + b"554 5.5.1 Error: no valid recipients\r\n221 2.0.0 Bye\r\n")
ALL_REJECTED_354 = (b"220 mx.example.net ESMTP\r\n" + PLAIN_EHLO + b"250 Ok\r\n" + b"550 no\r\n" * 3 +
                    b"354 go ahead anyway\r\n554 no valid recipients\r\n221 Bye\r\n")
TOO_MANY = (b"220 mx ESMTP\r\n" + LOCKSTEP_EHLO + b"250 ok\r\n250 ok\r\n452 4.5.3 Too many recipients\r\n"
            b"354 go\r\n250 queued\r\n221 bye\r\n")
MAIL_421 = b"220 mx ESMTP\r\n" + PLAIN_EHLO + b"421 4.3.2 Service shutting down\r\n"
EOD_552 = (b"220 mx ESMTP\r\n" + PLAIN_EHLO + b"250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"
           b"552 5.3.4 Message too big for system\r\n221 bye\r\n")
EOD_EOF = b"220 mx ESMTP\r\n" + PLAIN_EHLO + b"250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"
EOD_CUT = EOD_EOF + b"250 2.0.0 queu"
HELO_FALLBACK = (b"220 old.example ready\r\n502 5.5.2 Error: command not recognized\r\n250 old.example\r\n"
                 b"250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n250 ok queued\r\n221 bye\r\n")
BARE_CODES = (b"220\r\n250-x\r\n250 PIPELINING\r\n250\r\n250\r\n250\r\n250\r\n354\r\n250\r\n221\r\n")
BDAT = (b"220 mx.example.net ESMTP\r\n" + POSTFIX_EHLO + b"250 2.1.0 Ok\r\n" + b"250 2.1.5 Ok\r\n" * 3 +
        b"250 2.0.0 Ok: 89 bytes queued as XYZ\r\n221 2.0.0 Bye\r\n")
BDAT_FAIL = (b"220 mx.example.net ESMTP\r\n" + POSTFIX_EHLO + b"250 2.1.0 Ok\r\n" + b"250 2.1.5 Ok\r\n" * 3 +
             b"554 5.6.0 Message rejected\r\n250 2.0.0 reset\r\n221 2.0.0 Bye\r\n")
EARLY_552 = (b"220 mx ESMTP\r\n" + PLAIN_EHLO + b"250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"
             b"552 5.3.4 too much mail data\r\n")
MISMATCH = b"220 mx ESMTP\r\n250-mx\r\n251 PIPELINING\r\n"
MALFORMED = b"220 mx ESMTP\r\n250-mx\r\n25O PIPELINING\r\n"
SIZE_SMALL = b"220 mx ESMTP\r\n250-mx\r\n250-SIZE 10\r\n250 PIPELINING\r\n221 bye\r\n"
NO_8BIT = b"220 mx ESMTP\r\n250-mx\r\n250 PIPELINING\r\n221 bye\r\n"
GREETING_421 = b"421 4.3.2 mx.example.net Service not available\r\n"
GREETING_554 = b"554 5.7.1 No SMTP service here\r\n"
INJECTED = (b"220 mx ESMTP\r\n" + PLAIN_EHLO + b"250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"
            b"250 ok\r\n221 bye\r\n250 extra unsolicited\r\n")

# flags: bits 0-1 message, bit 2 no pipelining, bit 3 BDAT, bit 4 reset, bits 5-7 read size;
# split 255: one reply per push (a server that answers each command as it comes);
# 254: the same, pushed also after each write of the client.
A = 255
W = 254
SESSION = {
    "postfix": (0x00, A, POSTFIX),
    "postfix-bytewise": (0x20, 1, POSTFIX),
    "postfix-long-split": (0x01, 37, POSTFIX),
    "postfix-all-at-once": (0x00, 0, POSTFIX),
    "postfix-long": (0x01, A, POSTFIX),
    "postfix-reads1": (0x20, A, POSTFIX),
    "postfix-lockstep": (0x04, A, POSTFIX),
    "exim": (0x00, A, EXIM),
    "exim-reads7": (0x80, 200, EXIM),
    "gmail": (0x02, A, GMAIL),
    "gmail-barelf": (0x03, A, GMAIL),
    "mixed-outcomes": (0x00, A, MIXED),
    "mixed-lockstep": (0x04, A, MIXED),
    "all-rejected": (0x00, A, ALL_REJECTED),
    "all-rejected-354": (0x00, A, ALL_REJECTED_354),
    "too-many-recipients": (0x04, A, TOO_MANY),
    "mail-421": (0x00, A, MAIL_421),
    "eod-552": (0x00, A, EOD_552),
    "eod-eof": (0x00, A, EOD_EOF),
    "eod-reset": (0x10, A, EOD_EOF),
    "eod-cut": (0x00, 5, EOD_CUT),
    "helo-fallback": (0x00, A, HELO_FALLBACK),
    "bare-codes": (0x00, A, BARE_CODES),
    "bdat": (0x08, A, BDAT),
    "bdat-long": (0x09, A, BDAT + BDAT),
    "bdat-fail": (0x08, A, BDAT_FAIL),
    "bdat-lockstep": (0x0c, A, BDAT),
    "early-552": (0x01, W, EARLY_552),
    "postfix-long-on-write": (0x01, W, POSTFIX),
    "mixed-on-write": (0x00, W, MIXED),
    "mismatch": (0x00, 0, MISMATCH),
    "malformed": (0x00, 0, MALFORMED),
    "size-too-small": (0x00, A, SIZE_SMALL),
    "no-8bitmime": (0x02, A, NO_8BIT),
    "greeting-421": (0x00, 0, GREETING_421),
    "greeting-554": (0x00, 0, GREETING_554),
    "unsolicited": (0x00, A, INJECTED),
}

# ---- reply parser ----------------------------------------------------------------------

REPLIES = {
    "postfix": (0, 0, POSTFIX),
    "postfix-enhanced": (1, 0, POSTFIX),
    "gmail-bytewise": (1, 1, GMAIL),
    "exim-split": (0, 23, EXIM),
    "ms-split": (1, 150, MS_EHLO),
    "mixed-enhanced": (1, 5, MIXED),
    "small-limits": (2, 3, POSTFIX_EHLO),
    "tiny-limits": (6, 1, b"250\r\n250-a\r\n250 b\r\n"),
    "medium-limits": (4, 0, EXIM_EHLO),
    "bare-code": (0, 0, b"250\r\n"),
    "mismatch": (0, 0, b"250-a\r\n251 b\r\n"),
    "letter-o": (0, 0, b"25O ok\r\n"),
    "four-digits": (0, 0, b"2500\r\n"),
    "no-space": (0, 0, b"250OK\r\n"),
    "bare-cr": (0, 0, b"250 a\rb\r\n"),
    "bare-lf": (0, 0, b"250 ok\n"),
    "class-6": (0, 0, b"650 no\r\n"),
    "second-digit-6": (0, 0, b"260 no\r\n"),
    "cut-continuation": (0, 0, b"250-first\r\n250-second"),
    "enhanced-forms": (1, 0, b"550 5.1.1 <x@y>: unknown\r\n250 2.0.0\r\n451 4.7.1 later\r\n"
                             b"250 5.1.1 wrong class\r\n550 5.1234.1 too long\r\n550 5.1.1x no\r\n"),
    "long-line": (0, 0, b"250 " + b"x" * 4200 + b"\r\n"),
    "many-lines": (2, 0, b"250-a\r\n" * 5 + b"250 end\r\n"),
}

# ---- capabilities ------------------------------------------------------------------------

CAPS = {
    "postfix": b"\x00" + POSTFIX_EHLO,
    "exim": b"\x00" + EXIM_EHLO,
    "gmail": b"\x02" + GMAIL_EHLO,
    "microsoft": b"\x00" + MS_EHLO,
    "lower-case": b"\x00250-mx\r\n250-pipelining\r\n250-size 1000\r\n250-auth plain login\r\n250 starttls\r\n",
    "size-forms": b"\x01mx\nSIZE\nSIZE 0\nSIZE 99999999999999999999\nSIZE 12abc\n",
    "size-huge": b"\x01mx\nSIZE 9999999999999999999\n",
    "auth-repeats": b"\x01mx\nAUTH PLAIN LOGIN\nAUTH=LOGIN CRAM-MD5\nauth plain xoauth2\nAUTH\n",
    "tabs": b"\x01mx\nAUTH\tPLAIN\nAUTH=PLAIN\tLOGIN\nSIZE\t100\nX-FOO  a   b\n",
    "odd-keywords": b"\x01mx greets you\n-BAD\nGOOD-ONE x\n_UNDERSCORE\n8BITMIME\nBINARYMIME\nREQUIRETLS\nDSN\n",
    "one-line": b"\x00250 mx.example.net\r\n",
}

# ---- data encoder ------------------------------------------------------------------------

TYPICAL = (b"From: Alice <alice@example.org>\r\nTo: Bob <bob@example.net>\r\nSubject: Lunch\r\n"
           b"Date: Sun, 29 Nov 2026 08:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           b"Hi Bob,\r\n\r\nShall we meet at noon? The caf\xc3\xa9 on the corner.\r\n.\r\n..\r\n"
           b".signature\r\n-- \r\nAlice\r\n")
ENCODER = {
    "typical": (0x00, 0, TYPICAL),
    "typical-bytewise": (0x00, 1, TYPICAL),
    "typical-chunked": (0x01, 17, TYPICAL),
    "typical-binary": (0x02, 40, TYPICAL),
    "smuggling": (0x00, 3, b"a\n.\nb\r.\rc\r.\nd\n.\re\r\n.\nf\n.\r\ng\r.\r\nh\r\n.\ri\r\r\nj\r\n.\r\nend"),
    "smuggling-chunked": (0x01, 2, b"a\n.\nb\r.\rc\r.\nd\n.\re\r\n.\r\nend\r"),
    "dots": (0x00, 0, b".\r\n..\r\n.\n.\r.x\r\n"),
    "nul": (0x00, 0, b"ok\r\nbad\x00line\r\n"),
    "nul-binary": (0x02, 0, b"\x00\x01\x02\r\n\x00"),
    "long-line": (0x00, 130, b"x" * 999 + b"\r\n"),
    "limit-8": (0x08, 0, b"12345678\r\n123456789\r\n"),
    "limit-64-dots": (0x0c, 5, (b"." + b"y" * 70 + b"\n") * 3),
    "no-limit": (0x04, 200, b"z" * 3000),
    "cr-cr-lf": (0x00, 1, b"a\r\r\nb\r\r\r\n\r\n"),
    "no-final-eol": (0x00, 0, b"Subject: x\r\n\r\nlast line"),
    "empty": (0x00, 0, b""),
}

# ---- addresses ---------------------------------------------------------------------------

def address_seed(flags, addr, extra=b""):
    return bytes([flags, len(addr)]) + addr + extra

ADDRESS = {
    "plain": address_seed(0, b"user@example.com", b"env-id-1rfc822;orig@example.com"),
    "dsn": address_seed(0x7a, b"first.last+tag@mail.example.co.uk", b"QQ=+ x\x7fy"),
    "quoted": address_seed(0, b"\"john smith\\\"q\"@example.com"),
    "ipv4": address_seed(0, b"postmaster@[192.0.2.1]"),
    "ipv6": address_seed(0, b"u@[IPv6:2001:db8::1]"),
    "ipv6-v4": address_seed(0, b"u@[IPv6:::ffff:192.0.2.1]"),
    "utf8": address_seed(1, "用户@例子.广告".encode(), "ørcpt@例子.广告".encode()),
    "utf8-not-asked": address_seed(0, "jos\u00e9@example.com".encode()),
    "injection": address_seed(0, b"a@b.example\r\nRCPT TO:<evil@x>", b"x\r\ny"),
    "nul": address_seed(0, b"a\x00@b.example"),
    "postmaster": address_seed(0, b"Postmaster"),
    "empty": address_seed(0x80, b"", b"id"),
    "long-local": address_seed(0, b"a" * 65 + b"@example.com"),
    "long-domain": address_seed(0, b"a@" + b"b" * 63 + (b"." + b"c" * 63) * 2 + b"." + b"d" * 61),
    "bad-labels": address_seed(0, b"a@-b.example"),
    "dots": address_seed(0, b"a..b@example.com"),
    "helo-literal": address_seed(0, b"[127.0.0.1]"),
}


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "seed-" + name)
    with open(path, "wb") as f:
        f.write(data)


def main():
    for name, (flags, seed, data) in SESSION.items():
        write("fuzz_session", name, bytes([flags, seed]) + data)
    for name, (flags, seed, data) in REPLIES.items():
        write("fuzz_reply_parser", name, bytes([flags, seed]) + data)
    for name, data in CAPS.items():
        write("fuzz_capabilities", name, data)
    for name, (flags, seed, data) in ENCODER.items():
        write("fuzz_data_encoder", name, bytes([flags, seed]) + data)
    for name, data in ADDRESS.items():
        write("fuzz_address", name, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
