"""The wire protocol's constants and its request-signing message, shared by device and hub.

Every request a device makes is signed with its Ed25519 key over::

    "gk-request/1" 0x00 || METHOD "\\n" TARGET "\\n" TIME "\\n" NONCE "\\n" hex(sha256(BODY))

``TARGET`` is the path with its query string exactly as sent, ``TIME`` integer Unix seconds,
``NONCE`` 16 random bytes in base64url without padding, ``BODY`` the bytes on the wire (after
gzip, when the body is gzipped), so the hub checks the signature before it inflates anything.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass

from gatekeeper.verify import PrivateKey, PublicKey

API = "/v1"
PATH_ENROL = f"{API}/enrol"
PATH_LOG = f"{API}/log"
PATH_LISTS = f"{API}/lists"

H_DEVICE = "GK-Device"
H_TIME = "GK-Time"
H_NONCE = "GK-Nonce"
H_SIGNATURE = "GK-Signature"
H_HUB_TIME = "GK-Hub-Time"
H_FRESHNESS = "GK-Freshness"

DOMAIN = b"gk-request/1\x00"
#: A request's time may differ from the hub's by this much; the hub keeps nonces twice as long.
TIME_WINDOW_S = 300
NONCE_BYTES = 16

#: Hub limits: a batch larger than these is refused with 413 (the device splits it and resends).
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_INFLATED_BYTES = 32 * 1024 * 1024
MAX_BATCH_ROWS = 20_000

LIST_MEDIA_TYPE = "application/cbor"


def b64(data: bytes) -> str:
    """Base64url without padding: short and safe in a header."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """The inverse of :func:`b64`; ValueError when ``text`` is not base64url."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None


def device_id(public: PublicKey) -> str:
    """A device's id: the hex key id of its public key, so the id cannot be claimed by another key."""
    return public.kid.hex()


def signed_message(method: str, target: str, timestamp: int, nonce: str, body: bytes) -> bytes:
    """The bytes a request signature covers (after the domain)."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{method.upper()}\n{target}\n{timestamp}\n{nonce}\n{digest}".encode()


def sign_request(key: PrivateKey, method: str, target: str, body: bytes, timestamp: int,
                 nonce: str | None = None) -> dict[str, str]:
    """The signature headers for one request."""
    nonce = nonce or b64(secrets.token_bytes(NONCE_BYTES))
    sig = key.sign(DOMAIN, signed_message(method, target, timestamp, nonce, body))
    return {H_DEVICE: device_id(key.public), H_TIME: str(timestamp), H_NONCE: nonce, H_SIGNATURE: b64(sig)}


@dataclass(frozen=True)
class SignedRequest:
    """The signature headers of a request, parsed but not yet verified."""

    device: str
    timestamp: int
    nonce: str
    signature: bytes

    def verify(self, key: PublicKey, method: str, target: str, body: bytes) -> bool:
        return key.verify(DOMAIN, signed_message(method, target, self.timestamp, self.nonce, body), self.signature)


def parse_signature_headers(headers: dict[str, str] | object) -> SignedRequest:
    """Read the signature headers; ValueError naming the header that is missing or malformed."""
    get = headers.get  # type: ignore[attr-defined]
    values = {h: get(h) for h in (H_DEVICE, H_TIME, H_NONCE, H_SIGNATURE)}
    missing = [h for h, v in values.items() if not v]
    if missing:
        raise ValueError(f"missing header(s) {', '.join(missing)}: every request must be signed")
    dev = values[H_DEVICE]
    if len(dev) != 16 or any(c not in "0123456789abcdef" for c in dev):
        raise ValueError(f"{H_DEVICE} must be 16 lowercase hex digits")
    t = values[H_TIME]
    if not t.isdigit() or len(t) > 12:
        raise ValueError(f"{H_TIME} must be integer Unix seconds")
    nonce = values[H_NONCE]
    try:
        if len(unb64(nonce)) != NONCE_BYTES:
            raise ValueError
    except ValueError:
        raise ValueError(f"{H_NONCE} must be {NONCE_BYTES} bytes in base64url") from None
    try:
        sig = unb64(values[H_SIGNATURE])
    except ValueError:
        sig = b""
    if len(sig) != 64:
        raise ValueError(f"{H_SIGNATURE} must be a 64-byte Ed25519 signature in base64url")
    return SignedRequest(dev, int(t), nonce, sig)


def etag(trust: int, revocations: int) -> str:
    """The list state's entity tag; a device builds the same tag from the versions it holds."""
    return f'"t{trust}r{revocations}"'
