"""Issue 15 item 4: what an issuer with the ``lists`` right may sign, and what stays the authority's.

An issuer may only sign a delta from the cached version that adds entries or tightens them, stepping
the version by at most MAX_ISSUER_VERSION_STEP: never a full snapshot, never a lifted entry, never a
later ``since`` or a weaker state for a pass already listed. The authority is not bounded.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.admin import DAY
from gatekeeper.verify import (
    MAX_ISSUER_VERSION_STEP,
    Entry,
    EntryState,
    Issuer,
    ListError,
    PrivateKey,
    RevocationList,
    TrustList,
    check_signer_bounds,
    load_revocation_list,
    pack_entries,
    pack_ids,
)
from tests.kit.core import SCOPE, T0

AUTHORITY = PrivateKey.generate()
SIGNER = PrivateKey.generate()  # an issuer with the lists right
PLAIN = PrivateKey.generate()  # an issuer without it
TRUST = TrustList(1, T0 - DAY, (Issuer(SIGNER.public, T0 - DAY, T0 + DAY, (SCOPE,), True),
                                Issuer(PLAIN.public, T0 - DAY, T0 + DAY, (SCOPE,), False)))
PID = [bytes([n]) * 12 for n in range(1, 6)]
CACHED = 5
#: The cache the lists are checked against: PID[0] revoked, PID[1] yellow, PID[2] red from a future time.
CACHE = {PID[0]: Entry(PID[0], EntryState.REVOKED, T0 - DAY), PID[1]: Entry(PID[1], EntryState.YELLOW, T0 - DAY),
         PID[2]: Entry(PID[2], EntryState.RED, T0 + 3600)}


def delta(entries: dict | None = None, lifted: set | None = None, base: int = CACHED,
          version: int | None = None) -> RevocationList:
    return RevocationList(version or base + 1, T0, base, pack_entries(entries or {}), pack_ids(lifted or set()))


def full(entries: dict | None = None, version: int = CACHED + 1) -> RevocationList:
    return RevocationList(version, T0, None, pack_entries(entries or {}))


def apply(made: RevocationList, key: PrivateKey, cached: int | None = CACHED) -> RevocationList:
    """What the store does: load (verify, parse, shape) then check against the cache."""
    rl = load_revocation_list(made.sign(key), AUTHORITY.public, TRUST)
    check_signer_bounds(rl, cached, CACHE.get)
    return rl


def test_an_issuer_may_add_and_tighten_entries() -> None:
    made = delta({PID[3]: (1, T0), PID[4]: (3, T0 + 9 * DAY),  # new passes, even from a later time
                  PID[1]: (1, T0),  # yellow -> revoked, in effect now
                  PID[2]: (1, T0 + 60),  # red from T0+1h -> revoked from T0+1min: sooner, harder
                  PID[0]: (1, T0 - DAY)})  # the same entry again
    rl = apply(made, SIGNER)
    assert rl == made and rl.issuer_kid == SIGNER.kid
    top = apply(delta({PID[3]: (1, T0)}, version=CACHED + MAX_ISSUER_VERSION_STEP), SIGNER)
    assert top.version == CACHED + MAX_ISSUER_VERSION_STEP


@pytest.mark.parametrize("made, why", [
    (full({PID[3]: (1, T0)}), "is a full snapshot: only the authority"),
    (full(version=2**63 - 1), "is a full snapshot"),
    (delta(lifted={PID[0]}), "lifts 1 entries: only the authority"),
    (delta({PID[3]: (1, T0)}, lifted={PID[0], PID[1]}), "lifts 2 entries"),
    (delta(version=CACHED + MAX_ISSUER_VERSION_STEP + 1), f"steps the version from 5 to {CACHED + 1001}"),
    (delta(version=2**63 - 1), "by at most 1000"),
])
def test_an_issuer_may_not_drop_lift_or_jump(made: RevocationList, why: str) -> None:
    with pytest.raises(ListError, match=why) as e:
        load_revocation_list(made.sign(SIGNER), AUTHORITY.public, TRUST)
    assert SIGNER.kid.hex() in str(e.value)
    assert apply(made, AUTHORITY) == made  # the authority may do each of these


@pytest.mark.parametrize("made, cached, why", [
    (delta({PID[0]: (3, T0 - DAY)}), CACHED, "weaken the entry of pass 0101"),  # revoked -> yellow
    (delta({PID[0]: (2, T0 - DAY)}), CACHED, "revoked from .* -> red"),
    (delta({PID[0]: (1, T0 + 60)}), CACHED, "weaken"),  # revoked now -> revoked from a minute later
    (delta({PID[2]: (2, T0 + 7200)}), CACHED, "weaken"),  # red from T0+1h -> from T0+2h
    (delta({PID[1]: (3, 2**39)}), CACHED, "weaken"),  # yellow, postponed for ever: lifted in effect
    (delta({PID[3]: (1, T0)}, base=CACHED - 1), CACHED, "a delta from version 4, not from the cached version 5"),
    (delta({PID[3]: (1, T0)}), None, "not from the cached version none"),
])
def test_an_issuer_may_not_weaken_what_the_device_holds(made: RevocationList, cached: int | None, why: str) -> None:
    rl = load_revocation_list(made.sign(SIGNER), AUTHORITY.public, TRUST)
    with pytest.raises(ListError, match=why):
        check_signer_bounds(rl, cached, CACHE.get)
    # the authority's list with the same content passes the signer check (the store does its own
    # version and base checks for every signer)
    check_signer_bounds(load_revocation_list(made.sign(AUTHORITY), AUTHORITY.public, TRUST), cached, CACHE.get)


def test_an_issuer_without_the_right_signs_nothing() -> None:
    with pytest.raises(ListError, match="may not sign revocation lists"):
        load_revocation_list(delta({PID[3]: (1, T0)}).sign(PLAIN), AUTHORITY.public, TRUST)


_ENTRY = st.tuples(st.sampled_from([1, 2, 3]), st.integers(T0 - 2 * DAY, T0 + 2 * DAY))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(PID), _ENTRY, max_size=5), st.dictionaries(st.sampled_from(PID), _ENTRY,
                                                                                 max_size=5))
def test_an_accepted_issuer_delta_never_lets_in_a_pass_the_cache_kept_out(cache: dict, change: dict) -> None:
    """Property: at every time from the list's issue on, every pass the cache denied is still denied
    after the issuer's delta, by a reason at least as strong."""
    entries = {pid: Entry(pid, EntryState(s), since) for pid, (s, since) in cache.items()}
    rl = load_revocation_list(delta(change).sign(SIGNER), AUTHORITY.public, TRUST)
    try:
        check_signer_bounds(rl, CACHED, entries.get)
    except ListError:
        return
    after = dict(entries) | {pid: Entry(pid, EntryState(s), since) for pid, (s, since) in change.items()}
    times = {T0} | {e.since for e in entries.values() if e.since >= T0} | {e.since for e in after.values()}
    for pid, old in entries.items():
        new = after[pid]
        for t in times:
            if t >= T0 and t >= old.since:
                assert t >= new.since and new.state <= old.state, (pid, t, old, new)
