"""The device's sync parts as the daemon starts them, built from its configuration."""

from __future__ import annotations

from ..checkpoint import load_authority
from ..config import Settings
from ..verify import PrivateKey
from .updater import Updater
from .uploader import Uploader


def load_device_key(settings: Settings) -> PrivateKey:
    """The device's own key (``device.device_key``); ValueError naming the file when unusable."""
    path = settings.path(settings.device.device_key)
    try:
        return PrivateKey.from_pem(path.read_bytes())
    except FileNotFoundError:
        raise ValueError(f"{path}: device key missing (device.device_key): provision the device "
                         "('gatekeeper provision') to make and enrol one") from None
    except ValueError as e:
        raise ValueError(f"{path}: not an Ed25519 private key in PEM ({e})") from None


def make_sync_parts(settings: Settings) -> list[Uploader | Updater]:
    """An :class:`Uploader` and an :class:`Updater` for this device; each has ``run(stop_event)``
    and ``status() -> dict``, and opens its own store connection in the thread that runs it."""
    store = settings.path(settings.device.store)
    args = (store, load_authority(settings), settings.sync, load_device_key(settings), settings.device.gate_id)
    return [Uploader(*args), Updater(*args)]
