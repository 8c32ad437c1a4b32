"""A passage log that cannot be written (a full or failing disk): nothing opens that is not on record, the
daemon keeps running and says so, and the volunteer's override still opens the gate."""

from __future__ import annotations

import threading

import numpy as np
from gpiozero.pins.mock import MockFactory

from gatekeeper.gate.config import load_settings
from gatekeeper.gate.daemon import Daemon, DaemonOptions, EventSink
from gatekeeper.scan import ArraySource
from gatekeeper.scan.synthetic import Pose, render_scene
from tests.kit.core import wait_until


def test_unwritable_log_refuses_a_valid_pass_and_the_override_still_opens(gate_site):
    text = gate_site.issue(label="A-101")
    rng = np.random.default_rng(3)
    easy = Pose(scale=0.55, blur=0.5, noise=2.0)
    blank = render_scene(None, rng=rng, pose=easy)
    frames = [blank] * 20 + [render_scene(text, rng=rng, pose=easy)] * 6 + [blank] * 40
    settings = load_settings(gate_site.config)
    factory = MockFactory()
    events: list[dict] = []
    sink = EventSink(None)
    sink.listen(events.append)
    release = threading.Event()

    daemon = Daemon(settings, sink, DaemonOptions(source=_Gated(ArraySource(frames, fps=30), release),
                                                  pin_factory=factory, sync=False))
    runner = threading.Thread(target=daemon.run)
    runner.start()
    try:
        assert daemon.ready.wait(15)
        conn = daemon.checkpoint.store.conn
        # from here every write of the daemon's connection fails inside SQLite, as on a failing disk
        conn.execute("PRAGMA query_only=1")
        release.set()
        assert wait_until(lambda: any(e["event"] == "alarm" for e in events), 10)
        alarm = next(e for e in events if e["event"] == "alarm")
        assert alarm["alarm"] == "log_failed" and alarm["reason"] == "ok" and "readonly" in alarm["message"]
        assert not any(e["event"] == "decision" for e in events)  # nothing announced that is not logged
        assert not any(e["event"] == "gate" and e["state"] == "open" for e in events)
        assert daemon.status()["log_alarm"].startswith("passage log write failed")
        # the volunteer's override opens even so
        pin = factory.pin(settings.gate.button_pin)
        pin.drive_low()
        assert wait_until(lambda: any(e["event"] == "gate" and e["state"] == "open" for e in events), 10)
        pin.drive_high()
        manual = next(e for e in events if e["event"] == "manual")
        assert manual["seq"] is None
        assert runner.is_alive()
    finally:
        daemon.stop()
        runner.join(5)
    assert not runner.is_alive()
    assert events[-1]["event"] == "stopped"


class _Gated:
    """A frame source whose first frame waits for ``release`` (the test breaks the disk first)."""

    def __init__(self, inner: ArraySource, release: threading.Event) -> None:
        self.inner, self.release = inner, release
        self.finite = inner.finite

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def read(self):
        self.release.wait(10)
        return self.inner.read()
