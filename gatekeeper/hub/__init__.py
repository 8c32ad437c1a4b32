"""The hub: the ASGI app (one router per resource), its storage on SQLite or PostgreSQL, the
publisher of signed lists, exports, and a HubProcess for the demo, tests and benchmarks.
Never imports the gate, scan or hw parts.
"""

from __future__ import annotations

import importlib
from typing import Any

# Loaded on first use: the CLI and the hub must not pay for the camera and GPIO stacks they do not use.
_WHERE = {
    "Database": "database",
    "Device": "store",
    "EnrolReply": "app",
    "EnrolRequest": "app",
    "FORMATS": "export",
    "GATE_ID": "app",
    "Health": "app",
    "HubProcess": "process",
    "HubStore": "store",
    "HubTimeAndLimit": "app",
    "LOG_COLUMNS": "store",
    "MAX_ENROL_BYTES": "app",
    "MAX_INFLIGHT_BATCHES": "app",
    "MAX_STEPS": "publisher",
    "Problem": "app",
    "Publisher": "publisher",
    "RefusedError": "store",
    "RevokeRequest": "app",
    "SCHEMA": "store",
    "TOKEN_PREFIX": "store",
    "TokenReply": "app",
    "TokenRequest": "app",
    "Tx": "database",
    "VersionReply": "app",
    "app_from": "app",
    "catch_up": "publisher",
    "create_app": "app",
    "csv_text": "export",
    "free_port": "process",
    "jsonl": "export",
    "list_key": "publisher",
    "new_token": "store",
    "openapi_json": "app",
    "render": "export",
    "token_hash": "store",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value
