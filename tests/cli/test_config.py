"""Configuration: the example documents every key with its default; errors name file and key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from gatekeeper.gate.config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "gatekeeper.example.toml"


def test_example_has_every_key_with_its_default_and_a_comment() -> None:
    raw = tomllib.loads(EXAMPLE.read_text())
    defaults = Settings().model_dump(mode="json", exclude={"base_dir"})
    assert set(raw) == set(defaults)
    lines = EXAMPLE.read_text().splitlines()
    for section, keys in defaults.items():
        assert set(raw[section]) == set(keys), section
        for key, value in keys.items():
            got = load_settings(EXAMPLE).model_dump(mode="json")[section][key]
            assert got == value, f"[{section}] {key}: example {got!r}, default {value!r}"
            n = next(i for i, line in enumerate(lines) if line.startswith(f"{key} ="))
            while n > 0 and "=" in lines[n - 1] and not lines[n - 1].startswith("#"):
                n -= 1  # keys documented together by one comment (width and height)
            assert lines[n - 1].startswith("#"), f"[{section}] {key} has no comment above it"
    doc = (ROOT / "docs" / "configuration.md").read_text()
    for section, keys in defaults.items():
        for key in keys:
            assert f"`{section}.{key}`" in doc, f"docs/configuration.md does not document {section}.{key}"


def test_an_empty_file_is_all_defaults(tmp_path: Path) -> None:
    cfg = tmp_path / "g.toml"
    cfg.write_text("")
    s = load_settings(cfg)
    assert s.policy.stale_policy == "deny" and s.policy.max_list_age == 86400 and s.gate.fail_mode == "secure"
    assert s.path(s.device.store) == tmp_path.resolve() / "state" / "gatekeeper.db"


@pytest.mark.parametrize("text, words", [
    ('[policy]\nmax_list_age = "3 weeks"', ["key 'policy.max_list_age'", "'24h'"]),
    ("[policy]\nmax_list_age = -1", ["key 'policy.max_list_age'", "greater than or equal to 0"]),
    ('[policy]\nstale_policy = "open"', ["key 'policy.stale_policy'", "'deny' or 'allow'"]),
    ('[device]\nscope = "Maple Court"', ["key 'device.scope'", "lower-case"]),
    ('[device]\ngate_id = "gate 1"', ["key 'device.gate_id'"]),
    ("[gate]\nrelay_pin = 40", ["key 'gate.relay_pin'", "27"]),
    ('[gate]\nopen_time = "5m"', ["key 'gate.open_time'", "bounded"]),
    ('[gate]\nbuzzer_pin = "off"', ["key 'gate.buzzer_pin'"]),
    ('[scan]\ndecoders = ["zbar"]', ["key 'scan.decoders.0'", "'zxing'"]),
    ("[policy]\nmax_age = 5", ["unknown key 'policy.max_age'", "max_list_age"]),
    ("[polcy]\nx = 1", ["unknown key 'polcy'", "policy"]),
    ('base_dir = "/"', ["'base_dir' is not a setting"]),
    ("[policy\n", ["not valid TOML"]),
])
def test_errors_name_the_file_and_the_key(tmp_path: Path, text: str, words: list[str]) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_settings(cfg)
    msg = str(e.value)
    assert str(cfg) in msg
    for w in words:
        assert w in msg, msg


def test_optional_parts_can_be_switched_off(tmp_path: Path) -> None:
    cfg = tmp_path / "g.toml"
    cfg.write_text('[gate]\nbuzzer_pin = "none"\nbutton_pin = false\nred_led_pin = 0\n')
    g = load_settings(cfg).gate
    assert (g.buzzer_pin, g.button_pin, g.red_led_pin, g.green_led_pin) == (None, None, 0, 22)


def test_unreadable_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_settings(tmp_path / "none.toml")
    cfg = tmp_path / "bin.toml"
    cfg.write_bytes(b"\xff\xfe[")
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(cfg)
