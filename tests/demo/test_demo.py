"""``gatekeeper demo`` end to end, as a newcomer runs it: a real hub process, a provisioned gate,
the real daemon on a scripted synthetic scene, and nothing left running afterwards."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def children_of(pid: int) -> list[int]:
    """Live descendants of ``pid`` (from /proc), to prove the demo leaves nothing running."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(entry.name))
    return out


def test_demo_runs_the_whole_scene_and_leaves_nothing_running(tmp_path: Path) -> None:
    work = tmp_path / "demo"
    before = set(children_of(os.getpid()))  # other tests' session fixtures (a browser, a hub) may be running
    env = {**os.environ, "COLUMNS": "160", "TERM": "dumb"}
    proc = subprocess.run([sys.executable, "-m", "gatekeeper", "demo", "--seconds", "90", "--dir", str(work)],
                          capture_output=True, text=True, timeout=180, env=env)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    # every scripted visitor got the decision the scene expects, in order
    decided = re.search(r"decisions: (.*)", out)
    assert decided and decided.group(1).split(", ") == ["ok", "revoked", "expired", "bad_signature",
                                                        "status_red", "manual"]
    assert "passage log rows not yet at the hub: 0" in out
    assert re.search(r"volunteer display: http://127\.0\.0\.1:\d+", out)
    assert "hub stopped; nothing left running" in out
    # what it made is real: the gate's passage log and the hub's copy of it
    import sqlite3
    gate_db = next((work / "gate").rglob("*.db"))
    with sqlite3.connect(gate_db) as conn:
        reasons = [r for (r,) in conn.execute("SELECT reason FROM passage_log ORDER BY seq")]
    assert reasons == ["ok", "revoked", "expired", "bad_signature", "status_red", "manual"]
    with sqlite3.connect(work / "hub.db") as conn:
        assert conn.execute("SELECT count(*) FROM passage_log").fetchone()[0] == len(reasons)
    assert set(children_of(os.getpid())) <= before


def test_seconds_bounds_the_demo_and_it_cleans_up(tmp_path: Path) -> None:
    before = set(children_of(os.getpid()))
    env = {**os.environ, "TMPDIR": str(tmp_path), "TERM": "dumb"}
    proc = subprocess.run([sys.executable, "-m", "gatekeeper", "demo", "--seconds", "5"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "stopped after 5 s" in proc.stdout and "hub stopped; nothing left running" in proc.stdout
    assert list(tmp_path.iterdir()) == []  # its temporary directory is gone
    assert set(children_of(os.getpid())) <= before


def test_a_non_empty_dir_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "site.toml").write_text("a real site\n")
    proc = subprocess.run([sys.executable, "-m", "gatekeeper", "demo", "--dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"gatekeeper: demo: {tmp_path} is not empty: give --dir a new or empty directory"
    assert [p.name for p in tmp_path.iterdir()] == ["site.toml"]
