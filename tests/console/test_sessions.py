"""Sessions and sign-in limits on the real database: idle and absolute timeouts, a disabled account's
sessions, the per-address rate limit, the lock-out and its end."""

from __future__ import annotations

import pytest

from gatekeeper.hub.accounts import LOCK_AFTER, LOCK_S, Accounts, SignInOutcome
from gatekeeper.hub.database import Database
from gatekeeper.hub.roles import Role
from gatekeeper.hub.sessions import IDLE_S, MAX_AGE_S, Sessions, SignInLimiter

PASSWORD = "correct horse battery"


@pytest.fixture
def db(db_url):
    d = Database(db_url)
    yield d
    d.close()


def test_session_timeouts_and_disabled_accounts(db):
    accounts, sessions = Accounts(db), Sessions(db)
    accounts.add("desk", Role.OPERATOR, PASSWORD, now=0)
    token, csrf = sessions.create("desk", "127.0.0.1", now=1000)
    s = sessions.get(token, now=1000 + IDLE_S - 1)
    assert s is not None and s.role == Role.OPERATOR and s.csrf == csrf
    assert sessions.get(token, now=1000 + IDLE_S - 1 + IDLE_S + 1) is None  # idle too long
    token, _ = sessions.create("desk", "127.0.0.1", now=5000)
    t = 5000
    while t < 5000 + MAX_AGE_S - IDLE_S:  # kept busy, it still ends at the absolute limit
        t += IDLE_S - 10
        assert sessions.get(token, now=t) is not None
    assert sessions.get(token, now=5000 + MAX_AGE_S + 1) is None
    token, _ = sessions.create("desk", "127.0.0.1", now=9000)
    accounts.set_role("desk", Role.VIEWER)
    assert sessions.get(token, now=9001).role == Role.VIEWER
    accounts.set_disabled("desk")
    assert sessions.get(token, now=9002) is None
    assert sessions.get("not a token") is None and sessions.get(None) is None


def test_lock_out_and_its_end(db):
    accounts = Accounts(db)
    accounts.add("desk", Role.OPERATOR, PASSWORD, now=0)
    outcomes = [accounts.sign_in("desk", "wrong", now=100 + i).outcome for i in range(LOCK_AFTER)]
    assert outcomes == [SignInOutcome.WRONG] * (LOCK_AFTER - 1) + [SignInOutcome.LOCKED]
    assert accounts.sign_in("desk", PASSWORD, now=200).outcome == SignInOutcome.LOCKED
    assert accounts.sign_in("desk", PASSWORD, now=100 + LOCK_AFTER + LOCK_S).outcome == SignInOutcome.OK
    assert accounts.sign_in("nobody", PASSWORD).outcome == SignInOutcome.WRONG


def test_sign_in_rate_limit_per_address():
    limiter = SignInLimiter(attempts=3, window_s=60)
    assert [limiter.allow("10.0.0.1", now=t) for t in (0, 1, 2)] == [0, 0, 0]
    assert limiter.allow("10.0.0.1", now=3) == pytest.approx(57)
    assert limiter.allow("10.0.0.2", now=3) == 0
    assert limiter.allow("10.0.0.1", now=60.5) == 0
