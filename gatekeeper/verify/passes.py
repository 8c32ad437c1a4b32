"""The signed pass: claims, the ``GK1:`` text form, signing and parsing.

Wire form (docs/pass-format.md): ``"GK1:" + base45(claims_cbor || signature)`` where
``claims_cbor`` is the canonical CBOR array
``[1, kid, pass_id, valid_from, valid_until, scope, status, label]`` and ``signature`` is the
64-byte Ed25519 signature of ``b"GK1-pass\\x00" + claims_cbor`` by the issuer key ``kid``.
"""

from __future__ import annotations

import enum
import os
import re
import unicodedata
from dataclasses import dataclass

import base45
import cbor2

from gatekeeper.verify.keys import KID_LEN, SIG_LEN, PrivateKey

PREFIX = "GK1:"
FORMAT_VERSION = 1
PASS_ID_LEN = 12  # 96 random bits
SIGN_DOMAIN = b"GK1-pass\x00"
#: 8 Chinese characters, or a unit label such as "3号楼2单元101" (17 bytes). With a scope of up to 16
#: characters the pass stays within QR 8-M, as an ASCII-labelled one (7-L instead of 6-L at level L):
#: docs/PERFORMANCE.md.
MAX_LABEL_BYTES = 24
MAX_SCOPE = 48
#: A QR at version 6-M holds 195 alphanumeric characters; a code longer than any pass can be
#: is refused before any decoding work.
MAX_TEXT = 400
MAX_TIME = 2**40  # seconds: far past any real validity, small enough to stay an integer everywhere

# Used with fullmatch only: "$" would also match before a trailing newline (issue 15).
SCOPE_RE = re.compile(r"\*|[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)*")
_B45_RE = re.compile(r"[0-9A-Z $%*+\-./:]*")


class Status(enum.IntEnum):
    """The issuer's status colour, as health codes used them."""

    GREEN = 0
    YELLOW = 1
    RED = 2


class PassFormatError(ValueError):
    """The text is not a well-formed pass (the reason ``bad_format``)."""


@dataclass(frozen=True)
class PassClaims:
    """What a pass says. ``pass_id`` is random; there is no name or ID number in a pass."""

    kid: bytes
    pass_id: bytes
    valid_from: int
    valid_until: int
    scope: str
    status: Status = Status.GREEN
    label: str | None = None
    version: int = FORMAT_VERSION

    def to_cbor(self) -> bytes:
        return cbor2.dumps(
            [self.version, self.kid, self.pass_id, self.valid_from, self.valid_until,
             self.scope, int(self.status), self.label],
            canonical=True,
        )


@dataclass(frozen=True)
class SignedPass:
    """A parsed pass whose signature is not yet checked: ``signed`` is what the signature covers."""

    claims: PassClaims
    signed: bytes
    signature: bytes


def new_pass_id() -> bytes:
    """A fresh random 96-bit pass id."""
    return os.urandom(PASS_ID_LEN)


def validate_scope(scope: str) -> str:
    """Return ``scope`` when it is a valid scope path (``site``, ``site/zone``, or ``*``)."""
    if not isinstance(scope, str) or not (1 <= len(scope) <= MAX_SCOPE) or not SCOPE_RE.fullmatch(scope):
        raise ValueError(
            f"scope {scope!r} is not valid: use lower-case words of a-z 0-9 _ . - joined by '/', "
            f"at most {MAX_SCOPE} characters (e.g. 'maple-court' or 'maple-court/north')"
        )
    return scope


def validate_label(label: str) -> str:
    """Return ``label`` when it may be a pass label, else raise ValueError saying why.

    A label is at most :data:`MAX_LABEL_BYTES` UTF-8 bytes of printable characters (letters, marks,
    digits, punctuation, symbols and the ASCII space: no control, format, private-use, unassigned or
    separator character, so no newline and no bidi override), in Unicode NFC so that one label has
    one encoding.
    """
    if not isinstance(label, str):
        raise ValueError("label must be text")
    if not label.isprintable():
        bad = next(c for c in label if not c.isprintable())
        raise ValueError(f"label {label!r} holds the non-printable character U+{ord(bad):04X}")
    if unicodedata.normalize("NFC", label) != label:
        raise ValueError(f"label {label!r} is not in Unicode NFC form")
    size = len(label.encode("utf-8"))
    if size > MAX_LABEL_BYTES:
        raise ValueError(f"label {label!r} is {size} UTF-8 bytes, more than {MAX_LABEL_BYTES} "
                         "(a Chinese character takes 3)")
    return label


def scope_covers(outer: str, inner: str) -> bool:
    """True when ``outer`` grants ``inner``: equal, a parent path, or ``*``."""
    return outer == "*" or outer == inner or inner.startswith(outer + "/")


def issue(key: PrivateKey, claims: PassClaims) -> str:
    """Sign ``claims`` with the issuer ``key`` and return the pass text (ASCII, QR alphanumeric)."""
    if claims.kid != key.kid:
        raise ValueError("claims name another key id than the signing key")
    _check_claims(claims)
    body = claims.to_cbor()
    return PREFIX + base45.b45encode(body + key.sign(SIGN_DOMAIN, body)).decode("ascii")


def parse(text: str | bytes) -> SignedPass:
    """Parse a pass text into claims and signature without checking the signature.

    Raises :class:`PassFormatError` for anything that is not a canonical version-1 pass.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise PassFormatError("not ASCII") from None
    if not isinstance(text, str):
        raise PassFormatError("not text")
    if len(text) > MAX_TEXT:
        raise PassFormatError("too long for a pass")
    if not text.startswith(PREFIX):
        raise PassFormatError(f"does not start with {PREFIX}")
    encoded = text[len(PREFIX):]
    if not _B45_RE.fullmatch(encoded):
        raise PassFormatError("not base45")
    try:
        raw = base45.b45decode(encoded)
    except (ValueError, TypeError, IndexError):
        raise PassFormatError("not base45") from None
    if len(raw) <= SIG_LEN:
        raise PassFormatError("too short")
    body, signature = raw[:-SIG_LEN], raw[-SIG_LEN:]
    try:
        items = cbor2.loads(body)
    except Exception:  # noqa: BLE001 -- cbor2 raises several types for hostile input; all mean bad_format
        raise PassFormatError("claims are not CBOR") from None
    claims = _claims_from_items(items)
    # Canonical form only: one pass has exactly one encoding, so a re-encoded copy is not a new pass.
    if claims.to_cbor() != body:
        raise PassFormatError("claims are not canonical CBOR")
    return SignedPass(claims, body, signature)


def _claims_from_items(items: object) -> PassClaims:
    if not isinstance(items, list) or len(items) != 8:
        raise PassFormatError("claims are not an array of 8")
    version, kid, pass_id, valid_from, valid_until, scope, status, label = items
    if type(version) is not int or version != FORMAT_VERSION:
        raise PassFormatError("unknown format version")
    if not isinstance(kid, bytes) or len(kid) != KID_LEN:
        raise PassFormatError("bad issuer key id")
    if not isinstance(pass_id, bytes) or len(pass_id) != PASS_ID_LEN:
        raise PassFormatError("bad pass id")
    for t in (valid_from, valid_until):
        if type(t) is not int or not 0 <= t < MAX_TIME:
            raise PassFormatError("bad validity time")
    if type(status) is not int or status not in (0, 1, 2):
        raise PassFormatError("bad status")
    claims = PassClaims(kid, pass_id, valid_from, valid_until, scope, Status(status), label, version)
    try:
        _check_claims(claims)
    except ValueError as e:
        raise PassFormatError(str(e)) from None
    return claims


def _check_claims(c: PassClaims) -> None:
    validate_scope(c.scope)
    if c.valid_until < c.valid_from:
        raise ValueError("valid-until is before valid-from")
    if c.label is not None:
        validate_label(c.label)
