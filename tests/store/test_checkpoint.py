"""The checkpoint on a real store: revocations from a time, the time floor, and list freshness."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gatekeeper.admin.site import DAY, Site
from gatekeeper.gate.checkpoint import Checkpoint
from gatekeeper.verify import (
    EntryState,
    ListError,
    Reason,
    RevocationList,
    TrustList,
    pack_entries,
    parse,
)
from tests.kit.core import SCOPE

CONFIG = """
[device]
scope = "{scope}"
store = "state/device.db"
authority_key = "keys/authority.pub"
[policy]
max_list_age = "{age}"
{fail}stale_policy = "{stale}"
clock_policy = "{clock}"
"""

MakeCheckpoint = Callable[..., Checkpoint]


@pytest.fixture
def checkpoint(site: Site) -> Iterator[MakeCheckpoint]:
    """``checkpoint(stale=..., clock=..., age=..., fail_age=...)``: a Checkpoint from a config file in the
    site, its store holding the site's first lists (applied at site creation time)."""
    made: list[Checkpoint] = []

    def make(stale: str = "deny", clock: str = "deny", age: str = "24h", apply: bool = True,
             fail_age: str | None = None) -> Checkpoint:
        cfg = site.root / f"device-{len(made)}.toml"
        fail = f'list_fail_age = "{fail_age}"\n' if fail_age else ""
        cfg.write_text(CONFIG.format(scope=SCOPE, age=age, stale=stale, clock=clock, fail=fail))
        cp = Checkpoint.from_config(cfg)
        if apply and cp.store.list_status().trust_version is None:
            cp.store.apply_list(site.trust_file().read_bytes())
            cp.store.apply_list(site.revocation_file().read_bytes())
        made.append(cp)
        return cp

    yield make
    for cp in made:
        cp.close()


def _t0(site: Site) -> int:
    return site.revocations().issued_at


def test_revocation_applies_from_its_time(site: Site, checkpoint: MakeCheckpoint) -> None:
    cp = checkpoint()
    t0 = _t0(site)
    texts = {state: site.issue_pass(t0 - DAY, t0 + 30 * DAY)[0] for state in EntryState}
    assert all(cp.decide(t, t0 + 60).allow for t in texts.values())
    since = t0 + 3600
    for state, text in texts.items():
        _, delta = site.revoke(_pid(text), state, since, now=t0 + 10)
        cp.store.apply_list(delta.read_bytes())
    want = {EntryState.REVOKED: "revoked", EntryState.RED: "status_red", EntryState.YELLOW: "status_yellow"}
    for state, text in texts.items():
        before, at = cp.decide(text, since - 1), cp.decide(text, since)
        assert (before.allow, before.reason) == (True, Reason.OK)
        assert (at.allow, at.reason.value) == (False, want[state])
        assert at.pass_id == _pid(text).hex()
    # reinstating lifts the entry
    _, delta = site.lift(_pid(texts[EntryState.REVOKED]), now=t0 + 20)
    cp.store.apply_list(delta.read_bytes())
    assert cp.decide(texts[EntryState.REVOKED], since + 5).reason is Reason.OK


def test_time_floor_is_the_newest_signed_time_and_never_goes_back(site: Site, checkpoint: MakeCheckpoint) -> None:
    cp = checkpoint()
    t0 = _t0(site)
    assert cp.store.time_floor == t0  # both first lists were signed at site creation
    cp.store.apply_list(RevocationList(2, t0 + 500, None, b"").sign(site.authority))
    assert cp.store.time_floor == t0 + 500
    # a newer trust list version signed earlier (the admin's clock was behind) does not lower it
    cp.store.apply_list(TrustList(2, t0 + 100, site.trust_list().issuers).sign(site.authority))
    assert cp.store.time_floor == t0 + 500
    cp.store.raise_time_floor(t0)
    assert cp.store.time_floor == t0 + 500
    cp.store.raise_time_floor(t0 + 600)
    assert cp.store.time_floor == t0 + 600
    # a refused list does not move it either
    with pytest.raises(ListError):
        cp.store.apply_list(RevocationList(2, t0 + 10**6, None, b"").sign(site.authority))
    assert cp.store.time_floor == t0 + 600


def test_a_clock_below_the_floor_is_untrusted_and_the_floor_is_used(site: Site, checkpoint: MakeCheckpoint) -> None:
    t0 = _t0(site)
    text, _ = site.issue_pass(t0 - 10 * DAY, t0 - DAY)  # expired a day before the floor
    fresh, _ = site.issue_pass(t0 - DAY, t0 + DAY)
    strict, lenient = checkpoint(), checkpoint(clock="allow")
    # the wall clock was set back to when the old pass was valid: it is not believed
    d = strict.decide(text, t0 - 2 * DAY)
    assert (d.allow, d.reason, d.clock_trusted, d.at) == (False, Reason.EXPIRED, False, t0)
    d = lenient.decide(text, t0 - 2 * DAY)
    assert (d.allow, d.reason, d.at) == (False, Reason.EXPIRED, t0)
    # a pass valid at the floor: denied for the clock under 'deny', allowed and flagged under 'allow'
    d = strict.decide(fresh, t0 - 2 * DAY)
    assert (d.allow, d.reason, d.clock_trusted) == (False, Reason.CLOCK_UNTRUSTED, False)
    d = lenient.decide(fresh, t0 - 2 * DAY)
    assert (d.allow, d.reason, d.clock_trusted) == (True, Reason.OK, False)
    # at or above the floor the clock is trusted
    assert strict.decide(fresh, t0).clock_trusted and strict.decide(fresh, t0).allow


def test_freshness_policy(site: Site, checkpoint: MakeCheckpoint) -> None:
    t0 = _t0(site)
    text, _ = site.issue_pass(t0 - DAY, t0 + 30 * DAY)
    deny, allow = checkpoint(age="2h"), checkpoint(age="2h", stale="allow")
    assert deny.decide(text, t0 + 7200).allow  # exactly at the limit: still fresh
    # past max_list_age: flagged; refused only past the second limit (7 days by default, issue 15)
    d = deny.decide(text, t0 + 7201)
    assert (d.allow, d.reason, d.list_stale, d.to_json()["list_stale"]) == (True, Reason.OK, True, True)
    d = deny.decide(text, t0 + 7 * DAY + 1)
    assert (d.allow, d.reason, d.list_stale) == (False, Reason.LIST_STALE, True)
    d = allow.decide(text, t0 + 7 * DAY + 1)
    assert (d.allow, d.reason, d.list_stale, d.to_json()["list_stale"]) == (True, Reason.OK, True, True)
    # the hub confirming the list is current makes it fresh again, without a new version
    deny.store.confirm_revocations_current(t0 + 7000)
    d = deny.decide(text, t0 + 7201)
    assert d.allow and not d.list_stale
    # a stale list never hides a harder reason
    revoked_at = t0 + 1
    deny.store.apply_list(RevocationList(2, t0 + 2, None, pack_entries(
        {_pid(text): (int(EntryState.REVOKED), revoked_at)})).sign(site.authority))
    assert deny.decide(text, t0 + 10 * DAY).reason is Reason.REVOKED


def test_list_fail_age_from_the_configuration(site: Site, checkpoint: MakeCheckpoint) -> None:
    t0 = _t0(site)
    text, _ = site.issue_pass(t0 - DAY, t0 + 30 * DAY)
    two_days, strict = checkpoint(age="2h", fail_age="2d"), checkpoint(age="2h", fail_age="2h")
    assert two_days.policy.list_fail_age_s == 2 * DAY and strict.policy.list_fail_age_s == 7200
    d = two_days.decide(text, t0 + 2 * DAY)  # flagged, still decided
    assert (d.allow, d.reason, d.list_stale) == (True, Reason.OK, True)
    d = two_days.decide(text, t0 + 2 * DAY + 1)  # past the configured second limit, well before 7 days
    assert (d.allow, d.reason, d.list_stale) == (False, Reason.LIST_STALE, True)
    # strict: refused at the first limit
    assert strict.decide(text, t0 + 7200).allow
    d = strict.decide(text, t0 + 7201)
    assert (d.allow, d.reason, d.list_stale) == (False, Reason.LIST_STALE, True)


def test_no_revocation_list_is_stale(site: Site, checkpoint: MakeCheckpoint) -> None:
    cp = checkpoint(apply=False)
    cp.store.apply_list(site.trust_file().read_bytes())
    t0 = _t0(site)
    text, _ = site.issue_pass(t0 - DAY, t0 + DAY)
    assert cp.decide(text, t0).reason is Reason.LIST_STALE


def test_refused_lists_change_no_decision(site: Site, checkpoint: MakeCheckpoint, dump_db) -> None:
    cp = checkpoint()
    t0 = _t0(site)
    text, claims = site.issue_pass(t0 - DAY, t0 + DAY)
    before = dump_db(cp.store.path)
    bad = bytearray(RevocationList(2, t0 + 1, None, pack_entries({claims.pass_id: (1, t0)})).sign(site.authority))
    bad[-1] ^= 1
    with pytest.raises(ListError, match="bad signature"):
        cp.store.apply_list(bytes(bad))
    assert dump_db(cp.store.path) == before
    assert cp.decide(text, t0 + 5).allow


def _pid(text: str) -> bytes:
    return parse(text).claims.pass_id


def test_store_path_relative_to_the_config(site: Site, checkpoint: MakeCheckpoint) -> None:
    cp = checkpoint()
    assert cp.store.path == site.root.resolve() / "state" / "device.db"
    assert Path(cp.store.path).exists()
