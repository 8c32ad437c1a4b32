"""The decision core: every reason code, their precedence, scopes, time floor and key rollover."""

from __future__ import annotations

import itertools

import base45
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.admin import DAY, Site
from gatekeeper.verify import (
    PRECEDENCE,
    Clock,
    Entry,
    EntryState,
    Issuer,
    Policy,
    PrivateKey,
    Reason,
    SitePolicy,
    Status,
    TrustList,
    decide,
    scope_covers,
)
from tests.kit.core import SCOPE, T0

FRESH = T0 - 60


def none(pid: bytes) -> None:
    return None


def entry(state: EntryState, since: int = T0 - 10):
    return lambda pid: Entry(pid, state, since)


def test_reason_strings_are_the_documented_ones() -> None:
    assert [r.value for r in PRECEDENCE] == [
        "no_code", "bad_format", "bad_signature", "unknown_issuer", "out_of_scope", "not_yet_valid",
        "expired", "revoked", "status_red", "status_yellow", "clock_untrusted", "list_stale"]
    assert {r.value for r in Reason} == set(r.value for r in PRECEDENCE) | {"ok", "manual"}


def _resign(text: str, key: PrivateKey) -> str:
    """The same claims with a signature by ``key`` (same kid): a forged signature."""
    raw = base45.b45decode(text[4:])
    return "GK1:" + base45.b45encode(raw[:-64] + key.sign(b"GK1-pass\x00", raw[:-64])).decode()


def test_every_reason_is_produced(make_pass, trust: TrustList) -> None:
    p = Policy(SCOPE)
    ok = make_pass()
    cases = {
        "ok": decide(ok, trust, p, Clock(T0), none, FRESH),
        "no_code": decide(None, trust, p, Clock(T0), none, FRESH),
        "bad_format": decide("https://example.org/", trust, p, Clock(T0), none, FRESH),
        "bad_signature": decide(_resign(ok, PrivateKey.generate()), trust, p, Clock(T0), none, FRESH),
        "unknown_issuer": decide(make_pass(key=PrivateKey.generate()), trust, p, Clock(T0), none, FRESH),
        "expired": decide(make_pass(valid_from=T0 - 9, valid_until=T0 - 1), trust, p, Clock(T0), none, FRESH),
        "not_yet_valid": decide(make_pass(valid_from=T0 + 1), trust, p, Clock(T0), none, FRESH),
        "out_of_scope": decide(ok, trust, Policy("elm-row"), Clock(T0), none, FRESH),
        "status_red": decide(make_pass(status=Status.RED), trust, p, Clock(T0), none, FRESH),
        "status_yellow": decide(make_pass(status=Status.YELLOW), trust, p, Clock(T0), none, FRESH),
        "revoked": decide(ok, trust, p, Clock(T0), entry(EntryState.REVOKED), FRESH),
        "list_stale": decide(ok, trust, p, Clock(T0), none, T0 - 7 * DAY - 1),
        "clock_untrusted": decide(ok, trust, p, Clock(T0 - 100, floor=T0), none, FRESH),
    }
    for want, d in cases.items():
        assert (d.reason.value, d.allow) == (want, want == "ok"), want
    assert {d.reason for d in cases.values()} == set(PRECEDENCE) | {Reason.OK}
    # no list at all counts as stale, never as fresh
    assert decide(ok, trust, p, Clock(T0), None, None).reason is Reason.LIST_STALE
    assert decide(b"", trust, p, Clock(T0)).reason is Reason.NO_CODE
    assert decide(ok, None, p, Clock(T0), none, FRESH).reason is Reason.UNKNOWN_ISSUER


def test_entries_turn_a_pass_from_their_time(make_pass, trust: TrustList) -> None:
    ok = make_pass()
    for state, reason in [(EntryState.REVOKED, "revoked"), (EntryState.RED, "status_red"),
                          (EntryState.YELLOW, "status_yellow")]:
        before = decide(ok, trust, Policy(SCOPE), Clock(T0 - 1), entry(state, since=T0), FRESH)
        at = decide(ok, trust, Policy(SCOPE), Clock(T0), entry(state, since=T0), FRESH)
        assert before.allow and before.reason is Reason.OK
        assert (at.allow, at.reason.value) == (False, reason)


def test_soft_conditions_allow_and_flag_when_the_site_says_so(make_pass, trust: TrustList) -> None:
    ok = make_pass()
    lenient = Policy(SCOPE, stale_policy=SitePolicy.ALLOW, clock_policy=SitePolicy.ALLOW)
    d = decide(ok, trust, lenient, Clock(T0 - 100, floor=T0), none, T0 - 2 * DAY)
    assert d.allow and d.reason is Reason.OK and d.list_stale and not d.clock_trusted
    strict = decide(ok, trust, Policy(SCOPE), Clock(T0 - 100, floor=T0), none, T0 - 2 * DAY)
    assert strict.reason is Reason.CLOCK_UNTRUSTED and strict.list_stale and not strict.clock_trusted


def test_two_freshness_limits_flag_then_fail_closed(make_pass, trust: TrustList) -> None:
    """Issue 15 item 14: past max_list_age (24 h) decisions are flagged and still decided; only past
    list_fail_age (7 days) does the stale list refuse; a strict site fails closed at 24 h."""
    ok, revoked = make_pass(), entry(EntryState.REVOKED)
    grace, strict = Policy(SCOPE), Policy(SCOPE, list_fail_age_s=DAY)
    assert (grace.max_list_age_s, grace.list_fail_age_s) == (DAY, 7 * DAY)

    def at(age: float, policy: Policy = grace, lookup=none) -> tuple[bool, str, bool]:
        d = decide(ok, trust, policy, Clock(T0), lookup, T0 - age)
        return d.allow, d.reason.value, d.list_stale

    assert at(DAY) == (True, "ok", False)  # at the first limit: still fresh
    assert at(DAY + 1) == at(3 * DAY) == at(7 * DAY) == (True, "ok", True)  # flagged, allowed
    assert at(7 * DAY + 1) == at(60 * DAY) == (False, "list_stale", True)
    assert at(3 * DAY, lookup=revoked) == (False, "revoked", True)  # the old list is still applied
    assert at(DAY + 1, strict) == (False, "list_stale", True)
    assert at(DAY, strict) == (True, "ok", False)
    # a second limit below the first means the first: never fail closed before flagging
    early = Policy(SCOPE, max_list_age_s=2 * DAY, list_fail_age_s=DAY)
    assert at(DAY + 1, early) == (True, "ok", False) and at(2 * DAY + 1, early) == (False, "list_stale", True)
    # allow: flagged, never refused for staleness
    lenient = Policy(SCOPE, stale_policy=SitePolicy.ALLOW)
    assert at(60 * DAY, lenient) == (True, "ok", True)
    # no list at all is past both limits
    d = decide(ok, trust, grace, Clock(T0), none, None)
    assert (d.allow, d.reason, d.list_stale) == (False, Reason.LIST_STALE, True)


@settings(max_examples=300, deadline=None)
@given(*[st.integers(0, 30 * DAY)] * 4)
def test_staleness_is_monotonic_and_flagged_before_it_refuses(make_pass, trust: TrustList, flag_s: int,
                                                             fail_s: int, a: int, b: int) -> None:
    """For any two limits: an older list is never judged better than a newer one, a refusal for
    staleness is always flagged, and nothing is refused for staleness before it is flagged."""
    policy, ok = Policy(SCOPE, max_list_age_s=flag_s, list_fail_age_s=fail_s), make_pass()
    younger, older = (decide(ok, trust, policy, Clock(T0), none, T0 - age) for age in sorted((a, b)))
    assert older.list_stale >= younger.list_stale and older.allow <= younger.allow
    for d, age in ((younger, min(a, b)), (older, max(a, b))):
        assert d.list_stale == (age > flag_s)
        assert d.allow or d.list_stale


def test_untrusted_clock_uses_the_floor_for_validity(make_pass, trust: TrustList) -> None:
    """A clock set back to before a pass's expiry does not revive it: the floor is the time."""
    lenient = Policy(SCOPE, clock_policy=SitePolicy.ALLOW)
    expired = make_pass(valid_from=T0 - 2 * DAY, valid_until=T0 - DAY)
    d = decide(expired, trust, lenient, Clock(T0 - 3 * DAY / 2, floor=T0), none, FRESH)
    assert (d.allow, d.reason, d.at) == (False, Reason.EXPIRED, T0)
    # a wall clock ahead of the floor is trusted and used as it is
    d = decide(make_pass(), trust, Policy(SCOPE), Clock(T0 + 5, floor=T0), none, FRESH)
    assert d.allow and d.clock_trusted and d.at == T0 + 5


def test_a_failing_lookup_counts_as_a_stale_list(make_pass, trust: TrustList) -> None:
    def broken(pid: bytes):
        raise OSError("disk gone")

    d = decide(make_pass(), trust, Policy(SCOPE), Clock(T0), broken, FRESH)
    assert (d.allow, d.reason, d.list_stale) == (False, Reason.LIST_STALE, True)


def test_precedence_over_every_combination(make_pass, issuer_key: PrivateKey, trust: TrustList) -> None:
    """Out of scope x not yet valid x issuer expired x list entry x pass colour x clock x staleness:
    the reason is always the first applicable one in the documented order."""
    ended = TrustList(1, T0, (Issuer(issuer_key.public, T0 - 400 * DAY, T0 - 1, (SCOPE,)),))
    passes = {(future, status): make_pass(valid_from=T0 + DAY if future else T0 - DAY, valid_until=T0 + 9 * DAY,
                                          status=status)
              for future in (False, True) for status in Status}
    n = 0
    for out, future, issuer_ended, state, status, untrusted, stale in itertools.product(
            (False, True), (False, True), (False, True), (None, *EntryState), tuple(Status), (False, True),
            (False, True)):
        applies = {Reason.OUT_OF_SCOPE: out, Reason.NOT_YET_VALID: future, Reason.EXPIRED: issuer_ended,
                   Reason.REVOKED: state is EntryState.REVOKED,
                   Reason.STATUS_RED: state is EntryState.RED or status is Status.RED,
                   Reason.STATUS_YELLOW: state is EntryState.YELLOW or status is Status.YELLOW,
                   Reason.CLOCK_UNTRUSTED: untrusted, Reason.LIST_STALE: stale}
        want = next((r for r in PRECEDENCE if applies.get(r)), Reason.OK)
        d = decide(passes[future, status], ended if issuer_ended else trust, Policy("elm-row" if out else SCOPE),
                   Clock(T0 - 3600, floor=T0) if untrusted else Clock(T0), entry(state) if state else none,
                   T0 - 8 * DAY if stale else FRESH)
        assert (d.reason, d.allow) == (want, want is Reason.OK), applies
        n += 1
    assert n == 2 * 2 * 2 * 4 * 3 * 2 * 2


def test_signature_and_issuer_reasons_win_over_policy_reasons(make_pass, trust: TrustList) -> None:
    """A forged or unknown pass says so even when it is also expired, red and out of scope."""
    bad = dict(valid_from=T0 - 9, valid_until=T0 - 1, status=Status.RED, scope="elm-row")
    args = (Policy(SCOPE), Clock(T0 - 100, floor=T0), entry(EntryState.REVOKED), T0 - 9 * DAY)
    assert decide(_resign(make_pass(**bad), PrivateKey.generate()), trust, *args).reason is Reason.BAD_SIGNATURE
    assert decide(make_pass(key=PrivateKey.generate(), **bad), trust, *args).reason is Reason.UNKNOWN_ISSUER
    assert decide("GK1:%%%", trust, *args).reason is Reason.BAD_FORMAT
    assert decide("", trust, *args).reason is Reason.NO_CODE


# --- scopes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("outer, inner, covers", [
    ("site", "site", True), ("site", "site/zone", True), ("site", "site/zone/door", True), ("*", "site", True),
    ("site/zone", "site", False), ("site", "site-annex", False), ("site", "sitex/zone", False),
    ("site/zone", "site/zone2", False), ("site", "*", False),
])
def test_scope_covers(outer: str, inner: str, covers: bool) -> None:
    assert scope_covers(outer, inner) is covers


@pytest.mark.parametrize("issuer_scopes, pass_scope, gate, reason", [
    ((SCOPE,), SCOPE, SCOPE, "ok"),
    ((SCOPE,), SCOPE, SCOPE + "/north", "ok"),                  # a site pass opens every zone
    ((SCOPE,), SCOPE + "/north", SCOPE + "/north", "ok"),
    ((SCOPE,), SCOPE + "/north", SCOPE, "out_of_scope"),         # a zone pass does not open the site gate
    ((SCOPE,), SCOPE + "/north", SCOPE + "/south", "out_of_scope"),
    ((SCOPE + "/north",), SCOPE, SCOPE + "/north", "out_of_scope"),  # pass wider than its issuer may grant
    ((SCOPE,), "elm-row", "elm-row", "out_of_scope"),            # issuer not trusted for that site
    ((SCOPE,), "*", SCOPE, "out_of_scope"),
    (("*",), "*", "elm-row", "ok"),                              # a province-wide issuer and pass
    (("elm-row", SCOPE), SCOPE, SCOPE, "ok"),
    ((SCOPE,), SCOPE + "-annex", SCOPE + "-annex", "out_of_scope"),
])
def test_scope_rules(make_pass, issuer_key: PrivateKey, issuer_scopes, pass_scope, gate, reason) -> None:
    tl = TrustList(1, T0, (Issuer(issuer_key.public, T0 - DAY, T0 + DAY, issuer_scopes),))
    d = decide(make_pass(scope=pass_scope), tl, Policy(gate), Clock(T0), none, FRESH)
    assert (d.reason.value, d.allow) == (reason, reason == "ok")


# --- key rollover ----------------------------------------------------------------------------------
def test_rotate_issuer_keeps_old_passes_until_the_old_window_ends(tmp_path) -> None:
    now = T0
    s = Site.init(tmp_path / "site", scope=SCOPE, now=now - 10 * DAY)
    old_text, _ = s.issue_pass(now - DAY, now + 60 * DAY, label="old")
    old_kid = s.issuer_kid
    new_kid, path = s.rotate_issuer(overlap_days=7, now=now)
    assert new_kid != old_kid and path.name == "trust-v000002.gkl"
    assert Site.open(s.root).issuer_kid == new_kid  # the site now issues with the new key
    new_text, claims = s.issue_pass(now, now + 60 * DAY, label="new")
    assert claims.kid.hex() == new_kid
    tl = s.trust_list()
    assert tl.version == 2 and {i.kid.hex() for i in tl.issuers} == {old_kid, new_kid}
    p = Policy(SCOPE)

    def at(text: str, t: float) -> Reason:
        return decide(text, tl, p, Clock(t), none, t - 60).reason

    assert at(old_text, now + DAY) is Reason.OK
    assert at(new_text, now + DAY) is Reason.OK
    assert at(old_text, now + 7 * DAY) is Reason.OK            # the last second of the old window
    assert at(old_text, now + 7 * DAY + 1) is Reason.EXPIRED   # old key's window over: its passes too
    assert at(new_text, now + 8 * DAY) is Reason.OK
    assert at(new_text, now - 3600) is Reason.NOT_YET_VALID    # before the new key's window
    # the old trust list does not know the new key
    old_tl = TrustList(1, now, tuple(i for i in tl.issuers if i.kid.hex() == old_kid))
    assert decide(new_text, old_tl, p, Clock(now + DAY), none, now).reason is Reason.UNKNOWN_ISSUER


def test_rotate_without_overlap_keeps_the_old_window(tmp_path) -> None:
    s = Site.init(tmp_path / "site", scope=SCOPE, now=T0)
    old_text, _ = s.issue_pass(T0, T0 + 400 * DAY)
    s.rotate_issuer(now=T0 + DAY)
    tl = s.trust_list()
    assert decide(old_text, tl, Policy(SCOPE), Clock(T0 + 300 * DAY), none, T0 + 300 * DAY).reason is Reason.OK
