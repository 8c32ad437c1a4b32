"""Provisioning offline from a signed bundle (a USB stick): no network at all."""

from __future__ import annotations

from pathlib import Path

from gatekeeper.gate.provision.install import Progress, Provisioned, install
from gatekeeper.wire import AuthorityPin, open_bundle


def provision_bundle(data: bytes, directory: Path, pin: AuthorityPin, overrides: dict | None = None, *,
                     force: bool = False, selftest: bool = True, owner: str | None = None,
                     progress: Progress | None = None) -> Provisioned:
    """Install a device from a bundle, with no network; ProvisionError (nothing written) when refused."""
    material = open_bundle(data, pin)
    return install(material, Path(directory), overrides, force=force, selftest=selftest, owner=owner,
                   how="offline bundle", progress=progress)
