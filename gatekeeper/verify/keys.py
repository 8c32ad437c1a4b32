"""Ed25519 keys, key ids and domain-separated signatures.

No file I/O here: keys travel as bytes (PEM or raw); the shell reads and writes the files.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import nacl.exceptions
import nacl.signing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

KID_LEN = 8
SIG_LEN = 64
PUBKEY_LEN = 32


def key_id(public_raw: bytes) -> bytes:
    """The 8-byte key id of a raw Ed25519 public key: the first bytes of its SHA-256."""
    return hashlib.sha256(public_raw).digest()[:KID_LEN]


@dataclass(frozen=True)
class PublicKey:
    """A verifying key with its id; ``raw`` is the 32-byte Ed25519 public key."""

    raw: bytes
    kid: bytes
    _key: Ed25519PublicKey
    # libsodium verifies in half the time OpenSSL takes here (docs/PERFORMANCE.md): the hot path
    _verifier: nacl.signing.VerifyKey

    @classmethod
    def from_raw(cls, raw: bytes) -> PublicKey:
        """Load a raw 32-byte key; ValueError when it is not one."""
        if not isinstance(raw, bytes) or len(raw) != PUBKEY_LEN:
            raise ValueError("an Ed25519 public key is 32 bytes")
        return cls(raw, key_id(raw), Ed25519PublicKey.from_public_bytes(raw), nacl.signing.VerifyKey(raw))

    @classmethod
    def from_pem(cls, pem: bytes) -> PublicKey:
        """Load a PEM SubjectPublicKeyInfo; ValueError when it is not an Ed25519 key."""
        key = serialization.load_pem_public_key(pem)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return cls.from_raw(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    def to_pem(self) -> bytes:
        return self._key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def verify(self, domain: bytes, message: bytes, signature: bytes) -> bool:
        """True when ``signature`` signs ``domain || message`` with this key."""
        try:
            self._verifier.verify(domain + message, signature)
        except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, nacl.exceptions.TypeError,
                TypeError, ValueError):
            return False
        return True


@dataclass(frozen=True)
class PrivateKey:
    """A signing key; ``public`` is its verifying half."""

    public: PublicKey
    _key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> PrivateKey:
        key = Ed25519PrivateKey.generate()
        return cls._wrap(key)

    @classmethod
    def from_pem(cls, pem: bytes) -> PrivateKey:
        """Load an unencrypted PKCS#8 PEM; ValueError when it is not an Ed25519 key."""
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("not an Ed25519 private key")
        return cls._wrap(key)

    @classmethod
    def _wrap(cls, key: Ed25519PrivateKey) -> PrivateKey:
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return cls(PublicKey.from_raw(raw), key)

    @property
    def kid(self) -> bytes:
        return self.public.kid

    def to_pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def sign(self, domain: bytes, message: bytes) -> bytes:
        """Sign ``domain || message``: the domain keeps a pass signature from passing as a list's."""
        return self._key.sign(domain + message)
