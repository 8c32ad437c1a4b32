"""The site's ledger of passes issued offline (``gatekeeper pass issue/print --site DIR``).

A pass signed on the admin's machine never passes through the hub, yet the registry must know it
(to show, print, revoke and reissue it). So every pass issued with ``--site`` is appended as one
JSON line to ``<site>/ledger/issued.jsonl``; a hub started with ``--site`` on that directory (or
a copy of it) takes the ledger in: at start and before it lists passes. Taking in is idempotent
(keyed by pass id), so the ledger is never rewritten or truncated, only appended to.

One line::

    {"pass_id": "<24 hex>", "text": "GK1:...", "unit": "3号楼2单元101" or null, "label": ...,
     "valid_from": 1764547200, "valid_until": 1796083200, "status": "green", "issued_at": 1764547200.0}
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from gatekeeper.verify import PassClaims, Status

LEDGER = Path("ledger") / "issued.jsonl"


@dataclass(frozen=True)
class LedgerEntry:
    pass_id: str
    text: str
    unit: str | None
    label: str | None
    valid_from: int
    valid_until: int
    status: str
    issued_at: float


def ledger_path(site_root: Path) -> Path:
    return Path(site_root) / LEDGER


def ledger_entry(text: str, claims: PassClaims, unit: str | None, now: float | None = None) -> LedgerEntry:
    return LedgerEntry(claims.pass_id.hex(), text, unit, claims.label, claims.valid_from, claims.valid_until,
                       Status(claims.status).name.lower(), time.time() if now is None else now)


def append_ledger(site_root: Path, entries: Sequence[LedgerEntry]) -> None:
    """Append entries, flushed to disk before returning (a pass printed is a pass recorded)."""
    path = ledger_path(site_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(asdict(e), ensure_ascii=False) + "\n" for e in entries).encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_ledger(site_root: Path) -> Iterator[LedgerEntry]:
    """Every whole entry; a torn last line (a crash while appending) is skipped."""
    try:
        lines = ledger_path(site_root).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return
    for line in lines:
        try:
            yield LedgerEntry(**json.loads(line))
        except (ValueError, TypeError):
            continue
