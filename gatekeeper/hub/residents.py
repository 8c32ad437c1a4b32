"""Residents' self-service: a secret code per unit (the household letter), and what a resident may
do with it: see the unit's passes, get one within the quota, report one lost.

Interface for the residents' pages, the console and the CLI::

    res = Residents(store, registry, audit)         # or request.app.state.residents
    res.replace_codes({unit: new_code()}, actor)    # after the letters are printed: gatekeeper.hub.letters
                                                    # .issue_letters does both; each replaces the old code
    unit = res.unit_of(code)                        # the unit name, or None for a wrong code
    res.get_pass(unit)  -> Outcome                  # a pass issued, or a request waiting for approval
    res.report_lost(unit, pass_id)                  # revoked in a new signed list version
    res.set_frozen(unit, True, actor); res.set_mode(Mode.APPROVAL, actor)
    res.waiting(); res.approve(request_id, actor); res.refuse(request_id, actor)

A code is 80 random bits written as 16 characters of Crockford's base32 in four groups
(``7KQ2-M9XD-R4TB-HV3A``): no I, L, O or U, so it survives being typed from paper (a typed O, I or
L is read as 0, 1, 1; case, spaces and dashes do not matter). Only its SHA-256 is stored: a
leaked database opens no unit (80 random bits need no slow hash; nobody can try 2^80 hashes).

Nothing about a person is asked or stored: a resident is known only as "someone holding the
unit's letter", and the audit log names the unit (``resident:<unit>``), without the address.

Wrong codes, per client address: each costs a delay that doubles (:data:`FIRST_DELAY_S` up to
:data:`MAX_DELAY_S`), and past :data:`FAILURE_WINDOW` the address is refused until the window
moves on. A unit's code may be used :data:`UNIT_RATE` (so a leaked letter cannot be used
to hammer the hub). These limits live in this process's memory.
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import limits as ratelimits

from gatekeeper.hub.audit import AuditAction, AuditLog
from gatekeeper.hub.registry import (
    Actor,
    ConflictError,
    FieldErrors,
    FieldProblem,
    IssuedPass,
    IssueRequest,
    NotFoundError,
    PassKind,
    PassQuery,
    PassRecord,
    PassState,
    Registry,
    RegistryError,
    Source,
    Unit,
)
from gatekeeper.hub.store import HubStore

#: Crockford's base32: digits and letters without I, L, O, U.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_BITS = 80
CODE_CHARS = CODE_BITS // 5
GROUP = 4
_TYPED = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-_.]+")

#: How many of a unit's passes its page lists (newest first).
SHOWN_PASSES = 30
#: Wrong codes from one address: the first costs this, each next one twice the last, up to the max.
FIRST_DELAY_S = 0.25
MAX_DELAY_S = 2.0
#: Wrong codes one address may send in the window; then it is refused outright until the window
#: moves on. Loose enough for a compound behind one NAT address typing codes from paper; a guess
#: at an 80-bit code has no chance at any such rate.
FAILURE_WINDOW = "8 per 15 minutes"
#: Uses of one unit's code (page views and actions together).
UNIT_RATE = "120 per minute"
#: Self-service changes (get a pass, report lost) per unit.
UNIT_CHANGE_RATE = "20 per 10 minutes"

SCHEMA = [
    ("CREATE TABLE IF NOT EXISTS resident_codes (unit TEXT PRIMARY KEY, code_hash TEXT NOT NULL UNIQUE,"
     " issued_at DOUBLE PRECISION NOT NULL, frozen_at DOUBLE PRECISION)"),
    ("CREATE TABLE IF NOT EXISTS resident_requests (request_id TEXT PRIMARY KEY, unit TEXT NOT NULL,"
     " state TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, decided_at DOUBLE PRECISION,"
     " decided_by TEXT, pass_id TEXT)"),
    "CREATE INDEX IF NOT EXISTS resident_requests_state ON resident_requests (state, created_at)",
]
_MODE_KEY = "residents_mode"


def new_code() -> str:
    """A fresh unit code: 80 random bits, as four dash-separated groups of base32."""
    n = secrets.randbits(CODE_BITS)
    chars = "".join(ALPHABET[(n >> (5 * i)) & 31] for i in range(CODE_CHARS))
    return "-".join(chars[i:i + GROUP] for i in range(0, CODE_CHARS, GROUP))


def normal_code(typed: str) -> str | None:
    """A code as typed (any case, spaces or dashes, O/I/L for 0/1/1) in its printed form; None
    when it cannot be a code at all."""
    chars = _SEPARATORS.sub("", typed).upper().translate(_TYPED)
    if len(chars) != CODE_CHARS or any(c not in ALPHABET for c in chars):
        return None
    return "-".join(chars[i:i + GROUP] for i in range(0, CODE_CHARS, GROUP))


def code_hash(code: str) -> str:
    """What is stored of a code (its printed form)."""
    return hashlib.sha256(b"gatekeeper resident code\0" + code.encode()).hexdigest()


class Mode(enum.StrEnum):
    """The site's setting: self-service passes are issued at once, or wait for an operator."""

    AT_ONCE = "at_once"
    APPROVAL = "approval"


class RequestState(enum.StrEnum):
    WAITING = "waiting"
    APPROVED = "approved"
    REFUSED = "refused"


class Refusal(enum.StrEnum):
    """Why a resident's request is refused; each has its English message (a catalogue msgid)."""

    UNKNOWN_CODE = "unknown_code"
    TOO_MANY_WRONG = "too_many_wrong"
    BUSY = "busy"
    FROZEN = "frozen"
    QUOTA = "quota"
    NO_PASS = "no_pass"
    NOT_ACTIVE = "not_active"
    READ_ONLY = "read_only"
    FOREIGN_FORM = "foreign_form"


MESSAGES = {
    Refusal.UNKNOWN_CODE: "This code is not known here. Check it against your letter; a reprinted letter "
                          "replaces the old code.",
    Refusal.TOO_MANY_WRONG: "Too many wrong codes from this network. Try again in %(minutes)d minutes.",
    Refusal.BUSY: "Too many requests for this household. Try again in %(minutes)d minutes.",
    Refusal.FROZEN: "Self-service is paused for this household. Please ask the property office.",
    Refusal.QUOTA: "This household may hold %(quota)d passes at a time, and holds %(held)d. Report one lost "
                   "to get a new one.",
    Refusal.NO_PASS: "This household has no such pass.",
    Refusal.NOT_ACTIVE: "This pass is not active any more.",
    Refusal.READ_ONLY: "Passes cannot be issued here just now. Please ask the property office.",
    Refusal.FOREIGN_FORM: "This request did not come from your household's page. Open the link on your letter "
                          "again.",
}


class ResidentError(Exception):
    """A refused self-service request: ``refusal`` and the parameters of its message."""

    def __init__(self, refusal: Refusal, **params: int | str) -> None:
        self.refusal, self.params = refusal, params
        super().__init__(MESSAGES[refusal] % params if params else MESSAGES[refusal])

    @property
    def message(self) -> str:
        return MESSAGES[self.refusal]


@dataclass(frozen=True)
class PassRequest:
    """A self-service request waiting for (or decided by) an operator."""

    request_id: str
    unit: str
    state: RequestState
    created_at: float
    decided_at: float | None
    decided_by: str | None
    pass_id: str | None


@dataclass(frozen=True)
class Outcome:
    """What "Get a pass" did: a pass issued, or a request put in the queue."""

    issued: IssuedPass | None = None
    waiting: PassRequest | None = None


@dataclass(frozen=True)
class UnitView:
    """Everything a unit's page shows."""

    unit: Unit
    passes: list[PassRecord]
    waiting: int
    frozen: bool
    mode: Mode

    @property
    def room(self) -> int:
        """Passes the unit may still get (requests waiting count against the quota too)."""
        return max(0, self.unit.quota - self.unit.active - self.waiting)


class Residents:
    """Unit codes, the approval queue and the self-service actions on a hub database."""

    def __init__(self, store: HubStore, registry: Registry, audit: AuditLog) -> None:
        self.store, self.db, self.registry, self.audit = store, store.db, registry, audit
        db = store.db
        with db.transaction() as tx:
            if db.is_postgres:
                tx.run("SELECT pg_advisory_xact_lock(4245)")
            for stmt in SCHEMA:
                tx.run(stmt)
        self._windows = ratelimits.strategies.MovingWindowRateLimiter(ratelimits.storage.MemoryStorage())
        self._failure_rate = ratelimits.parse(FAILURE_WINDOW)
        self._unit_rate = ratelimits.parse(UNIT_RATE)
        self._change_rate = ratelimits.parse(UNIT_CHANGE_RATE)
        self._lock = threading.Lock()
        self._issuer = _GroupIssuer(registry, self.actor)

    # --- codes -----------------------------------------------------------------------------------
    def check_units(self, units: Sequence[str]) -> list[str]:
        """``units`` when every one is in the registry (duplicates dropped, order kept); FieldErrors
        naming the first unknown one otherwise."""
        known = {n for (n,) in self.db.all("SELECT name FROM units")}
        for unit in units:
            if unit not in known:
                raise FieldErrors([FieldProblem("unit", "No unit %(name)s.", {"name": unit})])
        return list(dict.fromkeys(units))

    def all_units(self) -> list[str]:
        return [n for (n,) in self.db.all("SELECT name FROM units ORDER BY name")]

    def replace_codes(self, codes: dict[str, str], actor: Actor, now: float | None = None) -> None:
        """Make ``codes`` ({unit: code}) the units' codes, in one transaction: each unit's old code
        stops working. Call it once the letters carrying the new codes are written, so a failure
        on the way never leaves a unit with a code no letter shows."""
        now = time.time() if now is None else now
        with self.db.transaction() as tx:
            tx.many("INSERT INTO resident_codes(unit, code_hash, issued_at) VALUES (?,?,?) ON CONFLICT (unit) "
                    "DO UPDATE SET code_hash=excluded.code_hash, issued_at=excluded.issued_at",
                    [(unit, code_hash(code), now) for unit, code in codes.items()])
            target = next(iter(codes)) if len(codes) == 1 else f"{len(codes)} units"
            self.audit.record(actor.name, AuditAction.RESIDENT_LETTER, target,
                              "new letter: the old code no longer opens the unit's page", actor.address,
                              tx=tx, now=now)

    def unit_of(self, code: str) -> str | None:
        """The unit a code opens; None for a code that opens nothing."""
        normal = normal_code(code)
        if normal is None:
            return None
        row = self.db.one("SELECT unit FROM resident_codes WHERE code_hash=?", (code_hash(normal),))
        return row[0] if row else None

    # --- abuse -----------------------------------------------------------------------------------
    def admit(self, address: str) -> None:
        """Before a code is looked up: ResidentError when ``address`` sent too many wrong codes."""
        if not self._windows.test(self._failure_rate, "wrong", address):
            raise ResidentError(Refusal.TOO_MANY_WRONG, minutes=self._minutes(self._failure_rate, "wrong", address))

    def wrong_code(self, address: str) -> float:
        """Count a wrong code from ``address``; the seconds to make it wait, doubling with each wrong
        code in the window (right codes in between do not reset it)."""
        self._windows.hit(self._failure_rate, "wrong", address)
        remaining = self._windows.get_window_stats(self._failure_rate, "wrong", address).remaining
        n = self._failure_rate.amount - remaining
        return min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** (n - 1))

    def use(self, unit: str, change: bool = False) -> None:
        """Count one use of a unit's code; ResidentError when the unit is over its rate."""
        rate, key = (self._change_rate, "change") if change else (self._unit_rate, "use")
        if not self._windows.hit(rate, key, unit):
            raise ResidentError(Refusal.BUSY, minutes=self._minutes(rate, key, unit))

    def _minutes(self, rate: ratelimits.RateLimitItem, key: str, who: str) -> int:
        reset = self._windows.get_window_stats(rate, key, who).reset_time
        return max(1, round((reset - time.time()) / 60 + 0.5))

    # --- settings --------------------------------------------------------------------------------
    def mode(self) -> Mode:
        return Mode(self.store.meta(_MODE_KEY) or Mode.AT_ONCE)

    def set_mode(self, mode: Mode, actor: Actor) -> None:
        with self.db.transaction() as tx:
            self.store.set_meta(tx, _MODE_KEY, mode)
            self.audit.record(actor.name, AuditAction.RESIDENT_MODE, "residents", f"self-service passes: {mode}",
                              actor.address, tx=tx)

    def set_frozen(self, unit: str, frozen: bool, actor: Actor, now: float | None = None) -> None:
        """Pause (or resume) a unit's self-service. A unit without a letter yet is frozen for
        when it gets one."""
        now = time.time() if now is None else now
        if self.registry.unit(unit) is None:
            raise NotFoundError([FieldProblem("unit", "No unit %(name)s.", {"name": unit})])
        with self.db.transaction() as tx:
            # a unit frozen before its first letter gets a code that opens nothing (no one knows it)
            tx.run("INSERT INTO resident_codes(unit, code_hash, issued_at) VALUES (?,?,?) "
                   "ON CONFLICT (unit) DO NOTHING", (unit, code_hash(new_code()), now))
            tx.run("UPDATE resident_codes SET frozen_at=? WHERE unit=?", (now if frozen else None, unit))
            self.audit.record(actor.name, AuditAction.RESIDENT_FREEZE if frozen else AuditAction.RESIDENT_UNFREEZE,
                              unit, "self-service paused" if frozen else "self-service resumed", actor.address,
                              tx=tx, now=now)

    def frozen_units(self) -> list[str]:
        return [u for (u,) in self.db.all("SELECT unit FROM resident_codes WHERE frozen_at IS NOT NULL ORDER BY unit")]

    # --- the unit's page -------------------------------------------------------------------------
    def view(self, unit: str, with_passes: bool = True) -> UnitView:
        """What the unit's page shows (``with_passes=False``: only the counts and settings, for a
        change that does not list the passes)."""
        u = self.registry.unit(unit)
        if u is None:  # a unit deleted after its letter was printed
            raise ResidentError(Refusal.UNKNOWN_CODE)
        passes = self.registry.passes(PassQuery(unit=unit, limit=SHOWN_PASSES))[0] if with_passes else []
        waiting, frozen_at, mode = self.db.one(
            "SELECT (SELECT count(*) FROM resident_requests WHERE unit=? AND state=?), "
            "(SELECT frozen_at FROM resident_codes WHERE unit=?), (SELECT value FROM hub_meta WHERE key=?)",
            (unit, str(RequestState.WAITING), unit, _MODE_KEY))
        return UnitView(u, [p for p in passes if p.kind == PassKind.RESIDENT], int(waiting), frozen_at is not None,
                        Mode(mode or Mode.AT_ONCE))

    @staticmethod
    def actor(unit: str) -> Actor:
        """The audit log's name for a resident: the unit, never a person, and no address."""
        return Actor(f"resident:{unit}", "", Source.RESIDENT)

    def get_pass(self, unit: str, now: float | None = None) -> Outcome:
        """"Get a pass": issued at once, or queued for approval, within the quota."""
        view = self.view(unit, with_passes=False)
        self._may_change(view)
        if view.room <= 0:
            raise ResidentError(Refusal.QUOTA, quota=view.unit.quota, held=view.unit.active + view.waiting)
        if view.mode == Mode.APPROVAL:
            with self._lock:  # two taps at once must not queue past the quota
                view = self.view(unit, with_passes=False)
                if view.room <= 0:
                    raise ResidentError(Refusal.QUOTA, quota=view.unit.quota, held=view.unit.active + view.waiting)
                return Outcome(waiting=self._queue(unit, now))
        ticket = _Ticket(unit)
        self._issuer.issue(ticket, now)
        if ticket.error is not None:
            raise ticket.error
        return Outcome(issued=ticket.issued)

    def report_lost(self, unit: str, pass_id: str) -> int:
        """"Report lost": revoke one of the unit's active passes at once; the new list version."""
        view = self.view(unit)
        self._may_change(view)
        rec = next((p for p in view.passes if p.pass_id == pass_id), None)
        if rec is None:
            rec = self.registry.pass_record(pass_id) if re.fullmatch(r"[0-9a-f]{24}", pass_id) else None
            if rec is None or rec.unit != unit or rec.kind != PassKind.RESIDENT:
                raise ResidentError(Refusal.NO_PASS)
        if rec.state != PassState.ACTIVE:
            raise ResidentError(Refusal.NOT_ACTIVE)
        return self.registry.revoke(rec.pass_id, self.actor(unit))

    def _may_change(self, view: UnitView) -> None:
        if view.frozen:
            raise ResidentError(Refusal.FROZEN)
        if not self.registry.can_sign:
            raise ResidentError(Refusal.READ_ONLY)

    # --- the approval queue ----------------------------------------------------------------------
    def _queue(self, unit: str, now: float | None) -> PassRequest:
        now = time.time() if now is None else now
        req = PassRequest(uuid.uuid4().hex, unit, RequestState.WAITING, now, None, None, None)
        with self.db.transaction() as tx:
            tx.run("INSERT INTO resident_requests(request_id, unit, state, created_at) VALUES (?,?,?,?)",
                   (req.request_id, unit, str(req.state), now))
            self.audit.record(self.actor(unit).name, AuditAction.RESIDENT_REQUEST, unit,
                              f"asked for a pass: request {req.request_id} waits for approval", tx=tx, now=now)
        return req

    def waiting(self) -> list[PassRequest]:
        """Requests waiting for an operator, oldest first."""
        rows = self.db.all("SELECT request_id, unit, state, created_at, decided_at, decided_by, pass_id "
                           "FROM resident_requests WHERE state=? ORDER BY created_at", (str(RequestState.WAITING),))
        return [PassRequest(r[0], r[1], RequestState(r[2]), r[3], r[4], r[5], r[6]) for r in rows]

    def approve(self, request_id: str, actor: Actor, now: float | None = None) -> IssuedPass:
        """Issue the pass a resident asked for (within the unit's quota, checked again now)."""
        now = time.time() if now is None else now
        unit = self._decide(request_id, RequestState.APPROVED, actor, now)
        try:
            (issued,) = self.registry.issue(IssueRequest(unit), actor, now)
        except Exception:
            with self.db.transaction() as tx:  # not issued: the request waits again
                tx.run("UPDATE resident_requests SET state=?, decided_at=NULL, decided_by=NULL WHERE request_id=?",
                       (str(RequestState.WAITING), request_id))
            raise
        with self.db.transaction() as tx:
            tx.run("UPDATE resident_requests SET pass_id=? WHERE request_id=?", (issued.pass_id, request_id))
            self.audit.record(actor.name, AuditAction.RESIDENT_APPROVE, unit,
                              f"request {request_id}: pass {issued.pass_id}", actor.address, tx=tx, now=now)
        return issued

    def refuse(self, request_id: str, actor: Actor, now: float | None = None) -> None:
        now = time.time() if now is None else now
        unit = self._decide(request_id, RequestState.REFUSED, actor, now)
        self.audit.record(actor.name, AuditAction.RESIDENT_REFUSE, unit, f"request {request_id}", actor.address,
                          now=now)

    def _decide(self, request_id: str, state: RequestState, actor: Actor, now: float) -> str:
        """Take a waiting request out of the queue (one operator wins a race); its unit."""
        with self.db.transaction() as tx:
            row = tx.one("SELECT unit FROM resident_requests WHERE request_id=? AND state=?" + tx.for_update,
                         (request_id, str(RequestState.WAITING)))
            if row is None:
                raise ConflictError([FieldProblem("request", "This request was decided already or does not exist.")])
            tx.run("UPDATE resident_requests SET state=?, decided_at=?, decided_by=? WHERE request_id=?",
                   (str(state), now, actor.name, request_id))
        return row[0]


@dataclass
class _Ticket:
    """One resident's "Get a pass" on its way through :class:`_GroupIssuer`."""

    unit: str
    issued: IssuedPass | None = None
    error: Exception | None = None
    done: bool = False


class _GroupIssuer:
    """Issues the passes residents ask for at the same moment in one transaction.

    A commit waits for the disk (fsync); the morning the letters arrive, hundreds of residents ask
    at once, and one commit each would queue them behind each other's disk waits. Each caller puts
    its ticket in the queue and takes the commit lock; whoever gets it issues every ticket queued
    so far in one ``issue_bulk``; the others find theirs done. When the batch is refused (a unit
    over its quota: another tap or another hub process came first) each ticket is issued alone,
    so only the one over quota is refused.
    """

    def __init__(self, registry: Registry, actor_of: Callable[[str], Actor]) -> None:
        self.registry, self.actor_of = registry, actor_of
        self._queue: list[_Ticket] = []
        self._queue_lock = threading.Lock()
        self._commit_lock = threading.Lock()

    def issue(self, ticket: _Ticket, now: float | None) -> None:
        with self._queue_lock:
            self._queue.append(ticket)
        with self._commit_lock:
            if ticket.done:
                return
            with self._queue_lock:
                batch, self._queue = self._queue, []
            try:
                self._run(batch, now)
            finally:
                for t in batch:
                    t.done = True

    def _run(self, batch: list[_Ticket], now: float | None) -> None:
        reqs = [IssueRequest(t.unit) for t in batch]
        actors = [self.actor_of(t.unit) for t in batch]
        try:
            issued = self.registry.issue_bulk(reqs, actors[0], now, actors=actors)
        except RegistryError as e:
            if len(batch) > 1:
                for t in batch:
                    self._run([t], now)
                return
            (t,) = batch
            u = self.registry.unit(t.unit)
            over = u is not None and any(p.field == "count" for p in e.problems)
            t.error = ResidentError(Refusal.QUOTA, quota=u.quota, held=u.active) if over else e
            return
        except Exception as e:  # noqa: BLE001 -- every waiting resident hears of the failure
            for t in batch:
                t.error = e
            return
        for t, p in zip(batch, issued, strict=True):
            t.issued = p

