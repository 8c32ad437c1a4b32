"""Lazy public faces: a part's ``__init__`` names what it offers, and each name's module loads on
first use, so the CLI and the hub do not pay for stacks they never touch (the camera and GPIO for
``gatekeeper check --text``, fpdf2 for a hub that prints nothing)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_face(package: str, where: Mapping[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``where`` maps each public name to the submodule
    (relative to ``package``) that defines it; a loaded name is kept in ``namespace``."""

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        namespace[name] = value
        return value

    return __getattr__
