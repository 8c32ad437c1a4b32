"""The gate device: configuration, the store, the checkpoint, the daemon, sync with the hub, and
provisioning (``gatekeeper.gate.provision``). Never imports the hub or the admin side.
"""

from __future__ import annotations

import importlib
from typing import Any

# Loaded on first use: the CLI and the hub must not pay for the camera and GPIO stacks they do not use.
_WHERE = {
    "AuthorityPin": "provision",
    "CONFIG_NAME": "provision",
    "ProvisionError": "provision",
    "Provisioned": "provision",
    "check_free": "provision",
    "device_config": "provision",
    "existing_device": "provision",
    "install": "provision",
    "merge": "provision",
    "provision_bundle": "provision",
    "provision_online": "provision",
    "provision_scan": "provision",
    "write_config": "provision",
    "ApplyResult": "store",
    "BASE_S": "backoff",
    "CameraSettings": "config",
    "Check": "selftest",
    "Checkpoint": "checkpoint",
    "ConfigError": "config",
    "Daemon": "daemon",
    "DaemonOptions": "daemon",
    "DeviceSettings": "config",
    "DisplaySettings": "config",
    "Duration": "config",
    "EnrolError": "enrolment",
    "EnrolFailure": "enrolment",
    "Enrolment": "enrolment",
    "EventSink": "daemon",
    "GateSettings": "config",
    "HubClient": "client",
    "JITTER": "updater",
    "KEPT": "uploader",
    "K_ACKED": "uploader",
    "ListStatus": "store",
    "MAX_RETRY_AFTER_S": "backoff",
    "MIN_FREE_BYTES": "uploader",
    "OptionalPin": "config",
    "Outcome": "backoff",
    "Parked": "store",
    "PRUNE_EVERY_S": "uploader",
    "Pin": "config",
    "PolicySettings": "config",
    "Reply": "client",
    "SCHEMA_VERSION": "store",
    "ScanSettings": "config",
    "Settings": "config",
    "Store": "store",
    "SyncPart": "syncpart",
    "SyncSettings": "config",
    "UNKNOWN": "boot",
    "UpdateOutcome": "updater",
    "UpdateResult": "updater",
    "Updater": "updater",
    "UploadOutcome": "uploader",
    "UploadResult": "uploader",
    "Uploader": "uploader",
    "boot_id": "daemon",
    "build_gate": "parts",
    "camera_source": "parts",
    "connect": "store",
    "enrol": "enrolment",
    "first_lists": "enrolment",
    "full_jitter": "backoff",
    "load_authority": "checkpoint",
    "load_device_key": "sync",
    "load_settings": "config",
    "make_sync_parts": "sync",
    "next_delay": "backoff",
    "notify": "systemd_notify",
    "outcome_of": "backoff",
    "policy_of": "checkpoint",
    "retry_after": "backoff",
    "run_daemon": "daemon",
    "run_selftest": "selftest",
    "unacknowledged": "uploader",
    "watchdog_seconds": "systemd_notify",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value
