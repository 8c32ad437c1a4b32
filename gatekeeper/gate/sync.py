"""The device's sync parts as the daemon starts them, built from its configuration."""

from __future__ import annotations

from gatekeeper.gate.checkpoint import load_authority
from gatekeeper.gate.config import Settings
from gatekeeper.gate.updater import Updater
from gatekeeper.gate.uploader import Uploader
from gatekeeper.keyfile import KeyFileError, read_private_key
from gatekeeper.verify import PrivateKey


def load_device_key(settings: Settings) -> PrivateKey:
    """The device's own key (``device.device_key``); ValueError naming the file when unusable."""
    try:
        return read_private_key(settings.path(settings.device.device_key), "device key", "device.device_key")
    except KeyFileError as e:
        raise KeyFileError(f"{e}: provision the device ('gatekeeper provision') to make and enrol one") from None


def make_sync_parts(settings: Settings) -> list[Uploader | Updater]:
    """An :class:`Uploader` and an :class:`Updater` for this device; each has ``run(stop_event)``
    and ``status() -> dict``, and opens its own store connection in the thread that runs it."""
    store = settings.path(settings.device.store)
    args = (store, load_authority(settings), settings.sync, load_device_key(settings), settings.device.gate_id)
    return [Uploader(*args), Updater(*args)]
