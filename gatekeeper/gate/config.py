"""Device configuration: a TOML file loaded into typed settings and validated at start.

Every key is documented in ``config/gatekeeper.example.toml``. A wrong key or value is a
:class:`ConfigError` that names the file, the key and what is allowed. Relative paths are
relative to the directory of the configuration file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from gatekeeper.hw import is_loopback
from gatekeeper.isotime import parse_duration, zone_named
from gatekeeper.verify import validate_scope

Duration = Annotated[float, BeforeValidator(lambda v: parse_duration(v) if isinstance(v, str) else v), Field(ge=0)]
Pin = Annotated[int, Field(ge=0, le=27)]
# TOML has no null: an optional part (LED, buzzer, button) is switched off with "none" or false.
OptionalPin = Annotated[Pin | None, BeforeValidator(lambda v: None if v is False or v == "none" else v)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceSettings(_Section):
    gate_id: str = Field(default="gate-1", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    scope: str = "demo"
    store: Path = Path("state/gatekeeper.db")
    authority_key: Path = Path("keys/authority.pub")
    device_key: Path = Path("keys/device.key")

    @field_validator("scope")
    @classmethod
    def _scope(cls, v: str) -> str:
        return validate_scope(v)


class PolicySettings(_Section):
    # Two freshness limits (docs/revocation-format.md, "Freshness"): flagged past the first, refused
    # past the second when stale_policy is "deny".
    max_list_age: Duration = 24 * 3600.0
    list_fail_age: Duration = 7 * 24 * 3600.0
    stale_policy: Literal["deny", "allow"] = "deny"
    clock_policy: Literal["deny", "allow"] = "deny"


class CameraSettings(_Section):
    source: str = "synthetic"
    width: int = Field(default=640, ge=64, le=4096)
    height: int = Field(default=480, ge=48, le=3072)
    fps: float = Field(default=30.0, gt=0, le=120)
    autofocus: Literal["continuous", "manual", "none"] = "continuous"
    lens_position: float = Field(default=0.0, ge=0, le=32)
    max_exposure_us: int = Field(default=10000, ge=100, le=1_000_000)
    reopen_after: Duration = 3.0


class ScanSettings(_Section):
    # zbar in the rescues reads 7-8 more real photos at no cost on an empty frame (docs/PERFORMANCE.md).
    decoders: list[Literal["zxing", "pyzbar", "opencv"]] = ["zxing", "pyzbar"]
    cooldown: Duration = 3.0
    gap: Duration = 1.0


class GateSettings(_Section):
    pin_factory: Literal["default", "mock"] = "default"
    relay_pin: Pin = 17
    relay_active_high: bool = True
    fail_mode: Literal["secure", "safe"] = "secure"
    open_time: Duration = 3.0
    green_led_pin: OptionalPin = 22
    red_led_pin: OptionalPin = 27
    buzzer_pin: OptionalPin = 23
    button_pin: OptionalPin = 24

    @field_validator("open_time")
    @classmethod
    def _bounded(cls, v: float) -> float:
        if not 0.2 <= v <= 30:
            raise ValueError("open_time must be between 0.2 s and 30 s: a pulse is always bounded")
        return v


class DisplaySettings(_Section):
    enabled: bool = True
    bind: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    token: str = ""
    timezone: str = ""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        if v:
            zone_named(v)
        return v

    @model_validator(mode="after")
    def _token_off_loopback(self) -> DisplaySettings:
        # The page shows the last pass id and label: not to the network without a token.
        if self.enabled and not self.token and not is_loopback(self.bind):
            raise ValueError(f"display.bind = {self.bind!r} reaches the network: set display.token (a long random "
                             "string; the page then needs ?token=...) or bind to 127.0.0.1")
        return self


class SyncSettings(_Section):
    hub_url: str = ""
    upload_interval: Duration = 5.0
    poll_interval: Duration = 300.0
    batch_max_rows: int = Field(default=1000, ge=1, le=100_000)
    batch_max_bytes: int = Field(default=512 * 1024, ge=1024, le=16 * 1024 * 1024)
    backoff_cap: Duration = 300.0
    retention: Duration = 30 * 86400.0
    timeout: Duration = 10.0


class Settings(_Section):
    """The whole validated configuration; ``base_dir`` resolves relative paths."""

    device: DeviceSettings = DeviceSettings()
    policy: PolicySettings = PolicySettings()
    camera: CameraSettings = CameraSettings()
    scan: ScanSettings = ScanSettings()
    gate: GateSettings = GateSettings()
    display: DisplaySettings = DisplaySettings()
    sync: SyncSettings = SyncSettings()
    base_dir: Path = Path(".")

    def path(self, p: Path) -> Path:
        """``p`` resolved against the configuration file's directory."""
        return p if p.is_absolute() else (self.base_dir / p)


class ConfigError(Exception):
    """A configuration that cannot be used. The message names the file, the key and the fix."""


def load_settings(path: str | Path) -> Settings:
    """Read and validate a configuration file; :class:`ConfigError` on any problem."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    except RecursionError:  # tomllib recurses once per nesting level of arrays and inline tables
        raise ConfigError(f"{path}: not a configuration: arrays or tables nested too deeply") from None
    if "base_dir" in raw:
        raise ConfigError(f"{path}: key 'base_dir' is not a setting (paths are relative to the file)")
    try:
        return Settings.model_validate({**raw, "base_dir": path.resolve().parent})
    except ValidationError as e:
        raise ConfigError(_explain(path, e)) from None


def _explain(path: Path, err: ValidationError) -> str:
    lines = []
    for item in err.errors():
        key = ".".join(str(p) for p in item["loc"])
        if item["type"] == "extra_forbidden":
            section = str(item["loc"][0]) if len(item["loc"]) > 1 else None
            model = Settings.model_fields.get(section).annotation if section else Settings
            known = ", ".join(k for k in getattr(model, "model_fields", {}) if k != "base_dir")
            lines.append(f"{path}: unknown key '{key}' (allowed here: {known})")
        else:
            msg = item["msg"].removeprefix("Value error, ")
            lines.append(f"{path}: key '{key}': {msg} (got {item.get('input')!r})")
    return "\n".join(lines)
