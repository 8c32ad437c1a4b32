"""The reference hub: an ASGI app (FastAPI) over :class:`HubStore` and :class:`Publisher`.

Run it with ``gatekeeper hub serve``. One router per resource (``routers/``), authentication as
FastAPI dependencies (``auth.py``), every refusal a :class:`~gatekeeper.hub.errors.Problem`
(``errors.py``), body limits and the hub's clock in front of everything (``limits.py``). Every reply
carries ``GK-Hub-Time`` so a device with an untrusted clock can sign with the hub's time.
"""

from __future__ import annotations

import json

from fastapi import FastAPI

from gatekeeper import __version__
from gatekeeper.admin import Site
from gatekeeper.hub.errors import install_error_handlers
from gatekeeper.hub.limits import HubLimits, HubTimeAndLimit
from gatekeeper.hub.publisher import Publisher
from gatekeeper.hub.routers import audit, console, devices, gates, lists, log, passes, residents, units
from gatekeeper.hub.routers.openapi import NESTED_SCHEMAS
from gatekeeper.hub.store import HubStore
from gatekeeper.wire import MAX_BODY_BYTES, PATH_ENROL, PATH_LISTS


def create_app(store: HubStore, publisher: Publisher, limits: HubLimits | None = None,
               watch: gates.WatchSettings | None = None) -> FastAPI:
    """The hub's ASGI app on an opened store and publisher (rate limits and load shedding: ``limits``;
    gate health, alerts and retention: ``watch``)."""
    app = FastAPI(title="Gatekeeper hub", version=__version__,
                  description="Device enrolment, passage-log upload, signed lists, admin. "
                              "See docs/sync-protocol.md for signing and batch semantics.")
    app.state.store, app.state.publisher, app.state.limits = store, publisher, limits or HubLimits()
    console.install(app, store, publisher)  # accounts, sessions, audit log, registry, the pages
    gates.install(app, watch or gates.WatchSettings())  # gate health, the log's search, alerts, retention
    residents.install(app)  # the residents' self-service pages at /r/<code> (after the console: its registry)
    app.add_middleware(HubTimeAndLimit, limit=MAX_BODY_BYTES, hub_limits=app.state.limits,
                       per_path={PATH_ENROL: devices.MAX_ENROL_BYTES, PATH_LISTS: 0})
    install_error_handlers(app)
    for router in (devices.router, log.router, lists.router, units.router, passes.router, audit.router):
        app.include_router(router)

    plain_openapi = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            spec = plain_openapi()
            spec.setdefault("components", {}).setdefault("schemas", {}).update(NESTED_SCHEMAS)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def app_from(db_url: str, site_dir: str | None, limits: HubLimits | None = None,
             watch: gates.WatchSettings | None = None) -> FastAPI:
    """The app for a database URL and an optional site directory (the signer)."""
    store = HubStore.open(db_url)
    publisher = Publisher(store, Site.open(site_dir) if site_dir else None)
    return create_app(store, publisher, limits, watch)


def openapi_json(app: FastAPI) -> str:
    """The spec as checked into docs/openapi.json (stable key order, trailing newline)."""
    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"
