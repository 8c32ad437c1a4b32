"""Provisioning material that crosses from the office to a gate: the authority key's fingerprint and
pins, the enrolment QR (``GKE1:``) and the offline bundle (``gk-bundle/1``), both signed by the site
authority. docs/provisioning.md documents both formats.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import base45
import cbor2

from gatekeeper.verify import (
    ListError,
    PrivateKey,
    PublicKey,
    load_body,
    open_envelope,
    seal,
)

#: The shortest fingerprint prefix accepted: 80 bits, far beyond a second-preimage search.
MIN_FINGERPRINT_HEX = 20

BUNDLE_KIND = "gk-bundle/1"
ENROL_QR_KIND = "gk-enrol/1"
ENROL_QR_PREFIX = "GKE1:"


class ProvisionError(Exception):
    """Provisioning refused or failed; the message says what happened and what to do next."""


# --- the authority key: fingerprints and pins -----------------------------------------------------
def fingerprint(key: PublicKey) -> str:
    """The key's fingerprint: SHA-256 of the raw public key, 64 hex digits."""
    return hashlib.sha256(key.raw).hexdigest()


def show_fingerprint(key: PublicKey) -> str:
    """The fingerprint in groups of four, as an admin reads it aloud or types its first groups."""
    fp = fingerprint(key)
    return " ".join(fp[i:i + 4] for i in range(0, len(fp), 4))


@dataclass(frozen=True)
class AuthorityPin:
    """What the device holds the authority key to be before it has one: a fingerprint (prefix)
    from a channel the network cannot touch (typed by the admin, read from a QR, a key file)."""

    fingerprint: str
    source: str

    @classmethod
    def of_text(cls, text: str, source: str = "--authority-fingerprint") -> AuthorityPin:
        """A pin from a typed fingerprint (spaces and colons ignored); ProvisionError when unusable."""
        hexdigits = "".join(text.split()).replace(":", "").lower()
        if len(hexdigits) < MIN_FINGERPRINT_HEX or len(hexdigits) > 64 or \
                any(c not in "0123456789abcdef" for c in hexdigits):
            raise ProvisionError(f"{source}: {text!r} is not a key fingerprint: give at least the first "
                                 f"{MIN_FINGERPRINT_HEX} hex digits (5 groups of 4) of the fingerprint that "
                                 "'gatekeeper hub bundle' printed")
        return cls(hexdigits, source)

    @classmethod
    def of_key(cls, key: PublicKey, source: str) -> AuthorityPin:
        return cls(fingerprint(key), source)

    def check(self, key: PublicKey, offered_by: str) -> None:
        """ProvisionError unless ``key`` is the pinned one."""
        if not fingerprint(key).startswith(self.fingerprint):
            raise ProvisionError(
                f"{offered_by} offers authority key {show_fingerprint(key)}, which is not the one given by "
                f"{self.source} ({self.fingerprint}): this is not your site's authority, or something "
                "altered it on the way. Nothing was installed.")


@dataclass(frozen=True)
class DeviceMaterial:
    """Everything a device needs, gathered from the hub or a bundle, not yet written anywhere."""

    gate_id: str
    device_key: PrivateKey
    authority: PublicKey
    scope: str
    site_name: str | None
    hub_url: str
    lists: tuple[bytes, ...]
    defaults: Mapping = field(default_factory=dict)


# --- the enrolment QR -------------------------------------------------------------------------------
@dataclass(frozen=True)
class EnrolmentQR:
    """What an enrolment QR holds: where to enrol, with which token, as which gate, under which authority."""

    hub_url: str
    token: str
    gate_id: str
    authority: PublicKey

    def text(self, authority: PrivateKey) -> str:
        """The QR's text, signed by the site authority: ``GKE1:`` + base45 (QR alphanumeric mode)."""
        if authority.public.raw != self.authority.raw:
            raise ValueError("the QR must be signed by the authority key it names")
        body = cbor2.dumps({"hub": self.hub_url, "token": self.token, "gate": self.gate_id,
                            "authority": self.authority.raw})
        return ENROL_QR_PREFIX + base45.b45encode(seal(ENROL_QR_KIND, body, authority)).decode()


def parse_enrolment_qr(payload: bytes | str) -> EnrolmentQR:
    """An enrolment QR's content, signature checked against the key it carries; ProvisionError otherwise.

    The key in the QR is then pinned: the hub must name the same authority and its lists must verify
    with it. The signature binds hub, token and gate to that key, so none of them can be edited.
    """
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    if not text.startswith(ENROL_QR_PREFIX):
        raise ProvisionError("not an enrolment QR (it does not start with GKE1:)")
    try:
        raw = base45.b45decode(text[len(ENROL_QR_PREFIX):])
    except ValueError:
        raise ProvisionError("enrolment QR: not valid base45") from None
    try:
        env = open_envelope(raw)
        body = load_body(env)
        if env.kind != ENROL_QR_KIND:
            raise ListError(f"a {env.kind!r} file, not an enrolment QR")
        key = PublicKey.from_raw(body.get("authority"))
        env.verify(key)
        hub, token, gate = body.get("hub"), body.get("token"), body.get("gate")
        if not all(isinstance(v, str) and v for v in (hub, token, gate)):
            raise ListError("hub, token or gate missing")
    except (ListError, ValueError) as e:
        raise ProvisionError(f"enrolment QR refused: {e}") from None
    return EnrolmentQR(hub, token, gate, key)


# --- the offline bundle -----------------------------------------------------------------------------
def make_bundle(authority: PrivateKey, device_key: PrivateKey, gate_id: str, scope: str, site_name: str | None,
                hub_url: str, lists: Iterable[bytes], defaults: Mapping | None = None,
                now: float | None = None) -> bytes:
    """A bundle file, signed by the site authority (kind ``gk-bundle/1`` in the signed bytes)."""
    body = {"gate_id": gate_id, "device_key": device_key.to_pem(), "authority": authority.public.raw,
            "scope": scope, "site_name": site_name, "hub_url": hub_url, "lists": list(lists),
            "defaults": dict(defaults or {}), "made_at": int(time.time() if now is None else now)}
    return seal(BUNDLE_KIND, cbor2.dumps(body), authority)


def open_bundle(data: bytes, pin: AuthorityPin) -> DeviceMaterial:
    """A bundle's content once it proves to be signed by the pinned authority; ProvisionError otherwise."""
    try:
        env = open_envelope(data)
        if env.kind != BUNDLE_KIND:
            raise ListError(f"a {env.kind!r} file, not a provisioning bundle")
        body = load_body(env)
        key = PublicKey.from_raw(body.get("authority"))
    except (ListError, ValueError) as e:
        raise ProvisionError(f"not a usable bundle ({e}): it is damaged or not a bundle. Nothing was "
                             "installed; write it again with 'gatekeeper hub bundle'.") from None
    pin.check(key, "the bundle")
    try:
        env.verify(key)
    except ListError:
        raise ProvisionError("the bundle's signature does not verify: it was altered after the authority signed "
                             "it. Nothing was installed; write a new one with 'gatekeeper hub bundle'.") from None
    try:
        device_key = PrivateKey.from_pem(body["device_key"])
        lists = tuple(body["lists"])
        defaults = body.get("defaults") or {}
        if not all(isinstance(x, bytes) for x in lists) or not isinstance(defaults, dict):
            raise ValueError("lists or defaults malformed")
        return DeviceMaterial(str(body["gate_id"]), device_key, key, str(body["scope"]), body.get("site_name"),
                              str(body.get("hub_url") or ""), lists, defaults)
    except (KeyError, TypeError, ValueError) as e:
        raise ProvisionError(f"the bundle is signed but incomplete ({e}): write a new one with a matching "
                             "gatekeeper version. Nothing was installed.") from None
