"""The passage log: search and filter (gate, unit, pass id, outcome, reason, time range in the site's
zone), pages newest first, a row's detail, and the filtered view exported as CSV or JSON lines."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from gatekeeper.hub.console.web import NAV, NavItem, PageRefused, Viewer, parse_input_time, render
from gatekeeper.hub.passages import REASON, Cursor, LogFilter, Outcome, outcome_of
from gatekeeper.hub.routers.log import log_stream
from gatekeeper.verify import Reason

router = APIRouter()
NAV.append(NavItem("/log", "Passage log"))
PAGE = 50
_GATE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_PASS = re.compile(r"^[0-9a-f]{1,64}$")
#: The reasons a gate writes (the decision core's), for the filter's choices.
REASONS = sorted(r.value for r in Reason)


@dataclass(frozen=True)
class Query:
    """The filter form as typed (kept to fill the form and the links again)."""

    gate: str = ""
    unit: str = ""
    pass_id: str = ""
    outcome: str = ""
    reason: str = ""
    since: str = ""
    until: str = ""

    def args(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


def log_filter(request: Request, user, q: Query) -> LogFilter:
    """The filter a query asks for; a 422 page naming the field that is wrong."""
    zone = request.app.state.site_zone
    bad = []
    for name, value, rule in (("gate", q.gate, _GATE), ("pass_id", q.pass_id, _PASS), ("reason", q.reason,
                                                                                        re.compile(REASON))):
        if value and not rule.match(value):
            bad.append(name)
    if q.outcome and q.outcome not in Outcome.__members__.values():
        bad.append("outcome")
    times = {}
    for name, value in (("since", q.since), ("until", q.until)):
        times[name], problems = parse_input_time(value, zone, name)
        if problems:
            bad.append(name)
    if bad:
        raise PageRefused(422, user.lang.gettext("This filter cannot be used: %(fields)s.", fields=", ".join(
            user.lang.gettext(b) for b in bad)))
    return LogFilter(gate_id=q.gate or None, unit=q.unit.strip() or None, pass_id=q.pass_id or None,
                     outcome=Outcome(q.outcome) if q.outcome else None, reason=q.reason or None,
                     since=times["since"], until=times["until"])


@router.get("/log")
async def log_page(request: Request, user: Viewer, gate: str = "", unit: str = "", pass_id: str = "",
                   outcome: str = "", reason: str = "", since: str = "", until: str = "",
                   after: str = "") -> Response:
    q = Query(gate, unit, pass_id.strip().lower(), outcome, reason, since, until)
    f = log_filter(request, user, q)
    try:
        cursor = Cursor.parse(after) if after else None
    except ValueError:
        raise PageRefused(422, user.lang.gettext("This page link is broken: start from the first page.")) from None
    passages = request.app.state.passages
    rows, more = await run_in_threadpool(passages.page, f, PAGE, cursor)
    gates = await run_in_threadpool(request.app.state.gates.gates)
    return render(request, "log.html", user, rows=rows, next=more.text() if more else None, q=q, args=q.args(),
                  gates=[g.gate_id for g in gates], reasons=REASONS,
                  outcomes=list(Outcome), outcome_of=outcome_of, first=cursor is None)


@router.get("/log/export")
async def log_export(request: Request, user: Viewer, format: str = "csv", gate: str = "", unit: str = "",
                     pass_id: str = "", outcome: str = "", reason: str = "", since: str = "",
                     until: str = "") -> Response:
    if format not in ("csv", "jsonl"):
        raise PageRefused(422, user.lang.gettext("An export is CSV or JSON lines."))
    f = log_filter(request, user, Query(gate, unit, pass_id.strip().lower(), outcome, reason, since, until))
    response = await run_in_threadpool(log_stream, request, user.name, f, format, True)
    response.headers["Content-Disposition"] = f'attachment; filename="passage-log.{format}"'
    return response


@router.get("/log/{device_id}/{seq}")
async def row_page(request: Request, device_id: str, seq: int, user: Viewer) -> Response:
    row = await run_in_threadpool(request.app.state.passages.row, device_id, seq)
    if row is None:
        raise PageRefused(404, user.lang.gettext("No such passage-log row."))
    return render(request, "log_row.html", user, r=row, outcome=outcome_of(row))
