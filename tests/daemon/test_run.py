"""``gatekeeper run`` end to end, as a subprocess, on a folder of real frames and mock pins."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from tests.kit.gate import GATEKEEPER, GateSite, events_of, forge, write_frames


def passage_log(site: GateSite) -> list[dict]:
    conn = sqlite3.connect(site.root / "state" / "gatekeeper.db")
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM passage_log ORDER BY seq")]
    finally:
        conn.close()


def test_run_decides_each_presentation_once_and_logs_before_acting(gate_site: GateSite, tmp_path: Path) -> None:
    valid = gate_site.issue(label="A-101")
    revoked = gate_site.issue(label="B-202")
    gate_site.revoke(revoked)
    expired = gate_site.issue(valid_from=int(time.time()) - 90 * 86400, valid_until=int(time.time()) - 86400)
    frames = tmp_path / "frames"
    write_frames(frames, [(None, 5), (valid, 10), (None, 8), (revoked, 6), (None, 8), (forge(valid), 6),
                          (None, 8), (expired, 6), (None, 20)])
    proc = subprocess.run([*GATEKEEPER, "run", "--config", str(gate_site.config), "--source", f"images:{frames}",
                           "--events", "json", "--exit-when-done"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    events = events_of(proc.stdout)
    decisions = [e for e in events if e["event"] == "decision"]
    assert [d["reason"] for d in decisions] == ["ok", "revoked", "bad_signature", "expired"]
    assert [d["allow"] for d in decisions] == [True, False, False, False]
    assert all(d["latency_ms"] > 0 and d["seq"] > 0 for d in decisions)
    gates = [e["state"] for e in events if e["event"] == "gate"]
    assert gates == ["open", "closed"], "one relay pulse for the one allow, closed again at exit"
    # every announced decision is in the passage log, with the same sequence number
    rows = passage_log(gate_site)
    assert [(r["seq"], r["reason"], bool(r["allow"])) for r in rows] == \
        [(d["seq"], d["reason"], d["allow"]) for d in decisions]
    assert all(r["boot_id"] and r["mono"] > 0 and r["clock_trusted"] == 1 for r in rows)
    # the decision was logged before the gate opened: the decision event precedes the gate event
    kinds = [e["event"] for e in events]
    assert kinds.index("decision") < kinds.index("gate")


def _start(site: GateSite, frames: Path) -> subprocess.Popen:
    return subprocess.Popen([*GATEKEEPER, "run", "--config", str(site.config), "--source", f"images:{frames}",
                             "--events", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_kill_9_loses_no_announced_decision(gate_site: GateSite, tmp_path: Path) -> None:
    passes = [gate_site.issue(label=f"U-{i}") for i in range(6)]
    script: list = [(None, 3)]
    for p in passes:
        script += [(p, 4), (None, 3)]
    frames = tmp_path / "frames"
    write_frames(frames, [*script, (None, 300)])
    proc = _start(gate_site, frames)
    announced = []
    assert proc.stdout is not None
    for line in proc.stdout:
        e = json.loads(line)
        if e["event"] == "decision":
            announced.append(e["seq"])
            if len(announced) == 3:
                os.kill(proc.pid, signal.SIGKILL)
                break
    proc.wait(10)
    assert len(announced) == 3
    logged = {r["seq"] for r in passage_log(gate_site)}
    assert set(announced) <= logged


def test_sigterm_stops_within_two_seconds_with_the_relay_closed(gate_site: GateSite, tmp_path: Path) -> None:
    valid = gate_site.issue()
    frames = tmp_path / "frames"
    write_frames(frames, [(valid, 5), (None, 600)])
    proc = _start(gate_site, frames)
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        e = json.loads(line)
        seen.append(e)
        if e["event"] == "gate" and e["state"] == "open":
            break
    t = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=10)
    took = time.monotonic() - t
    seen += events_of(rest)
    assert proc.returncode == 0
    assert took < 2.0, f"stopping took {took:.2f} s"
    gates = [e["state"] for e in seen if e["event"] == "gate"]
    assert gates[-1] == "closed"
    assert seen[-1]["event"] == "stopped"


def test_broken_config_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[gate]\nfail_mode = "wide-open"\n')
    proc = subprocess.run([*GATEKEEPER, "run", "--config", str(bad)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert "gate.fail_mode" in proc.stderr and str(bad) in proc.stderr


def test_bad_source_spec_is_a_clear_error(gate_site: GateSite) -> None:
    proc = subprocess.run([*GATEKEEPER, "run", "--config", str(gate_site.config), "--source", "webcam"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert "webcam" in proc.stderr and "images:DIR" in proc.stderr
