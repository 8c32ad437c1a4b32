"""Enrolment from the device's side, for ``gatekeeper provision``: one call, then the lists.

``enrol(hub_url, token, gate_id, key)`` spends the one-time token on the device's key; the
request is signed with that key (proof of possession). ``first_lists`` fetches the signed lists to
apply with ``Store.apply_list``. An offline bundle skips the token: the admin registers the key on
the hub (``HubStore.register_device``, ``gatekeeper hub register``) and carries the rest.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

import cbor2
import httpx

from gatekeeper.gate.client import HubClient, Reply
from gatekeeper.verify import PrivateKey
from gatekeeper.wire import PATH_ENROL, PATH_LISTS, b64


class EnrolFailure(enum.Enum):
    """Why enrolment failed, as far as the token is concerned."""

    UNSENT = "unsent"  # no connection was made: the request never arrived, the token is not spent
    NO_REPLY = "no_reply"  # the connection failed after it was made: the token may have been spent
    REFUSED = "refused"  # the hub replied with a refusal
    BAD_REPLY = "bad_reply"  # the hub replied with something that is not what was asked for


class EnrolError(Exception):
    """Enrolment refused or impossible; the message says why and what to do, ``kind`` what kind of
    failure it is, ``detail`` the connection error or the hub's message."""

    def __init__(self, kind: EnrolFailure, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.kind, self.detail = kind, detail


@dataclass(frozen=True)
class Enrolment:
    device_id: str
    gate_id: str
    hub_time: float
    authority_pem: str | None
    scope: str | None
    site_name: str | None


def _refusal(reply: Reply) -> EnrolError:
    if not reply.status:
        kind = EnrolFailure.UNSENT if reply.unsent else EnrolFailure.NO_REPLY
        return EnrolError(kind, f"hub unreachable: {reply.error}", reply.error)
    code, message = reply.problem()
    return EnrolError(EnrolFailure.REFUSED, f"hub {reply.status} ({code}): {message}", message)


def enrol(hub_url: str, token: str, gate_id: str, key: PrivateKey, timeout: float = 10.0,
          transport: httpx.BaseTransport | None = None) -> Enrolment:
    """Enrol ``key`` as gate ``gate_id`` with a one-time ``token``; :class:`EnrolError` on refusal."""
    client = HubClient(hub_url, key, timeout, transport)
    try:
        body = json.dumps({"token": token, "gate_id": gate_id, "public_key": b64(key.public.raw)}).encode()
        reply = client.request("POST", PATH_ENROL, body, {"Content-Type": "application/json"})
    finally:
        client.close()
    if reply.status != 201:
        raise _refusal(reply)
    obj = json.loads(reply.body)
    return Enrolment(obj["device_id"], obj["gate_id"], obj["hub_time"], obj.get("authority_key"), obj.get("scope"),
                     obj.get("site_name"))


def first_lists(hub_url: str, key: PrivateKey, timeout: float = 30.0,
                transport: httpx.BaseTransport | None = None) -> list[bytes]:
    """The current trust list and full revocation snapshot, as signed files to apply in order."""
    client = HubClient(hub_url, key, timeout, transport)
    try:
        reply = client.request("GET", f"{PATH_LISTS}?trust=0&revocations=0")
    finally:
        client.close()
    if reply.status != 200:
        raise _refusal(reply)
    files = cbor2.loads(reply.body)
    if not isinstance(files, list) or not all(isinstance(f, bytes) for f in files):
        raise EnrolError(EnrolFailure.BAD_REPLY, "hub reply is not an array of list files")
    return files
