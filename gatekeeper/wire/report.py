"""The gate report: how a gate is, carried in the requests it already makes.

A gate appends ``report=<text>`` to the query of its list poll and log upload. The query is part of
the signed target (see :mod:`gatekeeper.wire.protocol`), so the report is signed with the request
and costs no extra round trip; a hub that does not know the parameter ignores it.

``<text>`` is base64url (no padding) of a canonical CBOR map with one-letter keys (:data:`KEYS`),
at most :data:`MAX_REPORT_CHARS` characters. Times are integer Unix seconds, the frame rate in
tenths of a frame per second, the poll interval in milliseconds. Unknown keys are ignored, so a
newer gate's report still reads on an older hub. docs/sync-protocol.md documents it.
"""

from __future__ import annotations

import enum
import re
from typing import Annotated

import cbor2
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gatekeeper.wire.protocol import b64, unb64

#: The query parameter a device request carries its report in.
REPORT_PARAM = "report"
#: The longest report text a device sends (and a hub reads); the budget is 200 bytes a request.
MAX_REPORT_CHARS = 190
MAX_ALARMS = 6
_ALARM = re.compile(r"^[a-z][a-z0-9_]{0,15}$")


class Alarm(enum.StrEnum):
    """What a gate raises the alarm about (a hub shows unknown codes from newer gates as they are)."""

    LOG_WRITE = "log_write"  # a passage-log row could not be written
    DISK_FULL = "disk_full"  # the device store's file system is (nearly) full
    CAMERA_DOWN = "camera_down"  # no frame for a while
    QUARANTINE = "quarantine"  # batches parked after the hub refused them


class GateReport(BaseModel):
    """One gate's health at the time of a request."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    software_version: Annotated[str, Field(max_length=24, pattern=r"^[0-9A-Za-z.+_-]*$")]
    trust_version: Annotated[int, Field(ge=0, le=2**40)] | None = None
    revocation_version: Annotated[int, Field(ge=0, le=2**40)] | None = None
    list_age_seconds: Annotated[int, Field(ge=0, le=2**40)] | None = None
    list_stale: bool = False
    clock_trusted: bool = True
    time_floor: Annotated[int, Field(ge=0, le=2**40)] | None = None
    log_backlog: Annotated[int, Field(ge=0, le=2**40)] = 0
    alarms: Annotated[tuple[str, ...], Field(max_length=MAX_ALARMS)] = ()
    frame_rate: Annotated[float, Field(ge=0, le=1000)] | None = None
    uptime_seconds: Annotated[int, Field(ge=0, le=2**40)] = 0
    last_decision_at: Annotated[int, Field(ge=0, le=2**40)] | None = None
    poll_interval: Annotated[float, Field(gt=0, le=86400)] | None = None

    @field_validator("alarms")
    @classmethod
    def _codes(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for code in v:
            if not _ALARM.match(code):
                raise ValueError(f"alarm {code!r} is not a short lowercase code")
        return v


#: Wire key -> field, and how a value is scaled on the wire (ints only, so CBOR stays small).
KEYS = {"v": "software_version", "t": "trust_version", "r": "revocation_version", "a": "list_age_seconds",
        "s": "list_stale", "c": "clock_trusted", "f": "time_floor", "b": "log_backlog", "x": "alarms",
        "p": "frame_rate", "u": "uptime_seconds", "d": "last_decision_at", "i": "poll_interval"}
_SCALE = {"frame_rate": 10, "poll_interval": 1000}


def encode_report(report: GateReport) -> str:
    """The report as query text; alarms beyond the budget are dropped (the first ones stay)."""
    values = report.model_dump()
    out: dict[str, object] = {}
    for key, name in KEYS.items():
        v = values[name]
        if v is None or v == () or (name == "log_backlog" and v == 0):
            continue
        if name in _SCALE:
            v = round(v * _SCALE[name])
        out[key] = list(v) if isinstance(v, tuple) else v
    text = b64(cbor2.dumps(out, canonical=True))
    while len(text) > MAX_REPORT_CHARS and out.get("x"):
        out["x"] = out["x"][:-1]  # type: ignore[index]
        text = b64(cbor2.dumps(out, canonical=True))
    if len(text) > MAX_REPORT_CHARS:
        raise ValueError(f"report of {len(text)} characters is over the budget of {MAX_REPORT_CHARS}")
    return text


def decode_report(text: str) -> GateReport:
    """A report from its query text; ValueError saying what is wrong."""
    if len(text) > MAX_REPORT_CHARS:
        raise ValueError(f"report longer than {MAX_REPORT_CHARS} characters")
    try:
        raw = cbor2.loads(unb64(text))
    except Exception as e:  # noqa: BLE001 -- hostile bytes raise many cbor2 error types; all mean "malformed"
        raise ValueError(f"report is not base64url CBOR: {e}") from None
    if not isinstance(raw, dict):
        raise ValueError("report is not a CBOR map")
    fields: dict[str, object] = {}
    for key, name in KEYS.items():
        if key in raw:
            v = raw[key]
            if name in _SCALE and isinstance(v, int) and not isinstance(v, bool):
                v = v / _SCALE[name]
            fields[name] = tuple(v) if isinstance(v, list) else v
    try:
        return GateReport(**fields)
    except ValidationError as e:
        first = e.errors()[0]
        raise ValueError(f"report field {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
