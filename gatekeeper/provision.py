"""Provisioning: turn a blank device directory into an enrolled gate, in one of three ways.

* **Online token** (:func:`provision_online`): make the device key, spend a one-time token at the
  hub, fetch the signed lists, write keys, store and configuration, run the self-test.
* **Enrolment QR** (:func:`provision_scan`): the same, with hub URL, token and gate id read
  through the device's own camera from a QR the admin shows it (signed by the site authority,
  whose key the QR carries and the device then pins).
* **Offline bundle** (:func:`provision_bundle`): a file signed by the site authority holding a
  device key the admin already registered at the hub, the lists and the site's defaults.

Every way ends in :func:`install`: everything is built in a staging directory inside the target,
checked (the lists verify, the configuration loads), and only then moved into place, the
configuration last. A failure leaves the directory as it was. An already provisioned directory is
refused unless ``force``; then its files are moved aside, never deleted.

Layout written (relative to the directory; see docs/provisioning.md)::

    gatekeeper.toml       the device configuration (0644)
    keys/device.key       the device's Ed25519 private key (0600)
    keys/authority.pub    the site authority's public key (0644)
    state/gatekeeper.db   the store with the trust and revocation lists applied
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import base45
import cbor2

from .atomicfile import write_atomic
from .config import ConfigError, Settings, load_settings
from .isotime import iso
from .selftest import Check, run_selftest
from .store import Store
from .sync.enrolment import EnrolError, enrol, first_lists
from .sync.protocol import device_id
from .sync.uploader import unacknowledged
from .verify import ListError, PrivateKey, PublicKey
from .verify.envelope import load_body, open_envelope, seal

if TYPE_CHECKING:  # the scan stack loads only for --scan
    from .scan.frames import FrameSource

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
#: The shortest fingerprint prefix accepted: 80 bits, far beyond a second-preimage search.
MIN_FINGERPRINT_HEX = 20

BUNDLE_KIND = "gk-bundle/1"
ENROL_QR_KIND = "gk-enrol/1"
ENROL_QR_PREFIX = "GKE1:"

Progress = Callable[[str], None]


class ProvisionError(Exception):
    """Provisioning refused or failed; the message says what happened and what to do next."""


# --- the authority key: fingerprints and pins -----------------------------------------------------
def fingerprint(key: PublicKey) -> str:
    """The key's fingerprint: SHA-256 of the raw public key, 64 hex digits."""
    return hashlib.sha256(key.raw).hexdigest()


def show_fingerprint(key: PublicKey) -> str:
    """The fingerprint in groups of four, as an admin reads it aloud or types its first groups."""
    fp = fingerprint(key)
    return " ".join(fp[i:i + 4] for i in range(0, len(fp), 4))


@dataclass(frozen=True)
class AuthorityPin:
    """What the device holds the authority key to be before it has one: a fingerprint (prefix)
    from a channel the network cannot touch (typed by the admin, read from a QR, a key file)."""

    fingerprint: str
    source: str

    @classmethod
    def of_text(cls, text: str, source: str = "--authority-fingerprint") -> AuthorityPin:
        """A pin from a typed fingerprint (spaces and colons ignored); ProvisionError when unusable."""
        hexdigits = "".join(text.split()).replace(":", "").lower()
        if len(hexdigits) < MIN_FINGERPRINT_HEX or len(hexdigits) > 64 or \
                any(c not in "0123456789abcdef" for c in hexdigits):
            raise ProvisionError(f"{source}: {text!r} is not a key fingerprint: give at least the first "
                                 f"{MIN_FINGERPRINT_HEX} hex digits (5 groups of 4) of the fingerprint that "
                                 "'gatekeeper hub bundle' printed")
        return cls(hexdigits, source)

    @classmethod
    def of_key(cls, key: PublicKey, source: str) -> AuthorityPin:
        return cls(fingerprint(key), source)

    def check(self, key: PublicKey, offered_by: str) -> None:
        """ProvisionError unless ``key`` is the pinned one."""
        if not fingerprint(key).startswith(self.fingerprint):
            raise ProvisionError(
                f"{offered_by} offers authority key {show_fingerprint(key)}, which is not the one given by "
                f"{self.source} ({self.fingerprint}): this is not your site's authority, or something "
                "altered it on the way. Nothing was installed.")


# --- the configuration file ---------------------------------------------------------------------
def merge(base: Mapping, extra: Mapping) -> dict:
    """``base`` with ``extra`` merged in, section by section (nested dicts merge, values replace)."""
    out = {k: dict(v) if isinstance(v, Mapping) else v for k, v in base.items()}
    for k, v in extra.items():
        out[k] = merge(out.get(k, {}), v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out


def _toml_value(value: object, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v, where) for v in value) + "]"
    raise ProvisionError(f"configuration key {where}: cannot write a {type(value).__name__} to TOML")


def render_config(values: Mapping[str, Mapping[str, object]], header: str) -> str:
    """The configuration file for ``{section: {key: value}}``, with a comment header."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for section, keys in values.items():
        if not isinstance(keys, Mapping):
            raise ProvisionError(f"configuration key {section!r}: expected a section of keys, got {keys!r}")
        lines += ["", f"[{section}]"]
        lines += [f"{key} = {_toml_value(v, f'{section}.{key}')}" for key, v in keys.items()]
    return "\n".join(lines) + "\n"


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
    write_atomic(path, render_config(values, header).encode())
    try:
        return load_settings(path)
    except ConfigError as e:
        # named as the admin knows the file, not by the staging path it was checked at
        raise ProvisionError(f"the device configuration would not load: {str(e).replace(str(path), CONFIG_NAME)}"
                             ) from None


# --- what to install, and installing it ----------------------------------------------------------
@dataclass(frozen=True)
class DeviceMaterial:
    """Everything a device needs, gathered from the hub or a bundle, not yet written anywhere."""

    gate_id: str
    device_key: PrivateKey
    authority: PublicKey
    scope: str
    site_name: str | None
    hub_url: str
    lists: tuple[bytes, ...]
    defaults: Mapping = field(default_factory=dict)


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
            with Store(store, PublicKey.from_pem(settings.path(settings.device.authority_key).read_bytes())) as s:
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


def _user(owner: str | None) -> tuple[int, int] | None:
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
    uid_gid = _user(owner)
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
        for src, dst in zip(staged, targets):
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


# --- online: a one-time token ---------------------------------------------------------------------
def _enrol_failure(hub_url: str, e: EnrolError) -> ProvisionError:
    # EnrolError carries only its text: "hub unreachable (unreachable): <httpx error>" when no reply
    # came (gatekeeper.sync.enrolment._refusal), "hub <status> (<code>): <message>" for a refusal.
    text = str(e)
    if not text.startswith("hub unreachable"):
        return ProvisionError(f"the hub at {hub_url} refused the enrolment: {text}. Nothing was written.")
    cause = text.split(": ", 1)[-1]
    # Only a refused connection proves the request never arrived; after a timeout it may have.
    spent = ("the token is not spent" if cause.startswith("ConnectError") else
             "the token may have been spent: if a retry says 'already used', ask for a new one")
    return ProvisionError(f"cannot reach the hub at {hub_url} ({cause}): check the URL, the network and that "
                          f"the hub runs. Nothing was written; {spent}.")


def provision_online(hub_url: str, token: str, gate_id: str, directory: Path, overrides: dict | None = None, *,
                     authority: AuthorityPin | None = None, force: bool = False, selftest: bool = True,
                     owner: str | None = None, progress: Progress | None = None) -> Provisioned:
    """Enrol a new device key at ``hub_url`` with a one-time ``token`` as gate ``gate_id`` and
    install it in ``directory``; ``overrides`` ({section: {key: value}}) go into its configuration.

    ``authority`` pins the site authority key; without it the key the hub names is trusted (the
    result's ``authority_fingerprint`` is for the admin to compare). :class:`ProvisionError` on
    any failure, with the directory unchanged.
    """
    say = progress or (lambda _: None)
    directory = Path(directory)
    check_free(directory, force)  # before the token is spent
    _user(owner)
    # The configuration is checked before enrolling too: a typo in an override must not cost a token.
    with tempfile.TemporaryDirectory() as tmp:
        write_config(device_config(gate_id, "demo", hub_url, {}, overrides or {}), Path(tmp) / CONFIG_NAME)
    key = PrivateKey.generate()
    say(f"enrolling gate {gate_id!r} at {hub_url}")
    try:
        reply = enrol(hub_url, token, gate_id, key)
    except EnrolError as e:
        raise _enrol_failure(hub_url, e) from None
    dev = device_id(key.public)
    stranded = (f"The hub has enrolled device {dev}: retire it with 'gatekeeper hub revoke-device {dev}' and "
                "provision again with a new token.")
    if not reply.authority_pem or not reply.scope:
        raise ProvisionError(f"the hub at {hub_url} serves no site (it was started without --site), so it "
                             f"cannot tell this device which authority to trust. Nothing was written. {stranded}")
    try:
        authority_key = PublicKey.from_pem(reply.authority_pem.encode())
    except ValueError as e:
        raise ProvisionError(f"the hub's authority key is unusable ({e}). Nothing was written. {stranded}") from None
    if authority is not None:
        try:
            authority.check(authority_key, f"the hub at {hub_url}")
        except ProvisionError as e:
            raise ProvisionError(f"{e} {stranded}") from None
    say("downloading the trust and revocation lists")
    try:
        lists = first_lists(hub_url, key)
    except EnrolError as e:
        raise ProvisionError(f"enrolled, but the lists could not be fetched: {e}. Nothing was written. "
                             f"{stranded}") from None
    material = DeviceMaterial(gate_id, key, authority_key, reply.scope, reply.site_name, hub_url, tuple(lists))
    try:
        return install(material, directory, overrides, force=force, selftest=selftest, owner=owner,
                       how="one-time token", progress=progress)
    except ProvisionError as e:
        raise ProvisionError(f"{e} {stranded}") from None


# --- the enrolment QR -------------------------------------------------------------------------------
@dataclass(frozen=True)
class EnrolmentQR:
    """What an enrolment QR holds: where to enrol, with which token, as which gate, under which authority."""

    hub_url: str
    token: str
    gate_id: str
    authority: PublicKey

    def text(self, authority: PrivateKey) -> str:
        """The QR's text, signed by the site authority: ``GKE1:`` + base45 (QR alphanumeric mode)."""
        if authority.public.raw != self.authority.raw:
            raise ValueError("the QR must be signed by the authority key it names")
        body = cbor2.dumps({"hub": self.hub_url, "token": self.token, "gate": self.gate_id,
                            "authority": self.authority.raw})
        return ENROL_QR_PREFIX + base45.b45encode(seal(ENROL_QR_KIND, body, authority)).decode()


def parse_enrolment_qr(payload: bytes | str) -> EnrolmentQR:
    """An enrolment QR's content, signature checked against the key it carries; ProvisionError otherwise.

    The key in the QR is then pinned: the hub must name the same authority and its lists must verify
    with it. The signature binds hub, token and gate to that key, so none of them can be edited.
    """
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    if not text.startswith(ENROL_QR_PREFIX):
        raise ProvisionError("not an enrolment QR (it does not start with GKE1:)")
    try:
        raw = base45.b45decode(text[len(ENROL_QR_PREFIX):])
    except ValueError:
        raise ProvisionError("enrolment QR: not valid base45") from None
    try:
        env = open_envelope(raw)
        body = load_body(env)
        if env.kind != ENROL_QR_KIND:
            raise ListError(f"a {env.kind!r} file, not an enrolment QR")
        key = PublicKey.from_raw(body.get("authority"))
        env.verify(key)
        hub, token, gate = body.get("hub"), body.get("token"), body.get("gate")
        if not all(isinstance(v, str) and v for v in (hub, token, gate)):
            raise ListError("hub, token or gate missing")
    except (ListError, ValueError) as e:
        raise ProvisionError(f"enrolment QR refused: {e}") from None
    return EnrolmentQR(hub, token, gate, key)


def provision_scan(source: FrameSource, directory: Path, overrides: dict | None = None, *, timeout: float = 300.0,
                   force: bool = False, selftest: bool = True, owner: str | None = None,
                   progress: Progress | None = None) -> Provisioned:
    """First boot: read frames from ``source`` (a :class:`~gatekeeper.scan.frames.FrameSource`,
    unopened) until one holds a valid enrolment QR, then enrol with it as :func:`provision_online`.

    QRs that are not enrolment QRs (a resident's pass) or fail their signature are skipped.
    ProvisionError when none is seen within ``timeout`` seconds or before a finite source ends.
    """
    from .scan.decoders import default_decoder
    say = progress or (lambda _: None)
    directory = Path(directory)
    check_free(directory, force)
    _user(owner)
    decoder = default_decoder()
    deadline = time.monotonic() + timeout
    found: EnrolmentQR | None = None
    last_refusal = ""
    say("looking for an enrolment QR: hold it in front of the camera")
    try:
        source.open()
    except (OSError, RuntimeError, ValueError) as e:
        raise ProvisionError(f"cannot open the camera to look for the enrolment QR: {e}. Nothing was written.") \
            from None
    try:
        while found is None and time.monotonic() < deadline:
            frame = source.read()
            if frame is None:
                if source.finite:
                    break
                continue
            for code in decoder.decode(frame.image):
                if not code.payload.startswith(ENROL_QR_PREFIX.encode()):
                    continue
                try:
                    found = parse_enrolment_qr(code.payload)
                    break
                except ProvisionError as e:
                    last_refusal = str(e)
    finally:
        source.close()
    if found is None:
        why = f"; the last one seen was refused: {last_refusal}" if last_refusal else ""
        raise ProvisionError(f"no valid enrolment QR seen (waited up to {timeout:.0f} s){why}. Show the QR from "
                             "'gatekeeper hub enrol-qr' to the camera, close and steady. Nothing was written.")
    say(f"read an enrolment QR for gate {found.gate_id!r} at {found.hub_url} "
        f"(authority {show_fingerprint(found.authority)})")
    return provision_online(found.hub_url, found.token, found.gate_id, directory, overrides,
                            authority=AuthorityPin.of_key(found.authority, "the enrolment QR"), force=force,
                            selftest=selftest, owner=owner, progress=progress)


# --- the offline bundle -----------------------------------------------------------------------------
def make_bundle(authority: PrivateKey, device_key: PrivateKey, gate_id: str, scope: str, site_name: str | None,
                hub_url: str, lists: Iterable[bytes], defaults: Mapping | None = None,
                now: float | None = None) -> bytes:
    """A bundle file, signed by the site authority (kind ``gk-bundle/1`` in the signed bytes)."""
    body = {"gate_id": gate_id, "device_key": device_key.to_pem(), "authority": authority.public.raw,
            "scope": scope, "site_name": site_name, "hub_url": hub_url, "lists": list(lists),
            "defaults": dict(defaults or {}), "made_at": int(time.time() if now is None else now)}
    return seal(BUNDLE_KIND, cbor2.dumps(body), authority)


def open_bundle(data: bytes, pin: AuthorityPin) -> DeviceMaterial:
    """A bundle's content once it proves to be signed by the pinned authority; ProvisionError otherwise."""
    try:
        env = open_envelope(data)
        if env.kind != BUNDLE_KIND:
            raise ListError(f"a {env.kind!r} file, not a provisioning bundle")
        body = load_body(env)
        key = PublicKey.from_raw(body.get("authority"))
    except (ListError, ValueError) as e:
        raise ProvisionError(f"not a usable bundle ({e}): it is damaged or not a bundle. Nothing was "
                             "installed; write it again with 'gatekeeper hub bundle'.") from None
    pin.check(key, "the bundle")
    try:
        env.verify(key)
    except ListError:
        raise ProvisionError("the bundle's signature does not verify: it was altered after the authority signed "
                             "it. Nothing was installed; write a new one with 'gatekeeper hub bundle'.") from None
    try:
        device_key = PrivateKey.from_pem(body["device_key"])
        lists = tuple(body["lists"])
        defaults = body.get("defaults") or {}
        if not all(isinstance(x, bytes) for x in lists) or not isinstance(defaults, dict):
            raise ValueError("lists or defaults malformed")
        return DeviceMaterial(str(body["gate_id"]), device_key, key, str(body["scope"]), body.get("site_name"),
                              str(body.get("hub_url") or ""), lists, defaults)
    except (KeyError, TypeError, ValueError) as e:
        raise ProvisionError(f"the bundle is signed but incomplete ({e}): write a new one with a matching "
                             "gatekeeper version. Nothing was installed.") from None


def provision_bundle(data: bytes, directory: Path, pin: AuthorityPin, overrides: dict | None = None, *,
                     force: bool = False, selftest: bool = True, owner: str | None = None,
                     progress: Progress | None = None) -> Provisioned:
    """Install a device from a bundle, with no network; ProvisionError (nothing written) when refused."""
    material = open_bundle(data, pin)
    return install(material, Path(directory), overrides, force=force, selftest=selftest, owner=owner,
                   how="offline bundle", progress=progress)
