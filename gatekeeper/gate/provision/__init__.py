"""Provisioning: turn a blank device directory into an enrolled gate, in one of three ways.

* **Online token** (:func:`provision_online`, ``online.py``): make the device key, spend a one-time
  token at the hub, fetch the signed lists, write keys, store and configuration, run the self-test.
* **Enrolment QR** (:func:`provision_scan`, ``scan.py``): the same, with hub URL, token and gate id
  read through the device's own camera from a QR the admin shows it (signed by the site authority).
* **Offline bundle** (:func:`provision_bundle`, ``bundle.py``): a file signed by the site authority
  holding a device key the admin already registered at the hub, the lists and the site's defaults.

Every way ends in :func:`install` (``install.py``). The QR and bundle formats are in ``gatekeeper.wire``.
"""

from gatekeeper.gate.provision.bundle import provision_bundle
from gatekeeper.gate.provision.install import (
    CONFIG_NAME,
    Provisioned,
    check_free,
    device_config,
    existing_device,
    install,
    merge,
    write_config,
)
from gatekeeper.gate.provision.online import provision_online
from gatekeeper.gate.provision.scan import provision_scan
from gatekeeper.wire import AuthorityPin, ProvisionError

__all__ = ["CONFIG_NAME", "AuthorityPin", "ProvisionError", "Provisioned", "check_free", "device_config",
           "existing_device", "install", "merge", "provision_bundle", "provision_online", "provision_scan",
           "write_config"]
