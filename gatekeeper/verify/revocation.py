"""The revocation (status) list: full snapshots and deltas, signed against rollback.

Body (CBOR map, envelope kind ``gk-revocations/1``)::

    {"version": uint, "issued_at": uint, "type": "full" | "delta", "base": uint (delta only),
     "entries": bstr, "lifted": bstr (delta only)}

``entries`` packs fixed 21-byte records, strictly ascending by pass id:
``pass_id (12 bytes) | state (1 byte: 1 revoked, 2 red, 3 yellow) | since (8 bytes, big-endian
unsigned Unix seconds)``. ``lifted`` packs 12-byte pass ids. A 1,000,000-entry snapshot is
21,000,000 bytes of entries plus a few dozen bytes of framing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from dataclasses import field as dc_field

import cbor2
import numpy as np

from .envelope import Envelope, ListError, field, load_body, open_envelope, seal
from .keys import PrivateKey, PublicKey
from .passes import MAX_TIME, PASS_ID_LEN
from .trust import Issuer, TrustList

KIND = "gk-revocations/1"
RECORD_LEN = PASS_ID_LEN + 1 + 8
#: How far past the cached version an issuer's delta may number itself. The authority is unbounded,
#: so it can always publish past a rogue issuer; a version near 2^63 could never be passed.
MAX_ISSUER_VERSION_STEP = 1000
_RECORD = np.dtype([("hi", ">u8"), ("lo", ">u4"), ("state", "u1"), ("since", ">u8")])
_ID = np.dtype([("hi", ">u8"), ("lo", ">u4")])


class EntryState(enum.IntEnum):
    """What an entry does to a pass from its ``since`` time on."""

    REVOKED = 1
    RED = 2
    YELLOW = 3


@dataclass(frozen=True)
class Entry:
    """One list entry: ``pass_id`` turns ``state`` from Unix time ``since``."""

    pass_id: bytes
    state: EntryState
    since: int


#: Finds the revocation entry for a pass id, or None. Supplied by the store (an indexed read).
Lookup = Callable[[bytes], "Entry | None"]


@dataclass(frozen=True)
class RevocationList:
    """A verified list: a full snapshot (``base is None``) or a delta from version ``base``.

    ``entries`` and ``lifted`` stay packed (see the module doc) so a million entries cost
    21 MB, not a million Python objects; iterate them with :meth:`iter_entries`.
    ``issuer_kid`` names the issuer that signed a loaded list; None when the authority did (or when
    the list is not from a file). It is not part of the list's content.
    """

    version: int
    issued_at: int
    base: int | None
    entries: bytes
    lifted: bytes = b""
    issuer_kid: bytes | None = dc_field(default=None, compare=False)

    @property
    def is_delta(self) -> bool:
        return self.base is not None

    def __len__(self) -> int:
        return len(self.entries) // RECORD_LEN

    def iter_entries(self) -> Iterator[tuple[bytes, int, int]]:
        """(pass_id, state, since) for each entry, in pass id order."""
        e = self.entries
        for off in range(0, len(e), RECORD_LEN):
            yield (e[off:off + PASS_ID_LEN], e[off + PASS_ID_LEN],
                   int.from_bytes(e[off + PASS_ID_LEN + 1:off + RECORD_LEN], "big"))

    def iter_lifted(self) -> Iterator[bytes]:
        for off in range(0, len(self.lifted), PASS_ID_LEN):
            yield self.lifted[off:off + PASS_ID_LEN]

    def body(self) -> bytes:
        m: dict = {"version": self.version, "issued_at": self.issued_at,
                   "type": "delta" if self.is_delta else "full", "entries": self.entries}
        if self.is_delta:
            m["base"] = self.base
            m["lifted"] = self.lifted
        return cbor2.dumps(m, canonical=True)

    def sign(self, key: PrivateKey) -> bytes:
        """The signed file bytes."""
        return seal(KIND, self.body(), key)


def pack_entries(entries: dict[bytes, tuple[int, int]]) -> bytes:
    """Pack ``{pass_id: (state, since)}`` into sorted 21-byte records; ValueError for a ``since``
    outside [0, MAX_TIME), which no reader would accept (a list signed with it would be refused)."""
    out = bytearray()
    for pid in sorted(entries):
        state, since = entries[pid]
        if not 0 <= int(since) < MAX_TIME:
            raise ValueError(f"'since' {since} is not a Unix time in [0, 2**40)")
        out += pid + bytes([int(EntryState(state))]) + int(since).to_bytes(8, "big")
    return bytes(out)


def pack_ids(ids: set[bytes] | list[bytes]) -> bytes:
    return b"".join(sorted(ids))


def revocation_list_from_envelope(env: Envelope) -> RevocationList:
    """Parse a revocation list whose envelope the caller has verified; :class:`ListError` if malformed."""
    if env.kind != KIND:
        raise ListError(f"not a revocation list (kind {env.kind!r})")
    body = load_body(env)
    w = "revocation list"
    version = field(body, "version", int, w)
    issued_at = field(body, "issued_at", int, w)
    typ = field(body, "type", str, w)
    entries = field(body, "entries", bytes, w)
    if version < 1 or issued_at < 0:
        raise ListError(f"{w}: version and issued_at must be positive")
    # Times beyond MAX_TIME would not fit SQLite's signed 64-bit integers (an OverflowError, not a
    # refusal) and an absurd issued_at would lift the time floor beyond every real clock.
    if issued_at >= MAX_TIME or version >= 2**63:
        raise ListError(f"{w}: issued_at {issued_at} or version {version} is out of range")
    if typ == "full":
        base, lifted = None, b""
    elif typ == "delta":
        base = field(body, "base", int, w)
        lifted = field(body, "lifted", bytes, w)
        if not 0 <= base < version:
            raise ListError(f"{w}: delta base {base} is not below its version {version}")
    else:
        raise ListError(f"{w}: type must be 'full' or 'delta', not {typ!r}")
    _check_records(entries, lifted)
    return RevocationList(version, issued_at, base, entries, lifted)


def _check_records(entries: bytes, lifted: bytes) -> None:
    if len(entries) % RECORD_LEN:
        raise ListError(f"revocation list: entries are not whole {RECORD_LEN}-byte records")
    if len(lifted) % PASS_ID_LEN:
        raise ListError(f"revocation list: lifted ids are not whole {PASS_ID_LEN}-byte ids")
    rec = np.frombuffer(entries, dtype=_RECORD)
    if len(rec) and not np.isin(rec["state"], (1, 2, 3)).all():
        raise ListError("revocation list: an entry has an unknown state")
    if len(rec) and int(rec["since"].max()) >= MAX_TIME:
        raise ListError("revocation list: an entry's 'since' is not a plausible Unix time")
    _check_ascending(rec["hi"], rec["lo"], "entries")
    ids = np.frombuffer(lifted, dtype=_ID)
    _check_ascending(ids["hi"], ids["lo"], "lifted ids")


def _check_ascending(hi: np.ndarray, lo: np.ndarray, what: str) -> None:
    # Strictly ascending ids: one canonical encoding and no duplicate that could mean two states.
    if len(hi) < 2:
        return
    up = (hi[1:] > hi[:-1]) | ((hi[1:] == hi[:-1]) & (lo[1:] > lo[:-1]))
    if not up.all():
        raise ListError(f"revocation list: {what} are not strictly ascending by pass id")


def load_revocation_list(data: bytes, authority: PublicKey, trust: TrustList | None) -> RevocationList:
    """Verify and parse a revocation list file.

    The signer must be the authority, or an issuer that ``trust`` allows to sign lists and whose
    window holds the list's issue time; an issuer may only sign a delta that adds or tightens entries
    (docs/revocation-format.md, "Lists signed by an issuer"). :class:`ListError` says why a file is
    refused. Applying the list must also pass :func:`check_signer_bounds` against the cache.
    """
    env = open_envelope(data)
    if env.kind != KIND:
        raise ListError(f"not a revocation list (kind {env.kind!r})")
    issuer = _signer(env, authority, trust)
    rl = revocation_list_from_envelope(env)
    if issuer is None:
        return rl
    who = f"a list signed by issuer {issuer.kid.hex()}"
    if not rl.is_delta:
        raise ListError(f"{who} is a full snapshot: only the authority may sign one (it could drop entries)")
    if rl.lifted:
        raise ListError(f"{who} lifts {len(rl.lifted) // PASS_ID_LEN} entries: only the authority may lift one")
    if rl.version - rl.base > MAX_ISSUER_VERSION_STEP:
        raise ListError(f"{who} steps the version from {rl.base} to {rl.version}: an issuer may step it "
                        f"by at most {MAX_ISSUER_VERSION_STEP}")
    return replace(rl, issuer_kid=issuer.kid)


def check_signer_bounds(rl: RevocationList, cached_version: int | None, lookup: Lookup) -> None:
    """Refuse (:class:`ListError`) an issuer-signed delta that does not fit the cached list.

    For a list the authority signed this checks nothing. An issuer's delta must start from the cached
    version (so its version step is bounded over what the device holds), and each of its entries for
    a pass already listed must keep that pass denied at least as hard and as soon: a state no weaker
    (revoked, then red, then yellow) and a ``since`` no later, counting any time up to the list's
    ``issued_at`` as "now". ``lookup`` finds the cached entry of a pass id.
    """
    if rl.issuer_kid is None:
        return
    who = f"a list signed by issuer {rl.issuer_kid.hex()}"
    if cached_version is None or rl.base != cached_version:
        raise ListError(f"{who} is a delta from version {rl.base}, not from the cached version "
                        f"{cached_version if cached_version is not None else 'none'}")
    for pass_id, state, since in rl.iter_entries():
        old = lookup(pass_id)
        if old is None:
            continue
        # Every state denies; a lower number outranks (revoked 1, red 2, yellow 3).
        if state > old.state or max(since, rl.issued_at) > max(old.since, rl.issued_at):
            raise ListError(f"{who} would weaken the entry of pass {pass_id.hex()} "
                            f"({old.state.name.lower()} from {old.since} -> {EntryState(state).name.lower()} "
                            f"from {since}): only the authority may")


def _signer(env: Envelope, authority: PublicKey, trust: TrustList | None) -> Issuer | None:
    """Verify the envelope's signature; the issuer that made it, or None for the authority."""
    if env.signer_kid == authority.kid:
        env.verify(authority)
        return None
    issuer = trust.issuer(env.signer_kid) if trust else None
    if issuer is None or not issuer.may_sign_lists:
        raise ListError(f"signed by key {env.signer_kid.hex()}, which may not sign revocation lists")
    env.verify(issuer.key)
    issued_at = load_body(env).get("issued_at")
    if not isinstance(issued_at, int) or not issuer.valid_from <= issued_at <= issuer.valid_until:
        raise ListError(f"signed by key {env.signer_kid.hex()} outside its trusted window")
    return issuer
