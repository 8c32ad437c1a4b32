"""Sync: the device's uploader and updater, the wire protocol, and the reference hub.

The device side (``Uploader``, ``Updater``) needs only httpx; the hub (``gatekeeper.sync.hub``)
needs the ``[hub]`` extra (FastAPI, uvicorn, psycopg) and is imported only where it runs.
The protocol is documented in docs/sync-protocol.md.
"""

from .updater import Updater, UpdateResult
from .uploader import Uploader, UploadResult

__all__ = ["UpdateResult", "Updater", "UploadResult", "Uploader"]
