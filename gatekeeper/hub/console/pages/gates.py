"""Gates: every gate's state and why, one gate's report and history, enrol a gate (token, QR, offline
bundle) and revoke one (admins only); the dashboard (today's passages, charts, recent state changes)."""

from __future__ import annotations

import time
from datetime import datetime

import segno
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from gatekeeper.hub.charts import bars
from gatekeeper.hub.console.web import NAV, AdminUser, NavItem, PageRefused, Viewer, back, field, form_of, render
from gatekeeper.hub.errors import RefusedError
from gatekeeper.hub.passages import Outcome, day_edges, day_start, hour_edges
from gatekeeper.hub.routers.gates import EnrolRequest, bundle, enrol, revoke

router = APIRouter()
NAV.append(NavItem("/dashboard", "Dashboard"))
NAV.append(NavItem("/gates", "Gates"))

#: Why a gate is not ok, in words (msgids); an alarm is ``alarm:<code>``.
WHY = {"list_stale": "its lists are out of date", "clock_untrusted": "its clock is not trusted",
       "backlog": "its passage-log backlog is not draining", "no_contact": "no contact",
       "alarm:log_write": "its passage log cannot be written", "alarm:disk_full": "its disk is full",
       "alarm:camera_down": "its camera is down", "alarm:quarantine": "batches are held in quarantine"}


BAD_ENROL = ("A gate id is 1-64 letters, digits, '_', '.' or '-'; the hub URL is how the gate reaches this hub; "
             "the token lasts 1 to 720 hours.")


def why(lang, code: str) -> str:
    """A reason code in the reader's language (an unknown alarm from a newer gate as it came)."""
    return lang.gettext(WHY[code]) if code in WHY else code


@router.get("/gates")
async def gates_page(request: Request, user: Viewer, done: str = "") -> Response:
    gates = await run_in_threadpool(request.app.state.gates.gates)
    notice = user.lang.gettext("Gate %(gate)s revoked.", gate=done) if done else None
    return render(request, "gates.html", user, gates=gates, why=lambda c: why(user.lang, c), notice=notice,
                  default_hub=str(request.base_url).rstrip("/"))


@router.get("/gates/{gate_id}")
async def gate_page(request: Request, gate_id: str, user: Viewer) -> Response:
    h = request.app.state.gates
    g = await run_in_threadpool(h.gate, gate_id)
    if g is None:
        raise PageRefused(404, user.lang.gettext("No enrolled gate %(gate)s.", gate=gate_id))
    history = await run_in_threadpool(h.history, gate_id)
    return render(request, "gate.html", user, g=g, history=history, why=lambda c: why(user.lang, c))


@router.post("/gates/enrol")
async def enrol_gate(request: Request, user: AdminUser) -> Response:
    form = await form_of(request, user)
    try:
        req = EnrolRequest(gate_id=field(form, "gate_id"), hub_url=field(form, "hub_url"),
                           ttl_s=float(field(form, "ttl_h") or 1) * 3600)
    except (ValidationError, ValueError):
        raise PageRefused(422, user.lang.gettext(BAD_ENROL)) from None
    e = await run_in_threadpool(enrol, request, user.name, req)
    qr = segno.make(e.enrolment_qr, error="m").svg_inline(scale=4, border=4) if e.enrolment_qr else None
    return render(request, "gate_enrol.html", user, e=e, qr=qr, hub_url=req.hub_url)


@router.post("/gates/{gate_id}/bundle")
async def gate_bundle(request: Request, gate_id: str, user: AdminUser) -> Response:
    form = await form_of(request, user)
    try:
        data = await run_in_threadpool(bundle, request, user.name, gate_id, field(form, "hub_url"))
    except RefusedError as e:
        raise PageRefused(e.status, e.message) from None
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{gate_id}.gkbundle"'})


@router.post("/gates/{gate_id}/revoke")
async def gate_revoke(request: Request, gate_id: str, user: AdminUser) -> Response:
    await form_of(request, user)
    try:
        await run_in_threadpool(revoke, request, user.name, gate_id)
    except RefusedError as e:
        raise PageRefused(e.status, e.message) from None
    return back("/gates", done=gate_id)


# --- the dashboard ----------------------------------------------------------------------------------
@router.get("/dashboard")
async def dashboard(request: Request, user: Viewer) -> Response:
    return render(request, "dashboard.html", user, **await run_in_threadpool(_dashboard, request, user))


def _dashboard(request: Request, user) -> dict:
    state = request.app.state
    zone, now = state.site_zone, time.time()
    passages = state.passages
    counts = passages.counts(day_start(now, zone), now + 1)
    gate_ids = sorted({g for g, _ in counts} | {g.gate_id for g in state.gates.gates()})
    today = [(g, {o: counts.get((g, o), 0) for o in Outcome}) for g in gate_ids]
    totals = {o: sum(c[o] for _, c in today) for o in Outcome}
    hours, days = hour_edges(now, zone), day_edges(now, zone, 30)
    per_hour, per_day = passages.series(hours), passages.series(days)
    hour_labels = [datetime.fromtimestamp(h, zone).strftime("%H") for h in hours[:-1]]
    day_labels = [datetime.fromtimestamp(d, zone).strftime("%m-%d") for d in days[:-1]]
    charts = [(g, bars(per_hour.get(g, [0] * 24), hour_labels,
                       user.lang.gettext("Passages per hour at %(gate)s, last 24 hours", gate=g), every=3),
               bars(per_day.get(g, [0] * 30), day_labels,
                    user.lang.gettext("Passages per day at %(gate)s, last 30 days", gate=g), every=5))
              for g in gate_ids]
    return {"today": today, "totals": totals, "outcomes": list(Outcome), "charts": charts,
            "events": state.gates.history(limit=20), "why": lambda c: why(user.lang, c)}
