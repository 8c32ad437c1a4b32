"""A site time zone (issue 15 item 12): dates typed at the CLI and times printed are the site's local
time; JSON keeps ISO 8601 with its offset; a window that is empty or over is issued with a warning."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatekeeper.admin.site import Site, SiteError
from gatekeeper.isotime import local_iso, machine_zone, parse_local, show_local, zone_named
from gatekeeper.verify import parse
from tests.kit.provision import gk

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def beijing_site(tmp_path: Path) -> Site:
    gk("site", "init", tmp_path / "site", "--scope", "maple-court", "--timezone", "Asia/Shanghai")
    return Site.open(tmp_path / "site")


def test_valid_until_a_date_runs_through_that_local_day(beijing_site: Site) -> None:
    text = gk("pass", "issue", "--site", beijing_site.root, "--valid-from", "2026-12-01",
              "--valid-until", "2026-12-31").stdout.strip()
    claims = parse(text).claims
    assert local_iso(claims.valid_until, SHANGHAI) == "2026-12-31T23:59:59+08:00"
    assert local_iso(claims.valid_from, SHANGHAI) == "2026-12-01T00:00:00+08:00"
    assert claims.valid_until == datetime.fromisoformat("2026-12-31T15:59:59+00:00").timestamp()


def test_a_local_time_is_in_the_site_zone_and_an_offset_is_kept(beijing_site: Site) -> None:
    text = gk("pass", "issue", "--site", beijing_site.root, "--valid-from", "2026-12-01T08:00",
              "--valid-until", "2026-12-01T20:00:00Z").stdout.strip()
    claims = parse(text).claims
    assert local_iso(claims.valid_from, SHANGHAI) == "2026-12-01T08:00:00+08:00"
    assert local_iso(claims.valid_until, SHANGHAI) == "2026-12-02T04:00:00+08:00"


def test_a_past_window_is_issued_with_a_warning_and_an_empty_one_refused(beijing_site: Site) -> None:
    empty = gk("pass", "issue", "--site", beijing_site.root, "--valid-from", "2027-01-02",
               "--valid-until", "2027-01-01", code=2)
    assert "the window is empty: --valid-until 2027-01-01T23:59:59+08:00 is before" in empty.stderr
    past = gk("pass", "issue", "--site", beijing_site.root, "--valid-from", "2020-01-01", "--valid-until", "2020-01-31")
    assert "warning: the window is already over (it ended 2020-01-31T23:59:59+08:00)" in past.stderr
    assert parse(past.stdout.strip()).claims.valid_until < time.time()
    fine = gk("pass", "issue", "--site", beijing_site.root)
    assert "warning" not in fine.stderr


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext not installed (poppler-utils, ./dev)")
def test_the_sheet_prints_the_window_in_the_site_zone(beijing_site: Site, tmp_path: Path) -> None:
    out = tmp_path / "sheet.pdf"
    gk("pass", "print", "--site", beijing_site.root, "--out", out, "--label", "3-201",
       "--valid-from", "2026-12-01", "--valid-until", "2026-12-31")
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "2026-12-01 00:00 UTC+08:00" in text and "2026-12-31 23:59 UTC+08:00" in text


def test_the_site_zone_is_kept_in_site_toml_and_checked(tmp_path: Path, beijing_site: Site) -> None:
    assert 'timezone = "Asia/Shanghai"' in (beijing_site.root / "site.toml").read_text()
    assert 'timezone = "Asia/Shanghai"' in (beijing_site.root / "gatekeeper.toml").read_text()  # the display's
    bad = gk("site", "init", tmp_path / "bad", "--timezone", "Mars/Olympus", code=1)
    assert "Mars/Olympus" in bad.stderr and not (tmp_path / "bad" / "keys").exists()
    meta = beijing_site.root / "site.toml"
    meta.write_text(meta.read_text().replace("Asia/Shanghai", "Nowhere/City"))
    with pytest.raises(SiteError, match=r"site\.toml: broken site file: 'Nowhere/City' is not a time zone"):
        Site.open(beijing_site.root)


def test_the_machine_zone_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    assert machine_zone() == "Asia/Shanghai"
    monkeypatch.setenv("TZ", "not-a-zone")
    link = tmp_path / "localtime"
    link.symlink_to("/usr/share/zoneinfo/Europe/Berlin")
    assert machine_zone(link, tmp_path / "none") == "Europe/Berlin"
    assert machine_zone(tmp_path / "none", tmp_path / "none") == "UTC"
    monkeypatch.setenv("TZ", "America/St_Johns")
    assert Site.init(tmp_path / "s").timezone == "America/St_Johns"


@given(st.datetimes(min_value=datetime(1971, 1, 2), max_value=datetime(2100, 1, 1)),
       st.sampled_from(["Asia/Shanghai", "America/St_Johns", "Europe/Berlin", "UTC"]))
def test_local_iso_parses_back_to_the_same_instant(when: datetime, name: str) -> None:
    zone = zone_named(name)
    ts = float(int(when.replace(tzinfo=zone).timestamp()))
    assert parse_local(local_iso(ts, zone), SHANGHAI) == ts
    assert show_local(ts, zone).startswith(datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M UTC"))


def test_the_default_window_is_now_and_30_days(beijing_site: Site) -> None:
    start = time.time()
    text = gk("pass", "issue", "--site", beijing_site.root).stdout.strip()
    claims = parse(text).claims
    assert abs(claims.valid_from - start) < 60 and claims.valid_until - claims.valid_from == 30 * 86400
