"""The audit log: who did what, when, from where. Append-only.

Interface for every part of the hub (console pages, API routers, CLI commands)::

    audit = AuditLog(db)                      # or request.app.state.audit
    audit.record(actor, AuditAction.PASS_REVOKE, target, detail, address)
    audit.record(..., tx=tx)                  # inside the transaction of the change it describes

``actor`` is an account's username, an admin token's label (``token:<label>``), ``cli`` or
``resident:<unit>``; ``target`` names what was acted on (a pass id, a unit name, a username);
``detail`` is a short plain text (no person's name, no ID number: the hub never holds those);
``address`` is the client address ("" for the CLI). Add new actions to :class:`AuditAction`.

The table refuses UPDATE and DELETE (a trigger on SQLite and PostgreSQL), so even a bug or a
hand-typed SQL statement cannot rewrite history; only dropping the table could.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterator
from dataclasses import dataclass

from gatekeeper.hub.database import Database, Tx


class AuditAction(enum.StrEnum):
    """Every kind of entry. The value is what is stored and exported."""

    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"
    ACCOUNT_LOCKED = "account_locked"
    ACCOUNT_ADD = "account_add"
    ACCOUNT_DISABLE = "account_disable"
    ACCOUNT_PASSWORD = "account_password"
    ACCOUNT_ROLE = "account_role"
    UNIT_CREATE = "unit_create"
    UNIT_UPDATE = "unit_update"
    UNIT_IMPORT = "unit_import"
    PASS_ISSUE = "pass_issue"
    PASS_REVOKE = "pass_revoke"
    PASS_REINSTATE = "pass_reinstate"
    PASS_REISSUE = "pass_reissue"
    PASS_STATUS = "pass_status"
    PASS_LEDGER = "pass_ledger"
    EXPORT = "export"
    DEVICE_ENROL = "device_enrol"
    DEVICE_REVOKE = "device_revoke"
    RESIDENT_LETTER = "resident_letter"        # a unit's letter (re)printed: its old code stops working
    RESIDENT_MODE = "resident_mode"            # self-service passes at once or after approval
    RESIDENT_FREEZE = "resident_freeze"
    RESIDENT_UNFREEZE = "resident_unfreeze"
    RESIDENT_REQUEST = "resident_request"      # a resident asked for a pass (approval mode)
    RESIDENT_APPROVE = "resident_approve"
    RESIDENT_REFUSE = "resident_refuse"


@dataclass(frozen=True)
class AuditEntry:
    """One line of the log; ``at`` is Unix seconds."""

    id: int
    at: float
    actor: str
    action: str
    target: str
    detail: str
    address: str


AUDIT_FIELDS = ("id", "at", "actor", "action", "target", "detail", "address")


def _schema(db: Database) -> list[str]:
    if db.is_postgres:
        return [
            ("CREATE TABLE IF NOT EXISTS audit_log (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
             " at DOUBLE PRECISION NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,"
             " detail TEXT NOT NULL, address TEXT NOT NULL)"),
            ("CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ BEGIN"
             " RAISE EXCEPTION 'audit_log is append-only'; END $$ LANGUAGE plpgsql"),
            "DROP TRIGGER IF EXISTS audit_log_frozen ON audit_log",
            ("CREATE TRIGGER audit_log_frozen BEFORE UPDATE OR DELETE ON audit_log"
             " FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"),
            "CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at)",
        ]
    return [
        ("CREATE TABLE IF NOT EXISTS audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, at DOUBLE PRECISION NOT NULL,"
         " actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL,"
         " address TEXT NOT NULL)"),
        ("CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log"
         " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"),
        ("CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log"
         " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"),
        "CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at)",
    ]


class AuditLog:
    """The ``audit_log`` table on a hub database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        with db.transaction() as tx:
            if db.is_postgres:  # replicas starting together must not race on CREATE
                tx.run("SELECT pg_advisory_xact_lock(4243)")
            for stmt in _schema(db):
                tx.run(stmt)

    def record(self, actor: str, action: AuditAction, target: str = "", detail: str = "", address: str = "",
               tx: Tx | None = None, now: float | None = None) -> None:
        """Append one entry; inside ``tx`` when given (so it commits or rolls back with the change)."""
        row = (time.time() if now is None else now, actor, str(action), target, detail[:1000], address)
        sql = "INSERT INTO audit_log(at, actor, action, target, detail, address) VALUES (?,?,?,?,?,?)"
        if tx is not None:
            tx.run(sql, row)
            return
        with self.db.transaction() as own:
            own.run(sql, row)

    def entries(self, actor: str | None = None, action: str | None = None, target: str | None = None,
                limit: int = 100, before: int | None = None) -> list[AuditEntry]:
        """The newest entries first, filtered; ``before`` an id to page back from."""
        where, params = self._where(actor, action, target)
        if before is not None:
            where.append("id < ?")
            params.append(before)
        rows = self.db.all(f"SELECT {','.join(AUDIT_FIELDS)} FROM audit_log WHERE {' AND '.join(where)} "
                           "ORDER BY id DESC LIMIT ?", (*params, limit))
        return [AuditEntry(*r) for r in rows]

    def export(self, actor: str | None = None, action: str | None = None, target: str | None = None,
               page: int = 2000) -> Iterator[tuple]:
        """Every matching entry as a tuple in :data:`AUDIT_FIELDS` order, oldest first, read in pages
        (for ``gatekeeper.hub.export``'s CSV and JSON lines)."""
        where, params = self._where(actor, action, target)
        after = 0
        while True:
            rows = self.db.all(f"SELECT {','.join(AUDIT_FIELDS)} FROM audit_log WHERE {' AND '.join(where)} "
                               "AND id > ? ORDER BY id LIMIT ?", (*params, after, page))
            yield from rows
            if len(rows) < page:
                return
            after = rows[-1][0]

    @staticmethod
    def _where(actor: str | None, action: str | None, target: str | None) -> tuple[list[str], list]:
        where, params = ["1=1"], []
        for column, value in (("actor", actor), ("action", action), ("target", target)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        return where, params
