"""The resident registry: units (households) and every pass issued for them, with its state.

Interface for the console pages, the admin API, the residents' pages and the CLI::

    reg = Registry(db, publisher, audit)          # or request.app.state.registry
    reg.create_unit(UnitInput(name, label, quota, note), actor)      # FieldErrors says why not
    reg.import_units(rows, actor)                  # all or nothing; RowErrors names each bad row
    reg.issue(IssueRequest(unit, count, ...), actor) -> list[IssuedPass]   # within the quota
    reg.issue_bulk([IssueRequest, ...], actor)     # one transaction for many units
    reg.revoke(pass_id, actor, state=PassState.REVOKED, since=None)
    reg.reinstate(pass_id, actor)
    reg.reissue(pass_id, actor) -> IssuedPass      # revoke the old pass and issue its successor
    reg.units(query, limit, offset) / reg.unit(name)
    reg.passes(PassQuery(...)) / reg.pass_record(pass_id)

``actor`` is an :class:`Actor` (who and from which address): every change is written to the audit
log in the same transaction. Changes that sign (issue, revoke, reinstate, reissue) need a hub
started with ``--site``: otherwise :class:`ReadOnlyError`.

Where a pass's state comes from: the hub's ``revocations`` table, which the publisher keeps equal
to the newest signed revocation list. The registry stores what was issued; the state is joined in,
so a pass revoked by any path (console, API, ``gatekeeper pass revoke``) shows its true state.

Offline issuing: ``gatekeeper pass issue/print --site DIR`` appends each pass to the site's ledger
(``gatekeeper.admin.ledger``); a hub started with that site takes the ledger in at start and
before listing passes (:meth:`Registry.take_in_ledger`).

Every validation failure is a :class:`FieldProblem`: an English message (a catalogue msgid, with
``%(name)s`` parameters) for one field, so the console shows it beside the field in the reader's
language and the API sends it in English.
"""

from __future__ import annotations

import enum
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gatekeeper.hub.audit import AuditAction, AuditLog
from gatekeeper.hub.database import Database, Tx
from gatekeeper.hub.publisher import Publisher
from gatekeeper.verify import MAX_LABEL_BYTES, PASS_ID_LEN, EntryState, Status, validate_label

DAY = 86400
MAX_NAME = 64
MAX_NOTE = 200
MAX_QUOTA = 50
#: Most passes one request may issue (a bulk issue for a block of flats; a typo stays small).
MAX_ISSUE = 5000
DEFAULT_DAYS = 365
#: A visitor's pass without an end is valid this long; none is valid longer than VISITOR_MAX_DAYS.
VISITOR_HOURS = 12
VISITOR_MAX_DAYS = 7

SCHEMA = [
    ("CREATE TABLE IF NOT EXISTS units (name TEXT PRIMARY KEY, label TEXT NOT NULL, quota BIGINT NOT NULL,"
     " note TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL)"),
    "CREATE INDEX IF NOT EXISTS units_label ON units (label)",
    ("CREATE TABLE IF NOT EXISTS passes (pass_id TEXT PRIMARY KEY, unit TEXT, label TEXT, kind TEXT NOT NULL,"
     " valid_from BIGINT NOT NULL, valid_until BIGINT NOT NULL, status TEXT NOT NULL, text TEXT NOT NULL,"
     " issued_at DOUBLE PRECISION NOT NULL, issued_by TEXT NOT NULL, source TEXT NOT NULL, replaces TEXT)"),
    "CREATE INDEX IF NOT EXISTS passes_unit ON passes (unit, issued_at)",
    "CREATE INDEX IF NOT EXISTS passes_issued ON passes (issued_at)",
    "CREATE INDEX IF NOT EXISTS passes_label ON passes (label)",
]


class PassState(enum.StrEnum):
    """A pass's state in the registry: what the newest revocation list says of it."""

    ACTIVE = "active"
    REVOKED = "revoked"
    RED = "red"
    YELLOW = "yellow"


class PassKind(enum.StrEnum):
    RESIDENT = "resident"   # counts against the unit's quota
    VISITOR = "visitor"     # a short window, tied to the unit visited; not counted


class Source(enum.StrEnum):
    """The path a pass was issued by."""

    CONSOLE = "console"
    API = "api"
    CLI = "cli"
    LEDGER = "ledger"      # issued offline with --site, taken in from the site's ledger
    RESIDENT = "resident"  # the residents' self-service pages


@dataclass(frozen=True)
class Actor:
    """Who asks (an account, ``token:<label>``, ``cli``, ``resident:<unit>``) and from where."""

    name: str
    address: str = ""
    source: Source = Source.CONSOLE


@dataclass(frozen=True)
class FieldProblem:
    """One field's problem: ``message`` is an English catalogue msgid with ``%(x)s`` parameters."""

    field: str
    message: str
    params: dict = field(default_factory=dict)

    def english(self) -> str:
        return self.message % self.params if self.params else self.message


class RegistryError(Exception):
    """A refused registry operation (the base of the ones below)."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{p.field}: {p.english()}" for p in self.problems))


class FieldErrors(RegistryError):
    """Fields that do not pass their rules."""


class RowErrors(RegistryError):
    """Bad rows of a CSV: ``rows`` maps a 1-based row number (the header is row 1) to its problems."""

    def __init__(self, rows: dict[int, list[FieldProblem]]) -> None:
        self.rows = rows
        flat = [FieldProblem(f"row {n}: {p.field}", p.message, p.params) for n, ps in rows.items() for p in ps]
        super().__init__(flat)


class NotFoundError(RegistryError):
    """No such unit or pass."""


class ConflictError(RegistryError):
    """The change does not fit the current state (reinstating an active pass, ...)."""


class ReadOnlyError(RegistryError):
    """This hub cannot sign: it was started without --site."""

    def __init__(self) -> None:
        super().__init__([FieldProblem("", "This hub runs without the site directory (--site), so it cannot "
                                           "sign passes or lists: the console is read-only here.")])


def clean(text: str | None) -> str:
    """Typed text as stored: NFC-normalised, surrounding white space removed."""
    return unicodedata.normalize("NFC", text or "").strip()


def _printable(text: str) -> bool:
    return all(unicodedata.category(c)[0] not in "CZ" or c == " " for c in text)


# --- units -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UnitInput:
    """A unit as typed (a form, a CSV row or a JSON body), before checking."""

    name: str
    label: str
    quota: int | str
    note: str = ""


@dataclass(frozen=True)
class Unit:
    name: str
    label: str
    quota: int
    note: str
    created_at: float
    active: int = 0   # resident passes held now (not revoked, not expired)


def check_unit(raw: UnitInput) -> tuple[Unit, list[FieldProblem]]:
    """The unit a form/row/body describes and its problems (empty when it may be saved)."""
    problems = []
    name, label, note = clean(raw.name), clean(raw.label), clean(raw.note)
    if not name:
        problems.append(FieldProblem("name", "A name is required."))
    elif len(name) > MAX_NAME or not _printable(name):
        problems.append(FieldProblem("name", "At most %(n)d printable characters, on one line.", {"n": MAX_NAME}))
    problems += check_label(label)
    quota = 0
    try:
        quota = int(str(raw.quota).strip())
        if not 0 <= quota <= MAX_QUOTA:
            raise ValueError
    except ValueError:
        problems.append(FieldProblem("quota", "A whole number from 0 to %(n)d.", {"n": MAX_QUOTA}))
    if len(note) > MAX_NOTE or not _printable(note):
        problems.append(FieldProblem("note", "At most %(n)d printable characters, on one line.", {"n": MAX_NOTE}))
    return Unit(name, label, quota, note, 0.0), problems


def check_label(label: str) -> list[FieldProblem]:
    """The pass-label rule (``gatekeeper.verify.validate_label``) as field problems."""
    if not label:
        return [FieldProblem("label", "A pass label is required.")]
    try:
        validate_label(label)
    except ValueError:
        return [FieldProblem("label", "At most %(n)d bytes of printable text (a Chinese character takes 3).",
                             {"n": MAX_LABEL_BYTES})]
    return []


# --- passes ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IssueRequest:
    """Passes to issue for one unit. Times are Unix seconds; None: see :func:`window`."""

    unit: str
    count: int = 1
    valid_from: int | None = None
    valid_until: int | None = None
    status: Status = Status.GREEN
    kind: PassKind = PassKind.RESIDENT


def window(req: IssueRequest, now: float) -> tuple[int, int]:
    """The validity of the passes a request asks for: from now unless given; until a year on (a
    visitor's: :data:`VISITOR_HOURS` on) unless given."""
    start = int(now if req.valid_from is None else req.valid_from)
    if req.valid_until is not None:
        return start, int(req.valid_until)
    return start, start + (VISITOR_HOURS * 3600 if req.kind == PassKind.VISITOR else DEFAULT_DAYS * DAY)


@dataclass(frozen=True)
class PassRecord:
    pass_id: str
    unit: str | None
    label: str | None
    kind: PassKind
    valid_from: int
    valid_until: int
    status: str
    state: PassState
    state_since: int | None
    issued_at: float
    issued_by: str
    source: str
    replaces: str | None
    text: str


@dataclass(frozen=True)
class IssuedPass:
    """A pass just issued: its id, its text (for the QR) and its unit."""

    pass_id: str
    text: str
    unit: str | None
    label: str | None
    valid_from: int
    valid_until: int


@dataclass(frozen=True)
class PassQuery:
    """A search of the pass list: every given filter must hold. ``text`` matches a unit name,
    a label or the start of a pass id."""

    unit: str | None = None
    state: PassState | None = None
    text: str | None = None
    limit: int = 50
    offset: int = 0


_PASS_COLUMNS = ("p.pass_id, p.unit, p.label, p.kind, p.valid_from, p.valid_until, p.status, r.state, r.since, "
                 "p.issued_at, p.issued_by, p.source, p.replaces, p.text")
_FROM = "passes p LEFT JOIN revocations r ON r.pass_id = p.pass_id"


def _record(row: tuple) -> PassRecord:
    return PassRecord(row[0], row[1], row[2], PassKind(row[3]), row[4], row[5], row[6],
                      PassState(row[7]) if row[7] else PassState.ACTIVE, row[8], row[9], row[10], row[11],
                      row[12], row[13])


def parse_pass_id(text: str) -> str:
    """A pass id as stored (lower-case hex); FieldErrors otherwise."""
    pid = clean(text).lower()
    try:
        if len(bytes.fromhex(pid)) == PASS_ID_LEN:
            return pid
    except ValueError:
        pass
    raise FieldErrors([FieldProblem("pass_id", "A pass id is %(n)d hex digits.", {"n": 2 * PASS_ID_LEN})])


class Registry:
    """Units and passes on a hub database; signing through the hub's :class:`Publisher`."""

    def __init__(self, db: Database, publisher: Publisher, audit: AuditLog) -> None:
        self.db, self.publisher, self.audit = db, publisher, audit
        with db.transaction() as tx:
            if db.is_postgres:
                tx.run("SELECT pg_advisory_xact_lock(4244)")
            for stmt in SCHEMA:
                tx.run(stmt)
        self._ledger_seen: tuple[float, int] | None = None
        self.take_in_ledger()

    @property
    def can_sign(self) -> bool:
        return self.publisher.can_sign

    def _site(self):
        if not self.publisher.can_sign:
            raise ReadOnlyError()
        return self.publisher.site

    # --- units -----------------------------------------------------------------------------------
    def create_unit(self, raw: UnitInput, actor: Actor, now: float | None = None) -> Unit:
        unit, problems = check_unit(raw)
        if problems:
            raise FieldErrors(problems)
        now = time.time() if now is None else now
        with self.db.transaction() as tx:
            if tx.one("SELECT 1 FROM units WHERE name=?", (unit.name,)):
                raise FieldErrors([FieldProblem("name", "A unit with this name exists already.")])
            self._insert_unit(tx, unit, now)
            self.audit.record(actor.name, AuditAction.UNIT_CREATE, unit.name,
                              f"label {unit.label}, quota {unit.quota}", actor.address, tx=tx, now=now)
        return Unit(unit.name, unit.label, unit.quota, unit.note, now)

    def update_unit(self, name: str, raw: UnitInput, actor: Actor, now: float | None = None) -> Unit:
        """Change a unit's label, quota or note (its name is its key and stays)."""
        unit, problems = check_unit(UnitInput(name, raw.label, raw.quota, raw.note))
        if problems:
            raise FieldErrors(problems)
        now = time.time() if now is None else now
        with self.db.transaction() as tx:
            if tx.run("UPDATE units SET label=?, quota=?, note=?, updated_at=? WHERE name=?",
                      (unit.label, unit.quota, unit.note, now, unit.name)) != 1:
                raise NotFoundError([FieldProblem("unit", "No unit %(name)s.", {"name": name})])
            self.audit.record(actor.name, AuditAction.UNIT_UPDATE, unit.name,
                              f"label {unit.label}, quota {unit.quota}", actor.address, tx=tx, now=now)
        return self.unit(unit.name) or unit

    @staticmethod
    def _insert_unit(tx: Tx, unit: Unit, now: float) -> None:
        tx.run("INSERT INTO units(name, label, quota, note, created_at, updated_at) VALUES (?,?,?,?,?,?)",
               (unit.name, unit.label, unit.quota, unit.note, now, now))

    def check_import(self, rows: Sequence[UnitInput]) -> tuple[list[Unit], dict[int, list[FieldProblem]]]:
        """The units of CSV rows and every row's problems (row 2 is the first after the header);
        nothing is written."""
        units, bad = [], {}
        existing = {n for (n,) in self.db.all("SELECT name FROM units")}
        seen: dict[str, int] = {}
        for n, raw in enumerate(rows, start=2):
            unit, problems = check_unit(raw)
            if unit.name in existing:
                problems.append(FieldProblem("name", "A unit with this name exists already."))
            elif unit.name in seen:
                problems.append(FieldProblem("name", "The same name is on row %(row)d.", {"row": seen[unit.name]}))
            seen.setdefault(unit.name, n)
            if problems:
                bad[n] = problems
            units.append(unit)
        return units, bad

    def import_units(self, rows: Sequence[UnitInput], actor: Actor, now: float | None = None) -> list[Unit]:
        """Create every unit of a CSV, or none: RowErrors names each bad row."""
        units, bad = self.check_import(rows)
        if bad:
            raise RowErrors(bad)
        now = time.time() if now is None else now
        with self.db.transaction() as tx:
            for u in units:
                if tx.one("SELECT 1 FROM units WHERE name=?", (u.name,)):  # created since the check
                    raise RowErrors({units.index(u) + 2: [FieldProblem("name", "A unit with this name exists "
                                                                               "already.")]})
            tx.many("INSERT INTO units(name, label, quota, note, created_at, updated_at) VALUES (?,?,?,?,?,?)",
                    [(u.name, u.label, u.quota, u.note, now, now) for u in units])
            self.audit.record(actor.name, AuditAction.UNIT_IMPORT, f"{len(units)} units",
                              ", ".join(u.name for u in units[:20]) + (" ..." if len(units) > 20 else ""),
                              actor.address, tx=tx, now=now)
        return [Unit(u.name, u.label, u.quota, u.note, now) for u in units]

    def unit(self, name: str, now: float | None = None) -> Unit | None:
        rows = self._unit_rows("u.name = ?", [clean(name)], 1, 0, now)
        return rows[0] if rows else None

    def units(self, query: str | None = None, limit: int = 50, offset: int = 0,
              now: float | None = None) -> tuple[list[Unit], int]:
        """A page of units by name, matching ``query`` in name or label; and how many match."""
        where, params = "1=1", []
        if clean(query):
            like = f"%{_escape_like(clean(query).lower())}%"
            where, params = "(lower(u.name) LIKE ? ESCAPE '\\' OR lower(u.label) LIKE ? ESCAPE '\\')", [like, like]
        (total,) = self.db.one(f"SELECT count(*) FROM units u WHERE {where}", params)
        return self._unit_rows(where, params, limit, offset, now), int(total)

    def _unit_rows(self, where: str, params: list, limit: int, offset: int, now: float | None) -> list[Unit]:
        now = int(time.time() if now is None else now)
        # The page first, then the counts: PostgreSQL would count for every row the OFFSET skips.
        rows = self.db.all(
            "SELECT u.name, u.label, u.quota, u.note, u.created_at, "
            f"({self._held_sql('u.name')}) FROM (SELECT * FROM units u WHERE {where} ORDER BY u.name "
            "LIMIT ? OFFSET ?) u ORDER BY u.name",
            (now, *params, limit, offset))
        return [Unit(r[0], r[1], int(r[2]), r[3], r[4], int(r[5])) for r in rows]

    @staticmethod
    def _held_sql(unit_expr: str) -> str:
        """SQL counting a unit's held resident passes (takes one parameter: now)."""
        return ("SELECT count(*) FROM passes p LEFT JOIN revocations r ON r.pass_id = p.pass_id "
                f"WHERE p.unit = {unit_expr} AND p.kind = 'resident' AND p.valid_until > ? "
                "AND (r.state IS NULL OR r.state <> 'revoked')")

    # --- passes: reading -----------------------------------------------------------------------
    def pass_record(self, pass_id: str) -> PassRecord | None:
        row = self.db.one(f"SELECT {_PASS_COLUMNS} FROM {_FROM} WHERE p.pass_id = ?", (parse_pass_id(pass_id),))
        return _record(row) if row else None

    def passes(self, q: PassQuery) -> tuple[list[PassRecord], int]:
        """A page of passes, newest first, and how many match."""
        self.take_in_ledger()
        where, params = ["1=1"], []
        if q.unit:
            where.append("p.unit = ?")
            params.append(clean(q.unit))
        if q.state == PassState.ACTIVE:
            where.append("r.state IS NULL")
        elif q.state:
            where.append("r.state = ?")
            params.append(str(q.state))
        text = clean(q.text).lower()
        if text:
            like = _escape_like(text)
            where.append("(lower(p.unit) LIKE ? ESCAPE '\\' OR lower(p.label) LIKE ? ESCAPE '\\' "
                         "OR p.pass_id LIKE ? ESCAPE '\\')")
            params += [f"%{like}%", f"%{like}%", f"{like}%"]
        cond = " AND ".join(where)
        (total,) = self.db.one(f"SELECT count(*) FROM {_FROM} WHERE {cond}", params)
        rows = self.db.all(f"SELECT {_PASS_COLUMNS} FROM {_FROM} WHERE {cond} "
                           "ORDER BY p.issued_at DESC, p.pass_id LIMIT ? OFFSET ?", (*params, q.limit, q.offset))
        return [_record(r) for r in rows], int(total)

    # --- passes: issuing -----------------------------------------------------------------------
    def issue(self, req: IssueRequest, actor: Actor, now: float | None = None) -> list[IssuedPass]:
        """Issue ``req.count`` passes for a unit, within its quota (resident passes)."""
        return self.issue_bulk([req], actor, now)

    def issue_bulk(self, reqs: Sequence[IssueRequest], actor: Actor, now: float | None = None,
                   replaces: str | None = None, actors: Sequence[Actor] | None = None) -> list[IssuedPass]:
        """Issue for many units in one transaction: every request is checked (unit known, within
        quota, window sane) before any pass is written; FieldErrors / RowErrors otherwise.
        ``actors``: who asked for each request, when not all ``actor`` (residents' passes issued
        together in one commit)."""
        site = self._site()
        now = time.time() if now is None else now
        if not reqs:
            raise FieldErrors([FieldProblem("count", "Nothing to issue.")])
        if sum(max(r.count, 0) for r in reqs) > MAX_ISSUE:
            raise FieldErrors([FieldProblem("count", "At most %(n)d passes at once.", {"n": MAX_ISSUE})])
        issued: list[IssuedPass] = []
        with self.db.transaction() as tx:
            bad: dict[int, list[FieldProblem]] = {}
            wanted: dict[str, int] = {}
            units: dict[str, tuple[str, int]] = {}
            for n, req in enumerate(reqs, start=1):
                problems = self._check_request(tx, req, now, units)
                if req.kind == PassKind.RESIDENT and not problems:
                    wanted[req.unit] = wanted.get(req.unit, 0) + req.count
                if problems:
                    bad[n] = problems
            for n, req in enumerate(reqs, start=1):
                if req.unit in wanted and req.kind == PassKind.RESIDENT:
                    label, quota = units[req.unit]
                    held = tx.one(self._held_sql("?"), (req.unit, int(now)))[0]
                    if held + wanted[req.unit] > quota:
                        bad.setdefault(n, []).append(FieldProblem(
                            "count", "Unit %(unit)s holds %(held)d of its %(quota)d passes: %(want)d more do not fit.",
                            {"unit": req.unit, "held": held, "quota": quota, "want": wanted[req.unit]}))
                        del wanted[req.unit]
            if bad:
                raise (FieldErrors(bad[1]) if len(reqs) == 1 else RowErrors(bad))
            rows = []
            for i, req in enumerate(reqs):
                who = actors[i] if actors else actor
                label = units[req.unit][0]
                start, end = window(req, now)
                for _ in range(req.count):
                    text, claims = site.issue_pass(start, end, None, req.status, label)
                    pid = claims.pass_id.hex()
                    rows.append((pid, req.unit, label, str(req.kind), start, end, req.status.name.lower(), text,
                                 now, who.name, str(who.source), replaces))
                    issued.append(IssuedPass(pid, text, req.unit, label, start, end))
            tx.many("INSERT INTO passes(pass_id, unit, label, kind, valid_from, valid_until, status, text, "
                    "issued_at, issued_by, source, replaces) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            if replaces is None:
                for i, req in enumerate(reqs):
                    who = actors[i] if actors else actor
                    ids = [p.pass_id for p in issued if p.unit == req.unit]
                    self.audit.record(who.name, AuditAction.PASS_ISSUE, req.unit,
                                      f"{req.count} {req.kind} pass(es) {req.status.name.lower()}: "
                                      + " ".join(ids[:10]) + (" ..." if len(ids) > 10 else ""),
                                      who.address, tx=tx, now=now)
        return issued

    def _check_request(self, tx: Tx, req: IssueRequest, now: float,
                       units: dict[str, tuple[str, int]]) -> list[FieldProblem]:
        problems = []
        if req.unit not in units:
            row = tx.one("SELECT label, quota FROM units WHERE name=?" + tx.for_update, (req.unit,))
            if row is None:
                return [FieldProblem("unit", "No unit %(name)s.", {"name": req.unit})]
            units[req.unit] = (row[0], int(row[1]))
        if not 1 <= req.count <= MAX_ISSUE:
            problems.append(FieldProblem("count", "From 1 to %(n)d passes.", {"n": MAX_ISSUE}))
        start, end = window(req, now)
        if req.kind == PassKind.VISITOR and end - start > VISITOR_MAX_DAYS * DAY:
            problems.append(FieldProblem("valid_until", "A visitor's pass is valid for at most %(n)d days.",
                                         {"n": VISITOR_MAX_DAYS}))
        if end <= start:
            problems.append(FieldProblem("valid_until", "The end must be after the start."))
        elif end <= now:
            problems.append(FieldProblem("valid_until", "The end is already past."))
        return problems

    # --- passes: changing ----------------------------------------------------------------------
    def revoke(self, pass_id: str, actor: Actor, state: PassState = PassState.REVOKED, since: int | None = None,
               now: float | None = None) -> int:
        """Revoke a pass, or turn it red/yellow from ``since`` (default now), in a new signed
        revocation version; the version."""
        if state == PassState.ACTIVE:
            raise FieldErrors([FieldProblem("state", "Choose revoked, red or yellow.")])
        rec = self._existing(pass_id)
        self._site()
        now = time.time() if now is None else now
        since = int(now if since is None else since)
        version = self.publisher.revoke(bytes.fromhex(rec.pass_id), EntryState[state.name], since)
        action = AuditAction.PASS_REVOKE if state == PassState.REVOKED else AuditAction.PASS_STATUS
        self.audit.record(actor.name, action, rec.pass_id, f"{state} from {since}, unit {rec.unit or '-'}, "
                          f"revocation list v{version}", actor.address, now=now)
        return version

    def reinstate(self, pass_id: str, actor: Actor, now: float | None = None) -> int:
        rec = self._existing(pass_id)
        self._site()
        if rec.state == PassState.ACTIVE:
            raise ConflictError([FieldProblem("pass_id", "The pass is active already.")])
        version = self.publisher.lift(bytes.fromhex(rec.pass_id))
        self.audit.record(actor.name, AuditAction.PASS_REINSTATE, rec.pass_id,
                          f"unit {rec.unit or '-'}, revocation list v{version}", actor.address, now=now)
        return version

    def reissue(self, pass_id: str, actor: Actor, now: float | None = None) -> IssuedPass:
        """The lost-pass case: revoke the pass and issue its successor (same unit, label, kind,
        colour and end of validity, valid from now), in one action."""
        rec = self._existing(pass_id)
        self._site()
        if rec.unit is None:
            raise ConflictError([FieldProblem("pass_id", "Only a pass of a unit can be reissued.")])
        if self.db.one("SELECT 1 FROM passes WHERE replaces=?", (rec.pass_id,)):
            raise ConflictError([FieldProblem("pass_id", "This pass was reissued already.")])
        now = time.time() if now is None else now
        # The revocation comes first: if anything fails after it, the lost pass is dead and the
        # clerk issues a new one; never a second live pass beside a lost one.
        version = self.publisher.revoke(bytes.fromhex(rec.pass_id), EntryState.REVOKED, int(now))
        end = max(rec.valid_until, int(now) + DAY)
        req = IssueRequest(rec.unit, 1, int(now), end, Status[rec.status.upper()], rec.kind)
        try:
            (new,) = self.issue_bulk([req], actor, now, replaces=rec.pass_id)
        except RegistryError:
            self.audit.record(actor.name, AuditAction.PASS_REVOKE, rec.pass_id,
                              f"reissue failed after the revocation (list v{version})", actor.address)
            raise
        self.audit.record(actor.name, AuditAction.PASS_REISSUE, rec.pass_id,
                          f"replaced by {new.pass_id}, unit {rec.unit}, revocation list v{version}",
                          actor.address, now=now)
        return new

    def _existing(self, pass_id: str) -> PassRecord:
        rec = self.pass_record(pass_id)
        if rec is None:
            raise NotFoundError([FieldProblem("pass_id", "No pass %(id)s in the registry.", {"id": pass_id})])
        return rec

    # --- the offline ledger --------------------------------------------------------------------
    def take_in_ledger(self) -> int:
        """Record passes issued offline (``--site``) from the site's ledger; how many were new.

        Cheap when nothing changed: the file's size and mtime are compared first.
        """
        site = self.publisher.site
        if site is None:
            return 0
        from gatekeeper.admin import ledger_path, read_ledger
        path: Path = ledger_path(site.root)
        try:
            st = path.stat()
        except FileNotFoundError:
            return 0
        mark = (st.st_mtime, st.st_size)
        if mark == self._ledger_seen:
            return 0
        entries = list(read_ledger(site.root))
        known_units = {n for (n,) in self.db.all("SELECT name FROM units")}
        new = 0
        with self.db.transaction() as tx:
            for e in entries:
                unit = e.unit if e.unit in known_units else None
                new += tx.run("INSERT INTO passes(pass_id, unit, label, kind, valid_from, valid_until, status, text, "
                              "issued_at, issued_by, source, replaces) VALUES (?,?,?,?,?,?,?,?,?,?,?,NULL) "
                              "ON CONFLICT DO NOTHING",
                              (e.pass_id, unit, e.label, str(PassKind.RESIDENT), e.valid_from, e.valid_until,
                               e.status, e.text, e.issued_at, "cli", str(Source.LEDGER)))
            if new:
                self.audit.record("cli", AuditAction.PASS_LEDGER, f"{new} passes",
                                  f"taken in from {path}", "", tx=tx)
        self._ledger_seen = mark
        return new


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")



# --- CSV ---------------------------------------------------------------------------------------
#: The columns of a units CSV (``note`` may be left out) and of a bulk-issue CSV.
UNIT_COLUMNS = ("name", "label", "quota", "note")
ISSUE_COLUMNS = ("unit", "count")
MAX_CSV_BYTES = 4 * 1024 * 1024


def decode_csv(data: bytes) -> str:
    """CSV bytes as text: UTF-8 (with or without Excel's BOM), else GB18030 (what Excel on a
    Chinese Windows writes); FieldErrors when neither fits."""
    if len(data) > MAX_CSV_BYTES:
        raise FieldErrors([FieldProblem("file", "The file is larger than %(n)d MB.", {"n": MAX_CSV_BYTES >> 20})])
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FieldErrors([FieldProblem("file", "The file is not UTF-8 or GB18030 text.")])


CsvRows = tuple[list[dict[str, str]], dict[int, list[FieldProblem]]]


def read_csv(text: str, columns: Sequence[str], required: int) -> CsvRows:
    """Rows of a CSV whose header names ``columns`` (the first ``required`` must be there), as
    dicts, and the rows that are malformed (row numbers count the header as row 1). Blank lines
    are skipped."""
    import csv
    import io
    reader = csv.reader(io.StringIO(text))
    try:
        header = [clean(h).lower() for h in next(reader)]
    except StopIteration:
        return [], {1: [FieldProblem("file", "The file is empty.")]}
    except csv.Error:
        return [], {1: [FieldProblem("file", "The file is not CSV.")]}
    missing = [c for c in columns[:required] if c not in header]
    unknown = [h for h in header if h not in columns]
    if missing or unknown:
        return [], {1: [FieldProblem("file", "The header must be %(want)s (found %(got)s).",
                                     {"want": ",".join(columns), "got": ",".join(header)})]}
    rows: list[dict[str, str]] = []
    bad: dict[int, list[FieldProblem]] = {}
    try:
        for n, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                bad[n] = [FieldProblem("file", "%(got)d cells, the header has %(want)d.",
                                       {"got": len(cells), "want": len(header)})]
                continue
            rows.append({"_row": str(n), **dict(zip(header, cells, strict=True))})
    except csv.Error as e:
        bad[reader.line_num] = [FieldProblem("file", "Not CSV: %(why)s", {"why": str(e)})]
    return rows, bad


def check_units_csv(registry: Registry, data: bytes) -> tuple[list[Unit], dict[int, list[FieldProblem]]]:
    """A units CSV checked in full (structure and every field, against the registry): the units
    and every bad row. Nothing is written."""
    rows, bad = read_csv(decode_csv(data), UNIT_COLUMNS, 3)
    inputs = [UnitInput(r["name"], r["label"], r["quota"], r.get("note", "")) for r in rows]
    units, problems = registry.check_import(inputs)
    if not rows and not bad:
        bad[1] = [FieldProblem("file", "The file has no rows under its header.")]
    # check_import numbers the rows it was given from 2: map back to the file's row numbers
    numbers = [int(r["_row"]) for r in rows]
    for i, ps in problems.items():
        if i >= 2:
            bad[numbers[i - 2]] = ps
    return units, dict(sorted(bad.items()))


def issue_requests_csv(data: bytes, template: IssueRequest) -> list[IssueRequest]:
    """A bulk-issue CSV (``unit,count``) as requests shaped like ``template``; RowErrors names
    each malformed row (unknown units and quotas are checked when issuing)."""
    rows, bad = read_csv(decode_csv(data), ISSUE_COLUMNS, 1)
    reqs = []
    for r in rows:
        try:
            count = int(clean(r.get("count") or "1"))
        except ValueError:
            bad[int(r["_row"])] = [FieldProblem("count", "From 1 to %(n)d passes.", {"n": MAX_ISSUE})]
            continue
        reqs.append(IssueRequest(clean(r["unit"]), count, template.valid_from, template.valid_until,
                                 template.status, template.kind))
    if not rows and not bad:
        bad[1] = [FieldProblem("file", "The file has no rows under its header.")]
    if bad:
        raise RowErrors(dict(sorted(bad.items())))
    return reqs
