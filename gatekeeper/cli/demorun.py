"""``gatekeeper demo``: the whole system on one machine, no Pi.

It makes a site, starts the reference hub on loopback, provisions a simulated gate against it
(synthetic camera, gpiozero's MockFactory pins), revokes a pass on the hub, and runs the real
daemon on a scripted scene: a valid pass, the pass revoked a minute ago, an expired pass, a
forged one, a screenshot of a red code, and a volunteer's override. A live view shows each
decision, the relay and LEDs, and the passage log draining to the hub.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import base45
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from gatekeeper.admin import DAY, Site, SiteError
from gatekeeper.gate import Daemon, DaemonOptions, EventSink, ProvisionError, load_settings, provision_online
from gatekeeper.hub import HubProcess
from gatekeeper.hw import reason_text
from gatekeeper.isotime import iso
from gatekeeper.scan import SyntheticSource, steady_pose
from gatekeeper.verify import Reason, Status

SCOPE = "maple-court"
FPS = 30.0


@dataclass(frozen=True)
class Actor:
    """Someone at the gate: what they hold up, for how many seconds, and what should happen."""

    who: str
    text: str | None
    seconds: float
    expect: Reason


@dataclass(frozen=True)
class DemoRow:
    """One decision as the live view shows it."""

    time: str
    label: str
    allow: bool
    reason: Reason
    latency: str


@dataclass
class DemoState:
    """What the live view shows; updated from daemon events (any thread)."""

    rows: list[DemoRow] = field(default_factory=list)
    relay: str = "closed"
    led: str = "off"
    status: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def forged(text: str) -> str:
    """The same pass with one signature bit flipped, as a forger's edit would leave it."""
    raw = bytearray(base45.b45decode(text[4:]))
    raw[-1] ^= 0x01
    return "GK1:" + base45.b45encode(bytes(raw)).decode()


def gatekeeper(*args: str, stdin: str | None = None) -> str:
    """Run a ``gatekeeper`` command as an admin would type it; its output."""
    out = subprocess.run([sys.executable, "-m", "gatekeeper", *args], check=False, capture_output=True, text=True,
                         input=stdin)
    if out.returncode != 0:
        raise RuntimeError(f"gatekeeper {' '.join(args[:2])} failed: {out.stderr.strip()}")
    return out.stdout.strip()


def cast(site: Site, now: float) -> tuple[list[Actor], bytes]:
    """The scripted scene's people and passes; also the pass id to revoke on the hub."""
    day = DAY
    ok, _ = site.issue_pass(now - day, now + 30 * day, label="A-101")
    rev, rev_claims = site.issue_pass(now - day, now + 30 * day, label="B-202")
    old, _ = site.issue_pass(now - 60 * day, now - day, label="C-303")
    red, _ = site.issue_pass(now - day, now + 30 * day, status=Status.RED, label="D-404")
    fake = forged(site.issue_pass(now - day, now + 30 * day, label="E-505")[0])
    actors = [
        Actor("resident A-101, valid pass", ok, 1.0, Reason.OK),
        Actor("resident B-202, revoked a minute ago on the hub", rev, 1.0, Reason.REVOKED),
        Actor("resident C-303, pass expired yesterday", old, 1.0, Reason.EXPIRED),
        Actor("someone with an edited (forged) pass", fake, 1.0, Reason.BAD_SIGNATURE),
        Actor("a screenshot of a red code", red, 1.0, Reason.STATUS_RED),
        Actor("a delivery rider: the volunteer presses the override", None, 1.0, Reason.MANUAL),
    ]
    return actors, rev_claims.pass_id


def script_of(actors: list[Actor], gap: float = 1.3) -> tuple[list[tuple[str | None, float]], float]:
    """The scene in seconds, and the scene time at which the volunteer presses the button."""
    script: list[tuple[str | None, float]] = [(None, 1.5)]
    at = 1.5
    press_at = 0.0
    for a in actors:
        if a.text is None:
            press_at = at + a.seconds / 2
        script += [(a.text, a.seconds), (None, gap)]
        at += a.seconds + gap
    script.append((None, 2.0))
    return script, press_at


class Demo:
    """One run of the demo in ``workdir``; :meth:`run` returns the exit status."""

    def __init__(self, workdir: Path, seconds: float | None, console: Console) -> None:
        self.workdir = workdir
        self.seconds = seconds
        self.console = console
        self.state = DemoState()
        self.daemon: Daemon | None = None

    def on_event(self, e: dict) -> None:
        with self.state.lock:
            if e["event"] in ("decision", "manual"):
                lat = f"{e['latency_ms']:.1f} ms" if e.get("latency_ms") is not None else "-"
                self.state.rows.append(DemoRow(time.strftime("%H:%M:%S"), e.get("label") or "-", e["allow"],
                                               Reason(e["reason"]), lat))
                self.state.led = "green" if e["allow"] else "red"
            elif e["event"] == "gate":
                self.state.relay = e["state"]
                if e["state"] == "closed":
                    self.state.led = "off"

    def view(self) -> Group:
        t = Table(title="Gatekeeper demo — north gate", expand=True)
        for col in ("time", "label", "gate", "reason (中文 / English)", "latency"):
            t.add_column(col)
        with self.state.lock:
            for r in self.state.rows[-12:]:
                zh, en = reason_text(r.reason.value)
                verdict = Text("OPEN", style="bold green") if r.allow else Text("DENY", style="bold red")
                t.add_row(r.time, r.label, verdict, f"{zh} / {en} ({r.reason.value})", r.latency)
            relay, led, st = self.state.relay, self.state.led, dict(self.state.status)
        led_style = {"green": "bold green", "red": "bold red"}.get(led, "dim")
        health = Text.assemble(
            ("relay ", "bold"), (relay.upper(), "bold green" if relay == "open" else "bold"),
            ("   LED ", "bold"), ("●", led_style),
            ("   log backlog ", "bold"), (str(st.get("log_backlog", "?")), ""),
            ("   revocation list v", "bold"), (str(st.get("revocation_version", "?")), ""),
            ("   clock ", "bold"), ("trusted" if st.get("clock_trusted") else "NOT trusted", ""))
        return Group(t, health)

    def run(self) -> int:
        c = self.console
        site = Site.init(self.workdir / "site", scope=SCOPE, name="Maple Court")
        c.print(f"[bold]1.[/] made site 'Maple Court' in {site.root}")
        hub = HubProcess(f"sqlite:///{self.workdir / 'hub.db'}", site.root, log=self.workdir / "hub.log").start()
        try:
            return self._with_hub(site, hub)
        finally:
            hub.stop()
            c.print("hub stopped; nothing left running")

    def _with_hub(self, site: Site, hub: HubProcess) -> int:
        c = self.console
        password = secrets.token_urlsafe(12)
        gatekeeper("hub", "user", "add", "--db", hub.db_url, "--username", "demo-admin", "--role", "admin",
                   "--password-stdin", stdin=password + "\n")
        c.print(f"[bold]2.[/] reference hub on {hub.url}; console {hub.url}/console/ "
                f"(username demo-admin, password {password})")
        token = gatekeeper("hub", "token", "--gate-id", "north-gate", "--db", hub.db_url)
        result = provision_online(hub.url, token, "north-gate", self.workdir / "gate", overrides={
            "camera": {"source": "synthetic"}, "gate": {"pin_factory": "mock", "open_time": 1.0},
            "display": {"port": 0}, "sync": {"upload_interval": "1s", "poll_interval": "1s"}})
        c.print(f"[bold]3.[/] provisioned gate 'north-gate' with a one-time token: {result.config}")
        now = time.time()
        actors, revoked_id = cast(site, now)
        admin = gatekeeper("hub", "admin-token", "--label", "demo", "--db", hub.db_url)
        gatekeeper("pass", "revoke", "--hub", hub.url, "--admin-token", admin, "--pass-id", revoked_id.hex(),
                   "--from", iso(now - 60))
        c.print("[bold]4.[/] revoked B-202's pass on the hub with 'gatekeeper pass revoke --hub' "
                "(the gate learns it by sync)")
        script, press_at = script_of(actors)
        settings = load_settings(result.config)
        from gpiozero.pins.mock import MockFactory
        factory = MockFactory()
        source = SyntheticSource(script, size=(640, 480), fps=FPS, seed=3, poses=steady_pose)
        sink = EventSink(None)
        sink.listen(self.on_event)
        self.daemon = Daemon(settings, sink, DaemonOptions(source=source, pin_factory=factory, exit_when_done=False))
        runner = threading.Thread(target=self.daemon.run, name="daemon", daemon=True)
        runner.start()
        if not self.daemon.ready.wait(15):
            raise RuntimeError("the gate daemon did not start")
        if self.daemon.display:
            c.print(f"[bold]5.[/] volunteer display: {self.daemon.display.url}  (open it in a browser)")
        deadline = time.monotonic() + (self.seconds if self.seconds else 120)
        pressed = finished = False
        with Live(self.view(), console=c, refresh_per_second=8, transient=False) as live:
            while time.monotonic() < deadline:
                time.sleep(0.125)
                self.state.status = self.daemon.status()
                loop = self.daemon.loop
                if not pressed and source.started_at and time.monotonic() - source.started_at >= press_at:
                    pressed = True
                    pin = factory.pin(settings.gate.button_pin)
                    pin.drive_low()
                    time.sleep(0.1)
                    pin.drive_high()
                live.update(self.view())
                if loop is not None and loop.done and not self.daemon.gate.is_open \
                        and self.state.status.get("log_backlog") == 0:
                    finished = True
                    break
        c.print()
        self.daemon.stop()
        runner.join(5)
        return self._summary(actors, finished)

    def _summary(self, actors: list[Actor], finished: bool) -> int:
        """Print what happened; 1 if the whole scene played and something differed from the script."""
        seen = [r.reason.value for r in self.state.rows]
        expected = [a.expect.value for a in actors]
        backlog = self.state.status.get("log_backlog")
        self.console.print(f"decisions: {', '.join(seen)}")
        self.console.print(f"passage log rows not yet at the hub: {backlog}")
        if seen == expected and backlog == 0:
            self.console.print("[bold green]demo complete:[/] every decision as expected, log delivered to the hub")
            return 0
        if not finished:
            self.console.print(f"[bold yellow]stopped after {self.seconds or 120:g} s[/], before the scene ended "
                               f"(the whole scene takes about 15 s; expected {', '.join(expected)})")
            return 0
        self.console.print(f"[bold red]the scene ended differently[/] (expected {', '.join(expected)})")
        return 1


class DemoError(Exception):
    """The demo could not run; the message says why."""


def run_demo(seconds: float | None, directory: Path | None, keep: bool) -> int:
    """Run the demo in ``directory`` (a fresh temporary one by default, removed unless ``keep``).

    DemoError when ``directory`` already holds files (the demo never writes over a real site) or a
    step fails (the hub does not start, provisioning is refused).
    """
    if directory is not None and directory.exists() and any(directory.iterdir()):
        raise DemoError(f"{directory} is not empty: give --dir a new or empty directory")
    console = Console()
    workdir = directory or Path(tempfile.mkdtemp(prefix="gatekeeper-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return Demo(workdir, seconds, console).run()
    except (RuntimeError, OSError, ProvisionError, SiteError) as e:
        raise DemoError(str(e)) from e
    finally:
        if directory is None and not keep:
            shutil.rmtree(workdir, ignore_errors=True)
        elif os.path.isdir(workdir):
            console.print(f"demo files kept in {workdir}")
