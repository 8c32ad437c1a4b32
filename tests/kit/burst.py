"""Many gates uploading at once, as docs/sync-protocol.md tells a device to: each gate sends its
batches in order, honours 429 Retry-After, backs off with full jitter on connection errors and 5xx.

Gates run as asyncio tasks inside worker processes (so the load is not one Python process's), all
starting at one instant; each reports its acks, its 429s, its connection errors and its time to the
last ack. Used by tests/replicas and tools/bench_sync.py.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from gatekeeper.gate.boot import boot_id
from gatekeeper.verify import PrivateKey
from gatekeeper.wire import PATH_LOG, sign_request
from gatekeeper.wire.batch import Ack, encode_batch, take_within
from tests.kit.hub import log_row

GZIP_JSON = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
BACKOFF_CAP_S = 30.0


@dataclass
class GateRun:
    """What one gate saw."""

    acks: list[int] = field(default_factory=list)
    busy: int = 0  # 429 replies
    errors: Counter = field(default_factory=Counter)  # connection errors and 5xx, by kind
    seconds: float = 0.0  # from the common start to the last ack
    finished: bool = False


def batches(rows: int, per_batch: int) -> list[bytes]:
    """A gate's backlog of ``rows`` rows as gzip'd batch bodies of ``per_batch`` rows, in order."""
    base = time.time() - rows * 0.01
    logged = [dict(log_row(at=base + i * 0.01, pass_id=f"{i:024x}"), seq=i + 1) for i in range(rows)]
    out = []
    for i in range(0, rows, per_batch):
        chunk = logged[i:i + per_batch]
        out.append(encode_batch(i, chunk[-1]["seq"], take_within(chunk, 1 << 30), time.monotonic(), boot_id()))
    return out


class Connection:
    """One keep-alive HTTP/1.1 connection, bare asyncio: a benchmark's client must cost the machine
    little next to the hub it measures (httpx cost the gates as much CPU as the hub)."""

    def __init__(self, url: str, timeout: float) -> None:
        u = httpx.URL(url)
        self.host, self.port, self.timeout = u.host, u.port or 80, timeout
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """(status, lower-case headers, body); OSError or TimeoutError when the connection fails."""
        try:
            return await asyncio.wait_for(self._post(path, body, headers), self.timeout)
        except BaseException:
            self.close()
            raise

    async def _post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n{head}\r\n"
                     .encode() + body)
        await writer.drain()
        lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        got = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        data = await reader.readexactly(int(got.get("content-length", "0")))
        if got.get("connection", "").lower() == "close":
            self.close()
        return status, got, data

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


async def run_gate(url: str, key: PrivateKey, bodies: list[bytes], t0: float, give_up_s: float,
                   timeout: float) -> GateRun:
    run, i, attempt = GateRun(), 0, 0
    conn = Connection(url, timeout)
    while i < len(bodies) and time.monotonic() - t0 < give_up_s:
        try:
            status, headers, data = await conn.post(
                PATH_LOG, bodies[i], {**GZIP_JSON, **sign_request(key, "POST", PATH_LOG, bodies[i], int(time.time()))})
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as e:
            run.errors[type(e).__name__] += 1
            status, headers, data = 0, {}, b""
        if status == 200:
            run.acks.append(Ack.model_validate_json(data).ack)
            i, attempt = i + 1, 0
            continue
        attempt += 1
        backoff = random.uniform(0, min(BACKOFF_CAP_S, 2 ** (attempt - 1)))
        if status == 429:
            run.busy += 1
            wait = max(float(headers.get("retry-after", "1")), backoff)
        elif status == 0 or status >= 500:
            if status:
                run.errors[f"http {status}"] += 1
            wait = backoff
        else:
            raise RuntimeError(f"hub refused a batch: {status} {data[:200]!r}")
        await asyncio.sleep(wait)
    conn.close()
    run.seconds, run.finished = time.monotonic() - t0, i == len(bodies)
    return run


async def _gates(url: str, gates: list[tuple[bytes, list[bytes]]], start_at: float, give_up_s: float,
                 timeout: float) -> list[GateRun]:
    keys = [PrivateKey.from_pem(pem) for pem, _ in gates]
    await asyncio.sleep(max(0.0, start_at - time.time()))
    t0 = time.monotonic()
    return await asyncio.gather(*(run_gate(url, k, b, t0, give_up_s, timeout)
                                  for k, (_, b) in zip(keys, gates, strict=True)))


def _worker(args: tuple) -> list[GateRun]:
    return asyncio.run(_gates(*args))


def burst(url: str, gates: list[tuple[bytes, list[bytes]]], processes: int = 4, give_up_s: float = 300.0,
          timeout: float = 10.0, during: object = None) -> tuple[list[GateRun], float]:
    """Run every gate (PEM key, bodies) against ``url`` at once from ``processes`` worker processes.

    ``during``: called in this process once the gates have started (e.g. to kill a hub). Returns
    the runs and the wall time from the start to the last gate's end.
    """
    start_at = time.time() + 1.0 + len(gates) / 2000  # every worker ready before the start
    shares = [gates[i::processes] for i in range(processes)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pending = pool.map_async(_worker, [(url, s, start_at, give_up_s, timeout) for s in shares if s])
        time.sleep(max(0.0, start_at - time.time()))
        t0 = time.monotonic()
        if callable(during):
            during()
        runs = [r for share in pending.get() for r in share]
    return runs, time.monotonic() - t0
