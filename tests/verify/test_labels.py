"""Pass labels (issue 12): UTF-8 within 24 bytes, printable, NFC; Chinese unit labels work."""

from __future__ import annotations

import re
import unicodedata

import base45
import cbor2
import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.verify import (
    MAX_LABEL_BYTES,
    Clock,
    PassFormatError,
    Policy,
    PrivateKey,
    TrustList,
    decide,
    parse,
    validate_label,
)
from gatekeeper.verify.passes import SIGN_DOMAIN
from tests.kit.core import SCOPE, T0, issue_pass

HYP = settings(max_examples=400, deadline=None)


def _hand_signed(key: PrivateKey, label: str) -> str:
    """A genuine issuer signature over claims carrying ``label``, made without ``issue``'s checks."""
    body = cbor2.dumps([1, key.kid, b"\x09" * 12, T0 - 10, T0 + 10, SCOPE, 0, label], canonical=True)
    return "GK1:" + base45.b45encode(body + key.sign(SIGN_DOMAIN, body)).decode()


def _rule(label: str) -> bool:
    """The documented rule, written from the Unicode categories (independently of the code)."""
    printable = all(unicodedata.category(c)[0] in "LMNPS" or c == " " for c in label)
    return (printable and unicodedata.normalize("NFC", label) == label
            and len(label.encode("utf-8", "surrogatepass")) <= 24)


@pytest.mark.parametrize("label", ["3栋2单元101", "3号楼2单元101", "A-101", "", "栋" * 8, "x" * 24, "Ä-1 (Süd)"])
def test_chinese_and_ascii_labels_round_trip_and_show_at_the_gate(issuer_key: PrivateKey, trust: TrustList,
                                                                   label: str) -> None:
    text = issue_pass(issuer_key, label=label)
    assert parse(text).claims.label == label
    d = decide(text, trust, Policy(SCOPE), Clock(T0), None, T0)
    assert (d.allow, d.label, d.to_json()["label"]) == (True, label, label)


@pytest.mark.parametrize("label, why", [
    ("栋" * 8 + "1", "25 UTF-8 bytes"), ("x" * 25, "25 UTF-8 bytes"),
    ("A\n", "U+000A"), ("A\r", "U+000D"), ("A\t1", "U+0009"), ("\x1b[31m", "U+001B"), ("A\x7f", "U+007F"),
    ("\u202eA-1", "U+202E"),  # a bidi override: the gate would show the label reversed
    ("A\u200b1", "U+200B"), ("3栋\u3000101", "U+3000"), ("A\u00a01", "U+00A0"), ("A\u2028", "U+2028"),
    ("\ue000", "U+E000"), ("e\u0301", "NFC"), ("\u2126", "NFC"),
])
def test_refused_labels_say_why(issuer_key: PrivateKey, label: str, why: str) -> None:
    why = re.escape(why)
    with pytest.raises(ValueError, match=why):
        validate_label(label)
    with pytest.raises(ValueError, match=why):
        issue_pass(issuer_key, label=label)
    with pytest.raises(PassFormatError, match=why):
        parse(_hand_signed(issuer_key, label))


def test_a_chinese_label_keeps_the_qr_small(issuer_key: PrivateKey) -> None:
    """The 24-byte budget keeps a site/zone pass at 8-M, the version an ASCII label needs at M."""
    for scope in (SCOPE, "maple-court/east"):
        for label in ("3号楼2单元101", "栋" * 8, "A-101-1203"):
            qr = segno.make(issue_pass(issuer_key, scope=scope, label=label), error="m", boost_error=False)
            assert (qr.mode, qr.version) == ("alphanumeric", 8), (scope, label)
    assert MAX_LABEL_BYTES == 24


_LABELS = st.one_of(
    st.text(max_size=30),  # any character, any category
    st.text(st.characters(categories=("L", "N", "P", "S", "M", "Zs")), max_size=12),
    st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF) | st.sampled_from("0123456789-号楼栋单元 "),
            max_size=10),
)


@HYP
@given(_LABELS)
def test_a_label_is_accepted_exactly_by_the_rule_and_round_trips(issuer_key: PrivateKey, label: str) -> None:
    """Accepted: issue/parse gives it back. Refused: issue raises ValueError and parse PassFormatError."""
    if _rule(label):
        assert validate_label(label) == label
        assert parse(issue_pass(issuer_key, label=label)).claims.label == label
        assert parse(_hand_signed(issuer_key, label)).claims.label == label
    else:
        with pytest.raises(ValueError):
            validate_label(label)
        with pytest.raises(ValueError):
            issue_pass(issuer_key, label=label)
        with pytest.raises(PassFormatError):
            parse(_hand_signed(issuer_key, label))
