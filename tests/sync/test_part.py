"""A sync part's loop survives a failure nobody foresaw: logged, then it goes on."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from gatekeeper.gate.config import SyncSettings
from gatekeeper.gate.syncpart import SyncPart
from gatekeeper.verify import PrivateKey


@dataclass
class Step:
    delay: float


class Flaky(SyncPart):
    """Fails on its first two steps, then counts the steps that worked."""

    def __init__(self, tmp_path) -> None:
        key = PrivateKey.generate()
        super().__init__(tmp_path / "gk.db", key.public, SyncSettings(backoff_cap=0.01), key, "g")
        self.calls = self.worked = 0
        self.stop = threading.Event()

    def step(self) -> Step:
        self.calls += 1
        if self.calls <= 2:
            raise KeyError("a bug")
        self.worked += 1
        if self.worked == 3:
            self.stop.set()
        return Step(0.0)


def test_an_unforeseen_exception_does_not_end_the_part(tmp_path, caplog):
    part = Flaky(tmp_path)
    t = threading.Thread(target=part.run, args=(part.stop,))
    with caplog.at_level(logging.ERROR, logger="gatekeeper.sync"):
        t.start()
        t.join(10)
    assert not t.is_alive() and part.worked == 3 and part.calls == 5
    assert sum("Flaky failed" in r.getMessage() for r in caplog.records) == 2
