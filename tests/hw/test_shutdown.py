"""SIGTERM runs the cleanup, and the ExecStopPost helper forces the fail level."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gatekeeper.hw.failsafe import bcm_number, write_record
from gatekeeper.hw.failsafe import main as failsafe_main

ROOT = Path(__file__).resolve().parents[2]

# A daemon in miniature: a Gate on mock pins, the relay held open by a long pulse, then a wait
# that only a signal ends. Its finally block reports the relay pin's level after gate.close().
CHILD = textwrap.dedent("""
    import sys, threading
    from gatekeeper.hw import Gate, install_signal_handlers, make_pin_factory
    factory = make_pin_factory("mock")
    gate = Gate.build(relay_pin=17, green_pin=5, fail_mode=sys.argv[1], pin_factory=factory)
    stop = threading.Event()
    install_signal_handlers(stop.set, reload=lambda: print("reloaded", flush=True))
    try:
        gate.show(True)
        print("ready", int(factory.pin(17).state), flush=True)
        while not stop.is_set():
            stop.wait(30)
    finally:
        gate.close()
        print("final", int(factory.pin(17).state), "stopped", int(stop.is_set()), flush=True)
""")


def run_child(fail_mode: str, signals: list[signal.Signals]) -> tuple[int, list[str]]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, fail_mode], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().split() == ["ready", "1"]
    said: list[str] = []
    for sig in signals[:-1]:  # each signal but the last keeps the child running: wait for its answer
        proc.send_signal(sig)
        said.append(proc.stdout.readline().strip())
    proc.send_signal(signals[-1])
    # A hang guard only: how fast a stop is belongs to a benchmark, not to a test on a busy machine.
    out, _ = proc.communicate(timeout=60)
    return proc.returncode, said + out.split("\n")


@pytest.mark.parametrize("fail_mode, level", [("secure", "0"), ("safe", "1")])
def test_sigterm_runs_cleanup(fail_mode, level):
    code, lines = run_child(fail_mode, [signal.SIGTERM])
    assert f"final {level} stopped 1" in lines
    assert code == 128 + signal.SIGTERM


def test_sighup_reloads_then_sigint_stops():
    code, lines = run_child("secure", [signal.SIGHUP, signal.SIGINT])
    assert "reloaded" in lines
    assert "final 0 stopped 1" in lines
    assert code == 128 + signal.SIGINT


def test_failsafe_cli_explicit_pin_mock(capsys):
    assert failsafe_main(["--pin", "GPIO17", "--level", "high", "--factory", "mock"]) == 0
    assert "GPIO17 set high" in capsys.readouterr().out


def test_failsafe_cli_from_record(tmp_path, capsys):
    record = tmp_path / "failsafe.json"
    write_record(record, "GPIO22", "low")
    assert json.loads(record.read_text()) == {"pin": "GPIO22", "level": "low"}
    assert failsafe_main(["--record", str(record), "--factory", "mock"]) == 0
    assert "GPIO22 set low" in capsys.readouterr().out


def test_failsafe_cli_missing_record_is_not_an_error(tmp_path, capsys):
    assert failsafe_main(["--record", str(tmp_path / "none.json")]) == 0
    assert "never driven" in capsys.readouterr().out


def test_failsafe_cli_bad_record(tmp_path, capsys):
    record = tmp_path / "failsafe.json"
    record.write_text('{"pin": "GPIO17; rm -rf /", "level": "low"}')
    assert failsafe_main(["--record", str(record), "--factory", "mock"]) == 1
    assert "could not force" in capsys.readouterr().err


def test_failsafe_uses_pinctrl_when_present(tmp_path):
    """On Pi OS the helper runs `pinctrl set N op dl|dh`; a stand-in pinctrl records the call."""
    calls = tmp_path / "calls"
    fake = tmp_path / "pinctrl"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    result = subprocess.run([sys.executable, "-m", "gatekeeper.hw.failsafe", "--pin", "17",
                             "--level", "low"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert calls.read_text().split() == ["set", "17", "op", "dl"]


@pytest.mark.parametrize("text, number", [("17", 17), (4, 4), ("GPIO27", 27), ("bcm5", 5)])
def test_bcm_number(text, number):
    assert bcm_number(text) == number


@pytest.mark.parametrize("text", ["", "BOARD11", "99", "17 op dh", "-1"])
def test_bcm_number_refuses(text):
    with pytest.raises(ValueError):
        bcm_number(text)
