"""Start, wait for and stop one scenario's scripted server; shared by `run` and selftest.py.

ServerProc runs server.py as its own process (stopped by its PID: SIGTERM, then SIGKILL after a
bound); InProcServer runs the same server inside the caller's event loop (cheaper: no process
per scenario).  Both: `port = await start()`, `await wait_done(t)`, `record = await stop()`.
"""
import asyncio
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
SERVER = os.path.join(HERE, "server.py")


class ServerProc:
    """One server.py process serving one scenario's spec."""

    def __init__(self, spec, manifest_path, workdir, env=None, max_seconds=90):
        self.spec = spec
        self.manifest_path = manifest_path
        self.workdir = workdir
        self.env = env
        self.max_seconds = max_seconds
        self.proc = None
        self.port = None
        self.done = False
        self.record_path = os.path.join(workdir, "record.json")
        self.stderr_path = os.path.join(workdir, "server.stderr")
        self._stderr = None

    async def start(self, timeout=15.0):
        spec_path = os.path.join(self.workdir, "spec.json")
        with open(spec_path, "w", encoding="utf-8") as f:
            json.dump(self.spec, f)
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        self._stderr = open(self.stderr_path, "wb")
        self.proc = await asyncio.create_subprocess_exec(
            PYTHON, SERVER, "--spec", spec_path, "--certs", self.manifest_path,
            "--record", self.record_path, "--max-seconds", str(self.max_seconds),
            stdout=asyncio.subprocess.PIPE, stderr=self._stderr, stdin=asyncio.subprocess.DEVNULL,
            env=env)
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line.startswith(b"PORT "):
            await self.stop()
            raise RuntimeError("server did not start: %r; stderr: %s" % (line, self.stderr_text()))
        self.port = int(line.split()[1])
        return self.port

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    async def wait_done(self, timeout):
        """Wait until the server says every scripted connection ended (or timeout)."""
        if self.done:
            return True
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        except asyncio.TimeoutError:
            return False
        self.done = line.strip() == b"DONE"
        return self.done

    async def stop(self):
        """SIGTERM (the server writes its record), then SIGKILL if it does not exit; the record."""
        if self.proc is not None and self.proc.returncode is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                await asyncio.wait_for(self.proc.wait(), 10.0)
            except asyncio.TimeoutError:
                try:
                    self.proc.kill()
                except ProcessLookupError:
                    pass
                await self.proc.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        try:
            with open(self.record_path, encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            return None


class InProcServer:
    """The same server, in this process's event loop."""

    def __init__(self, spec, manifest_path, workdir=None, env=None, max_seconds=90):
        import server as server_mod
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)
        self.srv = server_mod.Server(spec, manifest)
        self.port = None

    async def start(self, timeout=15.0):
        self.port = await self.srv.start()
        return self.port

    def stderr_text(self):
        return ""

    async def wait_done(self, timeout):
        return await self.srv.wait_done(timeout)

    async def stop(self):
        return await self.srv.stop()
