"""The upload batch: its JSON form, its limits, and the pure steps on both ends.

A batch is one gzip'd JSON object (see docs/sync-protocol.md)::

    {"prev": P, "last": L, "sent_mono": M, "sent_boot_id": B, "rows": [row, ...], "parked": [range, ...]}

It claims: every row of the device's passage log with ``P < seq <= L`` is in ``rows``, except the
ranges listed in ``parked`` (held in the device's quarantine). So the hub acknowledges ``L`` when it
already holds everything up to ``P`` -- contiguity in the device's log, not in seq arithmetic.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterable
from itertools import pairwise
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from gatekeeper.wire.passage import (
    FLAG_FIELDS,
    ROW_FIELDS,
    UNKNOWN_BOOT,
    LoggedRow,
    Mono,
    Seq,
    Strict,
    bounded_text,
)


class Parked(Strict):
    """A range of rows the hub refused that the device keeps in its quarantine."""

    first: Seq
    last: Seq
    status: Annotated[int, Field(ge=400, le=499)]
    message: bounded_text(500) = ""


class Batch(Strict):
    """One upload: rows ``prev < seq <= last``, minus the parked ranges."""

    prev: Annotated[int, Field(ge=0, le=2**62)]
    last: Seq
    sent_mono: Mono
    sent_boot_id: bounded_text(64)
    rows: list[LoggedRow] = Field(default_factory=list, max_length=20_000)
    parked: list[Parked] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _ordered(self) -> Batch:
        if self.last <= self.prev:
            raise ValueError("last must be greater than prev")
        seqs = [r.seq for r in self.rows]
        if any(b <= a for a, b in pairwise(seqs)):
            raise ValueError("rows must be in strictly ascending seq order")
        if seqs and not (self.prev < seqs[0] and seqs[-1] <= self.last):
            raise ValueError("every row's seq must lie in (prev, last]")
        for p in self.parked:
            if not self.prev < p.first <= p.last <= self.last:
                raise ValueError("every parked range must lie in (prev, last]")
        return self


class Ack(BaseModel):
    """The hub's reply to a batch."""

    ack: int = Field(description="The highest seq up to which the hub holds every row of this device.")
    stored: int = Field(description="Rows of this batch newly stored.")
    duplicates: int = Field(description="Rows of this batch the hub already held (a resend).")
    conflicts: list[int] = Field(description="Seqs of allowed rows whose pass the hub knew was revoked by then.")
    seq_conflicts: list[int] = Field(
        default_factory=list,
        description="Seqs of rows the hub already held with different content: it keeps both versions "
                    "and lists them at /v1/admin/seq-conflicts.")
    hub_time: float


# --- device side ------------------------------------------------------------------------------
def row_json(row: dict) -> str:
    """One store row as compact JSON (only the protocol's fields; 0/1 flags as booleans)."""
    out = {k: row.get(k) for k in ROW_FIELDS}
    for k in FLAG_FIELDS:
        out[k] = bool(out[k])
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False)


def take_within(rows: Iterable[dict], max_bytes: int) -> list[str]:
    """Encoded rows, oldest first, while their JSON stays within ``max_bytes`` (at least one row)."""
    out: list[str] = []
    size = 0
    for row in rows:
        text = row_json(row)
        size += len(text.encode()) + 1
        if out and size > max_bytes:
            break
        out.append(text)
    return out


def encode_batch(prev: int, last: int, rows_json: list[str], sent_mono: float, sent_boot_id: str,
                 parked: list[dict] | None = None) -> bytes:
    """The gzip'd batch body from rows already encoded by :func:`take_within`."""
    head = json.dumps({"prev": prev, "last": last, "sent_mono": sent_mono, "sent_boot_id": sent_boot_id,
                       "parked": parked or []}, separators=(",", ":"))
    text = head[:-1] + ',"rows":[' + ",".join(rows_json) + "]}"
    return gzip.compress(text.encode(), compresslevel=5)


# --- hub side ---------------------------------------------------------------------------------
def inflate(body: bytes, limit: int) -> bytes:
    """Gunzip ``body``, refusing more than ``limit`` bytes out (ValueError): no gzip bombs."""
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(body, limit + 1)
    except zlib.error as e:
        raise ValueError(f"body is not valid gzip: {e}") from None
    if len(out) > limit:
        raise OverflowError(f"body inflates to more than {limit} bytes")
    if not d.eof:
        raise ValueError("body is truncated gzip")
    return out


def hub_time(row: LoggedRow, batch: Batch, received_at: float) -> float | None:
    """The hub's estimate of when a row happened, from the monotonic clock of the same boot.

    ``received_at - (sent_mono - mono)``: right to within the upload's latency whatever the
    device's wall clock said. None for rows of an earlier boot (their monotonic clock is gone).
    """
    if row.boot_id != batch.sent_boot_id or row.boot_id == UNKNOWN_BOOT or row.mono > batch.sent_mono:
        return None
    return received_at - (batch.sent_mono - row.mono)


def conflict(row: LoggedRow, entry: tuple[str, int] | None, when: float | None) -> str | None:
    """The revocation state an allowed row ran into, or None.

    ``entry`` is the hub's (state, since) for the pass; ``when`` the best time of the row (the
    hub's estimate when it has one, else the device's decision time).
    """
    if not row.allow or entry is None:
        return None
    state, since = entry
    return state if (when if when is not None else row.at) >= since else None
