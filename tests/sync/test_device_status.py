"""What the volunteer sees of sync: a full disk is an alarm (not a crash), parked rows and list
updates on the status page; the daemon's backlog is the uploader's."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatekeeper.gate import Updater, Uploader, uploader
from gatekeeper.gate.uploader import unacknowledged
from gatekeeper.hub.store import HubStore
from gatekeeper.hw.display import DisplayServer
from tests.kit.hub import enrolled_device, fill_log, log_row

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A real 2 MB file system (tmpfs) to fill up; needs root and mount."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                                           capture_output=True, check=False).returncode != 0:
        pytest.skip("needs root and 'mount -t tmpfs' to make a small disk to fill")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill_disk(where: Path) -> Path:
    """Write a file until the file system refuses: the disk is full."""
    filler = where / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as e:
        assert e.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def test_full_disk_is_an_alarm_and_the_backlog_drains_after(hub, site, small_disk, monkeypatch):
    monkeypatch.setattr(uploader, "MIN_FREE_BYTES", 64 * 1024)  # the real 64 MB would alarm on 2 MB at once
    dev = enrolled_device(small_disk, site, hub)
    with dev.store() as s:
        fill_log(s, 300)
    up = Uploader(*dev.sync_args())
    assert up.store.last_seq() == 300  # the uploader's store is open, as in a running daemon
    filler = fill_disk(small_disk)
    results = [up.run_once() for _ in range(3)]  # no exception: the part keeps running
    assert {r.outcome for r in results} == {"error"}
    st = up.status()["upload"]
    assert st["disk_alarm"].startswith("disk full") and "unacknowledged rows are kept" in st["disk_alarm"]
    assert "full" in st["last_error"]
    filler.unlink()
    for _ in range(5):
        r = up.run_once()
        if r.outcome == "sent" and r.backlog == 0:
            break
    assert r.acked == 300 and up.status()["upload"]["disk_alarm"] is None
    store = HubStore.open(hub.db_url)
    assert store.count_rows() == 300  # every row once, whatever reached the hub while the disk was full
    store.close()
    assert unacknowledged(up.store) == 0
    up.close()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)")
def test_status_page_shows_parked_rows_and_list_updates(hub, site, tmp_path, sqlite_url):
    dev = enrolled_device(tmp_path, site, hub)
    with dev.store() as s:
        s.log(log_row(label="x" * 300, validate=False))  # the hub refuses it: parked
    up, lists = Uploader(*dev.sync_args()), Updater(*dev.sync_args())
    assert up.run_once().outcome == "quarantined"
    lists.poll_once()
    page = DisplayServer(port=0, status=lambda: {**up.status(), **lists.status()})
    page.start()
    try:
        footer = rendered_footer(page.url + "/", tmp_path)
        assert "Quarantine: 1 row(s) parked: hub said 422" in footer and "label" in footer
        up.run_once()  # declares the parked range to the hub; the quarantine stays on the device
        up.store.conn.execute("DELETE FROM quarantine")  # an admin cleared it after reading the rows
        up.run_once()
        assert "Lists updated:" in rendered_footer(page.url + "/", tmp_path)
    finally:
        page.stop()
        up.close()
        lists.close()


def rendered_footer(url: str, tmp_path: Path) -> str:
    """The page's footer text after its script ran, from headless Chromium's DOM."""
    profile = tmp_path / f"profile-{uuid.uuid4().hex[:6]}"
    dom = subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          "--disable-background-networking", "--disable-component-update", "--disable-sync",
                          f"--user-data-dir={profile}", "--dump-dom", url],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return dom[dom.index("<footer>"):dom.index("</footer>")]


def test_daemon_backlog_is_the_uploaders(hub, site, tmp_path):
    dev = enrolled_device(tmp_path, site, hub, batch_max_rows=4)
    with dev.store() as s:
        fill_log(s, 10)
        assert unacknowledged(s) == 10
    up = Uploader(*dev.sync_args())
    assert up.run_once().backlog == 6
    with dev.store() as s:
        assert unacknowledged(s) == 6 == json.loads(json.dumps(up.status()))["upload"]["backlog"]
    up.close()
