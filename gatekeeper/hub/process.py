"""The reference hub as a real server process on 127.0.0.1: for the demo, tests and benchmarks."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HubProcess:
    """``gatekeeper hub serve`` in a subprocess: start, SIGKILL, restart on the same port.

    The hub's stderr goes to ``log`` when given (the demo keeps it), else to an unnamed temporary
    file read when the hub exits at start (so the error shows in the exception). Not a pipe: nobody
    reads it while the hub runs, and a hub that logged 64 KB into a full pipe would hang.
    """

    def __init__(self, db_url: str, site_dir: Path | None, port: int | None = None, log: Path | None = None,
                 args: Sequence[str] = ()) -> None:
        """``args``: more ``hub serve`` options (e.g. ``--webhook``)."""
        self.db_url, self.site_dir, self.port, self.log = db_url, site_dir, port or free_port(), log
        self.args = list(args)
        self.proc: subprocess.Popen | None = None
        self._said: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> HubProcess:
        """Start the hub and wait until ``/v1/health`` answers; RuntimeError if it does not."""
        cmd = [sys.executable, "-m", "gatekeeper", "hub", "serve", "--db", self.db_url, "--port", str(self.port)]
        if self.site_dir:
            cmd += ["--site", str(self.site_dir)]
        cmd += self.args
        if self.log is None:
            if self._said is not None:
                self._said.close()
            self._said = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the hub)
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self._said)
        else:
            with open(self.log, "ab") as log:  # the child keeps its own descriptor
                self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if self._said is not None and self.log is None:
                    self._said.seek(0)
                    said = self._said.read().decode(errors="replace")
                else:
                    said = f"see {self.log}"
                raise RuntimeError(f"the hub exited at start: {said}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"the hub did not answer within {timeout:g} s")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, like a power cut of the process."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if the hub has not ended within 10 s."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
