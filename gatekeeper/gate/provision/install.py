"""Installing a device: everything is built in a staging directory inside the target, checked (the
lists verify, the configuration loads), and only then moved into place, the configuration last. A
failure leaves the directory as it was. An already provisioned directory is refused unless
``force``; then its files are moved aside, never deleted.

Layout written (relative to the directory; see docs/provisioning.md)::

    gatekeeper.toml       the device configuration (0644)
    keys/device.key       the device's Ed25519 private key (0600)
    keys/authority.pub    the site authority's public key (0644)
    state/gatekeeper.db   the store with the trust and revocation lists applied
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from gatekeeper.atomicfile import write_atomic, write_toml
from gatekeeper.gate.config import ConfigError, Settings, load_settings
from gatekeeper.gate.selftest import Check, run_selftest
from gatekeeper.gate.store import Store
from gatekeeper.gate.uploader import unacknowledged
from gatekeeper.isotime import iso
from gatekeeper.keyfile import read_public_key
from gatekeeper.verify import ListError
from gatekeeper.wire import DeviceMaterial, ProvisionError, device_id, fingerprint

CONFIG_NAME = "gatekeeper.toml"
DEVICE_KEY = "keys/device.key"
AUTHORITY_KEY = "keys/authority.pub"
STORE = "state/gatekeeper.db"
#: The camera a provisioned gate uses unless told otherwise: provisioning runs on the gate itself.
DEFAULT_CAMERA = "picamera2"
#: Keys provisioning sets from what it enrolled; an override of one would make a device that
#: cannot authenticate or verify, so it is refused.
IDENTITY_KEYS = (("device", "gate_id"), ("device", "device_key"), ("device", "authority_key"),
                 ("sync", "hub_url"))

Progress = Callable[[str], None]


# --- the configuration file ---------------------------------------------------------------------
def merge(base: Mapping, extra: Mapping) -> dict:
    """``base`` with ``extra`` merged in, section by section (nested dicts merge, values replace)."""
    out = {k: dict(v) if isinstance(v, Mapping) else v for k, v in base.items()}
    for k, v in extra.items():
        out[k] = merge(out.get(k, {}), v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out


def device_config(gate_id: str, scope: str, hub_url: str, defaults: Mapping, overrides: Mapping) -> dict:
    """The values to write: the layout and identity, then the site's defaults, then ``overrides``."""
    for section, key in IDENTITY_KEYS:
        for given in (defaults, overrides):
            if key in given.get(section, {}):
                raise ProvisionError(f"configuration key {section}.{key} is set by provisioning and cannot be "
                                     "overridden")
    base = {"device": {"gate_id": gate_id, "scope": scope, "store": STORE, "authority_key": AUTHORITY_KEY,
                       "device_key": DEVICE_KEY},
            "camera": {"source": DEFAULT_CAMERA},
            "sync": {"hub_url": hub_url}}
    return merge(merge(base, defaults), overrides)


def write_config(values: Mapping, path: Path, header: str = "") -> Settings:
    """Write the configuration file and load it back as the daemon will; ProvisionError naming the
    key when it would not load."""
    try:
        write_toml(path, values, header)
    except TypeError as e:
        raise ProvisionError(f"the device configuration cannot be written: {e}") from None
    try:
        return load_settings(path)
    except ConfigError as e:
        # named as the admin knows the file, not by the staging path it was checked at
        raise ProvisionError(f"the device configuration would not load: {str(e).replace(str(path), CONFIG_NAME)}"
                             ) from None


# --- what to install, and installing it ----------------------------------------------------------
@dataclass(frozen=True)
class Provisioned:
    """A provisioned device: where its configuration is and what it holds."""

    config: Path
    directory: Path
    gate_id: str
    device_id: str
    scope: str
    site_name: str | None
    hub_url: str
    authority_fingerprint: str
    lists: tuple[str, ...]
    selftest: tuple[Check, ...]
    replaced: Path | None = None  # where the files of the device this one replaced were moved

    @property
    def selftest_ok(self) -> bool:
        return all(c.ok for c in self.selftest)

    def to_json(self) -> dict:
        return {"config": str(self.config), "directory": str(self.directory), "gate_id": self.gate_id,
                "device_id": self.device_id, "scope": self.scope, "site_name": self.site_name,
                "hub_url": self.hub_url, "authority_fingerprint": self.authority_fingerprint,
                "lists": list(self.lists), "replaced": str(self.replaced) if self.replaced else None,
                "selftest": [{"step": c.name, "ok": c.ok, "detail": c.detail} for c in self.selftest]}


def existing_device(directory: Path) -> str | None:
    """A description of the device already provisioned in ``directory``, or None when there is none.

    The configuration file marks a provisioned device: it is written last.
    """
    config = directory / CONFIG_NAME
    if not config.exists():
        return None
    try:
        settings = load_settings(config)
    except ConfigError:
        return f"{config} exists (not a valid configuration)"
    what = f"gate {settings.device.gate_id!r} ({config})"
    store = settings.path(settings.device.store)
    if store.exists():
        try:
            with Store(store, read_public_key(settings.path(settings.device.authority_key))) as s:
                backlog = unacknowledged(s)
            what += f", {backlog} passage-log row(s) not yet uploaded in its store {store}"
        except (OSError, ValueError, RuntimeError) as e:
            what += f", store {store} unreadable ({e})"
    return what


def check_free(directory: Path, force: bool) -> None:
    """ProvisionError when ``directory`` holds a provisioned device and ``force`` is not given."""
    found = existing_device(directory)
    if found and not force:
        raise ProvisionError(
            f"{directory} already holds a provisioned device: {found}. Provisioning again makes a new device "
            "key and a new store, so the hub will no longer know this gate by its old key and rows not yet "
            "uploaded stay behind in the old store. Run with --force to do it anyway (the old files are "
            "moved to a 'replaced-<time>' folder there, not deleted).")


def _final_paths(settings: Settings) -> list[Path]:
    """The files a device is made of, configuration last (it marks the device as provisioned)."""
    d = settings.device
    return [settings.path(d.device_key), settings.path(d.authority_key), settings.path(d.store),
            settings.base_dir / CONFIG_NAME]


def _staged(path: Path, directory: Path, staging: Path) -> Path:
    """Where ``path`` (a file of the final device) is built inside ``staging``."""
    try:
        return staging / path.relative_to(directory)
    except ValueError:  # an absolute store elsewhere (e.g. /var/lib/gatekeeper)
        return staging / "outside" / path.name


def _move_aside(paths: Iterable[Path], directory: Path) -> Path | None:
    """Move the files of a device being replaced into ``directory/replaced-<time>/``."""
    existing = [p for p in paths for p in (p, Path(f"{p}-wal"), Path(f"{p}-shm")) if p.exists()]
    if not existing:
        return None
    backup = directory / f"replaced-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}"
    for p in existing:
        try:
            rel = p.relative_to(directory)
        except ValueError:
            rel = Path("outside") / p.name
        (backup / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(p, backup / rel)
    return backup


def user_ids(owner: str | None) -> tuple[int, int] | None:
    """(uid, gid) of the account the daemon runs as; ProvisionError when there is no such account."""
    if owner is None:
        return None
    import pwd
    try:
        entry = pwd.getpwnam(owner)
    except KeyError:
        raise ProvisionError(f"--owner {owner!r}: no such user on this machine (make it first: see "
                             "docs/operations.md)") from None
    return entry.pw_uid, entry.pw_gid


def install(material: DeviceMaterial, directory: Path, overrides: Mapping | None = None, *, force: bool = False,
            selftest: bool = True, owner: str | None = None, how: str = "",
            progress: Progress | None = None) -> Provisioned:
    """Write ``material`` into ``directory`` as a working device; nothing is left half-written.

    ``owner`` is the account the daemon runs as: it gets the device key (still 0600) and the store,
    which a daemon that is not root could not read or write otherwise.
    """
    say = progress or (lambda _: None)
    uid_gid = user_ids(owner)
    directory = directory.resolve()
    check_free(directory, force)
    made = [d for d in (directory, *directory.parents) if not d.exists()]
    directory.mkdir(parents=True, exist_ok=True)
    values = device_config(material.gate_id, material.scope, material.hub_url, material.defaults, overrides or {})
    header = (f"Device configuration written by 'gatekeeper provision' ({how}) on {iso(time.time())}.\n"
              f"Site {material.site_name or material.scope!r}, hub {material.hub_url or '(none)'}.\n"
              "Every key is documented in config/gatekeeper.example.toml and docs/configuration.md.")
    staging = Path(tempfile.mkdtemp(prefix=".provision-", dir=directory))
    try:
        settings = write_config(values, staging / CONFIG_NAME, header)
        final_settings = settings.model_copy(update={"base_dir": directory})
        targets = _final_paths(final_settings)
        staged = [_staged(p, directory, staging) for p in targets]
        for p in staged:
            p.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(staged[0], material.device_key.to_pem(), mode=0o600)
        write_atomic(staged[1], material.authority.to_pem())
        applied = []
        say("applying the trust and revocation lists")
        with Store(staged[2], material.authority) as store:
            for data in material.lists:
                try:
                    r = store.apply_list(data)
                except ListError as e:
                    raise ProvisionError(f"a list from {material.hub_url or 'the bundle'} was refused: {e}. "
                                         "Nothing was installed.") from None
                applied.append(f"{r.kind} v{r.version}")
        if not any(a.startswith("trust") for a in applied):
            raise ProvisionError("no trust list came with the enrolment: the device could not verify any pass. "
                                 "Nothing was installed; publish the site's lists at the hub (start it with --site).")
        replaced = _move_aside(targets, directory) if force else None
        for dst in targets:
            dst.parent.mkdir(parents=True, exist_ok=True)
        if uid_gid is not None:
            for p in (staged[0], staged[2], targets[2].parent):
                os.chown(p, *uid_gid)
        for src, dst in zip(staged, targets, strict=True):
            shutil.move(src, dst)  # a rename on one file system; the configuration goes last
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for d in made:  # the folders this call made, innermost first: as they were, absent
            with contextlib.suppress(OSError):  # not empty: a move had begun; keep what is there
                d.rmdir()
        raise
    shutil.rmtree(staging, ignore_errors=True)
    checks: tuple[Check, ...] = ()
    if selftest:
        say("running the self-test (camera frame, decode, relay click)")
        checks = tuple(run_selftest(final_settings))
    return Provisioned(targets[-1], directory, material.gate_id, device_id(material.device_key.public),
                       final_settings.device.scope, material.site_name, material.hub_url,
                       fingerprint(material.authority), tuple(applied), checks, replaced)


