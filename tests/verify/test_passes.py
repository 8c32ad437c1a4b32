"""The pass format: round trips, the byte layout, the size budget, and hostile text."""

from __future__ import annotations

import contextlib
import hashlib

import base45
import cbor2
import pytest
import segno
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatekeeper.verify import (
    Clock,
    PassClaims,
    PassFormatError,
    Policy,
    PrivateKey,
    PublicKey,
    Status,
    TrustList,
    decide,
    issue,
    key_id,
    parse,
)
from gatekeeper.verify.passes import MAX_TEXT, PREFIX, SIGN_DOMAIN
from tests.kit.core import SCOPE, T0, issue_pass

B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
POLICY = Policy(SCOPE)
CLOCK = Clock(T0)
FRESH = T0 - 60  # the revocation list was confirmed current a minute ago
HYP = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _decide(text: object, trust: TrustList):
    return decide(text, trust, POLICY, CLOCK, lambda pid: None, FRESH)  # type: ignore[arg-type]


# --- round trips and the byte layout ---------------------------------------------------------------
def test_round_trip_issue_parse_decide(issuer_key: PrivateKey, trust: TrustList) -> None:
    claims = PassClaims(issuer_key.kid, bytes(range(12)), T0 - 10, T0 + 10, SCOPE + "/north", Status.GREEN, "A-101")
    text = issue(issuer_key, claims)
    assert text.startswith("GK1:") and text.isascii() and all(c in B45 for c in text[4:])
    signed = parse(text)
    assert signed.claims == claims
    assert parse(text.encode()).claims == claims  # bytes from a decoder parse the same
    d = decide(text, trust, Policy(SCOPE + "/north"), CLOCK, lambda pid: None, FRESH)
    assert (d.allow, d.reason.value) == (True, "ok")
    assert d.pass_id == bytes(range(12)).hex() and d.label == "A-101" and d.status == "green"
    assert d.issuer == issuer_key.kid.hex() and d.valid_until == T0 + 10


def test_wire_layout_is_the_documented_one(issuer_key: PrivateKey) -> None:
    """GK1: + base45(canonical CBOR [1, kid, pass_id, from, until, scope, status, label] || sig)."""
    text = issue_pass(issuer_key, pass_id=b"\x01" * 12, label=None, status=Status.YELLOW)
    raw = base45.b45decode(text[len(PREFIX):])
    body, sig = raw[:-64], raw[-64:]
    assert cbor2.loads(body) == [1, issuer_key.kid, b"\x01" * 12, T0 - 86400, T0 + 30 * 86400, SCOPE, 1, None]
    assert body[0] == 0x88  # a definite-length array of 8
    assert issuer_key.public.verify(b"GK1-pass\x00", body, sig) and SIGN_DOMAIN == b"GK1-pass\x00"
    # the signature does not verify without the domain: a pass signature is never a list signature
    assert not issuer_key.public.verify(b"", body, sig)


def test_key_id_is_sha256_prefix_and_pem_round_trips() -> None:
    key = PrivateKey.generate()
    assert key.kid == hashlib.sha256(key.public.raw).digest()[:8] == key_id(key.public.raw)
    assert PrivateKey.from_pem(key.to_pem()).kid == key.kid
    assert PublicKey.from_pem(key.public.to_pem()).raw == key.public.raw
    with pytest.raises(ValueError):
        PublicKey.from_raw(b"\x00" * 31)


def test_non_canonical_encoding_is_refused(issuer_key: PrivateKey) -> None:
    """The same claims re-encoded (here: a 4-byte int where 1 byte would do) are not a pass."""
    claims = PassClaims(issuer_key.kid, b"\x02" * 12, 5, T0, SCOPE)
    body = claims.to_cbor()
    loose = bytes([0x88, 0x1A, 0, 0, 0, 1]) + body[2:]  # version 1 as uint32
    assert cbor2.loads(loose) == cbor2.loads(body)
    text = PREFIX + base45.b45encode(loose + issuer_key.sign(SIGN_DOMAIN, loose)).decode()
    with pytest.raises(PassFormatError, match="canonical"):
        parse(text)


@pytest.mark.parametrize("bad", [
    {"scope": "Maple"}, {"scope": ""}, {"scope": "a" * 49}, {"scope": "a//b"}, {"label": "x" * 25},
    {"label": "栋" * 9}, {"label": "A\n"}, {"label": "e\u0301"}, {"label": "\u202eA"},
    {"valid_from": T0, "valid_until": T0 - 1},
])
def test_issue_refuses_invalid_claims(issuer_key: PrivateKey, bad: dict) -> None:
    with pytest.raises(ValueError):
        issue_pass(issuer_key, **bad)


def test_issue_refuses_claims_naming_another_key(issuer_key: PrivateKey) -> None:
    other = PrivateKey.generate()
    with pytest.raises(ValueError, match="key id"):
        issue(issuer_key, PassClaims(other.kid, b"\x00" * 12, 0, 1, SCOPE))


# --- size ------------------------------------------------------------------------------------------
def test_standard_pass_fits_195_characters(issuer_key: PrivateKey) -> None:
    """A 10-character label and a 16-character 'site/zone' scope: at most 195 characters (QR 6-L).

    The text grows 1.5 characters per claim byte: scope + label may total 26 characters.
    """
    text = issue_pass(issuer_key, scope="maple-court/east", label="B7-1203-02", status=Status.RED)
    assert len(text) <= 195
    qr = segno.make(text, error="l", boost_error=False, micro=False)
    assert (qr.mode, qr.version) == ("alphanumeric", 6)
    # one character more in the scope crosses the line: the budget above is tight, not loose
    assert len(issue_pass(issuer_key, scope="maple-court/north", label="B7-1203-02")) > 195


# --- hostile input ---------------------------------------------------------------------------------
def test_every_single_character_flip_is_denied(make_pass, trust: TrustList) -> None:
    """Each position changed to every other base45 character (and two non-base45 ones): never allowed."""
    text = make_pass(label="A-101")
    assert _decide(text, trust).allow
    reasons: set[str] = set()
    for i, ch in enumerate(text):
        for c in B45 + "a\x00":
            if c == ch:
                continue
            d = _decide(text[:i] + c + text[i + 1:], trust)
            assert not d.allow, (i, c)
            reasons.add(d.reason.value)
    # the flips land on the format checks and the signature, the only places they can land
    assert reasons <= {"bad_format", "bad_signature", "unknown_issuer"} and "bad_signature" in reasons


def test_truncated_and_extended_texts_are_denied(make_pass, trust: TrustList) -> None:
    text = make_pass()
    for n in range(len(text)):
        assert not _decide(text[:n], trust).allow
    for extra in ("0", "00", "000", " ", text):
        assert _decide(text + extra, trust).reason.value == "bad_format"


def test_huge_inputs_are_bad_format(trust: TrustList) -> None:
    for text in ("GK1:" + "A" * 10**6, "x" * 10**7, b"GK1:" + b"0" * 10**6, "GK1:" + "0" * (MAX_TEXT - 4 + 1)):
        d = _decide(text, trust)
        assert (d.allow, d.reason.value) == (False, "bad_format")


def _never_allows(text: object, trust: TrustList) -> str:
    if isinstance(text, (str, bytes)):
        with contextlib.suppress(PassFormatError):
            parse(text)
    d = _decide(text, trust)
    assert not d.allow
    return d.reason.value


@HYP
@given(st.one_of(st.text(max_size=500), st.binary(max_size=500),
                 st.text(alphabet=B45, max_size=300).map(lambda s: "GK1:" + s)))
def test_arbitrary_text_and_bytes_never_allow(trust: TrustList, text) -> None:
    assert _never_allows(text, trust) in {"no_code", "bad_format"}


@HYP
@given(st.binary(max_size=250))
def test_base45_of_garbage_never_allows(trust: TrustList, raw: bytes) -> None:
    text = "GK1:" + base45.b45encode(raw).decode()
    assert _never_allows(text, trust) == "bad_format"


_ANY = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | st.floats()
    | st.text(max_size=20) | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@HYP
@given(st.lists(_ANY, min_size=0, max_size=10), st.binary(min_size=64, max_size=64))
def test_base45_of_claim_shaped_cbor_never_allows(trust: TrustList, items: list, sig: bytes) -> None:
    text = "GK1:" + base45.b45encode(cbor2.dumps(items) + sig).decode()
    assert _never_allows(text, trust) in {"bad_format", "unknown_issuer", "bad_signature"}


_WRONG = {  # for each claim position, values of the wrong type or out of range
    0: _ANY.filter(lambda v: not (type(v) is int and v == 1)),
    1: _ANY.filter(lambda v: not (isinstance(v, bytes) and len(v) == 8)),
    2: _ANY.filter(lambda v: not (isinstance(v, bytes) and len(v) == 12)),
    3: _ANY.filter(lambda v: not (type(v) is int and 0 <= v < 2**40)),
    4: _ANY.filter(lambda v: not (type(v) is int and 0 <= v < 2**40)),
    5: _ANY.filter(lambda v: not isinstance(v, str)) | st.text(max_size=60).filter(lambda s: s != SCOPE),
    6: _ANY.filter(lambda v: not (type(v) is int and v in (0, 1, 2))),
    7: _ANY.filter(lambda v: v is not None and not isinstance(v, str)) | st.text(min_size=25, max_size=30),
}


@HYP
@given(st.sampled_from(sorted(_WRONG)).flatmap(lambda i: st.tuples(st.just(i), _WRONG[i])))
def test_correct_signature_over_wrong_types_never_allows(issuer_key: PrivateKey, trust: TrustList, change) -> None:
    """A genuine issuer signature over claims with one field of the wrong type or range: denied."""
    i, value = change
    items = [1, issuer_key.kid, b"\x07" * 12, T0 - 10, T0 + 10, SCOPE, 0, None]
    items[i] = value
    body = cbor2.dumps(items, canonical=True)
    text = "GK1:" + base45.b45encode(body + issuer_key.sign(SIGN_DOMAIN, body)).decode()
    reason = _never_allows(text, trust)
    # a text scope that is a valid path but not ours is the one well-formed change: out of scope
    assert reason in {"bad_format", "unknown_issuer", "out_of_scope"}
    if reason == "unknown_issuer":
        assert i == 1
