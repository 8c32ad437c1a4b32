"""nginx in front of hub processes on 127.0.0.1: a real load balancer for replica tests and benchmarks.

Runs as a foreground process (``daemon off``) with its own prefix, configuration, logs and temporary
paths in a temporary directory: nothing under /etc or /var is read or written.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from gatekeeper.hub.process import free_port

CONF = """\
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
{user}
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    upstream hubs {{
{servers}
        keepalive 128;
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        client_max_body_size 4m;
        client_body_buffer_size 4m;  # a batch stays in memory
        location / {{
            proxy_pass http://hubs;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            # a hub that refuses connections (killed) is skipped; a request already sent is not
            # resent elsewhere (POST): the device retries it, and the hub de-duplicates
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


def nginx_bin() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


class Balancer:
    """nginx balancing over hub ports (round robin; a dead hub is skipped)."""

    def __init__(self, hub_ports: list[int], port: int | None = None) -> None:
        binary = nginx_bin()
        if binary is None:
            raise RuntimeError("nginx not found: apt-get install nginx (./dev test installs it)")
        self.binary, self.port = binary, port or free_port()
        self.prefix = Path(tempfile.mkdtemp(prefix="gk-nginx-"))
        for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.prefix / "tmp" / d).mkdir(parents=True)
        # As root, nginx's workers run as nobody: let them into the prefix; otherwise keep our user.
        user = "user nobody nogroup;" if os.geteuid() == 0 else ""
        if os.geteuid() == 0:
            for p in [self.prefix, *self.prefix.rglob("*")]:
                p.chmod(0o777 if p.is_dir() else 0o666)
        servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;" for p in hub_ports)
        (self.prefix / "nginx.conf").write_text(CONF.format(prefix=self.prefix, port=self.port, servers=servers,
                                                            user=user))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> Balancer:
        self.proc = subprocess.Popen([self.binary, "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf"),
                                      "-e", str(self.prefix / "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.proc.stderr.read().decode() if self.proc.stderr else ''}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not answer within {timeout:g} s")

    def pids(self) -> list[int]:
        """nginx's master and worker processes (for CPU accounting)."""
        if self.proc is None:
            return []
        kids = [int(p) for p in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()]
        return [self.proc.pid, *kids]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: finish what is in flight
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.prefix, ignore_errors=True)
