"""The signed freshness statement: "at time T the newest lists were trust v.. and revocations v..".

The hub signs it with the site's authority key and sends it in the ``GK-Freshness`` header of
every list reply, 304 included. A device confirms its cached list as current -- and raises its
time floor -- only from a statement that verifies against the authority key it was provisioned
with and names the versions it holds. An unsigned 304 (a hub replica without the key, or anyone
in the middle) confirms nothing, so nobody can keep a revoked pass alive by answering "unchanged".

Format: the list envelope (``gatekeeper.verify.envelope``) of kind ``gk-freshness/1`` over the CBOR
map ``{"trust": uint, "revocations": uint, "at": uint}``, in base64url without padding.
"""

from __future__ import annotations

from dataclasses import dataclass

import cbor2

from gatekeeper.verify import (
    ListError,
    PrivateKey,
    PublicKey,
    field,
    load_body,
    open_envelope,
    seal,
)
from gatekeeper.wire.protocol import b64, unb64

FRESHNESS_KIND = "gk-freshness/1"


@dataclass(frozen=True)
class Freshness:
    trust: int
    revocations: int
    at: int

    def sign(self, authority: PrivateKey) -> str:
        """The header value."""
        body = cbor2.dumps({"trust": self.trust, "revocations": self.revocations, "at": self.at}, canonical=True)
        return b64(seal(FRESHNESS_KIND, body, authority))


def read_freshness(header: str, authority: PublicKey) -> Freshness:
    """Verify and parse a header value; :class:`ListError` says why it is refused."""
    try:
        data = unb64(header)
    except ValueError:
        raise ListError("freshness statement is not base64url") from None
    env = open_envelope(data)
    if env.kind != FRESHNESS_KIND:
        raise ListError(f"not a freshness statement (kind {env.kind!r})")
    env.verify(authority)
    body = load_body(env)
    return Freshness(*(int(field(body, k, int, "freshness statement")) for k in ("trust", "revocations", "at")))
