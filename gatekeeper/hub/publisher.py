"""The hub's side of the lists: what it publishes, how a device catches up, and admin changes.

The site directory (``gatekeeper.admin.Site``) stays the one place lists are made and signed; the
hub copies its files into the database, from where every hub replica serves them. Only a hub given
the site directory can sign (new revocation versions, freshness statements).
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import cbor2

from gatekeeper.admin import Site
from gatekeeper.hub.store import HubStore
from gatekeeper.verify import EntryState, open_envelope, revocation_list_from_envelope
from gatekeeper.wire import Freshness, etag

_TRUST = re.compile(r"trust-v(\d+)\.gkl")
_FULL = re.compile(r"revocations-v(\d+)\.full\.gkl")
_DELTA = re.compile(r"revocations-v(\d+)\.delta-v(\d+)\.gkl")
#: A catch-up longer than this many deltas is sent as the full snapshot instead.
MAX_STEPS = 64


def list_key(path: Path) -> tuple[str, int, int] | None:
    """(kind, version, base or -1) of a site list file by its name; None for other files."""
    name = path.name
    if m := _TRUST.fullmatch(name):
        return "trust", int(m.group(1)), -1
    if m := _FULL.fullmatch(name):
        return "revocations", int(m.group(1)), -1
    if m := _DELTA.fullmatch(name):
        return "revocations", int(m.group(1)), int(m.group(2))
    return None


def catch_up(have: int, latest: int, full_size: int, steps: list[tuple[int, int, bytes]]) -> list[bytes] | None:
    """The deltas leading from version ``have`` to ``latest``, or None when the full snapshot is better.

    Better means: no unbroken chain of single-step deltas, more than :data:`MAX_STEPS` of them, or
    more bytes than the snapshot.
    """
    if have <= 0 or have >= latest or latest - have > MAX_STEPS:
        return None
    by_base = {b: (v, d) for v, b, d in steps if v == b + 1}
    out, size, v = [], 0, have
    while v < latest:
        if v not in by_base:
            return None
        v, data = by_base[v]
        out.append(data)
        size += len(data)
    return out if size < full_size else None


class Publisher:
    """Lists as the hub serves them; ``site`` is None on a replica that cannot sign."""

    def __init__(self, store: HubStore, site: Site | None) -> None:
        self.store, self.site = store, site
        self._lock = threading.Lock()  # Site makes version N+1 from N: one change at a time
        self._authority = site.authority if site else None
        if site is not None:
            self.store.set_site(site.authority_public.to_pem().decode(), site.scope, site.name)
            self.sync()

    @property
    def can_sign(self) -> bool:
        return self.site is not None

    def sync(self) -> None:
        """Copy the site's list files the database lacks, and bring the conflict table up to date."""
        if self.site is None:
            return
        known = self.store.known_lists()
        new = []
        for path in sorted((self.site.root / "lists").glob("*.gkl")):
            key = list_key(path)
            if key and key not in known:
                data = path.read_bytes()
                issued = cbor2.loads(open_envelope(data).body).get("issued_at", 0)
                new.append((*key, int(issued), data))
        self.store.add_lists(new)
        self._refresh_revocations()

    def _refresh_revocations(self) -> None:
        have = self.store.revocations_version()
        _, latest = self.store.latest_versions()
        while have < latest:
            delta = self.store.list_file("revocations", have + 1, have) if have else None
            data = delta or self.store.list_file("revocations", latest)
            rl = revocation_list_from_envelope(open_envelope(data))  # signed by the site itself
            self.store.set_revocations(rl.version, list(rl.iter_entries()), list(rl.iter_lifted()), not rl.is_delta)
            have = rl.version

    def reply(self, trust_have: int, revocations_have: int) -> tuple[str, list[bytes]]:
        """(ETag of the current state, the list files that bring a device from what it has to it)."""
        trust, revocations = self.store.latest_versions()
        files: list[bytes] = []
        if trust and trust_have != trust:
            files.append(self.store.list_file("trust", trust) or b"")
        if revocations and revocations_have != revocations:
            full = self.store.list_file("revocations", revocations) or b""
            steps = self.store.revocation_steps(revocations_have, revocations) if revocations_have > 0 else []
            files.extend(catch_up(revocations_have, revocations, len(full), steps) or [full])
        return etag(trust, revocations), files

    def freshness(self, now: float | None = None) -> str | None:
        """A signed statement of the current versions, or None when this hub cannot sign."""
        if self._authority is None:
            return None
        trust, revocations = self.store.latest_versions()
        return Freshness(trust, revocations, int(time.time() if now is None else now)).sign(self._authority)

    def revoke(self, pass_id: bytes, state: EntryState, since: int) -> int:
        """Publish a new revocation version with this entry; the new version."""
        return self._change(lambda site: site.revoke(pass_id, int(state), since))

    def lift(self, pass_id: bytes) -> int:
        """Publish a new version without this pass's entry (reinstate it); the new version."""
        return self._change(lambda site: site.lift(pass_id))

    def _change(self, make) -> int:
        assert self.site is not None
        with self._lock:
            full, _ = make(self.site)
            self.sync()
        key = list_key(full)
        assert key is not None
        return key[1]
