"""Console accounts: a username, a role, an Argon2 password hash; lock-out after repeated failures.

Interface::

    accounts = Accounts(db)                       # or request.app.state.accounts
    accounts.add("clerk", Role.OPERATOR, password)   # AccountError says why not
    result = accounts.sign_in("clerk", password)     # SignIn(outcome, account)
    accounts.get("clerk") -> Account | None

A username is an office role or a desk ("clerk1", "night-desk"), never a person's name: the hub
holds no names. Failures are counted in the database (so every hub replica sees them): the
:data:`LOCK_AFTER`-th failure in a row locks the account for :data:`LOCK_S` seconds, during which
even the right password is refused. A successful sign-in resets the count.
"""

from __future__ import annotations

import enum
import re
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gatekeeper.hub.database import Database, Tx
from gatekeeper.hub.roles import Role

#: The failure in a row that locks an account (the sixth wrong password).
LOCK_AFTER = 6
#: How long a locked account stays locked.
LOCK_S = 15 * 60
MIN_PASSWORD = 10
MAX_PASSWORD = 256
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")

SCHEMA = [
    ("CREATE TABLE IF NOT EXISTS accounts (username TEXT PRIMARY KEY, role TEXT NOT NULL,"
     " password_hash TEXT NOT NULL, disabled BIGINT NOT NULL DEFAULT 0, created_at DOUBLE PRECISION NOT NULL,"
     " failures BIGINT NOT NULL DEFAULT 0, locked_until DOUBLE PRECISION, last_sign_in DOUBLE PRECISION)"),
]

_hasher = PasswordHasher()
# Verified against when the username is unknown, so a stranger cannot tell names by the time taken.
_DUMMY = _hasher.hash("not a password of anyone")


class AccountError(ValueError):
    """An account change refused; ``field`` is the form field it is about, ``template`` a catalogue
    msgid with ``%(name)s`` parameters (``params``), ``message`` the English text."""

    def __init__(self, field: str, template: str, **params: object) -> None:
        self.field, self.template, self.params = field, template, params
        self.message = template % params if params else template
        super().__init__(self.message)


class SignInOutcome(enum.Enum):
    OK = "ok"
    WRONG = "wrong"          # unknown username or wrong password (not told apart)
    LOCKED = "locked"        # too many failures: wait
    DISABLED = "disabled"


@dataclass(frozen=True)
class Account:
    username: str
    role: Role
    disabled: bool
    created_at: float
    failures: int
    locked_until: float | None
    last_sign_in: float | None


@dataclass(frozen=True)
class SignIn:
    outcome: SignInOutcome
    account: Account | None
    #: True when this very attempt locked the account (audit it once).
    just_locked: bool = False


def check_username(username: str) -> str:
    if not USERNAME.fullmatch(username or ""):
        raise AccountError("username", "1 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit.")
    return username


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password or "") <= MAX_PASSWORD:
        raise AccountError("password", "A password has %(min)d to %(max)d characters.", min=MIN_PASSWORD,
                           max=MAX_PASSWORD)
    return password


_COLUMNS = "username, role, disabled, created_at, failures, locked_until, last_sign_in"


def _account(row: tuple) -> Account:
    return Account(row[0], Role(row[1]), bool(row[2]), row[3], int(row[4]), row[5], row[6])


class Accounts:
    """The ``accounts`` table on a hub database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        with db.transaction() as tx:
            if db.is_postgres:  # replicas starting together must not race on CREATE TABLE
                tx.run("SELECT pg_advisory_xact_lock(4245)")
            for stmt in SCHEMA:
                tx.run(stmt)

    def add(self, username: str, role: Role, password: str, now: float | None = None, tx: Tx | None = None) -> Account:
        check_username(username)
        check_password(password)
        now = time.time() if now is None else now
        digest = _hasher.hash(password)
        with self.db.transaction() as own:
            t = tx or own
            if t.one("SELECT 1 FROM accounts WHERE username=?", (username,)) is not None:
                raise AccountError("username", "An account %(u)s exists already.", u=username)
            t.run("INSERT INTO accounts(username, role, password_hash, created_at) VALUES (?,?,?,?)",
                  (username, str(Role(role)), digest, now))
        return Account(username, Role(role), False, now, 0, None, None)

    def get(self, username: str) -> Account | None:
        row = self.db.one(f"SELECT {_COLUMNS} FROM accounts WHERE username=?", (username,))
        return _account(row) if row else None

    def all(self) -> list[Account]:
        return [_account(r) for r in self.db.all(f"SELECT {_COLUMNS} FROM accounts ORDER BY username")]

    def set_disabled(self, username: str, disabled: bool = True) -> None:
        with self.db.transaction() as tx:
            if tx.run("UPDATE accounts SET disabled=? WHERE username=?", (int(disabled), username)) != 1:
                raise AccountError("username", "No account %(u)s.", u=username)

    def set_password(self, username: str, password: str) -> None:
        """A new password; also lifts a lock-out."""
        check_password(password)
        digest = _hasher.hash(password)
        with self.db.transaction() as tx:
            if tx.run("UPDATE accounts SET password_hash=?, failures=0, locked_until=NULL WHERE username=?",
                      (digest, username)) != 1:
                raise AccountError("username", "No account %(u)s.", u=username)

    def set_role(self, username: str, role: Role) -> None:
        with self.db.transaction() as tx:
            if tx.run("UPDATE accounts SET role=? WHERE username=?", (str(Role(role)), username)) != 1:
                raise AccountError("username", "No account %(u)s.", u=username)

    def sign_in(self, username: str, password: str, now: float | None = None) -> SignIn:
        """Check a password, counting failures; the outcome and (unless WRONG) the account."""
        now = time.time() if now is None else now
        row = self.db.one(f"SELECT {_COLUMNS}, password_hash FROM accounts WHERE username=?", (username,))
        if row is None:
            _verify(_DUMMY, password)
            return SignIn(SignInOutcome.WRONG, None)
        account, digest = _account(row[:-1]), row[-1]
        if account.disabled:
            return SignIn(SignInOutcome.DISABLED, account)
        if account.locked_until is not None and account.locked_until > now:
            return SignIn(SignInOutcome.LOCKED, account)
        if _verify(digest, password):
            with self.db.transaction() as tx:
                tx.run("UPDATE accounts SET failures=0, locked_until=NULL, last_sign_in=? WHERE username=?",
                       (now, username))
                if _hasher.check_needs_rehash(digest):
                    tx.run("UPDATE accounts SET password_hash=? WHERE username=?", (_hasher.hash(password), username))
            return SignIn(SignInOutcome.OK, account)
        with self.db.transaction() as tx:
            (failures,) = tx.one("SELECT failures FROM accounts WHERE username=?" + tx.for_update, (username,))
            # a lock that ran out starts a new count
            failures = 1 if account.locked_until is not None else failures + 1
            locked = now + LOCK_S if failures >= LOCK_AFTER else None
            tx.run("UPDATE accounts SET failures=?, locked_until=? WHERE username=?", (failures, locked, username))
        if locked is not None:
            return SignIn(SignInOutcome.LOCKED, account, just_locked=True)
        return SignIn(SignInOutcome.WRONG, account)


def _verify(digest: str, password: str) -> bool:
    try:
        return _hasher.verify(digest, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
