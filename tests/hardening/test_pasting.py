"""Pasting a pass into a shell (issue 15 item 13): ``check --text -`` reads texts from standard input,
one a line; a pass mangled by double quotes says how to quote it."""

from __future__ import annotations

import json
import shlex
import subprocess
from itertools import pairwise
from pathlib import Path

from gatekeeper.verify import parse
from tests.kit.gate import GATEKEEPER, GateSite


def with_dollar(site: GateSite) -> str:
    """A pass whose text has a '$' followed by a digit, which double quotes in a shell expand."""
    while True:
        text = site.issue(label="A-101")
        if any(a == "$" and b.isdigit() for a, b in pairwise(text)):
            return text


def sh(command: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], input=stdin, capture_output=True, text=True, timeout=60)


def test_double_quotes_break_a_pass_and_the_message_says_how_to_quote(tmp_path: Path) -> None:
    site = GateSite(tmp_path / "site")
    text = with_dollar(site)
    gk = " ".join(shlex.quote(a) for a in GATEKEEPER)
    mangled = sh(f'{gk} check --config {site.config} --text "{text}"')
    assert mangled.returncode == 0 and "bad_format" in mangled.stdout
    assert "quote it with single quotes" in mangled.stdout and "--text -" in mangled.stdout
    quoted = sh(f"{gk} check --config {site.config} --text '{text}'")
    assert quoted.stdout.startswith("ALLOW ok"), quoted.stdout


def test_text_dash_reads_one_pass_a_line_from_standard_input(tmp_path: Path) -> None:
    site = GateSite(tmp_path / "site")
    texts = [with_dollar(site), site.issue(label="B-2")]
    site.revoke(texts[1])
    gk = " ".join(shlex.quote(a) for a in GATEKEEPER)
    out = sh(f"{gk} check --config {site.config} --text - --json", stdin="\n".join(texts) + "\r\n\n")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["text"], r["reason"]) for r in rows] == [(texts[0], "ok"), (texts[1], "revoked")]
    assert all("hint" not in r for r in rows)


def test_pass_revoke_reads_the_text_from_standard_input(tmp_path: Path) -> None:
    site = GateSite(tmp_path / "site")
    text = with_dollar(site)
    gk = " ".join(shlex.quote(a) for a in GATEKEEPER)
    out = sh(f"{gk} pass revoke --site {site.root} -", stdin=text + "\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"revoked {parse(text).claims.pass_id.hex()} from ")


def gk(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([*GATEKEEPER, *map(str, args)], capture_output=True, text=True, timeout=60)


def test_revoke_by_label_through_the_registry(tmp_path: Path) -> None:
    """No pass text to paste at all: ``pass revoke --label`` finds the one active pass in the site's ledger."""
    site_dir = tmp_path / "site"
    assert gk("site", "init", site_dir, "--scope", "maple-court").returncode == 0
    kept = gk("pass", "issue", "--site", site_dir, "--label", "A-101").stdout.strip()
    gone = gk("pass", "issue", "--site", site_dir, "--label", "B-202").stdout.strip()
    revoked = gk("pass", "revoke", "--site", site_dir, "--label", "B-202")
    assert revoked.returncode == 0, revoked.stderr
    assert parse(gone).claims.pass_id.hex() in revoked.stdout
    listed = {row["label"]: row["state"] for row in map(json.loads, gk("pass", "list", "--site", site_dir,
                                                                        "--json").stdout.splitlines())}
    assert listed == {"A-101": "active", "B-202": "revoked"} and kept
    # a label no active pass has, and a label two passes share, are refused by name, and change nothing
    assert "no active pass" in gk("pass", "revoke", "--site", site_dir, "--label", "B-202").stderr
    gk("pass", "issue", "--site", site_dir, "--label", "A-101")
    twice = gk("pass", "revoke", "--site", site_dir, "--label", "A-101")
    assert twice.returncode == 2 and "2 active passes" in twice.stderr and "--pass-id" in twice.stderr
    after = [json.loads(line)["state"] for line in gk("pass", "list", "--site", site_dir, "--json").stdout.splitlines()]
    assert after.count("active") == 2
