"""Shared test constants and builders (importable: conftest modules are not)."""

from __future__ import annotations

import time
from collections.abc import Callable

from gatekeeper.admin.site import DAY
from gatekeeper.verify import PassClaims, PrivateKey, Status, issue, new_pass_id

#: A fixed "now" for the pure core (2027-01-15T08:00:00Z).
T0 = 1_800_000_000
SCOPE = "maple-court"

MakePass = Callable[..., str]


def issue_pass(key: PrivateKey, *, valid_from: int = T0 - DAY, valid_until: int = T0 + 30 * DAY,
               scope: str = SCOPE, status: Status = Status.GREEN, label: str | None = None,
               pass_id: bytes | None = None) -> str:
    """A pass text signed by ``key`` (defaults: valid around ``T0``, the site scope, green)."""
    claims = PassClaims(key.kid, pass_id or new_pass_id(), valid_from, valid_until, scope, status, label)
    return issue(key, claims)


def wait_until(predicate: Callable[[], bool], timeout: float = 2.0, step: float = 0.005) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
