"""Provisioning online: spend a one-time token at the hub."""

from __future__ import annotations

import tempfile
from pathlib import Path

from gatekeeper.gate.enrolment import EnrolError, EnrolFailure, enrol, first_lists
from gatekeeper.gate.provision.install import (
    CONFIG_NAME,
    Progress,
    Provisioned,
    check_free,
    device_config,
    install,
    user_ids,
    write_config,
)
from gatekeeper.verify import PrivateKey, PublicKey
from gatekeeper.wire import AuthorityPin, DeviceMaterial, ProvisionError, device_id


# --- online: a one-time token ---------------------------------------------------------------------
def _enrol_failure(hub_url: str, e: EnrolError) -> ProvisionError:
    if e.kind in (EnrolFailure.REFUSED, EnrolFailure.BAD_REPLY):
        return ProvisionError(f"the hub at {hub_url} refused the enrolment: {e}. Nothing was written.")
    # Only a connection never made proves the request never arrived; after a timeout it may have.
    spent = ("the token is not spent" if e.kind is EnrolFailure.UNSENT else
             "the token may have been spent: if a retry says 'already used', ask for a new one")
    return ProvisionError(f"cannot reach the hub at {hub_url} ({e.detail}): check the URL, the network and that "
                          f"the hub runs. Nothing was written; {spent}.")


def provision_online(hub_url: str, token: str, gate_id: str, directory: Path, overrides: dict | None = None, *,
                     authority: AuthorityPin | None = None, force: bool = False, selftest: bool = True,
                     owner: str | None = None, progress: Progress | None = None) -> Provisioned:
    """Enrol a new device key at ``hub_url`` with a one-time ``token`` as gate ``gate_id`` and
    install it in ``directory``; ``overrides`` ({section: {key: value}}) go into its configuration.

    ``authority`` pins the site authority key; without it the key the hub names is trusted (the
    result's ``authority_fingerprint`` is for the admin to compare). :class:`ProvisionError` on
    any failure, with the directory unchanged.
    """
    say = progress or (lambda _: None)
    directory = Path(directory)
    check_free(directory, force)  # before the token is spent
    user_ids(owner)
    # The configuration is checked before enrolling too: a typo in an override must not cost a token.
    with tempfile.TemporaryDirectory() as tmp:
        write_config(device_config(gate_id, "demo", hub_url, {}, overrides or {}), Path(tmp) / CONFIG_NAME)
    key = PrivateKey.generate()
    say(f"enrolling gate {gate_id!r} at {hub_url}")
    try:
        reply = enrol(hub_url, token, gate_id, key)
    except EnrolError as e:
        raise _enrol_failure(hub_url, e) from None
    dev = device_id(key.public)
    stranded = (f"The hub has enrolled device {dev}: retire it with 'gatekeeper hub revoke-device {dev}' and "
                "provision again with a new token.")
    if not reply.authority_pem or not reply.scope:
        raise ProvisionError(f"the hub at {hub_url} serves no site (it was started without --site), so it "
                             f"cannot tell this device which authority to trust. Nothing was written. {stranded}")
    try:
        authority_key = PublicKey.from_pem(reply.authority_pem.encode())
    except ValueError as e:
        raise ProvisionError(f"the hub's authority key is unusable ({e}). Nothing was written. {stranded}") from None
    if authority is not None:
        try:
            authority.check(authority_key, f"the hub at {hub_url}")
        except ProvisionError as e:
            raise ProvisionError(f"{e} {stranded}") from None
    say("downloading the trust and revocation lists")
    try:
        lists = first_lists(hub_url, key)
    except EnrolError as e:
        raise ProvisionError(f"enrolled, but the lists could not be fetched: {e}. Nothing was written. "
                             f"{stranded}") from None
    material = DeviceMaterial(gate_id, key, authority_key, reply.scope, reply.site_name, hub_url, tuple(lists))
    try:
        return install(material, directory, overrides, force=force, selftest=selftest, owner=owner,
                       how="one-time token", progress=progress)
    except ProvisionError as e:
        raise ProvisionError(f"{e} {stranded}") from None


