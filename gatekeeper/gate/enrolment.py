"""Enrolment from the device's side, for ``gatekeeper provision``: one call, then the lists.

``enrol(hub_url, token, gate_id, key)`` spends the one-time token on the device's key; the
request is signed with that key (proof of possession). ``first_lists`` fetches the signed lists to
apply with ``Store.apply_list``. An offline bundle skips the token: the admin registers the key on
the hub (``HubStore.register_device``, ``gatekeeper hub register``) and carries the rest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import cbor2
import httpx

from gatekeeper.gate.client import HubClient, Reply
from gatekeeper.verify import PrivateKey
from gatekeeper.wire import PATH_ENROL, PATH_LISTS, b64


class EnrolError(Exception):
    """Enrolment refused or impossible; the message says why and what to do."""


@dataclass(frozen=True)
class Enrolment:
    device_id: str
    gate_id: str
    hub_time: float
    authority_pem: str | None
    scope: str | None
    site_name: str | None


def _refusal(reply: Reply) -> EnrolError:
    code, message = reply.problem() if reply.status else ("unreachable", reply.error)
    return EnrolError(f"hub {reply.status or 'unreachable'} ({code}): {message}")


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
        raise EnrolError("hub reply is not an array of list files")
    return files
