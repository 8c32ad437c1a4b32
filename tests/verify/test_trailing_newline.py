"""Issue 15 item 3: no format accepts a trailing newline (a ``$`` in a regex matches before one).

A label with a newline split the daemon's journal line (log injection); a scope with one loaded
from a config; a pass text with one parsed. Each format is matched in full.
"""

from __future__ import annotations

import base45
import cbor2
import pytest

from gatekeeper.verify import (
    Clock,
    Issuer,
    ListError,
    PassFormatError,
    Policy,
    PrivateKey,
    TrustList,
    decide,
    load_trust_list,
    parse,
)
from gatekeeper.verify.passes import SIGN_DOMAIN, validate_scope
from tests.kit.core import SCOPE, T0, issue_pass


def _signed_with_label(key: PrivateKey, label: str) -> str:
    """A pass whose claims the issuer really signed, built by hand: ``issue`` itself refuses the label."""
    body = cbor2.dumps([1, key.kid, b"\x05" * 12, T0 - 10, T0 + 10, SCOPE, 0, label], canonical=True)
    return "GK1:" + base45.b45encode(body + key.sign(SIGN_DOMAIN, body)).decode()


@pytest.mark.parametrize("label", ["A-1 allow=True\n", "A-1\n", "\n"])
def test_an_issuer_signed_label_with_a_newline_is_bad_format(issuer_key: PrivateKey, trust: TrustList,
                                                              label: str) -> None:
    text = _signed_with_label(issuer_key, label)
    assert decide(_signed_with_label(issuer_key, "A-1"), trust, Policy(SCOPE), Clock(T0), None, T0).allow
    with pytest.raises(PassFormatError, match="label"):
        parse(text)
    d = decide(text, trust, Policy(SCOPE), Clock(T0), None, T0)
    assert (d.allow, d.reason.value, d.label) == (False, "bad_format", None)
    with pytest.raises(ValueError, match="label"):
        issue_pass(issuer_key, label=label)


def test_a_pass_text_with_a_trailing_newline_does_not_parse(issuer_key: PrivateKey, trust: TrustList) -> None:
    text = issue_pass(issuer_key)
    parse(text)
    for bad in (text + "\n", text.encode() + b"\n"):
        with pytest.raises(PassFormatError, match="base45"):
            parse(bad)
        assert decide(bad, trust, Policy(SCOPE), Clock(T0), None, T0).reason.value == "bad_format"


@pytest.mark.parametrize("scope", ["maple-court\n", "maple-court/north\n", "*\n"])
def test_a_scope_with_a_trailing_newline_is_refused(issuer_key: PrivateKey, authority: PrivateKey,
                                                    scope: str) -> None:
    assert validate_scope(scope[:-1]) == scope[:-1]
    with pytest.raises(ValueError, match="scope"):
        validate_scope(scope)
    with pytest.raises(ValueError, match="scope"):
        issue_pass(issuer_key, scope=scope)
    # an authority-signed trust list naming such a scope is refused as a whole
    tl = TrustList(1, T0, (Issuer(issuer_key.public, T0 - 10, T0 + 10, (scope,)),))
    with pytest.raises(ListError, match="scope"):
        load_trust_list(tl.sign(authority), authority.public)
