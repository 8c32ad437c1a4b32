"""The worked examples in docs/pass-format.md and docs/revocation-format.md are what the code makes."""

from __future__ import annotations

import re
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gatekeeper.verify import (
    Clock,
    Issuer,
    PassClaims,
    Policy,
    PrivateKey,
    RevocationList,
    Status,
    TrustList,
    decide,
    issue,
    load_revocation_list,
    load_trust_list,
    pack_entries,
    pack_ids,
    parse,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"
PID = bytes.fromhex("00112233445566778899aabb")


def seeded(first: int) -> PrivateKey:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(first, first + 32)))
    return PrivateKey.from_pem(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))


def squashed(path: Path) -> str:
    """The doc with all whitespace removed, so wrapped hex compares as one string."""
    return re.sub(r"\s+", "", path.read_text())


@pytest.fixture(scope="module")
def keys() -> tuple[PrivateKey, PrivateKey]:
    return seeded(0), seeded(32)


def test_pass_format_example(keys) -> None:
    issuer, authority = keys
    doc = squashed(DOCS / "pass-format.md")
    claims = PassClaims(issuer.kid, PID, 1798761600, 1801353600, "maple-court", Status.GREEN, "A-101")
    text = issue(issuer, claims)
    signed = parse(text)
    tl = TrustList(1, 1798675200, (Issuer(issuer.public, 1798675200, 1956441600, ("maple-court",), False),))
    trust_file = tl.sign(authority)
    for piece in (issuer.public.raw.hex(), issuer.kid.hex(), authority.public.raw.hex(), authority.kid.hex(),
                  signed.signature.hex(), text.replace(" ", ""), tl.body().hex(), trust_file.hex()):
        assert piece in doc
    assert re.sub(r"\s+", "", "88 01 48 56475aa75463474c 4c 00112233445566778899aabb 1a 6b36ec80 1a 6b5e7980 "
                  "6b 6d61706c652d636f757274 00 65 412d313031") == claims.to_cbor().hex()
    # the example decides as the doc says
    loaded = load_trust_list(trust_file, authority.public)
    for gate in ("maple-court", "maple-court/north"):
        d = decide(text, loaded, Policy(gate), Clock(1799000000), lambda pid: None, 1799000000 - 60)
        assert d.allow and d.reason.value == "ok"


def test_label_worked_bytes(keys) -> None:
    """The Chinese label bytes in docs/pass-format.md are what a pass carries in claim 7."""
    issuer, _ = keys
    doc = squashed(DOCS / "pass-format.md")
    for label in ("3栋2单元101", "栋" * 8):
        claims = parse(issue(issuer, PassClaims(issuer.kid, PID, 0, 1, "maple-court", Status.GREEN, label))).claims
        label_cbor = claims.to_cbor()[-len(label.encode()) - (1 if len(label.encode()) < 24 else 2):]
        assert label_cbor == cbor2.dumps(label) and label_cbor.hex() in doc


def test_revocation_format_example(keys) -> None:
    _, authority = keys
    doc = squashed(DOCS / "revocation-format.md")
    full = RevocationList(7, 1798848000, None, pack_entries({PID: (1, 1798761600)}))
    delta = RevocationList(8, 1798851600, 7, pack_entries({bytes.fromhex("ffeeddccbbaa998877665544"):
                                                           (2, 1798851600)}), pack_ids({PID}))
    for rl in (full, delta):
        data = rl.sign(authority)
        assert rl.body().hex() in doc and data.hex() in doc
        assert load_revocation_list(data, authority.public, None) == rl
