"""A site: the admin's side of the keys and lists (authority key, issuer keys, signed lists).

Layout of a site directory::

    site.toml                      name, scope, the current issuer key id, the time zone
    keys/authority.key|.pub        the authority key: signs trust and revocation lists
    keys/issuer-<kid>.key|.pub     issuer keys: sign passes
    keys/retired-<time>/           keys replaced by ``rotate_authority`` (kept for the record)
    lists/trust-v<N>.gkl           signed trust lists, one per version
    lists/revocations-v<N>.full.gkl        full revocation snapshots
    lists/revocations-v<N>.delta-v<M>.gkl  the delta from version M to N
    gatekeeper.toml                a device configuration for trying the site out
    state/gatekeeper.db            that device's store

Every file is written atomically; a site directory is never half-made or half-updated.
"""

from __future__ import annotations

import re
import time
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from gatekeeper.atomicfile import write_atomic, write_toml
from gatekeeper.isotime import machine_zone, zone_named
from gatekeeper.keyfile import KeyFileError, read_private_key
from gatekeeper.verify import (
    Issuer,
    ListError,
    PassClaims,
    PrivateKey,
    PublicKey,
    RevocationList,
    Status,
    TrustList,
    issue,
    load_revocation_list,
    load_trust_list,
    new_pass_id,
    pack_entries,
    pack_ids,
    validate_scope,
)

DAY = 86400
ISSUER_YEARS = 5


class SiteError(Exception):
    """A site directory that is missing, broken, or would be overwritten."""


@dataclass(frozen=True)
class SiteFiles:
    """What ``init`` made, for printing."""

    paths: list[Path]


@dataclass(frozen=True)
class AuthorityRotation:
    """What ``rotate_authority`` made: the new authority's public key, the new lists, where the old keys went."""

    authority: PublicKey
    trust_file: Path
    revocation_file: Path
    retired: Path


def _version(path: Path, prefix: str) -> int:
    """The version in a list file's name (``trust-v000003.gkl`` -> 3)."""
    m = re.match(re.escape(prefix) + r"(\d+)\.", path.name)
    if m is None:
        raise SiteError(f"{path}: not a list file name")
    return int(m.group(1))


def _write_key(path: Path, key: PrivateKey) -> None:
    write_atomic(path, key.to_pem(), mode=0o600)
    write_atomic(path.with_suffix(".pub"), key.public.to_pem())


class Site:
    """An existing site directory. Open one with :meth:`open`, make one with :meth:`init`."""

    def __init__(self, root: Path, name: str, scope: str, issuer_kid: str, timezone: str = "UTC") -> None:
        self.root, self.name, self.scope, self.issuer_kid = root, name, scope, issuer_kid
        #: The IANA name of the site's time zone: what dates typed at the CLI mean, how times are shown.
        self.timezone = timezone
        self.zone: ZoneInfo = zone_named(timezone)

    # --- making and opening ------------------------------------------------------------------
    @classmethod
    def init(cls, root: str | Path, scope: str = "demo", name: str | None = None, now: float | None = None,
             timezone: str | None = None) -> Site:
        """Make a new site: authority and issuer keys, trust list v1, an empty revocation list v1.

        ``timezone`` (an IANA name) defaults to the machine's."""
        root = Path(root)
        validate_scope(scope)
        timezone = timezone or machine_zone()
        try:
            zone_named(timezone)
        except ValueError as e:
            raise SiteError(f"timezone: {e}") from None
        if (root / "site.toml").exists() or (root / "keys").exists() or (root / "gatekeeper.toml").exists():
            raise SiteError(f"{root}: a site already exists here; refusing to overwrite it")
        now = int(now if now is not None else time.time())
        for d in ("keys", "lists", "state"):
            (root / d).mkdir(parents=True, exist_ok=True)
        authority, issuer = PrivateKey.generate(), PrivateKey.generate()
        _write_key(root / "keys" / "authority.key", authority)
        _write_key(root / "keys" / f"issuer-{issuer.kid.hex()}.key", issuer)
        tl = TrustList(1, now, (Issuer(issuer.public, now - DAY, now + ISSUER_YEARS * 365 * DAY, (scope,), False),))
        write_atomic(root / "lists" / "trust-v000001.gkl", tl.sign(authority))
        rl = RevocationList(1, now, None, b"")
        write_atomic(root / "lists" / "revocations-v000001.full.gkl", rl.sign(authority))
        site = cls(root, name or scope, scope, issuer.kid.hex(), timezone)
        site._save_meta()
        return site

    @classmethod
    def open(cls, root: str | Path) -> Site:
        root = Path(root)
        meta_path = root / "site.toml"
        try:
            meta = tomllib.loads(meta_path.read_text())
            # A site made before the key existed keeps to the machine's zone until one is written.
            return cls(root, str(meta["name"]), validate_scope(meta["scope"]), str(meta["issuer"]),
                       str(meta.get("timezone") or machine_zone()))
        except FileNotFoundError:
            raise SiteError(f"{root}: not a site (no site.toml); make one with 'gatekeeper site init {root}'") from None
        except (tomllib.TOMLDecodeError, KeyError, ValueError, TypeError) as e:
            raise SiteError(f"{meta_path}: broken site file: {e}") from None
        except RecursionError:  # tomllib recurses once per nesting level
            raise SiteError(f"{meta_path}: broken site file: arrays or tables nested too deeply") from None

    def _save_meta(self) -> None:
        write_toml(self.root / "site.toml", {"name": self.name, "scope": self.scope, "issuer": self.issuer_kid,
                                             "timezone": self.timezone},
                   "Gatekeeper site: the admin side. Keep keys/*.key secret.")

    # --- keys -----------------------------------------------------------------------------------
    def _private(self, name: str) -> PrivateKey:
        path = self.root / "keys" / f"{name}.key"
        try:
            return read_private_key(path, f"{name} key")
        except KeyFileError as e:
            raise SiteError(str(e)) from None

    @property
    def authority(self) -> PrivateKey:
        return self._private("authority")

    @property
    def authority_public(self) -> PublicKey:
        return self.authority.public

    @property
    def issuer(self) -> PrivateKey:
        return self._private(f"issuer-{self.issuer_kid}")

    # --- lists ----------------------------------------------------------------------------------
    def _latest(self, pattern: str, what: str) -> Path:
        """The newest list file matching ``pattern``; SiteError naming ``what`` when there is none."""
        files = sorted((self.root / "lists").glob(pattern))
        if not files:
            raise SiteError(f"{self.root}/lists: no {what}")
        return files[-1]

    def trust_file(self) -> Path:
        return self._latest("trust-v*.gkl", "trust list")

    def revocation_file(self) -> Path:
        return self._latest("revocations-v*.full.gkl", "revocation list")

    def trust_list(self) -> TrustList:
        path = self.trust_file()
        try:
            return load_trust_list(path.read_bytes(), self.authority_public)
        except ListError as e:
            raise SiteError(f"{path}: {e}") from None

    def revocations(self) -> RevocationList:
        path = self.revocation_file()
        try:
            return load_revocation_list(path.read_bytes(), self.authority_public, self.trust_list())
        except ListError as e:
            raise SiteError(f"{path}: {e}") from None

    # --- passes ---------------------------------------------------------------------------------
    def issue_pass(self, valid_from: int, valid_until: int, scope: str | None = None,
                   status: Status = Status.GREEN, label: str | None = None) -> tuple[str, PassClaims]:
        """Sign a new pass with the current issuer key; returns (text, claims)."""
        key = self.issuer
        claims = PassClaims(key.kid, new_pass_id(), int(valid_from), int(valid_until), scope or self.scope,
                            status, label or None)
        return issue(key, claims), claims

    def revoke(self, pass_id: bytes, state: int, since: int, now: float | None = None) -> tuple[Path, Path]:
        """Add or change an entry and write version N+1 as a full snapshot and a delta from N."""
        return self._publish({pass_id: (state, since)}, set(), now)

    def lift(self, pass_id: bytes, now: float | None = None) -> tuple[Path, Path]:
        """Remove an entry (reinstate a pass) in a new version."""
        return self._publish({}, {pass_id}, now)

    def _publish(self, added: dict[bytes, tuple[int, int]], lifted: set[bytes],
                 now: float | None) -> tuple[Path, Path]:
        cur = self.revocations()
        entries = {pid: (state, since) for pid, state, since in cur.iter_entries()}
        entries.update(added)
        for pid in lifted:
            entries.pop(pid, None)
        # issued_at never goes backwards, even when the admin's clock does
        issued = max(int(now if now is not None else time.time()), cur.issued_at)
        v = cur.version + 1
        full = RevocationList(v, issued, None, pack_entries(entries))
        delta = RevocationList(v, issued, cur.version, pack_entries(added), pack_ids(lifted))
        authority = self.authority
        full_path = self.root / "lists" / f"revocations-v{v:06d}.full.gkl"
        delta_path = self.root / "lists" / f"revocations-v{v:06d}.delta-v{cur.version:06d}.gkl"
        write_atomic(delta_path, delta.sign(authority))
        write_atomic(full_path, full.sign(authority))  # the full file last: it marks the version done
        return full_path, delta_path

    def rotate_authority(self, now: float | None = None) -> AuthorityRotation:
        """Replace a lost or stolen authority key: a new authority and a new issuer, a trust list
        naming only the new issuer and an empty revocation snapshot, both signed by the new
        authority at the next versions. Works without the old key (it may be gone).

        The old authority and issuer keys move to ``keys/retired-<time>/``. Every pass of the old
        issuers is refused by a gate that trusts the new authority (their issuer is not in its trust
        list), so their revocation entries are not carried over. Gates must be provisioned again:
        they hold the old authority's public key and refuse the new lists (see docs/operations.md).
        """
        now = int(now if now is not None else time.time())
        keys = self.root / "keys"
        retired = keys / f"retired-{datetime.fromtimestamp(now, UTC):%Y%m%dT%H%M%SZ}"
        if retired.exists():
            raise SiteError(f"{retired} exists: the authority was rotated a moment ago; wait a second")
        trust_v = _version(self._latest("trust-v*.gkl", "trust list"), "trust-v") + 1
        revocation_v = _version(self.revocation_file(), "revocations-v") + 1
        retired.mkdir(parents=True)
        for old in sorted(keys.glob("authority.*")) + sorted(keys.glob("issuer-*")):
            old.rename(retired / old.name)
        authority, issuer = PrivateKey.generate(), PrivateKey.generate()
        _write_key(keys / "authority.key", authority)
        _write_key(keys / f"issuer-{issuer.kid.hex()}.key", issuer)
        tl = TrustList(trust_v, now, (Issuer(issuer.public, now - 60, now + ISSUER_YEARS * 365 * DAY, (self.scope,),
                                             False),))
        trust_path = self.root / "lists" / f"trust-v{trust_v:06d}.gkl"
        write_atomic(trust_path, tl.sign(authority))
        revocation_path = self.root / "lists" / f"revocations-v{revocation_v:06d}.full.gkl"
        write_atomic(revocation_path, RevocationList(revocation_v, now, None, b"").sign(authority))
        self.issuer_kid = issuer.kid.hex()
        self._save_meta()
        return AuthorityRotation(authority.public, trust_path, revocation_path, retired)

    def rotate_issuer(self, overlap_days: float | None = None, now: float | None = None) -> tuple[str, Path]:
        """Roll the issuer key over: a new key and trust list v+1.

        Passes of the old key stay valid until the old key's window ends; ``overlap_days`` shortens
        that window to now + the overlap.
        """
        now = int(now if now is not None else time.time())
        tl = self.trust_list()
        new = PrivateKey.generate()
        issuers = []
        for i in tl.issuers:
            if i.kid.hex() == self.issuer_kid and overlap_days is not None:
                i = Issuer(i.key, i.valid_from, min(i.valid_until, now + int(overlap_days * DAY)), i.scopes,
                           i.may_sign_lists)
            issuers.append(i)
        issuers.append(Issuer(new.public, now - 60, now + ISSUER_YEARS * 365 * DAY, (self.scope,), False))
        new_tl = TrustList(tl.version + 1, max(now, tl.issued_at), tuple(issuers))
        _write_key(self.root / "keys" / f"issuer-{new.kid.hex()}.key", new)
        path = self.root / "lists" / f"trust-v{new_tl.version:06d}.gkl"
        write_atomic(path, new_tl.sign(self.authority))
        self.issuer_kid = new.kid.hex()
        self._save_meta()
        return self.issuer_kid, path
