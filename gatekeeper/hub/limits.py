"""ASGI middleware in front of every route: the hub's clock on every reply, body-size limits, rate
limits per address, and load shedding for uploads.

The limits are enforced here, before any endpoint (or FastAPI's body parsing) reads a byte, so an
unauthenticated client cannot make the hub buffer a huge body, and an overloaded hub refuses an
upload before it spends anything on it (no body read, no signature check, no database). Endpoints
then read the body with ``await request.body()``.
"""

from __future__ import annotations

import asyncio
import enum
import math
import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import limits as ratelimits
from starlette.concurrency import run_in_threadpool

from gatekeeper.hub.errors import RefusedError, send_problem
from gatekeeper.wire import H_HUB_TIME, MAX_BODY_BYTES, PATH_ENROL, PATH_LOG

T = TypeVar("T")
R = TypeVar("R")


#: What a request costs beyond its body, in body bytes (measured here: a 100-row batch of 2.7 KB
#: costs about a third of a 1000-row batch of 25 KB): work is counted as body + this.
REQUEST_COST_B = 8192
#: How much faster than the first guess refused uploads are paced before anything was measured.
UNMEASURED_PACE = 3.0
#: The drain rate is measured over the uploads that ended in the last RATE_SPAN_S seconds of busy
#: time, once there are at least RATE_MIN_ENDS of them over at least MEASURE_S (a cold hub's first
#: second, its database connections and threads starting, is slower than it will be).
RATE_SPAN_S = 2.0
RATE_MIN_ENDS = 16
MEASURE_S = 1.5
#: No refused upload is sent further out than this, whatever the queue (a safety net, not a pace).
MAX_SLOT_S = 300.0


class Limited(enum.StrEnum):
    """What is rate-limited, and by what key: an address (the client, or X-Forwarded-For from a
    trusted proxy) or a device (after its signature verified, so nobody can spend another's quota)."""

    ENROL_ADDRESS = "enrol-address"
    ENROL_DEVICE = "enrol-device"
    ADMIN_ADDRESS = "admin-address"  # failed admin authentications
    UPLOAD_ADDRESS = "upload-address"
    UPLOAD_DEVICE = "upload-device"


#: Defaults: far above what honest gates do (a gate draining a backlog sends a few batches a second;
#: a site behind one NAT shares an address), far below what guessing tokens needs.
DEFAULT_RATES: dict[Limited, str] = {
    Limited.ENROL_ADDRESS: "30/minute",
    Limited.ENROL_DEVICE: "5/minute",
    Limited.ADMIN_ADDRESS: "20/minute",
    Limited.UPLOAD_ADDRESS: "2000/second",
    Limited.UPLOAD_DEVICE: "50/second",
}


class _LazyExpiry(ratelimits.storage.MemoryStorage):
    """The library's memory storage, with expired windows swept at most every few seconds, inline.

    Its own sweep starts a timer thread 10 ms after nearly every hit and walks every key: under a
    burst of a thousand gates that was a thread start per upload and a walk of a thousand windows
    up to 100 times a second. A window past its expiry is never counted anyway (the strategy
    compares times), so sweeping later only keeps memory a little longer.
    """

    SWEEP_S = 5.0

    def __init__(self) -> None:
        super().__init__()
        self._swept = time.monotonic()

    def _MemoryStorage__schedule_expiry(self) -> None:  # the library's hook, name-mangled
        now = time.monotonic()
        if now - self._swept > self.SWEEP_S:
            self._swept = now
            self._MemoryStorage__expire_events()


class RateLimits:
    """Moving-window rate limits (the ``limits`` library, in this process's memory).

    Per process: N replicas behind a balancer allow up to N times the rate, which is still bounded.
    """

    def __init__(self, rates: Mapping[Limited, str] | None = None) -> None:
        self.rates = {k: ratelimits.parse(v) for k, v in {**DEFAULT_RATES, **(rates or {})}.items()}
        self._window = ratelimits.strategies.MovingWindowRateLimiter(_LazyExpiry())

    def hit(self, what: Limited, key: str) -> bool:
        """Count one request of ``key``; False when it is over the limit (and must be refused)."""
        return self._window.hit(self.rates[what], what.value, key)

    def over(self, what: Limited, key: str) -> bool:
        """Whether ``key`` is over the limit now, without counting a request."""
        return not self._window.test(self.rates[what], what.value, key)

    def retry_after(self, what: Limited, key: str) -> float:
        """Seconds until ``key`` may ask again."""
        reset = self._window.get_window_stats(self.rates[what], what.value, key).reset_time
        return max(1.0, reset - time.time())

    def refuse(self, what: Limited, key: str) -> RefusedError:
        return RefusedError(429, "rate_limited", f"too many requests ({what.value} limit "
                            f"{self.rates[what]}): retry after Retry-After seconds",
                            retry_after=self.retry_after(what, key))


def parse_rates(specs: list[str]) -> dict[Limited, str]:
    """``NAME=RATE`` options (``upload-device=50/second``); ValueError naming a bad one."""
    out = {}
    for spec in specs:
        name, _, rate = spec.partition("=")
        try:
            what = Limited(name.strip())
            ratelimits.parse(rate.strip())
        except ValueError:
            names = ", ".join(k.value for k in Limited)
            raise ValueError(f"{spec!r}: expected NAME=RATE with NAME one of {names} and RATE like "
                             "'50/second' or '20 per minute'") from None
        out[what] = rate.strip()
    return out


@dataclass
class Admission:
    """Load shedding for uploads: admit while the queued work drains within ``max_wait_s``, refuse
    the rest at once with a ``Retry-After`` that grows with the queue.

    Work is counted in body bytes (``Content-Length``, known before the body is read) plus
    :data:`REQUEST_COST_B` per request. The drain rate is measured from the ends of the uploads of
    the last seconds while the hub is busy. A refused upload is given the next free slot on a
    virtual schedule at that rate (plus jitter) that starts when the queue will have room again,
    so refused devices come back spread out at the pace the hub can take them, instead of all at
    once after a fixed second, and the hub keeps a queue to work on while they come back.
    ``storers`` groups are stored at once (1 for SQLite, whose writes serialise anyway); the
    admitted uploads wait, without holding a thread, and whatever waits is stored together in
    one transaction (group commit: one fsync for the group instead of one per upload).
    """

    storers: int = 1
    max_wait_s: float = 4.0
    min_admitted: int = 8
    byte_rate: float = 800_000.0  # a first guess until measured: 75 batches of 100 rows a second
    # Slots are never paced slower: a rate measured while the machine starts up or is shared (2 hub
    # processes, the database and 1,000 gates connecting on 2 cores) was a third of what the hub
    # did a second later.
    min_pace: float = 800_000.0
    queued_bytes: int = 0
    admitted: int = 0
    horizon: float = 0.0
    group_max: int = 32  # uploads per transaction at most
    _ends: deque = field(default_factory=deque, repr=False)  # (time, bytes) of recent uploads' ends
    _window_bytes: int = 0
    _measured: bool = False
    _waiting: list = field(default_factory=list, repr=False)
    _storing: int = 0
    _tasks: set = field(default_factory=set, repr=False)

    def admit(self, size: int, now: float) -> float | None:
        """Admit an upload of ``size`` bytes (None) or say in how many seconds to come back."""
        size += REQUEST_COST_B
        wait = self.queued_bytes / self.byte_rate
        if self.admitted < self.min_admitted or wait + size / self.byte_rate <= self.max_wait_s:
            self.admitted += 1
            self.queued_bytes += size
            return None
        # The slot is when the queue will have room for this upload again, not when it will be
        # empty: the hub keeps up to max_wait_s of work queued while the refused come back. Slots
        # are paced at the measured rate but never below min_pace, and before anything was
        # measured at UNMEASURED_PACE times that: a gate back too early costs a cheap second 429,
        # one sent too far out leaves the hub idle. The jitter only ever delays: an upload back
        # before its slot would find no room and be refused again.
        pace = max(self.byte_rate, self.min_pace) * (1 if self._measured else UNMEASURED_PACE)
        room = now + max(0.0, self.queued_bytes / pace - self.max_wait_s)
        self.horizon = min(max(self.horizon, room) + size / pace, now + MAX_SLOT_S)
        return (self.horizon - now) * random.uniform(1.0, 1.1) + random.uniform(0.0, 1.0)

    def finished(self, size: int, now: float) -> None:
        """An admitted upload of ``size`` bytes ended (stored or refused) at ``now``."""
        size += REQUEST_COST_B
        self.admitted -= 1
        self.queued_bytes -= size
        # The rate is taken between the ends of the last uploads, not from when each was
        # admitted: a queued upload's wait is not the hub's pace, the first group's start-up
        # (threads, database connections) is not either, and a group commit ends dozens of uploads
        # within a few milliseconds, so a rate per upload would be far too high or too low.
        # Only busy time counts: when the hub empties, the next busy spell measures afresh.
        ends = self._ends
        ends.append((now, size))
        self._window_bytes += size
        while len(ends) > 2 and now - ends[1][0] >= RATE_SPAN_S:
            self._window_bytes -= ends.popleft()[1]
        span = now - ends[0][0]
        if len(ends) >= RATE_MIN_ENDS and span >= MEASURE_S:
            self.byte_rate = (self._window_bytes - ends[0][1]) / span
            self._measured = True
        if self.admitted == 0:
            self._ends.clear()
            self._window_bytes = 0

    async def store(self, store_many: Callable[[list[T]], list[R | Exception]], item: T) -> R:
        """Store ``item`` with whatever else is waiting, in one call of ``store_many`` (one
        transaction: one commit for the group), on at most ``storers`` threads at once; the
        item's own result, or its exception raised."""
        done: asyncio.Future = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._storing < self.storers:
            self._storing += 1
            task = asyncio.ensure_future(self._store_waiting(store_many))
            self._tasks.add(task)  # a reference, so the task is not collected while it runs
            task.add_done_callback(self._tasks.discard)
        result = await done
        if isinstance(result, Exception):
            raise result
        return result

    async def _store_waiting(self, store_many: Callable[[list[T]], list[R | Exception]]) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting[:self.group_max], self._waiting[self.group_max:]
                try:
                    results = await run_in_threadpool(store_many, [item for item, _ in group])
                except Exception as e:  # noqa: BLE001 -- the database failed: every upload of the group hears it
                    results = [e] * len(group)
                for (_, done), result in zip(group, results, strict=True):
                    done.set_result(result)
        finally:
            self._storing -= 1


@dataclass
class HubLimits:
    """The hub's limits, set by ``gatekeeper hub serve`` options: rates and upload admission."""

    rates: RateLimits = field(default_factory=RateLimits)
    admission: Admission = field(default_factory=Admission)


def client_address(scope: dict) -> str:
    """The client's address (uvicorn puts a trusted proxy's X-Forwarded-For here)."""
    client = scope.get("client")
    return client[0] if client else "-"


class HubTimeAndLimit:
    """A ``GK-Hub-Time`` header on every reply, no body over its path's limit (413), per-address
    rate limits on enrolment and uploads, and load shedding of uploads (429 before the body)."""

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES, per_path: Mapping[str, int] | None = None,
                 hub_limits: HubLimits | None = None) -> None:
        self.app, self.limit, self.per_path = app, limit, dict(per_path or {})
        self.hub_limits = hub_limits or HubLimits()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.per_path.get(path, self.limit)
        size = 0
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                if not value.isdigit() or int(value) > limit:
                    await send_problem(send, 413, "too_large", f"body over the limit of {limit} bytes")
                    return
                size = int(value)
        if scope.get("method") == "POST" and path in (PATH_LOG, PATH_ENROL):
            rates, address = self.hub_limits.rates, client_address(scope)
            what = Limited.UPLOAD_ADDRESS if path == PATH_LOG else Limited.ENROL_ADDRESS
            if not rates.hit(what, address):
                e = rates.refuse(what, address)
                await send_problem(send, 429, e.code, e.message, retry_after(e.retry_after))
                return
            if path == PATH_LOG:
                await self._admitted(scope, receive, send, limit, size)
                return
        await self._limited(scope, receive, send, limit)

    async def _admitted(self, scope: dict, receive: Any, send: Any, limit: int, size: int) -> None:
        admission = self.hub_limits.admission
        later = admission.admit(size, time.monotonic())
        if later is not None:
            e = RefusedError(429, "busy", "the hub is over capacity: retry after Retry-After seconds "
                             "(the delay grows with the queue)")
            await send_problem(send, e.status, e.code, e.message, retry_after(later))
            return
        try:
            await self._limited(scope, receive, send, limit)
        finally:
            admission.finished(size, time.monotonic())

    async def _limited(self, scope: dict, receive: Any, send: Any, limit: int) -> None:
        seen = 0
        started = False

        async def limited_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise RefusedError(413, "too_large", f"body over the limit of {limit} bytes")
            return message

        async def stamped_send(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []),
                                                  (H_HUB_TIME.lower().encode(), f"{time.time():.3f}".encode())]}
            await send(message)

        try:
            await self.app(scope, limited_receive, stamped_send)
        except RefusedError as e:
            if started:
                raise
            await send_problem(send, e.status, e.code, e.message)


def retry_after(seconds: float | None) -> int:
    """A Retry-After header value: whole seconds (as HTTP has it), at least 1."""
    return max(1, math.ceil(seconds or 1))
