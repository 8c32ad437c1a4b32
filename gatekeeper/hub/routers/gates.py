"""Gates: their health (``GET /v1/admin/gates``), one gate's detail and history, enrolling a new gate
(a token, the signed enrolment QR, an offline bundle) and revoking one; and the hub's background
watch (the offline sweep, alert delivery, retention) started with the app."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from gatekeeper.hub import retention
from gatekeeper.hub.alerts import Deliverer, Webhook
from gatekeeper.hub.audit import AuditAction
from gatekeeper.hub.auth import Admin, Reader
from gatekeeper.hub.errors import RefusedError, responses
from gatekeeper.hub.gates import GateHealth, GateView, HealthPolicy, enrol_gate, gate_bundle, revoke_gate
from gatekeeper.hub.limits import client_address
from gatekeeper.hub.passages import Passages
from gatekeeper.hub.routers.devices import GATE_ID

router = APIRouter()
GateId = Annotated[str, Path(pattern=GATE_ID)]


@dataclass(frozen=True)
class WatchSettings:
    """The hub's background watch: when a gate is offline, where alerts go, how long rows are kept."""

    policy: HealthPolicy = field(default_factory=HealthPolicy)
    webhook: Webhook | None = None
    retention_s: float = retention.DEFAULT_RETENTION_S
    sweep_every: float = 1.0


class GateItem(BaseModel):
    """One gate in ``GET /v1/admin/gates``."""

    gate_id: str
    last_seen: float | None = Field(description="Unix seconds of the gate's last signed request")
    state: str = Field(description="ok, warning or offline")
    software_version: str | None
    trust_version: int | None
    revocation_version: int | None
    list_age_seconds: int | None
    clock_trusted: bool | None
    log_backlog: int | None
    alarms: list[str]


class GateEventItem(BaseModel):
    at: float
    old_state: str | None
    new_state: str
    reasons: list[str]


class GateDetail(GateItem):
    reasons: list[str] = Field(description="why the gate is not ok: alarm:<code>, list_stale, clock_untrusted, "
                                           "backlog, no_contact")
    state_since: float | None
    device_ids: list[str]
    report: dict | None = Field(description="the gate's latest report (docs/sync-protocol.md)")
    history: list[GateEventItem]


class EnrolRequest(BaseModel):
    gate_id: Annotated[str, Field(pattern=GATE_ID)]
    hub_url: Annotated[str, Field(min_length=1, max_length=200, description="The hub URL as the gate reaches it")]
    ttl_s: Annotated[float, Field(gt=0, le=30 * 86400)] = 3600


class EnrolReply(BaseModel):
    gate_id: str
    token: str
    expires_at: float
    enrolment_qr: str | None = Field(description="The signed enrolment QR's text (null: this hub has no site)")


class BundleRequest(BaseModel):
    hub_url: Annotated[str, Field(max_length=200)] = ""


class RevokeReply(BaseModel):
    revoked: list[str]


def health(request: Request) -> GateHealth:
    return request.app.state.gates


def detail(g: GateView, history: list) -> GateDetail:
    return GateDetail(**g.api(), reasons=list(g.reasons), state_since=g.state_since, device_ids=list(g.device_ids),
                      report=g.report.model_dump() if g.report else None,
                      history=[GateEventItem(at=e.at, old_state=e.old_state, new_state=e.new_state,
                                             reasons=list(e.reasons)) for e in history])


@router.get("/v1/admin/gates", response_model=list[GateItem], responses=responses(401),
            summary="Every enrolled gate with its state (ok, warning, offline) and its latest report")
async def list_gates(request: Request, _: Reader) -> list[dict]:
    return [g.api() for g in await run_in_threadpool(health(request).gates)]


@router.get("/v1/admin/gates/{gate_id}", response_model=GateDetail, responses=responses(401, 404, 422),
            summary="One gate: its state and why, its report, and its state changes")
async def one_gate(request: Request, gate_id: GateId, _: Reader) -> GateDetail:
    h = health(request)
    g = await run_in_threadpool(h.gate, gate_id)
    if g is None:
        raise RefusedError(404, "unknown_gate", f"no enrolled gate {gate_id!r}")
    return detail(g, await run_in_threadpool(h.history, gate_id))


def record(request: Request, actor: str, action: AuditAction, gate_id: str, detail: str) -> None:
    request.app.state.audit.record(actor, action, gate_id, detail, client_address(request.scope))


# The API's and the console's actions; ``actor`` is who does it (an account or a token's label).
def enrol(request: Request, actor: str, req: EnrolRequest) -> EnrolReply:
    """Make the token (and QR) and record it."""
    state = request.app.state
    e = enrol_gate(state.store, state.publisher.site, req.gate_id, req.hub_url, req.ttl_s)
    record(request, actor, AuditAction.DEVICE_ENROL, req.gate_id, f"enrolment token for {req.hub_url}")
    return EnrolReply(gate_id=e.gate_id, token=e.token, expires_at=e.expires_at, enrolment_qr=e.qr_text)


def bundle(request: Request, actor: str, gate_id: str, hub_url: str) -> bytes:
    state = request.app.state
    if state.publisher.site is None:
        raise RefusedError(409, "cannot_sign", "this hub runs without the site directory and cannot sign a bundle: "
                           "make it on the hub started with --site")
    data, dev = gate_bundle(state.store, state.publisher.site, gate_id, hub_url)
    record(request, actor, AuditAction.DEVICE_ENROL, gate_id, f"offline bundle, device {dev}")
    return data


def revoke(request: Request, actor: str, gate_id: str) -> list[str]:
    ids = revoke_gate(request.app.state.store, gate_id)
    if not ids:
        raise RefusedError(404, "unknown_gate", f"no enrolled gate {gate_id!r}")
    record(request, actor, AuditAction.DEVICE_REVOKE, gate_id, "devices " + ", ".join(ids))
    return ids


@router.post("/v1/admin/gates/enrol", response_model=EnrolReply, status_code=201, responses=responses(401, 403, 422),
             summary="A one-time enrolment token for a new gate and, on a hub with the site, its signed QR")
async def enrol_new(request: Request, req: EnrolRequest, who: Admin) -> EnrolReply:
    return await run_in_threadpool(enrol, request, who.name, req)


@router.post("/v1/admin/gates/{gate_id}/bundle", responses={200: {"content": {"application/octet-stream": {}}},
                                                            **responses(401, 403, 409, 422)},
             summary="An offline provisioning bundle for a gate (a new device key, registered now)")
async def make_bundle(request: Request, gate_id: GateId, req: BundleRequest, who: Admin) -> Response:
    data = await run_in_threadpool(bundle, request, who.name, gate_id, req.hub_url)
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{gate_id}.gkbundle"'})


@router.post("/v1/admin/gates/{gate_id}/revoke", response_model=RevokeReply, responses=responses(401, 403, 404, 422),
             summary="Refuse every further request of a gate's devices")
async def revoke_one(request: Request, gate_id: GateId, who: Admin) -> RevokeReply:
    return RevokeReply(revoked=await run_in_threadpool(revoke, request, who.name, gate_id))


def install(app: FastAPI, watch: WatchSettings) -> None:
    """Open the gates' and the log's tables on ``app.state`` and run the watch while the app runs."""
    s = app.state
    db = s.store.db
    deliverer = Deliverer(db, watch.webhook, s.site_zone) if watch.webhook else None
    s.gates = GateHealth(db, watch.policy, alerting=deliverer is not None,
                         on_event=deliverer.wake.set if deliverer else None)
    s.passages = Passages(db)
    stop = threading.Event()
    loops = [lambda: s.gates.run(stop, watch.sweep_every),
             lambda: retention.run(stop, db, s.passages, s.gates, watch.retention_s)]
    if deliverer is not None:
        loops.append(lambda: deliverer.run(stop))

    async def start() -> None:
        for loop in loops:
            threading.Thread(target=loop, daemon=True, name="hub-watch").start()

    async def end() -> None:
        stop.set()

    app.router.add_event_handler("startup", start)
    app.router.add_event_handler("shutdown", end)
    app.include_router(router)
