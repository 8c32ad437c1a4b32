"""``gatekeeper hub ...``: run the reference hub and administer it (tokens, devices, the spec)."""

from __future__ import annotations

from pathlib import Path

import click

from gatekeeper.atomicfile import write_atomic
from gatekeeper.cli import main
from gatekeeper.cli.common import emit_json, fail, iso
from gatekeeper.isotime import parse_duration

DB_OPTION = click.option("--db", "db_url", required=True, envvar="GATEKEEPER_HUB_DB",
                         help="The hub database: a SQLite path (sqlite:///path) or a postgresql:// URL.")


def _store(db_url: str):
    from gatekeeper.hub import HubStore
    try:
        return HubStore.open(db_url)
    except Exception as e:  # noqa: BLE001 -- a wrong URL, an unreachable server, a locked file: say which
        fail(f"cannot open hub database {db_url!r}: {e}")


def _seconds(value: str, option: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint=option) from None


@main.group()
def hub() -> None:
    """The reference hub: receives passage logs, publishes the site's signed lists."""


@hub.command("serve")
@DB_OPTION
@click.option("--site", "site_dir", type=click.Path(file_okay=False, path_type=Path),
              help="The site directory: lets this hub sign lists (revocations, freshness). Omit on replicas.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8443, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Batches stored at once (default: 1 on SQLite, whose writes serialise; 4 on PostgreSQL).")
@click.option("--max-wait", type=click.FloatRange(0.5, 60), default=4.0, show_default=True,
              help="Admit uploads while the queue drains within this many seconds; refuse the rest (429).")
@click.option("--rate-limit", "rate_limits", multiple=True, metavar="NAME=RATE",
              help="Override a rate limit, e.g. upload-device=50/second (names: enrol-address, enrol-device, "
                   "admin-address, upload-address, upload-device). Repeatable.")
@click.option("--backlog", type=click.IntRange(64, 65535), default=4096, show_default=True,
              help="Connections the kernel queues before the hub accepts them (capped by net.core.somaxconn).")
@click.option("--keep-alive", type=click.IntRange(1, 3600), default=75, show_default=True,
              help="Seconds an idle connection stays open: longer than a device waits on Retry-After.")
@click.option("--forwarded-allow-ips", default="127.0.0.1", show_default=True,
              help="Proxies trusted for X-Forwarded-For (the client address that rate limits count).")
@click.option("--webhook", default=None, metavar="URL",
              help="POST each gate state change (offline, warning, back to ok) here as signed JSON.")
@click.option("--webhook-secret-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              envvar="GATEKEEPER_WEBHOOK_SECRET_FILE",
              help="A file holding the shared secret of the webhook's HMAC signature (required with --webhook).")
@click.option("--offline-after", default=None, metavar="DURATION",
              help="A gate not heard from this long is offline (default: 3 of its poll intervals).")
@click.option("--retention", default="180d", show_default=True, metavar="DURATION",
              help="Keep passage-log rows this long (pruned daily).")
def hub_serve(db_url: str, site_dir: Path | None, host: str, port: int, workers: int | None, max_wait: float,
              rate_limits: tuple[str, ...], backlog: int, keep_alive: int, forwarded_allow_ips: str,
              webhook: str | None, webhook_secret_file: Path | None, offline_after: str | None,
              retention: str) -> None:
    """Serve the hub API (put it behind TLS: a reverse proxy or uvicorn's --ssl options)."""
    import uvicorn

    from gatekeeper.admin import SiteError
    from gatekeeper.hub import Admission, HubLimits, RateLimits, parse_rates
    try:
        rates = RateLimits(parse_rates(list(rate_limits)))
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--rate-limit") from None
    postgres = db_url.startswith(("postgresql://", "postgres://"))
    admission = Admission(storers=workers or (4 if postgres else 1), max_wait_s=max_wait)
    from gatekeeper.hub import app_from
    watch = _watch(webhook, webhook_secret_file, offline_after, retention)
    try:
        app = app_from(db_url, str(site_dir) if site_dir else None, HubLimits(rates, admission), watch)
    except SiteError as e:
        fail(str(e))
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, backlog=backlog,
                timeout_keep_alive=keep_alive, forwarded_allow_ips=forwarded_allow_ips, proxy_headers=True)


def _watch(webhook: str | None, secret_file: Path | None, offline_after: str | None, retention: str):
    """The gate health, alert and retention settings of ``hub serve``."""
    from gatekeeper.hub import HealthPolicy, WatchSettings, Webhook
    if webhook and not webhook.startswith(("https://", "http://")):
        raise click.BadParameter("an http(s):// URL", param_hint="--webhook")
    if webhook and secret_file is None:
        raise click.BadParameter("--webhook needs --webhook-secret-file (the receiver checks the signature)",
                                 param_hint="--webhook-secret-file")
    secret = secret_file.read_bytes().strip() if secret_file else b""
    if webhook and len(secret) < 16:
        raise click.BadParameter(f"{secret_file}: the secret must be at least 16 bytes",
                                 param_hint="--webhook-secret-file")
    return WatchSettings(policy=HealthPolicy(offline_after=_seconds(offline_after, "--offline-after")
                                             if offline_after else None),
                         webhook=Webhook(webhook, secret) if webhook else None,
                         retention_s=_seconds(retention, "--retention"))


@hub.command("token")
@DB_OPTION
@click.option("--gate-id", default=None, help="Bind the token to this gate id (default: any gate).")
@click.option("--ttl", default="24h", show_default=True, help="How long the token stays valid.")
@click.option("--json", "as_json", is_flag=True)
def hub_token(db_url: str, gate_id: str | None, ttl: str, as_json: bool) -> None:
    """Make a one-time enrolment token for 'gatekeeper provision --hub URL --token TOKEN'."""
    import time

    from gatekeeper.hub import MAX_TOKEN_TTL_S
    seconds = _seconds(ttl, "--ttl")
    if not 0 < seconds <= MAX_TOKEN_TTL_S:
        raise click.BadParameter(f"{ttl!r}: a token lives at most {MAX_TOKEN_TTL_S // 86400} days (30d)",
                                 param_hint="--ttl")
    token = _store(db_url).create_enrol_token(gate_id, seconds)
    expires = iso(time.time() + seconds)
    if as_json:
        emit_json({"token": token, "gate_id": gate_id, "expires_at": expires})
    else:
        click.echo(token)
        click.echo(f"one-time, for gate {gate_id or '(any)'}, valid until {expires}", err=True)


@hub.command("admin-token")
@DB_OPTION
@click.option("--label", default="admin", show_default=True, help="Who holds it (for your records).")
@click.option("--revoke", "revoke", metavar="TOKEN|LABEL", default=None,
              help="Instead of making one: revoke this admin token (gk1_...), or every token with this label.")
def hub_admin_token(db_url: str, label: str, revoke: str | None) -> None:
    """Make an admin token for the /v1/admin endpoints (Authorization: Bearer TOKEN), or revoke one."""
    if revoke is None:
        click.echo(_store(db_url).create_admin_token(label))
        return
    gone = _store(db_url).revoke_admin_token(revoke)
    if gone == 0:
        fail("no admin token matches: give the token itself or its label")
    click.echo(f"revoked {gone} admin token(s): they are refused from now on, on every hub of this database")


@hub.command("register")
@DB_OPTION
@click.option("--gate-id", required=True)
@click.argument("public_key", type=click.Path(dir_okay=False, path_type=Path))
def hub_register(db_url: str, gate_id: str, public_key: Path) -> None:
    """Enrol a device's public key (PEM) directly, with no token: for offline bundles."""
    from gatekeeper.hub import RefusedError
    from gatekeeper.keyfile import KeyFileError, read_public_key
    try:
        key = read_public_key(public_key, "device public key")
    except KeyFileError as e:
        fail(str(e))
    try:
        dev = _store(db_url).register_device(key, gate_id)
    except RefusedError as e:
        fail(e.message)
    click.echo(f"enrolled device {dev.device_id} as gate {gate_id}")


@hub.command("devices")
@DB_OPTION
@click.option("--json", "as_json", is_flag=True)
def hub_devices(db_url: str, as_json: bool) -> None:
    """List enrolled devices with their last ack."""
    devices = _store(db_url).devices()
    if as_json:
        emit_json({"devices": devices})
        return
    for d in devices:
        state = f"revoked {iso(d['revoked_at'])}" if d["revoked_at"] else "active"
        click.echo(f"{d['device_id']}  {d['gate_id']:20} acked {d['acked'] or 0:>10}  "
                   f"last seen {iso(d['last_seen']) or '-':22} {state}")


@hub.command("revoke-device")
@DB_OPTION
@click.argument("device_id")
def hub_revoke_device(db_url: str, device_id: str) -> None:
    """Refuse every further request of a device (a stolen or retired gate)."""
    if not _store(db_url).revoke_device(device_id):
        fail(f"no device {device_id}")
    click.echo(f"device {device_id} revoked")


@hub.command("openapi")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the spec here (default: print it).")
def hub_openapi(out: Path | None) -> None:
    """Print or write the hub's OpenAPI spec (docs/openapi.json is made with this)."""
    import tempfile

    from gatekeeper.hub import app_from, openapi_json
    with tempfile.TemporaryDirectory() as tmp:
        text = openapi_json(app_from(str(Path(tmp) / "hub.db"), None))
    if out is None:
        click.echo(text, nl=False)
    else:
        write_atomic(out, text.encode())
        click.echo(f"wrote {out}")


@hub.command("log")
@DB_OPTION
@click.option("--gate", "gate_id", default=None, metavar="G", help="Only this gate's rows.")
@click.option("--unit", default=None, metavar="U", help="Only rows of this unit's passes (its name).")
@click.option("--since", default=None, metavar="T", help="From this time (ISO 8601 or a date; the site's zone).")
@click.option("--until", default=None, metavar="T", help="Before this time (a date: the start of that day).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "jsonl"]), default="table", show_default=True)
def hub_log(db_url: str, gate_id: str | None, unit: str | None, since: str | None, until: str | None,
            fmt: str) -> None:
    """The passage log, newest first, in the site's time zone: a table, CSV or JSON lines."""
    from zoneinfo import ZoneInfo

    from gatekeeper.hub import PASSAGE_COLUMNS, LogFilter, Passages, escaped, local_time, outcome_of, render
    from gatekeeper.isotime import parse_local
    store = _store(db_url)
    zone = ZoneInfo(store.meta("site_timezone") or "UTC")
    times = {}
    for name, value in (("--since", since), ("--until", until)):
        try:
            times[name] = parse_local(value, zone) if value else None
        except ValueError:
            raise click.BadParameter(f"{value!r} is not a time: 2026-12-01 or 2026-12-01T08:00 (site time zone "
                                     f"{zone.key}) or with an offset", param_hint=name) from None
    passages = Passages(store.db)
    f = LogFilter(gate_id=gate_id, unit=unit, since=times["--since"], until=times["--until"])
    if fmt != "table":
        for chunk in render(passages.tuples(f), fmt, PASSAGE_COLUMNS, zone):
            click.echo(chunk, nl=False)
        return
    click.echo(f"{'time':29} {'gate':16} {'outcome':8} {'reason':16} {'unit':20} pass")
    for r in passages.rows(f):
        click.echo(f"{local_time(r['at'], zone):29} {r['gate_id']:16} {outcome_of(r):8} "
                   f"{escaped(r['reason']):16} {escaped(r['unit'] or '-'):20} "
                   f"{escaped(r['pass_id'] or '-')}")
