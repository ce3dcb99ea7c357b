#!/usr/bin/python3
"""bench/run's engine: runs smtpio-send and the peers side by side against one sink.

Started by bench/run (which installs and builds what is needed first); see
bench/README.md for the method and docs/performance.md for results.

Modes:
  (default)      every case x peer x placement, in turns, several repetitions, one table
  --sink-check   measure each sink alone (CPU per message, capacity), nothing else
  --callgrind    instructions per message for each peer (callgrind, N vs 2N messages)
"""

import argparse
import datetime
import glob
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
PEERS = os.path.join(BENCH, "peers")
PY = "/usr/bin/python3"

SENDER = "bench@client.bench.test"
RECIPIENT = "sink@mx.bench.test"
HELO = "client.bench.test"
SERVERNAME = "mx.bench.test"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Cases
class Case:
    def __init__(self, key, title, tls, size, mode, connections=1, unit="msg/s", resume=False):
        self.key, self.title, self.tls, self.size = key, title, tls, size
        self.mode, self.connections, self.unit = mode, connections, unit
        self.resume = resume  # new sessions that resume the first one's TLS session


CASES = {
    "a": Case("a", "reused connection, 2 KiB, plaintext", False, 2048, "reuse"),
    "b": Case("b", "reused connection, 2 KiB, STARTTLS TLS 1.3", True, 2048, "reuse"),
    "c": Case("c", "new STARTTLS session per message, 2 KiB (full handshakes)", True, 2048, "session",
              unit="sessions/s"),
    "d": Case("d", "reused connection, 100 KiB, STARTTLS TLS 1.3", True, 102400, "reuse", unit="MB/s"),
    "e": Case("e", "pool of 4 connections, 2 KiB, plaintext", False, 2048, "pool", connections=4),
    "r": Case("r", "new STARTTLS session per message, TLS session resumed (smtpio only; vs its own c)",
              True, 2048, "session", unit="sessions/s", resume=True),
}


# --------------------------------------------------------------------------------------------
# Peers
class Peer:
    """One column of the comparison: a program and the cases it takes part in."""

    def __init__(self, key, label, argv, cases, extra=(), is_smtpio=False):
        self.key, self.label, self.argv, self.cases = key, label, list(argv), set(cases)
        self.extra = list(extra)
        self.is_smtpio = is_smtpio

    def command(self, case, port, count, message, ca_file):
        if self.is_smtpio:
            return smtpio_command(self.argv, case, port, count, ca_file) + self.extra
        argv = self.argv + ["--host", "127.0.0.1", "--port", str(port), "--count", str(count),
                            "--message", message, "--from", SENDER, "--to", RECIPIENT,
                            "--helo", HELO, "--mode", case.mode]
        if case.mode == "pool":
            argv += ["--connections", str(case.connections)]
        if case.tls:
            argv += ["--tls", "--ca-file", ca_file, "--servername", SERVERNAME]
        return argv + self.extra

    def startup_command(self, message):
        """The same program sending nothing (it reports its version)."""
        if self.is_smtpio:
            return None
        return self.argv + ["--port", "1", "--count", "0", "--message", message] + self.extra


def smtpio_command(argv, case, port, count, ca_file):
    cmd = list(argv) + ["--server", f"127.0.0.1:{port}", "--helo", HELO, "--from", SENDER,
                        "--to", RECIPIENT, "--count", str(count), "--size", str(case.size), "--json"]
    if case.mode == "reuse":
        cmd += ["--connections", "1", "--per-connection", str(count)]
    elif case.mode == "session":
        cmd += ["--connections", "1", "--per-connection", "1"]
        if not case.resume:
            cmd += ["--no-resumption"]  # case c: full handshakes only
    else:
        cmd += ["--connections", str(case.connections),
                "--per-connection", str(math.ceil(count / case.connections))]
    if case.tls:
        cmd += ["--tls", "verify", "--ca-file", ca_file, "--servername", SERVERNAME, "--tls-min", "1.3"]
    else:
        cmd += ["--tls", "none"]
    extra = os.environ.get("SMTPIO_SEND_ARGS_" + case.key.upper(), "")
    return cmd + shlex.split(extra)


def find_smtpio_send(explicit):
    for path in [explicit, os.environ.get("SMTPIO_SEND"),
                 os.path.join(ROOT, "build/release/examples/smtpio-send")]:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return os.path.abspath(path)
    return None


def make_peers(work, smtpio_send):
    node = shutil.which("node") or "node"
    peers = [
        Peer("smtp-source", "smtp-source", [os.path.join(PEERS, "smtp-source-send")], "ae"),
        Peer("curl", "curl", [os.path.join(PEERS, "curl-send")], "abcd"),
        Peer("smtplib", "smtplib", [PY, os.path.join(PEERS, "smtplib-send")], "abcd"),
        Peer("aiosmtplib", "aiosmtplib", [PY, os.path.join(PEERS, "aiosmtplib-send")], "abcde"),
        Peer("nodemailer", "nodemailer", [node, os.path.join(PEERS, "nodemailer", "send.js")], "abcde"),
        Peer("poco", "POCO +NODELAY", [os.path.join(work, "poco-send")], "abcd", extra=["--nodelay"]),
        # As shipped, POCO stalls ~40 ms per message (Nagle); a, b and d show it, c adds nothing.
        Peer("poco-nagle", "POCO as shipped", [os.path.join(work, "poco-send")], "abd"),
    ]
    if smtpio_send:
        peers.append(Peer("smtpio", "smtpio-send", [smtpio_send], "abcder", is_smtpio=True))
        # BDAT where the sink offers CHUNKING: in bulk mode several small messages per write.
        peers.append(Peer("smtpio-bdat", "smtpio-send --chunking", [smtpio_send], "abde", extra=["--chunking"],
                          is_smtpio=True))
    return peers


def peer_label(peer, case):
    if case.mode == "pool" and not peer.is_smtpio:
        return f"{peer.label} (pool {case.connections})"
    return peer.label


# --------------------------------------------------------------------------------------------
# Sinks
COUNTER_RE = re.compile(r"(\w+)=(\d+)")


class Sink:
    """A sink process, pinned to a CPU, whose counters are read from its stdout."""

    def __init__(self, name, label, argv, port, work, standin=False):
        self.name, self.label, self.argv, self.port = name, label, argv, port
        self.standin = standin
        self.out_path = os.path.join(work, f"sink-{name}.out")
        self.err_path = os.path.join(work, f"sink-{name}.err")
        self.proc = None

    def start(self, cpu):
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        argv = (["taskset", "-c", str(cpu)] if cpu is not None else []) + self.argv
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sink {self.name} exited at start: "
                                   f"{open(self.err_path, errors='replace').read().strip()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.settimeout(2)
                    if s.recv(512).startswith(b"220"):
                        s.sendall(b"QUIT\r\n")
                        s.recv(512)
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"sink {self.name} does not answer on port {self.port}")

    def pin(self, cpu):
        subprocess.run(["taskset", "-a", "-p", "-c", str(cpu), str(self.proc.pid)], check=True,
                       stdout=subprocess.DEVNULL)

    def counters(self):
        """The last complete counter record, or None when the sink prints none."""
        with open(self.out_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            start = max(0, f.tell() - 4096)  # smtp-sink writes a record per event: read the tail
            f.seek(start)
            data = f.read()
        records = re.split(rb"[\r\n]", data)
        if start > 0:
            records = records[1:]  # may begin mid-record
        for rec in reversed(records[:-1]):  # the last piece may be half written
            if b"mesg=" in rec:
                return {k: int(v) for k, v in COUNTER_RE.findall(rec.decode("ascii", "replace"))}
        return None

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (all threads)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_smtpio_sink(explicit):
    candidates = [explicit, os.environ.get("SMTPIO_SINK")]
    candidates += sorted(glob.glob(os.path.join(ROOT, "build/release/**/smtpio-sink"), recursive=True))
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return os.path.abspath(path)
    return None


def make_sinks(args, work, certs):
    cert, key = os.path.join(certs, "server.pem"), os.path.join(certs, "server.key")
    sinks = {}
    port = free_port()
    smtpio_sink = find_smtpio_sink(args.tls_sink)
    if args.plain_sink == "smtp-sink":
        # Fastest smtp-sink set-up found (see bench/README.md): no dumps, no -v; -c (counters on
        # stdout) costs one small write per message, measured within noise.  Backlog 1024.
        argv = ["smtp-sink"] + (["-u", "nobody"] if os.geteuid() == 0 else []) + \
               ["-c", f"127.0.0.1:{port}", "1024"]
        sinks["plain"] = Sink("plain", "Postfix smtp-sink", argv, port, work)
    elif args.plain_sink == "smtpio-sink":
        if not smtpio_sink:
            sys.exit("bench: --plain-sink smtpio-sink, but no smtpio-sink found (set SMTPIO_SINK)")
        argv = [smtpio_sink, "--listen", f"127.0.0.1:{port}"]  # no certificate: no STARTTLS
        sinks["plain"] = Sink("plain", "smtpio-sink (no certificate: plaintext only)", argv, port, work)
    else:
        argv = [PY, os.path.join(HERE, "standin_sink.py"), "--listen", f"127.0.0.1:{port}", "--no-tls"]
        sinks["plain"] = Sink("plain", "STAND-IN Python sink (plaintext)", argv, port, work, standin=True)
    port = free_port()
    if smtpio_sink and not args.standin_tls_sink:
        argv = [smtpio_sink, "--listen", f"127.0.0.1:{port}", "--cert", cert, "--key", key]
        sinks["tls"] = Sink("tls", f"smtpio-sink ({os.path.relpath(smtpio_sink, ROOT)})", argv, port, work)
    else:
        argv = [PY, os.path.join(HERE, "standin_sink.py"), "--listen", f"127.0.0.1:{port}",
                "--cert", cert, "--key", key]
        sinks["tls"] = Sink("tls", "STAND-IN Python STARTTLS sink (bench/lib/standin_sink.py)", argv,
                            port, work, standin=True)
    return sinks


# --------------------------------------------------------------------------------------------
# Messages
def make_message(size):
    """A message of exactly `size` octets: CRLF lines, no line starting with '.'."""
    head = ("From: Bench Sender <bench@client.bench.test>\r\n"
            "To: <sink@mx.bench.test>\r\n"
            "Subject: smtpio benchmark message\r\n"
            "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
            f"Message-ID: <bench-{size}@client.bench.test>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n"
            "\r\n").encode()
    if size < len(head) + 2:
        raise ValueError(f"message size {size} is below the {len(head) + 2} octets of its header")
    alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "
    out = bytearray(head)
    i = 0
    while size - len(out) >= 80:
        line = bytes(alphabet[(i + k) % len(alphabet)] for k in range(76))
        out += line + b"\r\n"
        i += 7
    out += b"x" * (size - len(out) - 2) + b"\r\n"
    assert len(out) == size
    return bytes(out)


# --------------------------------------------------------------------------------------------
# Running one measurement
class Child:
    """The client processes running now (so that a signal or a failure can end them)."""
    running = set()

    @staticmethod
    def kill_all():
        for proc in list(Child.running):
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: the peer and its children
            except ProcessLookupError:
                pass
        Child.running.clear()


def run_measured(argv, cpu, timeout, env=None):
    """Runs argv pinned to cpu; returns (exit, wall, user, sys, maxrss_kib, stdout, stderr)."""
    out_path = os.path.join(RUN_DIR, "child.out")
    err_path = os.path.join(RUN_DIR, "child.err")
    full = (["taskset", "-c", str(cpu)] if cpu is not None else []) + argv
    with open(out_path, "wb") as fo, open(err_path, "wb") as fe:
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=env)
        Child.running.add(proc)
        done = threading.Event()

        def expire():
            if not done.is_set():
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

        timer = threading.Timer(timeout, expire)
        timer.daemon = True  # an interrupted run must not wait for it
        timer.start()
        try:
            _, status, ru = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
        finally:
            done.set()
            timer.cancel()
            Child.running.discard(proc)
    proc.returncode = os.waitstatus_to_exitcode(status)
    with open(out_path, "rb") as f:
        stdout = f.read().decode("utf-8", "replace")
    with open(err_path, "rb") as f:
        stderr = f.read().decode("utf-8", "replace")
    if wall >= timeout:
        stderr += f"\n[bench: killed after {timeout:.0f} s]"
    return proc.returncode, wall, ru.ru_utime, ru.ru_stime, ru.ru_maxrss, stdout, stderr


def machine_busy_seconds():
    """CPU seconds spent by processes on this machine so far, all CPUs (/proc/stat), plus time
    stolen by the hypervisor.  Interrupt time is left out: most of it is the loopback traffic
    of the run itself, which the client's and sink's own times do not include."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    user, nice, system, _idle, _iowait, _irq, _softirq, steal = (int(x) for x in fields[1:9])
    return (user + nice + system + steal) / CLK_TCK


def wait_quiet(limit, threshold=0.15):
    """Waits (at most `limit` s) for a second in which the machine is nearly idle; returns the
    busy fraction (in CPUs) of the last second measured."""
    deadline = time.monotonic() + limit
    while True:
        b0 = machine_busy_seconds()
        time.sleep(1.0)
        busy = machine_busy_seconds() - b0
        if busy <= threshold or time.monotonic() >= deadline:
            return busy


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def wait_counters(sink, before, want_mesg, want_sess, limit=3.0):
    """Polls the sink's counters until they show the expected deltas (or `limit` passes)."""
    deadline = time.monotonic() + limit
    while True:
        now = sink.counters()
        if now is None:
            return None
        d = {k: now.get(k, 0) - (before or {}).get(k, 0) for k in now}
        if (d.get("mesg", 0) >= want_mesg and d.get("sess", 0) >= want_sess) or time.monotonic() > deadline:
            return d
        time.sleep(0.005)


def measure(peer, case, sink, placement, count, ctx):
    """One run of one peer on one case; validated against the sink's counters."""
    message = ctx["messages"][case.size]
    argv = peer.command(case, sink.port, count, message, ctx["ca_file"])
    before = sink.counters()
    sink_cpu0 = sink.cpu_seconds()
    busy0 = machine_busy_seconds()
    code, wall, user, sys_, rss, out, err = run_measured(argv, placement.client_cpu, ctx["timeout"])
    busy = machine_busy_seconds() - busy0
    sink_cpu = sink.cpu_seconds() - sink_cpu0
    # CPU used meanwhile by anything else (other users of a shared machine, and this runner):
    # the machine's busy time less the client's and the sink's, as a fraction of one CPU.
    other = max(0.0, busy - user - sys_ - sink_cpu) / wall
    report = last_json(out) or {}
    conns = count if case.mode == "session" else min(case.connections, count)
    delta = wait_counters(sink, before, count, conns)
    problems = []
    if code != 0:
        problems.append(f"exit {code}")
    if report.get("error"):
        problems.append(str(report["error"])[:300])
    if not peer.is_smtpio and report.get("accepted") != count:
        problems.append(f"peer reports {report.get('accepted')} of {count} accepted")
    if delta is None:
        problems.append("sink prints no counters: delivery NOT verified")
    else:
        if delta.get("mesg") != count:
            problems.append(f"sink received {delta.get('mesg')} messages, {count} sent")
        if delta.get("sess") != conns:
            problems.append(f"sink saw {delta.get('sess')} sessions, expected {conns}")
        if "bytes" in delta and count and abs(delta["bytes"] / count - case.size) > 0.01 * case.size:
            problems.append(f"sink received {delta['bytes'] / count:.0f} octets per message, not {case.size}")
        if case.tls and "tls13" in delta and delta["tls13"] != conns:
            problems.append(f"sink saw {delta['tls13']} TLS 1.3 handshakes, expected {conns}")
        if case.mode == "session" and not case.resume and delta.get("resumed"):
            problems.append(f"{delta['resumed']} sessions were resumed (case wants full handshakes)")
        if case.resume and "resumed" in delta and delta["resumed"] < count - 1:
            problems.append(f"only {delta['resumed']} of {count} sessions were resumed")
    if problems and err.strip():
        problems.append("stderr: " + err.strip().splitlines()[-1][:300])
    # The peer's own span (first connect to last QUIT) when it reports one, else the process's.
    elapsed = report.get("elapsed") if isinstance(report.get("elapsed"), (int, float)) else None
    cpu = report.get("cpu") if isinstance(report.get("cpu"), (int, float)) else None
    if not elapsed or elapsed <= 0 or elapsed > wall:
        elapsed = wall
    if cpu is None or cpu < 0 or cpu > user + sys_ + 0.01:
        cpu = user + sys_
    return {
        "peer": peer.key, "case": case.key, "placement": placement.key, "count": count,
        "exit": code, "wall": wall, "elapsed": elapsed, "cpu": cpu, "user": user, "sys": sys_,
        "maxrss_kib": rss,
        "sink_cpu": sink_cpu, "other_cpu": other, "sink_delta": delta, "report": report,
        "problems": problems,
        "argv": argv,
    }


# --------------------------------------------------------------------------------------------
# Placements
class Placement:
    def __init__(self, key, title, client_cpu, sink_cpu):
        self.key, self.title, self.client_cpu, self.sink_cpu = key, title, client_cpu, sink_cpu


def placements_for(names):
    cpus = sorted(os.sched_getaffinity(0))
    table = {}
    if len(cpus) >= 2:
        table["cross"] = Placement("cross", f"client on CPU {cpus[0]}, sink on CPU {cpus[1]}", cpus[0], cpus[1])
    table["same"] = Placement("same", f"client and sink both on CPU {cpus[0]}", cpus[0], cpus[0])
    chosen = []
    for n in names:
        if n not in table:
            log(f"bench: placement '{n}' is not possible here (CPUs {cpus}); skipped")
        else:
            chosen.append(table[n])
    return chosen


# --------------------------------------------------------------------------------------------
# The comparative run
def calibrate(peer, case, sink, placement, ctx):
    """Finds the message count that makes one run last about --duration seconds."""
    duration = ctx["duration"]
    # A first guess that lasts well under a second for every peer seen so far.
    if peer.key == "poco-nagle":
        count = 5
    elif case.mode == "session":
        count = 12
    elif case.size > 10000:
        count = 50
    else:
        count = 250
    for _ in range(3):
        r = measure(peer, case, sink, placement, count, ctx)
        if r["problems"]:
            return None, r
        if r["elapsed"] >= min(0.1, 0.3 * duration) or count >= ctx["max_count"]:
            break
        count = min(ctx["max_count"], int(count * max(2.0, 0.3 * duration / max(r["elapsed"], 1e-3))))
    rate = count / r["elapsed"]
    return count_for(rate, case, ctx), r


def count_for(rate, case, ctx):
    """Messages for one run of about --duration seconds at `rate` messages/s."""
    n = int(min(ctx["max_count"], max(ctx["min_count"], rate * ctx["duration"])))
    if case.mode == "pool":
        n = max(n - n % case.connections, case.connections)
    return n


def comparative(args, ctx, peers, sinks, placements):
    cases = [CASES[c] for c in args.cases]
    plan = []  # (placement, case, peer, count)
    failures = []
    results = []
    rates = ctx["rates"]
    for placement in placements:
        for s in sinks.values():
            s.pin(placement.sink_cpu)
        for case in cases:
            sink = sinks["tls" if case.tls else "plain"]
            for peer in peers:
                if case.key not in peer.cases:
                    continue
                known = rates.get(f"{placement.key}/{case.key}/{peer.key}")
                if known and not args.recalibrate:
                    # The rate from the last run on this machine sizes the runs; the runs themselves
                    # are validated as always.
                    plan.append((placement, case, peer, count_for(known, case, ctx)))
                    continue
                n, probe = calibrate(peer, case, sink, placement, ctx)
                if n is None:
                    failures.append(probe)
                    log(f"bench: {peer.key} case {case.key} {placement.key}: FAILED validation: "
                        f"{'; '.join(probe['problems'])}")
                    continue
                log(f"bench: calibrated {peer.key:12} case {case.key} {placement.key:5}: {n} messages per run")
                plan.append((placement, case, peer, n))
    total = len(plan) * args.reps
    done = 0
    retried = 0
    t_start = time.monotonic()
    for rep in range(args.reps):
        for placement in placements:
            for s in sinks.values():
                s.pin(placement.sink_cpu)
            for case in cases:
                items = [p for p in plan if p[0] is placement and p[1] is case]
                if not items:
                    continue
                shift = rep % len(items)  # A B C, B C A, C A B: no peer always first
                for _, _, peer, n in items[shift:] + items[:shift]:
                    sink = sinks["tls" if case.tls else "plain"]
                    r = measure(peer, case, sink, placement, n, ctx)
                    # A run during which other processes used the CPUs is taken again (bounded),
                    # and the least disturbed one is kept.
                    for _ in range(args.retries):
                        if r["problems"] or r["other_cpu"] <= args.max_other:
                            break
                        if retried >= 0.25 * total:  # bounded: at most a quarter more runs
                            break
                        retried += 1
                        again = measure(peer, case, sink, placement, n, ctx)
                        if again["problems"] or again["other_cpu"] < r["other_cpu"]:
                            r = again
                    r["rep"] = rep
                    results.append(r)
                    done += 1
                    if r["problems"]:
                        log(f"bench: rep {rep + 1} {peer.key} case {case.key} {placement.key}: INVALID: "
                            f"{'; '.join(r['problems'])}")
            log(f"bench: repetition {rep + 1}/{args.reps}, {placement.key}: {done}/{total} runs "
                f"({retried} retaken: other processes were busy), {time.monotonic() - t_start:.0f} s")
    return results, failures


def summarize(results, peers, sinks, placements, cases, max_other):
    rows = []
    by_key = {}
    for r in results:
        by_key.setdefault((r["case"], r["placement"], r["peer"]), []).append(r)
    for case in cases:
        for placement in placements:
            group = []
            for peer in peers:
                runs = by_key.get((case.key, placement.key, peer.key))
                if not runs:
                    continue
                valid = [r for r in runs if not r["problems"]]
                # Runs that other processes disturbed count only when no undisturbed one exists.
                clean = [r for r in valid if r["other_cpu"] <= max_other]
                good = clean or valid
                row = {"case": case.key, "placement": placement.key, "peer": peer.key,
                       "label": peer_label(peer, case), "runs": len(runs), "valid": len(valid),
                       "clean": len(clean), "smtpio": peer.is_smtpio,
                       "sink": sinks["tls" if case.tls else "plain"].name}
                if good:
                    rates = [r["count"] / r["elapsed"] for r in good]
                    cpu = [r["cpu"] / r["count"] * 1e6 for r in good]
                    row.update({
                        "count": good[0]["count"],
                        "rate": statistics.median(rates), "rate_min": min(rates), "rate_max": max(rates),
                        "mbps": statistics.median(rates) * case.size / 1e6,
                        "cpu_us": statistics.median(cpu),
                        "rss_mib": max(r["maxrss_kib"] for r in good) / 1024,
                        "client_busy": statistics.median(r["cpu"] / r["elapsed"] for r in good),
                        "sink_busy": statistics.median(r["sink_cpu"] / r["elapsed"] for r in good),
                        "sink_us": statistics.median(r["sink_cpu"] / r["count"] * 1e6 for r in good),
                        "other_cpu": statistics.median(r["other_cpu"] for r in good),
                    })
                group.append(row)
            best = [g for g in group if not g["smtpio"] and "rate" in g]
            if case.resume:  # compared with smtpio's own full handshakes (case c)
                own = [r for r in rows if r["case"] == "c" and r["placement"] == placement.key
                       and r["smtpio"] and "rate" in r]
                for g in group:
                    if own and "rate" in g:
                        g["vs_best"] = g["rate"] / own[0]["rate"]
                        g["vs_best_peer"] = "smtpio full handshakes (c)"
                rows += group
                continue
            for g in group:
                if g["smtpio"] and "rate" in g and best:
                    top = max(best, key=lambda x: x["rate"])
                    low = min(best, key=lambda x: x["cpu_us"])
                    g["vs_best"] = g["rate"] / top["rate"]
                    g["vs_best_peer"] = top["label"]
                    g["cpu_vs_best"] = g["cpu_us"] / low["cpu_us"] if low["cpu_us"] else None
                    g["cpu_best_peer"] = low["label"]
            rows += group
    return rows


def format_table(rows, cases, placements, sinks, markdown=False):
    lines = []
    head = ["case", "placement", "peer", "msg/s", "min–max", "MB/s", "CPU µs/msg", "peak RSS MiB",
            "client CPU", "sink CPU", "other CPU", "runs", "smtpio vs best peer"]
    def fmt(row):
        if "rate" not in row:
            return [row["case"], row["placement"], row["label"], "INVALID", f"{row['valid']}/{row['runs']} valid",
                    "", "", "", "", "", "", "", ""]
        sink = sinks[row["sink"]]
        flag = ""
        if row["placement"] == "cross" and row["sink_busy"] > 0.85:
            flag = " SINK-BOUND"
        vs = ""
        if "vs_best" in row:
            vs = f"{row['vs_best']:.2f}x {row['vs_best_peer']}"
            if row.get("cpu_vs_best"):
                vs += f"; CPU {row['cpu_vs_best']:.2f}x {row['cpu_best_peer']}"
        return [row["case"] + ("†" if sink.standin else ""), row["placement"], row["label"],
                f"{row['rate']:,.0f}", f"{row['rate_min']:,.0f}–{row['rate_max']:,.0f}",
                f"{row['mbps']:.1f}", f"{row['cpu_us']:,.1f}", f"{row['rss_mib']:.1f}",
                f"{row['client_busy'] * 100:.0f}%", f"{row['sink_busy'] * 100:.0f}%{flag}",
                f"{row['other_cpu'] * 100:.0f}%",
                f"{row['clean'] or row['valid']}/{row['runs']}" + ("" if row["clean"] else " disturbed"), vs]
    body = [fmt(r) for r in rows]
    if markdown:
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join("---" for _ in head) + "|")
        for b in body:
            lines.append("| " + " | ".join(b) + " |")
    else:
        widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
        lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths)))
        lines.append("  ".join("-" * w for w in widths))
        prev = None
        for r, b in zip(rows, body):
            if prev and (r["case"], r["placement"]) != prev:
                lines.append("")
            prev = (r["case"], r["placement"])
            lines.append("  ".join(c.ljust(w) for c, w in zip(b, widths)))
    return "\n".join(lines)


def environment_text(args, ctx, sinks, peers, placements):
    lines = []
    try:
        model = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        model = "?"
    lines.append(f"machine: {os.cpu_count()} CPUs ({model}), Linux {platform.release()}")
    lines.append(f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}; "
                 f"load average at the end: {open('/proc/loadavg').read().split()[0]}"
                 + (f"; busy before the start: {ctx['busy_at_start'] * 100:.0f}% of a CPU"
                    if "busy_at_start" in ctx else ""))
    if not args.callgrind:
        lines.append(f"run: {args.reps} repetitions in turns, ~{args.duration:g} s per run, medians; "
                     f"placements: " + "; ".join(f"{p.key} = {p.title}" for p in placements))
    for s in sinks.values():
        lines.append(f"{s.name} sink: {s.label}" + ("  [† STAND-IN: TLS figures are bounded by this slow "
                                                      "sink; see 'sink CPU']" if s.standin and s.name == "tls" else ""))
    for p in peers:
        v = ctx.get("versions", {}).get(p.key)
        if v:
            lines.append(f"peer {p.key}: {v}")
    return "\n".join(lines)


def peer_versions(peers, ctx, sinks):
    """Each peer's self-reported version (from a one-message run against the plaintext sink)."""
    versions = {}
    for p in peers:
        if p.is_smtpio:
            versions[p.key] = p.argv[0]
            continue
        argv = p.startup_command(ctx["messages"][2048])
        code, _, _, _, _, out, _ = run_measured(argv, None, 60)
        rep = last_json(out) or {}
        versions[p.key] = rep.get("version", "?")
    return versions


# --------------------------------------------------------------------------------------------
# Sink check: each sink alone, driven hard from the other CPU
def sink_check(args, ctx, peers, sinks, placements):
    placement = placements[0]
    for s in sinks.values():
        s.pin(placement.sink_cpu)
    peer_by = {p.key: p for p in peers}
    out = []
    drivers = {
        "plain": ("smtp-source", Case("x", "pool 8, 2 KiB, plaintext", False, 2048, "pool", connections=8), 1),
        "tls": ("poco", Case("y", "reuse, 2 KiB, STARTTLS", True, 2048, "reuse"), 4),
    }
    for name, sink in sinks.items():
        driver_key, case, procs = drivers[name]
        driver = peer_by.get(driver_key)
        if not driver:
            continue
        count = int(args.sink_check_count) // procs
        argv = driver.command(case, sink.port, count, ctx["messages"][2048], ctx["ca_file"])
        before = sink.counters()
        c0 = sink.cpu_seconds()
        t0 = time.perf_counter()
        children = [subprocess.Popen(["taskset", "-c", str(placement.client_cpu)] + argv,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
                    for _ in range(procs)]
        Child.running.update(children)
        try:
            codes = [c.wait(timeout=600) for c in children]
        except subprocess.TimeoutExpired:
            Child.kill_all()
            codes = [c.wait() for c in children]
        Child.running.difference_update(children)
        wall = time.perf_counter() - t0
        cpu = sink.cpu_seconds() - c0
        conns = procs * case.connections
        delta = wait_counters(sink, before, procs * count, conns)
        msgs = delta.get("mesg", 0) if delta else procs * count
        ok = all(c == 0 for c in codes) and (delta is None or msgs == procs * count)
        busy = cpu / wall
        line = (f"{sink.label}: driven by {procs} x {driver.label} ({case.title}) from CPU {placement.client_cpu}: "
                f"{msgs / wall:,.0f} msg/s, sink CPU {busy * 100:.0f}% of CPU {placement.sink_cpu}, "
                f"{cpu / msgs * 1e6 if msgs else 0:.1f} µs/msg -> capacity ~{msgs / cpu if cpu else float('inf'):,.0f} msg/s"
                + ("" if ok else "  [DRIVER FAILED or count mismatch]")
                + ("" if delta is not None else "  [sink prints no counters]"))
        out.append(line)
        log("bench: sink check: " + line)
    return out


# --------------------------------------------------------------------------------------------
# Callgrind: instructions per message, N vs 2N
CG_SKIP = ["mktemp", "head", "cut", "yes", "grep", "awk", "mawk", "gawk", "tr", "rm", "dpkg-query"]


def callgrind(args, ctx, peers, sinks):
    rows = []
    cases = [CASES[c] for c in args.cases if CASES[c].mode == "reuse"] or [CASES["a"]]
    cg_dir = os.path.join(RUN_DIR, "callgrind")
    os.makedirs(cg_dir, exist_ok=True)
    for case in cases:
        sink = sinks["tls" if case.tls else "plain"]
        # Enough messages that batches and BDAT windows (64 messages) repeat many times
        # within N; fewer for large messages (the slow peers take minutes under valgrind).
        n = args.cg_count or (200 if case.size > 10000 else 2000)
        for peer in peers:
            if case.key not in peer.cases:
                continue
            totals = []
            for count in (n, 2 * n):
                for f in glob.glob(os.path.join(cg_dir, "cg.*")):
                    os.unlink(f)
                # Children are followed (the peer may be a wrapper script, or one curl per message);
                # the wrappers' helper tools are not the peer's work and are skipped.
                argv = ["valgrind", "--tool=callgrind", "--trace-children=yes",
                        "--trace-children-skip=" + ",".join(f"*/{t}" for t in CG_SKIP),
                        f"--callgrind-out-file={cg_dir}/cg.%p"] + \
                       peer.command(case, sink.port, count, ctx["messages"][case.size], ctx["ca_file"])
                before = sink.counters()
                code, wall, *_ , out, err = run_measured(argv, None, 1800)
                delta = wait_counters(sink, before, count, 1)
                if code != 0 or (delta is not None and delta.get("mesg") != count):
                    log(f"bench: callgrind {peer.key} case {case.key} N={count} failed: exit {code}, "
                        f"sink {delta}: {err.strip()[-300:]}")
                    totals = None
                    break
                total = 0
                for f in glob.glob(os.path.join(cg_dir, "cg.*")):
                    with open(f, errors="replace") as fh:
                        for line in fh:
                            if line.startswith("summary:") or line.startswith("totals:"):
                                total += int(line.split()[1])
                                break
                totals.append(total)
                log(f"bench: callgrind {peer.key:12} case {case.key} N={count}: {total:,} instructions ({wall:.1f} s)")
            if totals:
                per = (totals[1] - totals[0]) / n
                rows.append({"peer": peer.key, "label": peer_label(peer, case), "case": case.key,
                             "n": n, "instr_n": totals[0], "instr_2n": totals[1], "per_message": per})
    lines = [f"{'case':5} {'peer':22} {'N':>5} {'instructions/msg':>17} {'total N':>15} {'total 2N':>15}"]
    for r in rows:
        lines.append(f"{r['case']:5} {r['label']:22} {r['n']:5} {r['per_message']:17,.0f} {r['instr_n']:15,} {r['instr_2n']:15,}")
    return rows, "\n".join(lines)


# --------------------------------------------------------------------------------------------
def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="short runs, no sink check, no retakes (~1-1.5 minutes): a smoke test")
    p.add_argument("--callgrind", action="store_true", help="instructions per message (valgrind)")
    p.add_argument("--sink-check", action="store_true", help="measure the sinks alone, nothing else")
    p.add_argument("--cases", default="abcder", help="cases to run, e.g. 'ab' (default: abcder)")
    p.add_argument("--peers", default="", help="comma-separated peer keys (default: all found)")
    p.add_argument("--placements", default="cross,same", help="cross, same, or both (default)")
    p.add_argument("--duration", type=float, help="seconds per run (default 0.55; --quick 0.12)")
    p.add_argument("--reps", type=int, help="repetitions in turns (default 3)")
    p.add_argument("--smtpio-send", help="path to smtpio-send (default: $SMTPIO_SEND, "
                                         "build/release/examples/smtpio-send)")
    p.add_argument("--tls-sink", help="path to smtpio-sink (default: $SMTPIO_SINK, build/release/**/smtpio-sink)")
    p.add_argument("--standin-tls-sink", action="store_true", help="use the Python stand-in TLS sink even "
                                                                     "when smtpio-sink exists")
    p.add_argument("--plain-sink", default="smtp-sink", choices=["smtp-sink", "smtpio-sink", "standin"],
                   help="plaintext sink: Postfix smtp-sink (default), smtpio-sink --no-tls, or the "
                        "Python stand-in")
    p.add_argument("--recalibrate", action="store_true",
                   help="probe every peer's rate again instead of using the last run's (rates.json)")
    p.add_argument("--max-other", type=float, default=0.25,
                   help="retake a run when other processes used more than this many CPUs meanwhile (0.25)")
    p.add_argument("--retries", type=int, default=2, help="retakes of a disturbed run (default 2)")
    p.add_argument("--wait-quiet", type=float, default=0, metavar="S",
                   help="first wait up to S seconds for a second with the machine idle (default 0)")
    p.add_argument("--cg-count", type=int, default=None,
                   help="callgrind: N (runs N and 2N messages; default 2,000, 200 for 100 KiB messages)")
    p.add_argument("--sink-check-count", type=int, default=16000, help="messages in all per sink in the sink check")
    p.add_argument("--no-sink-check", action="store_true", help="skip the sink check before a full run")
    p.add_argument("--work", default=os.environ.get("SMTPIO_BENCH_DIR", os.path.join(ROOT, "build/bench-run")),
                   help="build/work directory (default $SMTPIO_BENCH_DIR or build/bench-run)")
    p.add_argument("--results", default=os.path.join(BENCH, "results"), help="where result files go")
    p.add_argument("--parse-only", action="store_true", help=argparse.SUPPRESS)  # bench/run's check
    a = p.parse_args(argv)
    if a.duration is None:
        a.duration = 0.12 if a.quick else 0.55
    if a.reps is None:
        a.reps = 3
    if a.quick:  # a smoke test: no sink check, no retakes
        a.no_sink_check = True
        a.retries = 0
    if a.reps < 1 or a.duration <= 0:
        p.error("--reps must be >= 1 and --duration > 0")
    wanted = [c for c in a.cases.replace(",", "") if c]
    bad = [c for c in wanted if c not in CASES]
    if bad:
        p.error(f"unknown case(s) {bad}; cases: " + ", ".join(f"{k} = {c.title}" for k, c in CASES.items()))
    a.cases = [k for k in CASES if k in wanted]  # table order; r needs c before it
    return a


RUN_DIR = None


def main(argv):
    global RUN_DIR
    args = parse_args(argv)
    if args.parse_only:
        return 0
    work = os.path.abspath(args.work)
    certs = os.path.join(work, "certs")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    RUN_DIR = os.path.join(os.path.abspath(args.results), stamp)
    os.makedirs(RUN_DIR, exist_ok=True)
    msg_dir = os.path.join(work, "messages")
    os.makedirs(msg_dir, exist_ok=True)
    messages = {}
    for size in sorted({c.size for c in CASES.values()}):
        path = os.path.join(msg_dir, f"message-{size}.eml")
        data = make_message(size)
        if not os.path.exists(path) or open(path, "rb").read() != data:
            with open(path, "wb") as f:
                f.write(data)
        messages[size] = path
    ctx = {"messages": messages, "ca_file": os.path.join(certs, "ca.pem"), "duration": args.duration,
           "timeout": max(120.0, 40 * args.duration), "min_count": 5, "max_count": 1_000_000}

    smtpio_send = find_smtpio_send(args.smtpio_send)
    peers = make_peers(work, smtpio_send)
    if args.peers:
        wanted = [k.strip() for k in args.peers.split(",") if k.strip()]
        unknown = [k for k in wanted if k not in {p.key for p in peers}]
        if unknown:
            sys.exit(f"bench: unknown or unavailable peer(s) {unknown}; have: {[p.key for p in peers]}")
        peers = [p for p in peers if p.key in wanted]
    elif args.callgrind:
        # Node under valgrind takes minutes, and Nagle's stalls cost no instructions: on request only.
        peers = [p for p in peers if p.key not in ("nodemailer", "poco-nagle")]
    elif args.quick:
        # POCO as shipped spends ~45 ms per message waiting: on request only in a smoke test.
        peers = [p for p in peers if p.key != "poco-nagle"]
    if not smtpio_send:
        log("bench: smtpio-send not found ($SMTPIO_SEND, build/release/examples/smtpio-send): "
            "peers only, no smtpio column")

    sinks = make_sinks(args, work, certs)
    placements = placements_for([x.strip() for x in args.placements.split(",") if x.strip()])
    if not placements:
        sys.exit("bench: no placement to run")

    def stop_all(signum=None, _frame=None):
        Child.kill_all()
        for s in sinks.values():
            s.stop()
        if signum is not None:
            sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    try:
        for s in sinks.values():
            s.start(placements[0].sink_cpu)
        ctx["versions"] = peer_versions(peers, ctx, sinks)
        if args.wait_quiet > 0:
            log(f"bench: waiting up to {args.wait_quiet:g} s for the machine to be idle ...")
            ctx["busy_at_start"] = wait_quiet(args.wait_quiet)
        if args.callgrind:
            rows, text = callgrind(args, ctx, peers, sinks)
            env = environment_text(args, ctx, sinks, peers, placements)
            print(env + "\n\ncallgrind, instructions per message = (I(2N) - I(N)) / N\n" + text)
            with open(os.path.join(RUN_DIR, "callgrind.json"), "w") as f:
                json.dump(rows, f, indent=1)
            with open(os.path.join(RUN_DIR, "callgrind.txt"), "w") as f:
                f.write(env + "\n\n" + text + "\n")
            return 0
        if args.sink_check:
            lines = sink_check(args, ctx, peers, sinks, placements)
            print("\n".join(lines))
            return 0
        sink_lines = [] if args.no_sink_check else sink_check(args, ctx, peers, sinks, placements)
        rates_path = os.path.join(work, "rates.json")
        try:
            with open(rates_path) as f:
                ctx["rates"] = json.load(f)
        except (OSError, ValueError):
            ctx["rates"] = {}
        results, failures = comparative(args, ctx, peers, sinks, placements)
        cases = [CASES[c] for c in args.cases]
        rows = summarize(results, peers, sinks, placements, cases, args.max_other)
        for r in rows:
            if "rate" in r:
                ctx["rates"][f"{r['placement']}/{r['case']}/{r['peer']}"] = r["rate"]
        with open(rates_path, "w") as f:
            json.dump(ctx["rates"], f, indent=1, sort_keys=True)
        env = environment_text(args, ctx, sinks, peers, placements)
        table = format_table(rows, cases, placements, sinks)
        notes = ["cases: " + "; ".join(f"{c.key} = {c.title}" for c in cases),
                 "msg/s: messages / the peer's own transfer time (connect to QUIT; wall time of the process "
                 "when the peer reports none); c counts sessions/s (one message each); MB/s = 10^6 octets/s",
                 "CPU µs/msg: user+sys CPU of the client over that same span (the peer's getrusage, or the "
                 "whole process's from wait4 when it reports none) / messages; peak RSS: ru_maxrss of "
                 "the client (wait4); client/sink CPU: CPU time / transfer time; other CPU: what every "
                 "other process on the machine used meanwhile (/proc/stat), in CPUs (100% = one CPU); "
                 "runs: runs in the median / runs made; medians use only the runs during which other CPU "
                 "stayed under --max-other, unless there are none ('disturbed': do not quote)"]
        if any(s.standin for s in sinks.values()):
            notes.append("†: measured against the STAND-IN Python sink; SINK-BOUND: sink CPU > 85% "
                         "(the sink, not the client, set the rate)")
        bad = [r for r in results if r["problems"]] + failures
        text = env + "\n" + ("\n".join("sink check: " + l for l in sink_lines) + "\n" if sink_lines else "") + \
            "\n" + table + "\n\n" + "\n".join(notes)
        if bad:
            text += f"\n\n{len(bad)} run(s) failed validation (excluded from the medians):\n" + "\n".join(
                f"  {r['peer']} case {r['case']} {r['placement']}: {'; '.join(r['problems'])}" for r in bad[:40])
        print(text)
        with open(os.path.join(RUN_DIR, "results.txt"), "w") as f:
            f.write(text + "\n")
        with open(os.path.join(RUN_DIR, "results.md"), "w") as f:
            f.write(env.replace("\n", "  \n") + "\n\n" + format_table(rows, cases, placements, sinks, markdown=True)
                    + "\n\n" + "\n".join(notes) + "\n")
        with open(os.path.join(RUN_DIR, "runs.json"), "w") as f:
            json.dump({"rows": rows, "runs": results, "failures": failures,
                       "sink_check": sink_lines}, f, indent=1, default=str)
        log(f"bench: results in {os.path.relpath(RUN_DIR, ROOT)}/")
        return 1 if (bad and not rows) else 0
    finally:
        stop_all()
        # Scratch files of the last run (the results files stay).
        for f in glob.glob(os.path.join(RUN_DIR, "child.*")) + glob.glob(os.path.join(RUN_DIR, "callgrind", "cg.*")):
            os.unlink(f)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
