"""``gatekeeper run``: the one place that ties the parts together.

frame source -> decoder loop -> checkpoint (decision core + store) -> passage log -> gate,
display and events; uploader and updater in the background. ``scan``, ``hw`` and ``sync`` never
import each other: only this module knows them all.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from gatekeeper import __version__
from gatekeeper.gate.boot import boot_id
from gatekeeper.gate.checkpoint import Checkpoint, load_authority, policy_of
from gatekeeper.gate.config import ConfigError, Settings, load_settings
from gatekeeper.gate.parts import build_gate, camera_source
from gatekeeper.gate.store import Store
from gatekeeper.gate.systemd_notify import notify, watchdog_seconds
from gatekeeper.hw import DisplayServer, Gate, Metrics, install_signal_handlers
from gatekeeper.isotime import iso, machine_zone
from gatekeeper.scan import FrameLoop, FrameSource, Presentation, build_decoder
from gatekeeper.verify import Clock, Decision, Reason
from gatekeeper.wire import Alarm, GateReport, PassageRow, encode_report

log = logging.getLogger("gatekeeper.daemon")

#: The store's side of /status and the /metrics gauges are re-read this often by the daemon's own loop.
HEALTH_EVERY_S = 1.0
#: The /status fields that are also Prometheus gauges.
GAUGE_KEYS = ("frame_rate", "log_backlog", "list_age_seconds", "clock_trusted", "gate_open")


#: Hex digits of a pass id in a journal line: enough to find its row in the passage log, not the
#: whole id (the journal is read more widely and kept longer than the store).
JOURNAL_PASS_ID = 8


def journal_line(event: dict) -> str:
    """An event as one journal line: the label left out (the passage log keeps it), the pass id
    shortened to its first :data:`JOURNAL_PASS_ID` hex digits."""
    shown = {k: v for k, v in event.items() if k != "label"}
    if shown.get("pass_id"):
        shown["pass_id"] = str(shown["pass_id"])[:JOURNAL_PASS_ID]
    return " ".join(f"{k}={v}" for k, v in shown.items())


class EventSink:
    """Where events go: JSON lines on a stream (``--events json``), or log lines."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._lock = threading.Lock()
        self._listeners: list[Callable[[dict], None]] = []

    def listen(self, fn: Callable[[dict], None]) -> None:
        """Also hand every event to ``fn`` (the demo's live view)."""
        self._listeners.append(fn)

    def emit(self, event: dict) -> None:
        if self.stream is not None:
            line = json.dumps(event, ensure_ascii=False)
            with self._lock:
                self.stream.write(line + "\n")
                self.stream.flush()
        else:
            log.info("%s", journal_line(event))
        for fn in self._listeners:
            fn(event)


@dataclass
class DaemonOptions:
    """What ``gatekeeper run`` may override, and what tests and the demo inject."""

    source_spec: str | None = None
    exit_when_done: bool = False
    source: FrameSource | None = None  # injected: the demo's scripted scene
    pin_factory: Any = None  # injected: a MockFactory the demo drives
    sync: bool = True
    extra_threads: list[Callable[[threading.Event], None]] = field(default_factory=list)


class Daemon:
    """The gate daemon. :meth:`run` blocks until stopped; :meth:`stop` may be called from anywhere."""

    def __init__(self, settings: Settings, events: EventSink, options: DaemonOptions | None = None,
                 config_path: Path | None = None) -> None:
        self.settings = settings
        self.events = events
        self.options = options or DaemonOptions()
        self.config_path = config_path
        self.metrics = Metrics()
        self.stopping = threading.Event()
        self.ready = threading.Event()
        self._decide_lock = threading.Lock()  # one decision (and its log row) at a time
        self._boot_id = boot_id()
        self._frames = 0
        self._fps = 0.0
        self._fps_window = (time.monotonic(), 0)
        self._last_ping = 0.0
        self._watchdog = watchdog_seconds()
        self.checkpoint: Checkpoint | None = None
        self.gate: Gate | None = None
        self.display: DisplayServer | None = None
        self.loop: FrameLoop | None = None
        self.sync_parts: list[Any] = []
        self.log_alarm: str | None = None  # set when a passage-log write failed; shown on /status
        self._started = time.monotonic()
        self._last_decision_at: float | None = None  # for the gate report
        self._health: dict = {}  # the store's side of status(), read on the tick
        self._health_at = -HEALTH_EVERY_S

    # --- the decision path (runs on the decode thread) ------------------------------------------
    def on_presentation(self, p: Presentation) -> None:
        """Decide a presented code, log it durably, then act: the order that loses nothing."""
        assert self.checkpoint is not None and self.gate is not None
        with self._decide_lock:
            d = self.checkpoint.decide(p.payload)
            decision_ms = (time.monotonic() - p.captured_at) * 1000
            try:
                seq = self._log("scan", d, decision_ms)
            except (sqlite3.Error, OSError) as e:
                self._unrecorded("scan", d, e)
                return
            latency_ms = (time.monotonic() - p.captured_at) * 1000  # frame to relay command, log included
            self.events.emit({"event": "decision", "seq": seq, "allow": d.allow, "reason": d.reason.value,
                              "pass_id": d.pass_id, "label": d.label, "latency_ms": round(latency_ms, 3),
                              "decision_ms": round(decision_ms, 3), "decode_ms": round(p.decode_ms, 3),
                              "clock_trusted": d.clock_trusted, "list_stale": d.list_stale})
            self.gate.show(d.allow)
        self.metrics.count_decision(d.reason.value)
        if self.display is not None:
            self.display.publish({"allow": d.allow, "reason": d.reason.value, "pass_id": d.pass_id,
                                  "label": d.label, "at": iso(d.at), "latency_ms": round(latency_ms, 1)})

    def on_manual(self) -> None:
        """The volunteer pressed the override: log it as a manual decision, then open once."""
        assert self.checkpoint is not None and self.gate is not None
        with self._decide_lock:
            clock = self.checkpoint.clock()
            d = Decision(True, Reason.MANUAL, clock.now, clock.trusted, False)
            try:
                seq: int | None = self._log("manual", d, None)
            except (sqlite3.Error, OSError) as e:
                # The volunteer stands at the gate and decided: open, and raise the alarm loudly.
                self._unrecorded("manual", d, e)
                seq = None
            self.events.emit({"event": "manual", "seq": seq, "allow": True, "reason": "manual"})
            self.gate.open_manual()
        self.metrics.count_decision("manual")
        if self.display is not None:
            self.display.publish({"allow": True, "reason": "manual", "at": iso(d.at)})

    def _unrecorded(self, kind: str, d: Decision, error: Exception) -> None:
        """The passage log could not be written (a full or failing disk). A scanned pass is then
        refused, whatever its decision: nothing opens that is not on record. The daemon goes on."""
        log.error("passage log write failed (%s decision %s not recorded): %s", kind, d.reason.value, error)
        self.log_alarm = f"passage log write failed: {error}"
        self.events.emit({"event": "alarm", "alarm": "log_failed", "kind": kind, "reason": d.reason.value,
                          "message": str(error)})
        if kind == "scan":
            self.gate.show(False)
            if self.display is not None:
                self.display.publish({"allow": False, "reason": "log_failed", "at": iso(d.at)})

    def _log(self, kind: str, d: Decision, latency_ms: float | None) -> int:
        assert self.checkpoint is not None
        store = self.checkpoint.store
        self._last_decision_at = d.at
        return store.log(PassageRow(
            kind=kind, allow=d.allow, reason=d.reason.value, pass_id=d.pass_id, issuer=d.issuer, scope=d.scope,
            status=d.status, label=d.label, at=d.at, wall=time.time(), mono=time.monotonic(),
            boot_id=self._boot_id, clock_trusted=d.clock_trusted, list_stale=d.list_stale,
            list_version=self.checkpoint.list_version, latency_ms=latency_ms))

    def on_frame(self, stats: Any) -> None:
        """Every decoded frame: frame rate, decode time, and the watchdog ping from the loop itself."""
        now = time.monotonic()
        self._frames += 1
        start, count = self._fps_window
        if now - start >= 2.0:
            self._fps = (self._frames - count) / (now - start)
            self._fps_window = (now, self._frames)
        decode_ms = getattr(stats, "decode_ms", None)
        if decode_ms is not None:
            self.metrics.observe_decode(decode_ms / 1000)
        if self._watchdog and now - self._last_ping >= self._watchdog / 3:
            self._last_ping = now
            notify("WATCHDOG=1")

    def _on_gate(self, state: str) -> None:
        self.metrics.set_gauge("gate_open", state == "open")
        self.events.emit({"event": "gate", "state": state})

    # --- health -----------------------------------------------------------------------------------
    def status(self) -> dict:
        """The device's health, for /status, the display footer and the demo: the store's side as
        the daemon's tick last read it (at most :data:`HEALTH_EVERY_S` old), the rest live."""
        out = {**self._health, "frame_rate": round(self._fps, 1), "gate_open": bool(self.gate and self.gate.is_open),
               "camera_ok": self._camera_ok(), "log_alarm": self.log_alarm}
        for part in self.sync_parts:
            out.update(part.status())
        return out

    def _tick(self, store: Store) -> None:
        """Every :data:`HEALTH_EVERY_S` on the daemon's own loop: re-read the store's side of the
        health with the loop's own connection, and set the gauges, whether or not anyone reads /status."""
        now = time.monotonic()
        if now - self._health_at < HEALTH_EVERY_S:
            return
        self._health_at = now
        try:
            self._health = self._read_health(store)
        except sqlite3.Error as e:  # a locked or failing store: keep the last reading, say so
            log.warning("health: cannot read the device store: %s", e)
        out = self.status()
        for key in GAUGE_KEYS:
            self.metrics.set_gauge(key, out.get(key))

    def _read_health(self, store: Store) -> dict:
        from gatekeeper.gate.uploader import unacknowledged  # the uploader's watermark; sync loads lazily
        s = store.list_status()
        clock = Clock(time.time(), s.time_floor)
        age = None if s.revocation_checked_at is None else max(0.0, clock.now - s.revocation_checked_at)
        return {
            "gate_id": self.settings.device.gate_id, "scope": self.settings.device.scope,
            "list_age_seconds": age, "list_stale": age is None or age > self.settings.policy.max_list_age,
            "trust_version": s.trust_version, "revocation_version": s.revocation_version,
            "revocation_entries": s.revocation_entries, "clock_trusted": clock.trusted,
            "time_floor": iso(s.time_floor), "time_floor_at": s.time_floor, "log_backlog": unacknowledged(store),
        }

    def report(self) -> str | None:
        """The gate report sent to the hub with every request (gatekeeper.wire.report), from :meth:`status`;
        None before the daemon's first health reading."""
        s = self.status()
        if "time_floor_at" not in s:
            return None
        upload = s.get("upload", {})
        raised = ((Alarm.LOG_WRITE, s["log_alarm"]), (Alarm.DISK_FULL, upload.get("disk_alarm")),
                  (Alarm.CAMERA_DOWN, not s["camera_ok"]), (Alarm.QUARANTINE, upload.get("quarantine")))
        age, last = s["list_age_seconds"], self._last_decision_at
        return encode_report(GateReport(
            software_version=__version__, trust_version=s["trust_version"], revocation_version=s["revocation_version"],
            list_age_seconds=None if age is None else int(age), list_stale=s["list_stale"],
            clock_trusted=s["clock_trusted"], time_floor=int(s["time_floor_at"]) or None, log_backlog=s["log_backlog"],
            alarms=tuple(a.value for a, on in raised if on), frame_rate=s["frame_rate"],
            uptime_seconds=int(time.monotonic() - self._started), last_decision_at=None if last is None else int(last),
            poll_interval=self.settings.sync.poll_interval))

    def _camera_ok(self) -> bool:
        last = getattr(self.loop, "last_frame_at", None)
        return last is not None and time.monotonic() - last < max(2.0, 2 * self.settings.camera.reopen_after)

    def reload(self) -> None:
        """SIGHUP: re-read the configuration's policy; lists are re-read from the store on every decision."""
        if self.config_path is None or self.checkpoint is None:
            return
        try:
            new = load_settings(self.config_path)
        except ConfigError as e:  # a broken config on reload keeps the running one
            log.error("reload refused, keeping the running configuration: %s", e)
            return
        self.checkpoint.policy = policy_of(new)
        self.settings = new
        log.info("reloaded policy from %s (camera, pins and ports change on restart only)", self.config_path)

    def stop(self) -> None:
        self.stopping.set()

    # --- life cycle -------------------------------------------------------------------------------
    def run(self) -> int:
        """Start every part, serve until stopped (or done), and leave the relay in its fail state."""
        st = self.settings
        self.checkpoint = Checkpoint(st, Store(st.path(st.device.store), load_authority(st)))
        # The health's own connection, used only by this thread's tick: the decision path's is not shared.
        health_store = Store(self.checkpoint.store.path, self.checkpoint.store.authority)
        self._tick(health_store)
        state_dir = os.environ.get("STATE_DIRECTORY")
        self.gate = build_gate(st, self.on_manual, self.options.pin_factory,
                               Path(state_dir) / "failsafe.json" if state_dir else None)
        try:
            self.gate.on_state(self._on_gate)
            if st.display.enabled:
                self.display = DisplayServer(st.display.bind, st.display.port, status=self.status,
                                             token=st.display.token or None,
                                             timezone=st.display.timezone or machine_zone(),
                                             metrics=self.metrics.render)
                self._start_display()
                log.info("display on %s", self.display.url)
            source = self.options.source or camera_source(st, self.options.source_spec)
            self.loop = FrameLoop(source, build_decoder(list(st.scan.decoders)), self.on_presentation,
                                  cooldown_s=st.scan.cooldown, gap_s=st.scan.gap, on_frame=self.on_frame,
                                  reopen_after_s=st.camera.reopen_after)
            self.loop.start()
            threads = [threading.Thread(target=fn, args=(self.stopping,), daemon=True, name=fn.__name__)
                       for fn in self._background()]
            for t in threads:
                t.start()
            self.ready.set()
            notify("READY=1")
            self.events.emit({"event": "ready", "display": self.display.url if self.display else None})
            while not self.stopping.wait(0.05):
                self._tick(health_store)
                if self.options.exit_when_done and self.loop.done and not self.gate.is_open:
                    break
        finally:
            notify("STOPPING=1")
            self.stopping.set()
            try:
                if self.loop is not None:
                    self.loop.stop()
            finally:
                self.gate.close()  # the relay's fail state first, whatever else fails
                if self.display is not None:
                    self.display.stop()
                self.checkpoint.close()
                health_store.close()
        self.events.emit({"event": "stopped"})
        return 0

    def _start_display(self) -> None:
        assert self.display is not None
        try:
            self.display.start()
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
            d = self.settings.display
            raise OSError(f"the display's port {d.port} on {d.bind} is already in use by another program: set "
                          f"display.port to a free port (or display.enabled = false) in "
                          f"{self.config_path or 'the configuration'}") from None

    def _background(self) -> list[Callable[[threading.Event], None]]:
        fns = list(self.options.extra_threads)
        if self.options.sync and self.settings.sync.hub_url:
            # imported only when a hub is configured
            from gatekeeper.gate.sync import make_sync_parts
            self.sync_parts = make_sync_parts(self.settings)
            for part in self.sync_parts:
                part.report = self.report
            fns += [part.run for part in self.sync_parts]
        return fns


def run_daemon(config_path: Path, options: DaemonOptions, events_json: bool) -> int:
    """``gatekeeper run``: load the configuration, install the signal handlers, run."""
    settings = load_settings(config_path)
    sink = EventSink(sys.stdout if events_json else None)
    daemon = Daemon(settings, sink, options, config_path)
    restore = install_signal_handlers(daemon.stop, reload=daemon.reload, interrupt=False)
    try:
        return daemon.run()
    finally:
        restore()
