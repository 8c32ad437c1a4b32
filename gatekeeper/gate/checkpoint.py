"""The checkpoint: the decision core bound to this device's settings, store and clock.

It is the one place that turns a scanned text into a :class:`~gatekeeper.verify.Decision` for
``gatekeeper check`` and for the daemon alike, so both decide exactly the same way.
"""

from __future__ import annotations

import time
from pathlib import Path

from gatekeeper.gate.config import Settings
from gatekeeper.gate.store import Store
from gatekeeper.keyfile import read_public_key
from gatekeeper.verify import Clock, Decision, Policy, PublicKey, SitePolicy, decide


def load_authority(settings: Settings) -> PublicKey:
    """The authority's public key named by the configuration (ValueError with the path if unusable)."""
    return read_public_key(settings.path(settings.device.authority_key), "authority key", "device.authority_key")


def policy_of(settings: Settings) -> Policy:
    """The decision core's :class:`Policy` from the configuration's ``[device]`` scope and ``[policy]``."""
    p = settings.policy
    return Policy(settings.device.scope, p.max_list_age, SitePolicy(p.stale_policy), SitePolicy(p.clock_policy),
                  p.list_fail_age)


class Checkpoint:
    """Decides scanned codes with the lists cached in the device store."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.policy = policy_of(settings)
        self.store = store or Store(settings.path(settings.device.store), load_authority(settings))
        self.list_version: int | None = None  # the revocation list version the last decision used

    @classmethod
    def from_config(cls, path: str | Path) -> Checkpoint:
        from gatekeeper.gate.config import load_settings
        return cls(load_settings(path))

    def clock(self, wall: float | None = None) -> Clock:
        return Clock(time.time() if wall is None else wall, self.store.time_floor)

    def decide(self, text: str | bytes | None, wall: float | None = None) -> Decision:
        """Decide one code at wall-clock time ``wall`` (now when None)."""
        status = self.store.list_status()
        self.list_version = status.revocation_version
        return decide(text, self.store.trust_list(), self.policy, self.clock(wall), self.store.lookup,
                      status.revocation_checked_at)

    def close(self) -> None:
        self.store.close()
