"""The passage-log row: ONE definition for the device's table, the daemon's row, the batch row and
the hub's table.

A gate writes a row for every decision (and every manual override) before it acts; the uploader
ships the rows in batches; the hub stores them with a few columns of its own. The SQL tables of both
ends are derived from :class:`PassageRow`, so a field added here is a field everywhere (with a
migration on each end for databases that already exist).
"""

from __future__ import annotations

import enum
import types
from typing import Annotated, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Text fields exclude NUL: PostgreSQL text cannot hold it, and no real field needs it.
_NO_NUL = r"^[^\x00]*$"  # pydantic's (Rust) regex: $ is the end of the text

#: The boot id of a device that cannot tell its boot (not Linux): its monotonic times are not paired.
UNKNOWN_BOOT = "unknown"


def bounded_text(n: int) -> type:
    return Annotated[str, StringConstraints(max_length=n, pattern=_NO_NUL)]


Seq = Annotated[int, Field(ge=1, le=2**62)]
Time = Annotated[float, Field(ge=0, le=1e11)]  # Unix seconds, up to year 5138
Mono = Annotated[float, Field(ge=-1e12, le=1e12)]


class RowKind(enum.StrEnum):
    """Why a row was written: a scanned code, or the volunteer's override button."""

    SCAN = "scan"
    MANUAL = "manual"


class Strict(BaseModel):
    """Wire models refuse unknown fields, NaN and infinities, and are immutable."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class PassageRow(Strict):
    """One passage-log row as the device recorded it.

    ``at`` the time the decision used (never below the time floor);
    ``wall``, ``mono`` and ``boot_id`` the raw clocks, so the hub can correct times.
    """

    kind: bounded_text(16)
    allow: bool
    reason: bounded_text(64)
    pass_id: bounded_text(64) | None = None
    issuer: bounded_text(64) | None = None
    scope: bounded_text(128) | None = None
    status: bounded_text(16) | None = None
    label: bounded_text(64) | None = None
    at: Time
    wall: Time
    mono: Mono
    boot_id: bounded_text(64)
    clock_trusted: bool
    list_stale: bool
    list_version: Annotated[int, Field(ge=0, le=2**62)] | None = None
    latency_ms: Annotated[float, Field(ge=0, le=1e9)] | None = None

    def columns(self) -> dict[str, object]:
        """The row as table columns, in :data:`ROW_FIELDS` order: flags as 0/1 (SMALLINT on both ends)."""
        out = {"seq": getattr(self, "seq", None), **self.model_dump(exclude={"seq"})}
        for name in FLAG_FIELDS:
            out[name] = int(out[name])
        return out


class LoggedRow(PassageRow):
    """A passage row with the device-local sequence number its store gave it: a batch carries these."""

    seq: Seq


#: A logged row's fields in order (``seq`` first): the columns of the device's table and of a batch row.
ROW_FIELDS: tuple[str, ...] = ("seq", *PassageRow.model_fields)
def _base(annotation: object) -> type:
    """The Python type under Optional/Annotated."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
        return _base(annotation)
    return annotation  # type: ignore[return-value]


#: Fields the device stores as 0/1 and the wire carries as booleans.
FLAG_FIELDS: tuple[str, ...] = tuple(n for n, f in PassageRow.model_fields.items() if _base(f.annotation) is bool)

_SQL_TYPES = {
    # python type: (SQLite, portable SQL for the hub: SQLite and PostgreSQL)
    int: ("INTEGER", "BIGINT"),
    bool: ("INTEGER", "SMALLINT"),
    float: ("REAL", "DOUBLE PRECISION"),
    str: ("TEXT", "TEXT"),
}


def column_sql(portable: bool) -> list[str]:
    """``name TYPE [NOT NULL]`` for every field but ``seq`` (each end declares its own key).

    ``portable``: the hub's types (valid on SQLite and PostgreSQL); else the device's SQLite types.
    """
    out = []
    for name, f in PassageRow.model_fields.items():
        sql_type = _SQL_TYPES[_base(f.annotation)][1 if portable else 0]
        out.append(f"{name} {sql_type}" + (" NOT NULL" if f.is_required() else ""))
    return out
