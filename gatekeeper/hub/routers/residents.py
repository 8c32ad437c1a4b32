"""The residents' pages at ``/r/<code>``: made for a phone, no sign-in, nothing personal asked.

The code from the household letter is the only key. Every page is server-rendered; the one script
(``/r/static/resident.js``) registers the service worker (``/r/sw.js``, which keeps opened pages
for offline use) and asks the browser to confirm "Report lost". The Content-Security-Policy
allows nothing but this hub. Kept out of the OpenAPI spec: these are pages, not API.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import numpy
import segno
import zxingcpp
from fastapi import APIRouter, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from gatekeeper.hub.console.i18n import LANG_COOKIE, Language, choose
from gatekeeper.hub.console.web import client_address, env, show_time
from gatekeeper.hub.registry import PassRecord, PassState
from gatekeeper.hub.residents import Refusal, ResidentError, Residents, UnitView, normal_code

PREFIX = "/r"
STATIC = Path(__file__).resolve().parent.parent / "console" / "static" / "resident"
#: Only this hub: its own script, styles, images (the QR PNGs) and manifest; no inline script.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; manifest-src 'self'; "
       "worker-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "X-Frame-Options": "DENY", "Cache-Control": "no-store"}
STATUS = {Refusal.UNKNOWN_CODE: 404, Refusal.TOO_MANY_WRONG: 429, Refusal.BUSY: 429, Refusal.FROZEN: 403,
          Refusal.QUOTA: 409, Refusal.NO_PASS: 404, Refusal.NOT_ACTIVE: 409, Refusal.READ_ONLY: 409,
          Refusal.FOREIGN_FORM: 403}
#: After these, the unit's page is shown again with the refusal (the resident stays where they were).
ON_PAGE = {Refusal.QUOTA, Refusal.FROZEN, Refusal.NOT_ACTIVE, Refusal.READ_ONLY, Refusal.NO_PASS}
NOTICES = {"issued": "Your new pass is below. Tap it to show it full screen at the gate.",
           "waiting": "Your request waits for the property office's approval. Look here again later.",
           "lost": "The pass is revoked: the gates refuse it from their next update. You can get a new one now."}
PASS_ID = r"^[0-9a-f]{24}$"

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Code = Annotated[str, PathParam(max_length=64)]


def install(app: FastAPI) -> None:
    """The residents' state and pages on the hub (after the console's, whose registry they use)."""
    s = app.state
    s.residents = Residents(s.store, s.registry, s.audit)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="resident-static")
    app.include_router(router)

    @app.exception_handler(ResidentError)
    async def refused(request: Request, e: ResidentError) -> HTMLResponse:
        return page(request, "resident/refused.html", STATUS[e.refusal], error=e)


# --- helpers --------------------------------------------------------------------------------------
def residents(request: Request) -> Residents:
    return request.app.state.residents


def language(request: Request) -> Language:
    return choose(request.app.state.languages, request.cookies.get(LANG_COOKIE),
                  request.headers.get("accept-language"))


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = language(request)
    zone = request.app.state.site_zone
    here = request.url.path
    html = env.get_template(template).render(
        request=request, lang=lang, languages=request.app.state.languages.values(), prefix=PREFIX,
        here_quoted=quote(here, safe=""), _=lang.gettext,
        refusal=lambda e: lang.gettext(e.message, **e.params),
        when=lambda ts: show_time(ts, zone), **context)
    return HTMLResponse(html, status, headers=HEADERS)


async def unit_of(request: Request, code: str) -> str:
    """The unit a code opens, after the per-address limit; a wrong code costs a growing delay."""
    res, address = residents(request), client_address(request)
    res.admit(address)
    unit = await run_in_threadpool(res.unit_of, code)
    if unit is None:
        await asyncio.sleep(res.wrong_code(address))
        raise ResidentError(Refusal.UNKNOWN_CODE)
    res.use(unit)
    return unit


def same_origin(request: Request) -> None:
    """A change must come from this hub's own page: a form on another site cannot post here. The
    host is the one the browser used (``X-Forwarded-Host`` when a reverse proxy rewrote ``Host``)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return
    hosts = {request.headers.get("host"), request.headers.get("x-forwarded-host")}
    if origin.split("://", 1)[-1] not in hosts:
        raise ResidentError(Refusal.FOREIGN_FORM)


#: Modules of white around a code, as the QR standard asks.
QUIET = 4


@functools.lru_cache(maxsize=4096)
def qr_svg(text: str) -> str:
    """A pass's QR as inline SVG sized by CSS (a pass never changes: cached by its text).

    Encoded by zxing-cpp (zint underneath, already a dependency for reading): it chooses the mask
    in C in a third of a millisecond, where segno's pure-Python mask scoring takes 20 ms for a
    pass; with 200 residents asking at once that difference is the whole latency budget."""
    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    dark = (numpy.asarray(code.to_image(scale=1, add_quiet_zones=False)) < 128).astype(numpy.int8)
    # one rectangle per run of dark modules (the path stays a few KB): where each run starts and ends
    edges = numpy.diff(numpy.pad(dark, ((0, 0), (1, 1))), axis=1)
    starts, ends = numpy.argwhere(edges == 1), numpy.argwhere(edges == -1)
    runs = [f"M{QUIET + x} {QUIET + y}h{end - x}v1h{x - end}z"
            for (y, x), (_, end) in zip(starts.tolist(), ends.tolist(), strict=True)]
    size = dark.shape[0] + 2 * QUIET
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="qr" viewBox="0 0 {size} {size}" '
            f'shape-rendering="crispEdges" role="img"><path class="qr-dark" d="{"".join(runs)}"/></svg>')


def state_of(p: PassRecord, now: float) -> str:
    """What the page says of a pass: a registry state, or expired / not yet valid."""
    if p.state != PassState.ACTIVE:
        return str(p.state)
    if p.valid_until <= now:
        return "expired"
    return "not_yet" if p.valid_from > now else "active"


def unit_page(request: Request, code: str, view: UnitView, status: int = 200,
              error: ResidentError | None = None) -> HTMLResponse:
    now = time.time()
    passes = [(p, state_of(p, now)) for p in view.passes]
    return page(request, "resident/unit.html", status, code=code, view=view, passes=passes, qr=qr_svg,
                error=error, notice=NOTICES.get(request.query_params.get("done", "")))


def own_pass(view: UnitView, pass_id: str) -> PassRecord:
    rec = next((p for p in view.passes if p.pass_id == pass_id), None)
    if rec is None:
        raise ResidentError(Refusal.NO_PASS)
    return rec


# --- pages ----------------------------------------------------------------------------------------
@router.get("")
@router.get("/")
async def enter(request: Request, code: str = "") -> Response:
    """Type the code from the letter (for those who cannot scan its QR)."""
    if code:
        normal = normal_code(code) or quote(code.strip()[:64], safe="")
        return RedirectResponse(f"{PREFIX}/{normal}", status_code=303)
    return page(request, "resident/enter.html")


@router.get("/sw.js")
async def service_worker() -> FileResponse:
    # served from /r/ so that its scope is every resident page
    return FileResponse(STATIC / "sw.js", media_type="text/javascript",
                        headers={**HEADERS, "Cache-Control": "no-cache"})


@router.get("/lang/{code}")
async def switch_language(request: Request, code: str, next: str = PREFIX) -> Response:
    target = next if next.startswith(f"{PREFIX}/") and not next.startswith("//") else PREFIX
    response = RedirectResponse(target, status_code=303)
    if code in request.app.state.languages:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, path=PREFIX, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
    return response


@router.get("/{code}")
async def unit_home(request: Request, code: Code) -> HTMLResponse:
    unit = await unit_of(request, code)
    view = await run_in_threadpool(residents(request).view, unit)
    return unit_page(request, code, view)


@router.get("/{code}/manifest.webmanifest")
async def manifest(request: Request, code: Code) -> Response:
    unit = await unit_of(request, code)
    lang = language(request)
    body = {"name": f"{lang.gettext('Passes')}: {unit}", "short_name": lang.gettext("Passes"),
            "start_url": f"{PREFIX}/{code}", "scope": f"{PREFIX}/", "display": "standalone",
            "background_color": "#ffffff", "theme_color": "#14532d", "lang": lang.html_lang,
            "icons": [{"src": f"{PREFIX}/static/icon.svg", "sizes": "any", "type": "image/svg+xml"}]}
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/manifest+json", headers=HEADERS)


@router.post("/{code}/get")
async def get_pass(request: Request, code: Code) -> Response:
    """"Get a pass": issued at once within the quota, or queued for approval."""
    same_origin(request)
    unit = await unit_of(request, code)
    res = residents(request)
    try:
        res.use(unit, change=True)
        outcome = await run_in_threadpool(res.get_pass, unit)
    except ResidentError as e:
        if e.refusal not in ON_PAGE:
            raise
        return unit_page(request, code, await run_in_threadpool(res.view, unit), STATUS[e.refusal], e)
    done = "issued" if outcome.issued else "waiting"
    return RedirectResponse(f"{PREFIX}/{code}?done={done}", status_code=303)


@router.post("/{code}/lost/{pass_id}")
async def report_lost(request: Request, code: Code, pass_id: Annotated[str, PathParam(pattern=PASS_ID)]) -> Response:
    """"Report lost": the pass is revoked at once; a new one may be had straight away."""
    same_origin(request)
    unit = await unit_of(request, code)
    res = residents(request)
    try:
        res.use(unit, change=True)
        await run_in_threadpool(res.report_lost, unit, pass_id)
    except ResidentError as e:
        if e.refusal not in ON_PAGE:
            raise
        return unit_page(request, code, await run_in_threadpool(res.view, unit), STATUS[e.refusal], e)
    return RedirectResponse(f"{PREFIX}/{code}?done=lost", status_code=303)


@router.get("/{code}/p/{pass_id}.png")
async def pass_png(request: Request, code: Code, pass_id: Annotated[str, PathParam(pattern=PASS_ID)]) -> Response:
    """The pass as a PNG to save in the phone's photos."""
    unit = await unit_of(request, code)
    view = await run_in_threadpool(residents(request).view, unit)
    rec = own_pass(view, pass_id)
    png = await run_in_threadpool(_png, rec.text)
    name = f"pass-{rec.pass_id[:8]}.png"
    return Response(png, media_type="image/png",
                    headers={**HEADERS, "Content-Disposition": f'inline; filename="{name}"'})


@router.get("/{code}/p/{pass_id}")
async def show_pass(request: Request, code: Code, pass_id: Annotated[str, PathParam(pattern=PASS_ID)]) -> Response:
    """One pass full screen: the QR as large as the screen allows, its label and validity."""
    unit = await unit_of(request, code)
    view = await run_in_threadpool(residents(request).view, unit)
    rec = own_pass(view, pass_id)
    return page(request, "resident/pass.html", code=code, view=view, p=rec, state=state_of(rec, time.time()),
                qr=qr_svg)


def _png(text: str) -> bytes:
    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buf, kind="png", scale=10, border=4)
    return buf.getvalue()
