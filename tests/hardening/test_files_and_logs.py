"""Files and logs (issue 15 item 7): the store is private, the journal keeps no label, a deeply nested
TOML file is a ConfigError naming it, and the display off loopback needs a token."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from gatekeeper.admin.site import Site, SiteError
from gatekeeper.gate.config import ConfigError, load_settings
from gatekeeper.gate.daemon import journal_line
from gatekeeper.gate.store import Store
from gatekeeper.hw.display import DisplayServer
from tests.kit.gate import GATEKEEPER, GateSite, write_frames

NESTED = "x = " + "[" * 5000 + "]" * 5000 + "\n"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_store_and_its_wal_are_private_whatever_the_umask(tmp_path: Path, site_dir: Path) -> None:
    old = os.umask(0o022)
    try:
        made = subprocess.run([*GATEKEEPER, "site", "init", str(tmp_path / "s")], capture_output=True, text=True)
        assert made.returncode == 0, made.stderr
        with Store(tmp_path / "state" / "gatekeeper.db", Site.open(site_dir).authority_public) as store:
            store.set_state("probe", 1)
            wal = tmp_path / "state" / "gatekeeper.db-wal"
            assert wal.exists() and mode(wal) == 0o600
    finally:
        os.umask(old)
    assert mode(tmp_path / "s" / "state" / "gatekeeper.db") == 0o600  # site init's state/
    assert mode(tmp_path / "state" / "gatekeeper.db") == 0o600


def test_the_journal_line_has_a_short_pass_id_and_no_label() -> None:
    pid = "0123456789abcdef0123456789abcdef"
    line = journal_line({"event": "decision", "seq": 7, "allow": True, "reason": "ok", "pass_id": pid,
                         "label": "3-201", "latency_ms": 4.2})
    assert line == "event=decision seq=7 allow=True reason=ok pass_id=01234567 latency_ms=4.2"
    assert journal_line({"event": "manual", "seq": None, "allow": True, "reason": "manual"}) == \
        "event=manual seq=None allow=True reason=manual"


def test_the_daemons_journal_keeps_labels_out(tmp_path: Path) -> None:
    site = GateSite(tmp_path / "site")
    text = site.issue(label="A-101")
    frames = tmp_path / "frames"
    write_frames(frames, [(None, 3), (text, 6), (None, 10)])
    proc = subprocess.run([*GATEKEEPER, "run", "--config", str(site.config), "--source", f"images:{frames}",
                           "--exit-when-done"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    decision = next(line for line in proc.stderr.splitlines() if "event=decision" in line)
    assert "reason=ok" in decision
    assert "A-101" not in proc.stderr
    from gatekeeper.verify import parse
    full = parse(text).claims.pass_id.hex()
    assert f"pass_id={full[:8]} " in decision and full not in proc.stderr


def test_a_deeply_nested_config_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "gatekeeper.toml"
    path.write_text(NESTED)
    with pytest.raises(ConfigError, match=re.escape(f"{path}: ") + ".*nested too deeply"):
        load_settings(path)


def test_a_deeply_nested_site_file_is_a_site_error_naming_it(tmp_path: Path, site_dir: Path) -> None:
    broken = tmp_path / "site"
    broken.mkdir()
    (broken / "site.toml").write_text(NESTED)
    with pytest.raises(SiteError, match=re.escape(f"{broken / 'site.toml'}: broken site file")):
        Site.open(broken)


def test_a_network_display_without_a_token_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "gatekeeper.toml"
    path.write_text('[display]\nbind = "0.0.0.0"\n')
    with pytest.raises(ConfigError, match=r"display\.token"):
        load_settings(path)
    path.write_text('[display]\nbind = "0.0.0.0"\ntoken = "s3cret-token"\n')
    assert load_settings(path).display.token == "s3cret-token"
    path.write_text('[display]\nbind = "::1"\n')  # loopback needs none
    assert load_settings(path).display.token == ""
    with pytest.raises(ValueError, match="token"):
        DisplayServer("0.0.0.0", 0)


def test_with_a_token_every_route_needs_it() -> None:
    server = DisplayServer("127.0.0.1", 0, token="s3cret-token", metrics=lambda: "m 1\n")
    server.start()
    try:
        server.publish({"allow": True, "reason": "ok", "pass_id": "p-secret", "label": "L-secret"})
        for route in ("/", "/status", "/metrics", "/events"):
            refused = httpx.get(server.url + route)
            assert refused.status_code == 401 and "display.token" in refused.text
            assert "p-secret" not in refused.text and "L-secret" not in refused.text
            assert httpx.get(server.url + route + "?token=wrong").status_code == 401
        assert "L-secret" in httpx.get(server.url + "/?token=s3cret-token").text
        assert httpx.get(server.url + "/status", headers={"Authorization": "Bearer s3cret-token"}) \
            .json()["last_result"]["label"] == "L-secret"
        assert httpx.get(server.url + "/metrics?token=s3cret-token").text == "m 1\n"
        with httpx.stream("GET", server.url + "/events?token=s3cret-token") as events:
            assert events.status_code == 200
    finally:
        server.stop()
