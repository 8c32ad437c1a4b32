"""``gatekeeper pass print``: the sheet renders, and every QR read back off the page is an allowed pass.

The PDF is rasterised by poppler's pdftoppm at 150 dpi (a plain office scan), the QR codes are
decoded from the page images with zxing-cpp, the gate's decoder, and each text goes through the
decision core with the site's own lists, as a gate would decide it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
import zxingcpp
from click.testing import CliRunner, Result

from gatekeeper.admin.site import Site
from gatekeeper.cli import main
from gatekeeper.gate.store import Store
from gatekeeper.verify import Clock, Policy, Reason, decide, parse

pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None,
                                reason="pdftoppm not installed (apt-get install poppler-utils, or ./dev)")


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def decode_pdf(pdf: Path, tmp: Path) -> list[str]:
    """Every QR text on every page of ``pdf`` rendered at 150 dpi."""
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdf), str(tmp / "page")], check=True)
    pages = sorted(tmp.glob("page-*.png"))
    assert pages, "pdftoppm rendered no pages"
    texts = []
    for page in pages:
        img = cv2.imread(str(page), cv2.IMREAD_GRAYSCALE)
        texts += [b.text for b in zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode,
                                                         text_mode=zxingcpp.TextMode.Plain)]
    return texts


def issued_ids(stdout: str) -> dict[str, str]:
    """The ``id  label`` lines the command prints, as {pass id: label}."""
    return dict(line.split("  ", 1) for line in stdout.splitlines())


def assert_allowed(texts: list[str], site: Site, store: Store) -> None:
    policy = Policy(site.scope)
    for text in texts:
        d = decide(text, store.trust_list(), policy, Clock(time.time(), store.time_floor), store.lookup,
                   store.list_status().revocation_checked_at)
        assert d.allow and d.reason is Reason.OK, (d.reason, text)


def test_sheet_of_new_passes_decodes_back_to_the_issued_passes(tmp_path: Path, site: Site, store: Store) -> None:
    labels_file = tmp_path / "labels.txt"
    labels_file.write_text("# block B\nB-0101\n\nB-0102\nB-0103\nB-0201\nB-0202\nB-0203\nB-0301\n")
    out = tmp_path / "sheet.pdf"
    r = run("pass", "print", "--site", site.root, "--out", out, "--label", "A-1204", "--labels-file", labels_file,
            "--valid-until", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 7 * 86400)))
    assert r.exit_code == 0, r.output
    printed = issued_ids(r.stdout)
    assert sorted(printed.values()) == ["A-1204", "B-0101", "B-0102", "B-0103", "B-0201", "B-0202", "B-0203",
                                        "B-0301"]
    assert out.read_bytes().startswith(b"%PDF")

    rendered = tmp_path / "png"
    rendered.mkdir()
    texts = decode_pdf(out, rendered)
    assert len(texts) == len(set(texts)) == 8
    assert_allowed(texts, site, store)
    decoded = {parse(t).claims.pass_id.hex(): parse(t).claims.label for t in texts}
    assert decoded == printed


def test_count_spreads_over_pages(tmp_path: Path, site: Site, store: Store) -> None:
    out = tmp_path / "sheet.pdf"
    r = run("pass", "print", "--site", site.root, "--out", out, "--count", "10")
    assert r.exit_code == 0, r.output
    printed = issued_ids(r.stdout)
    assert len(printed) == 10 and set(printed.values()) == {"-"}
    assert "on 2 A4 pages" in r.output
    rendered = tmp_path / "png"
    rendered.mkdir()
    texts = decode_pdf(out, rendered)
    assert len(list(rendered.glob("page-*.png"))) == 2
    assert_allowed(texts, site, store)
    assert {parse(t).claims.pass_id.hex() for t in texts} == set(printed)


def test_reprint_of_issued_texts(tmp_path: Path, site: Site, store: Store) -> None:
    now = int(time.time())
    issued = [site.issue_pass(now - 60, now + 86400, label=f"C-{i}")[0] for i in range(3)]
    out = tmp_path / "again.pdf"
    args = ["pass", "print", "--site", site.root, "--out", out]
    for t in issued:
        args += ["--text", t]
    r = run(*args)
    assert r.exit_code == 0, r.output
    rendered = tmp_path / "png"
    rendered.mkdir()
    texts = decode_pdf(out, rendered)
    assert sorted(texts) == sorted(issued)
    assert_allowed(texts, site, store)


def tamper(text: str) -> str:
    """Change one base45 character near the end, inside the signature."""
    i = len(text) - 5
    return text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1:]


@pytest.mark.parametrize("bad, says", [
    ("tampered", "signature does not match"),
    ("GK1:HELLO", "is not a pass"),
    ("not a pass at all", "is not a pass"),
])
def test_bad_text_is_refused_and_nothing_written(tmp_path: Path, site: Site, bad: str, says: str) -> None:
    now = int(time.time())
    good = site.issue_pass(now - 60, now + 86400, label="D-1")[0]
    text = tamper(good) if bad == "tampered" else bad
    out = tmp_path / "sheet.pdf"
    r = run("pass", "print", "--site", site.root, "--out", out, "--text", good, "--text", text)
    assert r.exit_code != 0
    assert "--text #2" in r.output and says in r.output, r.output
    assert not out.exists()


def test_pass_from_another_site_is_refused(tmp_path: Path, site: Site) -> None:
    other = Site.init(tmp_path / "other", scope="oak-gardens")
    now = int(time.time())
    foreign = other.issue_pass(now - 60, now + 86400)[0]
    r = run("pass", "print", "--site", site.root, "--out", tmp_path / "x.pdf", "--text", foreign)
    assert r.exit_code != 0 and "not in site" in r.output, r.output


def test_text_does_not_mix_with_issuing_options(tmp_path: Path, site: Site) -> None:
    now = int(time.time())
    good = site.issue_pass(now - 60, now + 86400)[0]
    r = CliRunner().invoke(main, ["pass", "print", "--site", str(site.root), "--out", str(tmp_path / "x.pdf"),
                                  "--text", good, "--count", "2"])
    assert r.exit_code == 2 and "--count" in r.output


def test_bad_label_is_a_usage_error(tmp_path: Path, site: Site) -> None:
    r = CliRunner().invoke(main, ["pass", "print", "--site", str(site.root), "--out", str(tmp_path / "x.pdf"),
                                  "--label", "x" * 40])
    assert r.exit_code == 2 and "label" in r.output
    assert not (tmp_path / "x.pdf").exists()


def test_missing_fpdf2_says_what_to_install(tmp_path: Path, site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fpdf", None)  # import fpdf now fails as if it were not installed
    monkeypatch.delitem(sys.modules, "gatekeeper.admin.passsheet", raising=False)
    r = CliRunner().invoke(main, ["pass", "print", "--site", str(site.root), "--out", str(tmp_path / "x.pdf")])
    assert r.exit_code == 1 and "gatekeeper[print]" in r.output, r.output
