"""``gatekeeper check``: decide texts or images exactly as the gate would."""

from __future__ import annotations

from pathlib import Path

import click

from gatekeeper.cli import main
from gatekeeper.cli.common import emit_json, iso, parse_time
from gatekeeper.cli.lists import CONFIG_OPTION, open_checkpoint
from gatekeeper.verify import Decision


def _line(input_: str, text: str | None, d: Decision, error: str | None = None) -> dict:
    out = {"input": input_, "text": text, **d.to_json()}
    out["at"] = iso(d.at)
    if error:
        out["error"] = error
    return out


def _human(row: dict) -> str:
    verdict = "ALLOW" if row["allow"] else "DENY "
    what = f" pass {row['pass_id']}" if row.get("pass_id") else ""
    label = f" [{row['label']}]" if row.get("label") else ""
    err = f" ({row['error']})" if row.get("error") else ""
    err += f"\n      hint: {row['hint']}" if row.get("hint") else ""
    shown = row["input"] if len(row["input"]) <= 40 else row["input"][:37] + "..."
    return f"{verdict} {row['reason']:15} {shown}{what}{label}{err}"


#: A pass typed on a command line that does not parse was most often changed by the shell: base45
#: has '$', '%', '*' and spaces, and inside double quotes "$96" expands to nothing.
MANGLED_HINT = ("if the text was pasted into a shell, quote it with single quotes ('GK1:...'), or give "
                "--text - and paste it on standard input")


def _texts(given: tuple[str, ...]) -> list[tuple[str, bool]]:
    """The --text values with each '-' replaced by the lines of standard input (only the line end is
    taken off: a space is a base45 character); True for a text typed on the command line."""
    out: list[tuple[str, bool]] = []
    for t in given:
        if t != "-":
            out.append((t, True))
            continue
        out += [(line, False) for line in (raw.rstrip("\r\n") for raw in click.get_text_stream("stdin"))
                if line.strip()]
    return out


@main.command("check")
@CONFIG_OPTION
@click.option("--at", "at", help="Decide as if the wall clock read this ISO 8601 time.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per decision.")
@click.option("--text", "texts", multiple=True,
              help="A pass text to decide (repeatable); '-' reads texts from standard input, one a line: no "
                   "shell quoting to get wrong.")
@click.option("--frames", type=click.IntRange(min=1), default=None,
              help="Hold each IMAGE before the camera for this many frames, as a resident holds a pass: the "
                   "gate's looks take their turns across frames. Default 30 (a second at 30 frames/s); 1: one frame.")
@click.argument("images", nargs=-1, type=click.Path(path_type=Path))
def check(config_path: Path, at: str | None, as_json: bool, texts: tuple[str, ...], frames: int | None,
          images: tuple[Path, ...]) -> None:
    """Decide each pass text (--text) or each code found in each IMAGE, as the gate would.

    Exit status 0 when every input was processed, whether allowed or denied.
    """
    if bool(texts) == bool(images):
        raise click.UsageError("give pass texts with --text, or image files, not both and not neither")
    wall = parse_time(at, "--at") if at else None
    cp = open_checkpoint(config_path)
    rows: list[dict] = []
    failed = False
    try:
        for t, typed in _texts(texts):
            row = _line(t, t, cp.decide(t, wall))
            if typed and row["reason"] == "bad_format":
                row["hint"] = MANGLED_HINT
            rows.append(row)
        if images:
            # The decoder stack loads only for images. The chain is the one the gate runs (its
            # configured decoders), on frames the size of the image; each image is a scene of its
            # own, so no rescue resumes from the image before.
            from gatekeeper.scan import HELD_FRAMES, build_decoder, decode_file
            for img in images:
                try:
                    codes = decode_file(img, build_decoder(list(cp.settings.scan.decoders)),
                                        frames or HELD_FRAMES)
                except (OSError, ValueError) as e:
                    failed = True
                    rows.append(_line(str(img), None, cp.decide(None, wall), error=str(e)))
                    continue
                if not codes:
                    rows.append(_line(str(img), None, cp.decide(None, wall)))
                for code in codes:
                    text = code.payload.decode("utf-8", errors="replace")
                    rows.append(_line(str(img), text, cp.decide(code.payload, wall)))
    finally:
        cp.close()
    for row in rows:
        if as_json:
            emit_json(row)
        else:
            click.echo(_human(row))
    if failed:
        raise SystemExit(1)
