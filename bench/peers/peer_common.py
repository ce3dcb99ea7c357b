"""Command line and report shared by the Python peers of bench/run.

Every peer of the benchmark takes the same options and prints one JSON object
on stdout, so that bench/run drives them all the same way:

  --host H --port P          where the sink listens (an address: no DNS lookup)
  --count N                  messages to send (0: start, report, exit; bench/run
                             measures the start-up cost this way)
  --message FILE             the message, sent as-is (CRLF line ends, no leading dots)
  --from ADDR --to ADDR      envelope
  --helo NAME                EHLO name
  --tls                      STARTTLS required (RFC 3207), TLS 1.3 only, the
                             certificate verified against --ca-file and --servername
  --mode reuse|session|pool  reuse: one connection for all messages; session: a new
                             connection (and TLS session) per message; pool:
                             --connections connections in parallel
  --connections C            connections in pool mode

Report: {"peer", "version", "mode", "count", "accepted", "connections",
"tls": null | {"version", "cipher"}, "elapsed": seconds from before the first
connect to after the last QUIT, "cpu": user+system CPU seconds of the process
over that same span (start-up excluded), "error": null | "..."}.
Exit status: 0 when every message was accepted, 1 otherwise.
"""

import argparse
import json
import ssl
import sys


def parse_args(peer, modes):
    parser = argparse.ArgumentParser(prog=peer, description=f"bench/run peer: {peer}")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--message", required=True)
    parser.add_argument("--from", dest="sender", default="bench@client.bench.test")
    parser.add_argument("--to", dest="recipient", default="sink@mx.bench.test")
    parser.add_argument("--helo", default="client.bench.test")
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--ca-file")
    parser.add_argument("--servername", default="mx.bench.test")
    parser.add_argument("--mode", choices=modes, default="reuse")
    parser.add_argument("--connections", type=int, default=1)
    args = parser.parse_args()
    if args.count < 0 or args.connections < 1:
        parser.error("--count must be >= 0 and --connections >= 1")
    if args.tls and not args.ca_file:
        parser.error("--tls needs --ca-file")
    with open(args.message, "rb") as f:
        args.body = f.read()
    return args


def tls_context(args):
    """A client context that verifies the chain and the name, TLS 1.3 only."""
    ctx = ssl.create_default_context(cafile=args.ca_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def report(peer, version, args, accepted, connections, tls, elapsed, cpu, error=None):
    print(json.dumps({
        "peer": peer, "version": version, "mode": args.mode, "count": args.count,
        "accepted": accepted, "connections": connections, "tls": tls,
        "elapsed": round(elapsed, 6), "cpu": round(cpu, 6), "error": error,
    }))
    sys.stdout.flush()
    return 0 if accepted == args.count and error is None else 1
