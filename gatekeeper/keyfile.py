"""Reading key files: one reader for the gate, the hub, the admin side and the CLI, one wording of
its errors (the path, what is wrong, and which setting names the file)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from gatekeeper.verify import PrivateKey, PublicKey

K = TypeVar("K", PrivateKey, PublicKey)


class KeyFileError(ValueError):
    """A key file is missing or is not a usable Ed25519 key; the message names the file."""


def _read(path: Path, what: str, setting: str | None) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        where = f" ({setting})" if setting else ""
        raise KeyFileError(f"{path}: {what} missing{where}") from None
    except OSError as e:
        raise KeyFileError(f"{path}: {what} unreadable ({e.strerror})") from None


def _load(path: str | os.PathLike, what: str, setting: str | None, parse: Callable[[bytes], K], kind: str) -> K:
    path = Path(path)
    data = _read(path, what, setting)
    try:
        return parse(data)
    except ValueError:
        raise KeyFileError(f"{path}: {what} is not a usable Ed25519 {kind} key (a PEM file was expected)") from None


def read_private_key(path: str | os.PathLike, what: str = "private key", setting: str | None = None) -> PrivateKey:
    """The Ed25519 private key in PEM at ``path``; :class:`KeyFileError` naming the file otherwise."""
    return _load(path, what, setting, PrivateKey.from_pem, "private")


def read_public_key(path: str | os.PathLike, what: str = "public key", setting: str | None = None) -> PublicKey:
    """The Ed25519 public key in PEM at ``path``; :class:`KeyFileError` naming the file otherwise."""
    return _load(path, what, setting, PublicKey.from_pem, "public")
