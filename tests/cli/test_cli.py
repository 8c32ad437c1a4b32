"""The admin CLI as an admin uses it: site init, pass issue/revoke, lists apply/status, check."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gatekeeper.cli import main


def run(*args: object, ok: bool | None = True) -> Result:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    if ok is True:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    d = tmp_path / "site"
    run("site", "init", d, "--scope", "maple-court")
    return d


def issue(site_dir: Path, *extra: object) -> str:
    out = run("pass", "issue", "--site", site_dir, *extra).stdout
    assert out.endswith("\n") and out.count("\n") == 1  # exactly one line
    return out.strip()


def check_json(site_dir: Path, *args: object, config: Path | None = None) -> list[dict]:
    r = run("check", "--config", config or site_dir / "gatekeeper.toml", "--json", *args)
    return [json.loads(line) for line in r.stdout.splitlines()]


# --- site init ------------------------------------------------------------------------------------
def test_site_init_prints_what_it_made_and_refuses_to_overwrite(tmp_path: Path) -> None:
    d = tmp_path / "site"
    out = run("site", "init", d, "--scope", "maple-court").stdout
    listed = [Path(line.split()[-1]) for line in out.splitlines() if line.startswith("  ")]
    assert len(listed) == 6 and all(p.exists() for p in listed)
    for name in ("authority.key", "gatekeeper.toml", "gatekeeper.db", "trust-v000001.gkl"):
        assert name in out
    assert (d / "keys" / "authority.key").stat().st_mode & 0o077 == 0  # secret keys are private
    before = {p: p.read_bytes() for p in d.rglob("*") if p.is_file() and "state" not in p.parts}
    r = run("site", "init", d, ok=None)
    assert r.exit_code == 1 and "refusing to overwrite" in r.stderr
    assert {p: p.read_bytes() for p in d.rglob("*") if p.is_file() and "state" not in p.parts} == before


def test_site_init_refuses_a_bad_scope(tmp_path: Path) -> None:
    r = run("site", "init", tmp_path / "s", "--scope", "Not A Scope", ok=None)
    assert r.exit_code == 1 and "scope 'Not A Scope' is not valid" in r.stderr
    assert not (tmp_path / "s" / "site.toml").exists()


# --- pass issue -----------------------------------------------------------------------------------
def test_pass_issue_prints_one_line_and_writes_images(site_dir: Path, tmp_path: Path) -> None:
    text = issue(site_dir, "--label", "A-101", "--png", tmp_path / "p.png", "--svg", tmp_path / "p.svg")
    assert text.startswith("GK1:") and len(text) <= 195
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (tmp_path / "p.svg").read_bytes()
    row, = check_json(site_dir, "--text", text)
    assert (row["allow"], row["reason"], row["label"]) == (True, "ok", "A-101")


def test_pass_issue_options(site_dir: Path) -> None:
    past = issue(site_dir, "--valid-from", "2020-01-01T00:00:00Z", "--valid-until", "2020-02-01")
    future = issue(site_dir, "--valid-from", "2099-01-01T00:00:00+08:00")
    zone = issue(site_dir, "--scope", "maple-court/north", "--status", "yellow")
    rows = check_json(site_dir, "--text", past, "--text", future, "--text", zone)
    assert [r["reason"] for r in rows] == ["expired", "not_yet_valid", "out_of_scope"]
    assert rows[2]["status"] == "yellow" and rows[2]["scope"] == "maple-court/north"


@pytest.mark.parametrize("args, words", [
    (["--scope", "Elm Row"], "scope"),
    (["--label", "x" * 40], "label"),
    (["--valid-from", "yesterday"], "ISO 8601"),
    (["--valid-from", "2030-01-02", "--valid-until", "2030-01-01"], "before"),
    (["--status", "blue"], "blue"),
])
def test_pass_issue_usage_errors(site_dir: Path, args: list[str], words: str) -> None:
    r = run("pass", "issue", "--site", site_dir, *args, ok=None)
    assert r.exit_code == 2 and words in r.stderr and r.stdout == ""


def test_a_broken_site_dir_is_named(tmp_path: Path, site_dir: Path) -> None:
    r = run("pass", "issue", "--site", tmp_path / "nowhere", ok=None)
    assert r.exit_code == 1 and "not a site (no site.toml)" in r.stderr and "site init" in r.stderr
    (site_dir / "site.toml").write_text("name = \n")
    r = run("pass", "issue", "--site", site_dir, ok=None)
    assert r.exit_code == 1 and "site.toml: broken site file" in r.stderr


def test_a_missing_or_broken_issuer_key_is_named(site_dir: Path) -> None:
    key, = (site_dir / "keys").glob("issuer-*.key")
    key.write_text("not a key")
    r = run("pass", "issue", "--site", site_dir, ok=None)
    assert r.exit_code == 1 and str(key) in r.stderr and "not a usable Ed25519 private key" in r.stderr
    key.unlink()
    r = run("pass", "issue", "--site", site_dir, ok=None)
    assert r.exit_code == 1 and str(key) in r.stderr and "missing" in r.stderr


# --- check ----------------------------------------------------------------------------------------
def test_check_json_fields_and_exit_status(site_dir: Path) -> None:
    good = issue(site_dir)
    rows = check_json(site_dir, "--text", good, "--text", "hello", "--text", "")
    assert [r["input"] for r in rows] == [good, "hello", ""]
    for r in rows:
        assert {"input", "text", "allow", "reason", "pass_id"} <= r.keys()
    assert rows[0]["text"] == good and rows[0]["allow"] is True and len(rows[0]["pass_id"]) == 24
    assert (rows[1]["allow"], rows[1]["reason"], rows[1]["pass_id"]) == (False, "bad_format", None)
    assert rows[2]["reason"] == "no_code"
    # all denied is still exit 0: every input was processed
    r = run("check", "--config", site_dir / "gatekeeper.toml", "--text", "x", "--text", "GK1:AAA")
    assert r.exit_code == 0 and r.stdout.count("DENY") == 2


def test_check_usage_errors_exit_2(site_dir: Path, tmp_path: Path) -> None:
    cfg = site_dir / "gatekeeper.toml"
    png = tmp_path / "p.png"
    text = issue(site_dir, "--png", png)
    for args in (["--text", text, png], [], ["--text", text, "--at", "noon"]):
        r = run("check", "--config", cfg, *args, ok=None)
        assert r.exit_code == 2, (args, r.output)
    assert run("check", "--text", text, ok=None).exit_code == 2  # no --config
    # and through the installed console script, as a shell sees it
    proc = subprocess.run([str(Path(sys.executable).parent / "gatekeeper"), "check", "--config", str(cfg),
                           "--text", text, str(png)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "not both" in proc.stderr


def test_check_image_written_by_pass_issue(site_dir: Path, tmp_path: Path) -> None:
    decoders = pytest.importorskip("gatekeeper.scan.decoders", reason="decoder module not available yet")
    if not hasattr(decoders, "decode_file"):
        pytest.skip("gatekeeper.scan.decoders.decode_file not available yet")
    png, blank = tmp_path / "p.png", tmp_path / "blank.png"
    text = issue(site_dir, "--label", "B-2", "--png", png)
    import cv2
    import numpy as np
    cv2.imwrite(str(blank), np.full((200, 200), 255, np.uint8))
    for frames in ((), ("--frames", "1")):  # held for a second (the default), or a single frame
        rows = check_json(site_dir, *frames, png, blank)
        assert rows[0] == {**rows[0], "input": str(png), "text": text, "allow": True, "reason": "ok", "label": "B-2"}
        assert (rows[1]["input"], rows[1]["text"], rows[1]["reason"], rows[1]["allow"]) == (str(blank), None,
                                                                                            "no_code", False)
    r = run("check", "--config", site_dir / "gatekeeper.toml", "--frames", "0", png, ok=None)
    assert r.exit_code == 2 and "--frames" in r.output


def test_check_at_a_given_time(site_dir: Path) -> None:
    text = issue(site_dir, "--valid-from", "2031-01-01T00:00:00Z", "--valid-until", "2031-02-01T00:00:00Z")
    row, = check_json(site_dir, "--text", text, "--at", "2031-01-15T00:00:00Z")
    # the site's lists are from today: a clock years ahead is trusted, the list is stale by then
    assert row["reason"] == "list_stale" and row["clock_trusted"] is True and row["list_stale"] is True
    row, = check_json(site_dir, "--text", text, "--at", "2030-01-15T00:00:00")
    assert row["reason"] == "not_yet_valid"


# --- revocation end to end ------------------------------------------------------------------------
def test_revoke_apply_check_end_to_end(site_dir: Path) -> None:
    cfg = site_dir / "gatekeeper.toml"
    text = issue(site_dir, "--label", "C-3")
    other = issue(site_dir)
    assert check_json(site_dir, "--text", text)[0]["allow"]
    out = run("pass", "revoke", "--site", site_dir, text).stdout
    assert "revocations-v000002.full.gkl" in out and "revocations-v000002.delta-v000001.gkl" in out
    delta = site_dir / "lists" / "revocations-v000002.delta-v000001.gkl"
    out = run("lists", "apply", "--config", cfg, delta).stdout
    assert "applied revocations-delta version 2 (1 entries)" in out
    rows = check_json(site_dir, "--text", text, "--text", other)
    assert [(r["reason"], r["allow"]) for r in rows] == [("revoked", False), ("ok", True)]
    # by pass id, to red, from a later time; then reinstated
    pid = rows[1]["pass_id"]
    run("pass", "revoke", "--site", site_dir, "--pass-id", pid, "--state", "red", "--from", "2099-01-01")
    run("pass", "reinstate", "--site", site_dir, text)
    full = site_dir / "lists" / "revocations-v000004.full.gkl"
    run("lists", "apply", "--config", cfg, full)
    rows = check_json(site_dir, "--text", text, "--text", other)
    assert [r["reason"] for r in rows] == ["ok", "ok"]
    status = json.loads(run("lists", "status", "--config", cfg, "--json").stdout)
    assert (status["revocation_version"], status["revocation_entries"], status["stale"]) == (4, 1, False)
    assert status["trust_version"] == 1 and status["clock_trusted"] is True


def test_lists_apply_refusals_exit_nonzero_and_change_nothing(site_dir: Path, tmp_path: Path, dump_db) -> None:
    cfg, db = site_dir / "gatekeeper.toml", site_dir / "state" / "gatekeeper.db"
    text = issue(site_dir)
    run("pass", "revoke", "--site", site_dir, text)
    full = site_dir / "lists" / "revocations-v000002.full.gkl"
    tampered = tmp_path / "tampered.gkl"
    data = bytearray(full.read_bytes())
    data[len(data) // 2] ^= 0x40
    tampered.write_bytes(bytes(data))
    truncated = tmp_path / "truncated.gkl"
    truncated.write_bytes(full.read_bytes()[:-1])
    before = dump_db(db)
    for f, words in [(tampered, "bad signature"), (truncated, "not a list file"),
                     (site_dir / "lists" / "revocations-v000001.full.gkl", "already applied"),
                     (site_dir / "lists" / "trust-v000001.gkl", "already applied"),
                     (tmp_path / "missing.gkl", "missing.gkl")]:
        r = run("lists", "apply", "--config", cfg, f, ok=None)
        assert r.exit_code != 0 and words in r.stderr, (f, r.stderr)
        assert str(f.name) in r.stderr and r.stderr.count("\n") <= 2
        assert dump_db(db) == before
    assert check_json(site_dir, "--text", text)[0]["reason"] == "ok"


# --- broken configuration -------------------------------------------------------------------------
@pytest.mark.parametrize("mutate, words", [
    (lambda cfg: cfg.write_text("[device\n"), "not valid TOML"),
    (lambda cfg: cfg.write_text(cfg.read_text() + "\n[policy]\nstale_policy = \"maybe\"\n"),
     "key 'policy.stale_policy'"),
    (lambda cfg: cfg.write_text(cfg.read_text().replace("[display]", "[display]\ncolour = 1")),
     "unknown key 'display.colour'"),
    (lambda cfg: cfg.unlink(), "no such configuration file"),
    (lambda cfg: (cfg.parent / "keys" / "authority.pub").unlink(), "authority key missing (device.authority_key)"),
    (lambda cfg: (cfg.parent / "keys" / "authority.pub").write_text("junk"), "not a usable Ed25519 public key"),
])
def test_broken_config_is_named(site_dir: Path, mutate, words: str) -> None:
    cfg = site_dir / "gatekeeper.toml"
    mutate(cfg)
    for args in (["check", "--config", cfg, "--text", "x"], ["lists", "status", "--config", cfg]):
        r = run(*args, ok=None)
        assert r.exit_code == 1 and words in r.stderr and "Traceback" not in r.output, r.stderr


def test_a_newer_database_schema_is_a_clear_error(site_dir: Path) -> None:
    import sqlite3
    conn = sqlite3.connect(site_dir / "state" / "gatekeeper.db")
    conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    conn.commit()
    conn.close()
    r = run("check", "--config", site_dir / "gatekeeper.toml", "--text", "x", ok=None)
    assert r.exit_code == 1 and "schema 99 is newer than this release" in r.stderr
