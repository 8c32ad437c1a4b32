"""The trust list: issuer keys the authority vouches for, each with a window and scopes.

Body (CBOR map): ``{"version": uint, "issued_at": uint, "issuers": [issuer, ...]}`` with each
issuer ``{"kid": bstr(8), "key": bstr(32), "from": uint, "until": uint, "scopes": [tstr],
"lists": bool}``. Signed in an envelope of kind ``gk-trust/1`` by the authority key.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field

import cbor2

from gatekeeper.verify.envelope import (
    Envelope,
    ListError,
    field,
    load_body,
    open_envelope,
    seal,
)
from gatekeeper.verify.keys import PrivateKey, PublicKey
from gatekeeper.verify.passes import MAX_TIME, scope_covers, validate_scope

KIND = "gk-trust/1"


@dataclass(frozen=True)
class Issuer:
    """An issuer key the authority trusts from ``valid_from`` to ``valid_until`` for ``scopes``.

    ``may_sign_lists`` lets the issuer sign revocation lists as well as passes.
    """

    key: PublicKey
    valid_from: int
    valid_until: int
    scopes: tuple[str, ...]
    may_sign_lists: bool = False

    @property
    def kid(self) -> bytes:
        return self.key.kid

    def covers(self, scope: str) -> bool:
        return any(scope_covers(s, scope) for s in self.scopes)

    def to_map(self) -> dict:
        return {"kid": self.kid, "key": self.key.raw, "from": self.valid_from, "until": self.valid_until,
                "scopes": list(self.scopes), "lists": self.may_sign_lists}


@dataclass(frozen=True)
class TrustList:
    """A verified trust list; look issuers up with :meth:`issuer`."""

    version: int
    issued_at: int
    issuers: tuple[Issuer, ...]
    _by_kid: dict[bytes, Issuer] = dc_field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for i in self.issuers:
            if i.kid in self._by_kid:
                raise ListError(f"trust list: issuer key id {i.kid.hex()} appears twice")
            self._by_kid[i.kid] = i

    def issuer(self, kid: bytes) -> Issuer | None:
        return self._by_kid.get(kid)

    def body(self) -> bytes:
        return cbor2.dumps({"version": self.version, "issued_at": self.issued_at,
                            "issuers": [i.to_map() for i in self.issuers]}, canonical=True)

    def sign(self, authority: PrivateKey) -> bytes:
        """The signed file bytes."""
        return seal(KIND, self.body(), authority)


def load_trust_list(data: bytes, authority: PublicKey) -> TrustList:
    """Verify and parse a trust list file; :class:`ListError` says why it is refused."""
    env = open_envelope(data)
    return trust_list_from_envelope(env, authority)


def trust_list_from_envelope(env: Envelope, authority: PublicKey) -> TrustList:
    if env.kind != KIND:
        raise ListError(f"not a trust list (kind {env.kind!r})")
    env.verify(authority)
    body = load_body(env)
    where = "trust list"
    version = field(body, "version", int, where)
    issued_at = field(body, "issued_at", int, where)
    raw_issuers = field(body, "issuers", list, where)
    # an absurd issued_at would lift the time floor forever
    if not 1 <= version < 2**63 or not 0 <= issued_at < MAX_TIME:
        raise ListError("trust list: version must be positive and issued_at a plausible Unix time")
    issuers = []
    for n, m in enumerate(raw_issuers):
        w = f"trust list issuer #{n}"
        if not isinstance(m, dict):
            raise ListError(f"{w}: not a map")
        try:
            key = PublicKey.from_raw(field(m, "key", bytes, w))
        except ValueError as e:
            raise ListError(f"{w}: {e}") from None
        if field(m, "kid", bytes, w) != key.kid:
            raise ListError(f"{w}: key id does not match the key")
        scopes = field(m, "scopes", list, w)
        try:
            scopes = tuple(validate_scope(s) for s in scopes)
        except ValueError as e:
            raise ListError(f"{w}: {e}") from None
        issuers.append(Issuer(key, field(m, "from", int, w), field(m, "until", int, w), scopes,
                              field(m, "lists", bool, w)))
    return TrustList(version, issued_at, tuple(issuers))
