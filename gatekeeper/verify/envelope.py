"""The signed envelope shared by trust lists and revocation lists.

A list file is the canonical CBOR array ``[kind, body, signer_kid, signature]``: ``kind`` a text
tag (``"gk-trust/1"``, ``"gk-revocations/1"``), ``body`` a byte string holding the list's own
CBOR, and ``signature`` the Ed25519 signature of ``kind || 0x00 || body`` by ``signer_kid``.
The kind is inside what is signed, so a trust list can never be replayed as a revocation list.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cbor2

from gatekeeper.verify.keys import KID_LEN, SIG_LEN, PrivateKey, PublicKey


class ListError(ValueError):
    """A list file refused: malformed, wrongly signed, or out of order. The message says which."""


@dataclass(frozen=True)
class Envelope:
    """An envelope taken apart, signature not yet checked."""

    kind: str
    body: bytes
    signer_kid: bytes
    signature: bytes

    def verify(self, key: PublicKey) -> None:
        """Raise :class:`ListError` unless ``key`` made the signature."""
        if key.kid != self.signer_kid:
            raise ListError(f"signed by key {self.signer_kid.hex()}, expected {key.kid.hex()}")
        if not key.verify(self.kind.encode() + b"\x00", self.body, self.signature):
            raise ListError("bad signature: the file was altered or signed by another key")


def seal(kind: str, body: bytes, key: PrivateKey) -> bytes:
    """Sign ``body`` as a list of ``kind`` and return the file bytes."""
    sig = key.sign(kind.encode() + b"\x00", body)
    return cbor2.dumps([kind, body, key.kid, sig])


def open_envelope(data: bytes) -> Envelope:
    """Take a list file apart; :class:`ListError` when it is not an envelope."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) < 8:
        raise ListError("not a list file (empty or truncated)")
    try:
        fp = io.BytesIO(bytes(data))
        items = cbor2.CBORDecoder(fp).decode()
    except Exception:  # noqa: BLE001 -- hostile bytes raise many cbor2 error types; all mean "malformed"
        raise ListError("not a list file (malformed or truncated CBOR)") from None
    # cbor2.loads ignores what follows the first item: unsigned bytes after a list are refused,
    # so a file is exactly one envelope (and a concatenation of two files is not silently half-read).
    if fp.tell() != len(data):
        raise ListError("not a list file (trailing bytes after the envelope)")
    if not isinstance(items, list) or len(items) != 4:
        raise ListError("not a list file (expected an array of 4)")
    kind, body, kid, sig = items
    if not isinstance(kind, str) or not isinstance(body, bytes):
        raise ListError("not a list file (bad kind or body)")
    if not isinstance(kid, bytes) or len(kid) != KID_LEN or not isinstance(sig, bytes) or len(sig) != SIG_LEN:
        raise ListError("not a list file (bad signer or signature field)")
    return Envelope(kind, body, kid, sig)


def load_body(env: Envelope) -> dict:
    """Decode an envelope's body into a map; :class:`ListError` when it is not one."""
    try:
        body = cbor2.loads(env.body)
    except Exception:  # noqa: BLE001 -- as above: any cbor2 failure means the body is not CBOR
        raise ListError(f"{env.kind}: body is not CBOR") from None
    if not isinstance(body, dict):
        raise ListError(f"{env.kind}: body is not a map")
    return body


def field(body: dict, name: str, kind: type | tuple[type, ...], where: str) -> object:
    """``body[name]`` checked for type; :class:`ListError` naming the field otherwise."""
    value = body.get(name)
    if isinstance(value, bool) and kind is not bool:
        raise ListError(f"{where}: field {name!r} has the wrong type")
    if not isinstance(value, kind):
        raise ListError(f"{where}: field {name!r} is missing or has the wrong type")
    return value
