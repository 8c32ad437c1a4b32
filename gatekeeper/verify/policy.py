"""The decision: one pure function from a scanned text and the cached lists to allow or deny.

No I/O: the caller passes the time, the trust list, and a lookup into the revocation cache.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .passes import SIGN_DOMAIN as _DOMAIN
from .passes import PassFormatError, Status, parse, scope_covers
from .reasons import PRECEDENCE, Reason
from .revocation import EntryState, Lookup
from .trust import TrustList


class SitePolicy(str, enum.Enum):  # noqa: UP042 -- str() and format() of a value stay as they were
    """What a site does when a soft condition (a stale list, an untrusted clock) applies."""

    DENY = "deny"
    ALLOW = "allow"


@dataclass(frozen=True)
class Policy:
    """This gate's rules: its scope and what to do when the list is old or the clock is wrong.

    Two freshness limits (docs/revocation-format.md, "Freshness"): past ``max_list_age_s`` every
    decision is flagged ``list_stale``; past ``list_fail_age_s`` (never earlier than the first) a
    ``stale_policy`` of DENY also refuses with ``list_stale``. A strict site sets
    ``list_fail_age_s`` to ``max_list_age_s``: it fails closed at the first limit.
    """

    gate_scope: str
    max_list_age_s: float = 24 * 3600.0
    stale_policy: SitePolicy = SitePolicy.DENY
    clock_policy: SitePolicy = SitePolicy.DENY
    list_fail_age_s: float = 7 * 24 * 3600.0


@dataclass(frozen=True)
class Clock:
    """A reading of the wall clock and the time floor (newest signed time seen).

    The device never believes a wall clock earlier than the floor: it then uses the floor.
    """

    wall: float
    floor: float = 0.0

    @property
    def trusted(self) -> bool:
        return self.wall >= self.floor

    @property
    def now(self) -> float:
        return max(self.wall, self.floor)


@dataclass(frozen=True)
class Decision:
    """The outcome for one presented code. ``reason`` is ``ok`` exactly when nothing refused it."""

    allow: bool
    reason: Reason
    at: float
    clock_trusted: bool
    list_stale: bool
    pass_id: str | None = None
    issuer: str | None = None
    scope: str | None = None
    status: str | None = None
    label: str | None = None
    valid_until: int | None = None

    def to_json(self) -> dict:
        """The decision as the JSON interfaces show it (reason codes as their strings)."""
        return {
            "allow": self.allow, "reason": self.reason.value, "pass_id": self.pass_id,
            "issuer": self.issuer, "scope": self.scope, "status": self.status, "label": self.label,
            "valid_until": self.valid_until, "at": self.at, "clock_trusted": self.clock_trusted,
            "list_stale": self.list_stale,
        }


_ENTRY_REASON = {EntryState.REVOKED: Reason.REVOKED, EntryState.RED: Reason.STATUS_RED,
                 EntryState.YELLOW: Reason.STATUS_YELLOW}
_RANK = {r: n for n, r in enumerate(PRECEDENCE)}


def decide(
    text: str | bytes | None,
    trust: TrustList | None,
    policy: Policy,
    clock: Clock,
    revocations: Lookup | None = None,
    list_checked_at: float | None = None,
) -> Decision:
    """Decide one scanned code. Never raises: every input maps to a reason.

    ``list_checked_at`` is when the cached revocation list was last known to be current
    (None: no list); ``revocations`` finds a pass's entry in it.
    """
    now = clock.now
    age = None if list_checked_at is None else now - list_checked_at
    # No list, or a cache that cannot be read, is past both limits: nothing says who is revoked.
    fail_closed = age is None or age > max(policy.max_list_age_s, policy.list_fail_age_s)
    base = dict(at=now, clock_trusted=clock.trusted, list_stale=age is None or age > policy.max_list_age_s)
    if not text:
        return Decision(False, Reason.NO_CODE, **base)
    try:
        signed = parse(text)
    except PassFormatError:
        return Decision(False, Reason.BAD_FORMAT, **base)
    c = signed.claims
    issuer = trust.issuer(c.kid) if trust is not None else None
    if issuer is None:
        return Decision(False, Reason.UNKNOWN_ISSUER, **base, issuer=c.kid.hex())
    facts = dict(pass_id=c.pass_id.hex(), issuer=c.kid.hex(), scope=c.scope, status=c.status.name.lower(),
                 label=c.label, valid_until=c.valid_until)
    if not issuer.key.verify(_DOMAIN, signed.signed, signed.signature):
        return Decision(False, Reason.BAD_SIGNATURE, **base, **facts)

    found: list[Reason] = []
    if not issuer.covers(c.scope) or not scope_covers(c.scope, policy.gate_scope):
        found.append(Reason.OUT_OF_SCOPE)
    # The issuer key's window bounds its passes: an expired key's passes are expired too.
    if now < c.valid_from or now < issuer.valid_from:
        found.append(Reason.NOT_YET_VALID)
    if now > c.valid_until or now > issuer.valid_until:
        found.append(Reason.EXPIRED)
    if revocations is not None:
        try:
            entry = revocations(c.pass_id)
        except Exception:  # noqa: BLE001 -- a broken cache must not stop the gate: treat the list as unavailable
            entry, fail_closed = None, True
            base["list_stale"] = True
        if entry is not None and now >= entry.since:
            found.append(_ENTRY_REASON[entry.state])
    if c.status is Status.RED:
        found.append(Reason.STATUS_RED)
    elif c.status is Status.YELLOW:
        found.append(Reason.STATUS_YELLOW)
    if not clock.trusted and policy.clock_policy is SitePolicy.DENY:
        found.append(Reason.CLOCK_UNTRUSTED)
    if fail_closed and policy.stale_policy is SitePolicy.DENY:
        found.append(Reason.LIST_STALE)
    if not found:
        return Decision(True, Reason.OK, **base, **facts)
    return Decision(False, min(found, key=_RANK.__getitem__), **base, **facts)


