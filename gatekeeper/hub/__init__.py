"""The hub: the ASGI app (one router per resource), its storage on SQLite or PostgreSQL, the
publisher of signed lists, exports, and a HubProcess for the demo, tests and benchmarks.
Never imports the gate, scan or hw parts.
"""

from __future__ import annotations

import importlib
from typing import Any

# Loaded on first use: the CLI and the hub must not pay for the camera and GPIO stacks they do not use.
_WHERE = {
    "Admin": "auth",
    "Admission": "limits",
    "HubLimits": "limits",
    "Limited": "limits",
    "MAX_TOKEN_TTL_S": "store",
    "RateLimits": "limits",
    "SignedUpload": "auth",
    "next_ack": "store",
    "parse_rates": "limits",
    "Database": "database",
    "Device": "store",
    "FORMATS": "export",
    "HubProcess": "process",
    "HubStore": "store",
    "LOG_COLUMNS": "store",
    "MAX_STEPS": "publisher",
    "Principal": "auth",
    "Problem": "errors",
    "Publisher": "publisher",
    "RefusedError": "errors",
    "Role": "auth",
    "SCHEMA": "store",
    "SignedDevice": "auth",
    "TOKEN_PREFIX": "store",
    "Tx": "database",
    "admin_principal": "auth",
    "app_from": "app",
    "catch_up": "publisher",
    "check_signature": "auth",
    "create_app": "app",
    "csv_text": "export",
    "free_port": "process",
    "hub_store": "auth",
    "install_error_handlers": "errors",
    "jsonl": "export",
    "list_key": "publisher",
    "new_token": "store",
    "openapi_json": "app",
    "parse_body": "errors",
    "problem": "errors",
    "publisher": "auth",
    "render": "export",
    "request_target": "auth",
    "responses": "errors",
    "send_problem": "errors",
    "signed_device": "auth",
    "token_hash": "store",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value
