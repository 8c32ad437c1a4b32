"""Console sessions, CSRF tokens and the sign-in rate limit.

Interface::

    sessions = Sessions(db)                         # or request.app.state.sessions
    token, csrf = sessions.create("clerk", address)  # token goes in the cookie COOKIE
    s = sessions.get(token)                          # Session | None (expired, ended, disabled)
    sessions.end(token)

A session is a random token in a cookie (``HttpOnly``, ``SameSite=Lax``, ``Secure`` when the
request came over TLS), stored hashed, with an idle timeout (:data:`IDLE_S`) and an absolute one
(:data:`MAX_AGE_S`). Each session has its own CSRF token: every form carries it in the field
:data:`CSRF_FIELD`, every JSON change through a session sends it in the header :data:`CSRF_HEADER`.
The role is read from the account on every request, so disabling an account or changing its role
takes effect at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

from gatekeeper.hub.database import Database
from gatekeeper.hub.roles import Role

COOKIE = "gk_session"
#: A cookie for the sign-in form's CSRF token, before there is a session (double submit).
PRE_COOKIE = "gk_presession"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
IDLE_S = 30 * 60
MAX_AGE_S = 12 * 3600
#: seen_at is written at most this often per session: a page view should not always be a write.
TOUCH_S = 60

SCHEMA = [
    ("CREATE TABLE IF NOT EXISTS console_sessions (token_hash TEXT PRIMARY KEY, username TEXT NOT NULL,"
     " csrf TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, seen_at DOUBLE PRECISION NOT NULL,"
     " address TEXT NOT NULL)"),
]


@dataclass(frozen=True)
class Session:
    username: str
    role: Role
    csrf: str
    created_at: float


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_token(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two CSRF tokens (False when either is missing)."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


class Sessions:
    """The ``console_sessions`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db
        with db.transaction() as tx:
            if db.is_postgres:  # replicas starting together must not race on CREATE TABLE
                tx.run("SELECT pg_advisory_xact_lock(4246)")
            for stmt in SCHEMA:
                tx.run(stmt)

    def create(self, username: str, address: str, now: float | None = None) -> tuple[str, str]:
        """A new session for ``username``: (cookie token, CSRF token)."""
        now = time.time() if now is None else now
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.db.transaction() as tx:
            tx.run("DELETE FROM console_sessions WHERE seen_at < ? OR created_at < ?", (now - IDLE_S, now - MAX_AGE_S))
            tx.run("INSERT INTO console_sessions(token_hash, username, csrf, created_at, seen_at, address) "
                   "VALUES (?,?,?,?,?,?)", (_hash(token), username, csrf, now, now, address))
        return token, csrf

    def get(self, token: str | None, now: float | None = None) -> Session | None:
        """The live session of a cookie token; None when unknown, idle too long, too old, or its
        account is disabled."""
        if not token:
            return None
        now = time.time() if now is None else now
        row = self.db.one("SELECT s.username, a.role, s.csrf, s.created_at, s.seen_at FROM console_sessions s "
                          "JOIN accounts a ON a.username = s.username WHERE s.token_hash=? AND a.disabled=0",
                          (_hash(token),))
        if row is None or row[4] < now - IDLE_S or row[3] < now - MAX_AGE_S:
            return None
        if now - row[4] > TOUCH_S:
            with self.db.transaction() as tx:
                tx.run("UPDATE console_sessions SET seen_at=? WHERE token_hash=?", (now, _hash(token)))
        return Session(row[0], Role(row[1]), row[2], row[3])

    def end(self, token: str | None) -> None:
        if token:
            with self.db.transaction() as tx:
                tx.run("DELETE FROM console_sessions WHERE token_hash=?", (_hash(token),))

    def end_all(self, username: str) -> None:
        """End every session of an account (disabled, or its password changed)."""
        with self.db.transaction() as tx:
            tx.run("DELETE FROM console_sessions WHERE username=?", (username,))


class SignInLimiter:
    """At most ``attempts`` sign-in attempts per client address in ``window_s`` seconds.

    Kept in memory: it slows one process's guessing; the per-account lock-out (in the database)
    is what holds across replicas.
    """

    def __init__(self, attempts: int = 20, window_s: float = 300.0) -> None:
        self.attempts, self.window_s = attempts, window_s
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, address: str, now: float | None = None) -> float:
        """0 when an attempt from ``address`` may go ahead (and count it); else seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            seen = self._seen.setdefault(address, deque())
            while seen and seen[0] <= now - self.window_s:
                seen.popleft()
            if len(seen) >= self.attempts:
                return seen[0] + self.window_s - now
            seen.append(now)
            if len(self._seen) > 10000:  # forget idle addresses rather than grow without bound
                for key in [k for k, v in self._seen.items() if not v]:
                    del self._seen[key]
            return 0.0
