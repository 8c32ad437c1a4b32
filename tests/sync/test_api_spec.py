"""The checked-in OpenAPI spec matches the hub, and fuzzing the hub from it never gets a 5xx."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gatekeeper.hub.app import app_from, openapi_json
from gatekeeper.hub.store import HubStore
from gatekeeper.wire.protocol import sign_request
from tests.kit.hub import HubProcess, enrolled_device

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_checked_in_spec_matches_the_app(tmp_path):
    made = openapi_json(app_from(str(tmp_path / "hub.db"), None))
    assert SPEC.read_text() == made, "docs/openapi.json is stale: run 'gatekeeper hub openapi --out docs/openapi.json'"


@pytest.fixture(scope="module")
def fuzz_hub(tmp_path_factory):
    from gatekeeper.admin.site import Site
    root = tmp_path_factory.mktemp("fuzz")
    site = Site.init(root / "site", now=time.time() - 3600)
    hub = HubProcess(str(root / "hub.db"), site.root).start()
    store = HubStore.open(hub.db_url)
    admin = store.create_admin_token("fuzz")
    store.close()
    dev = enrolled_device(root, site, hub)
    yield hub, dev, admin
    hub.stop()


def operations() -> list:
    schema = schemathesis.openapi.from_dict(json.loads(SPEC.read_text()))
    return [op.ok() for op in schema.get_all_operations()]


# Hypothesis driven directly from each operation's strategy (schemathesis' pytest plugin does not
# load under this pytest): a bounded number of examples per operation.
@pytest.mark.parametrize("operation", operations(), ids=lambda op: op.label)
def test_fuzzed_requests_get_no_server_error(operation, fuzz_hub):
    hub, dev, admin = fuzz_hub

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy())
    def check(case) -> None:
        send_signed(case, hub, dev, admin)

    check()


def send_signed(case, hub, dev, admin) -> None:
    kw = case.as_transport_kwargs(base_url=hub.url)
    if "json" in kw:
        body = json.dumps(kw["json"]).encode()
    else:
        body = kw.get("data") or b""
        body = body.encode() if isinstance(body, str) else body
    headers = {k: str(v) for k, v in (kw.get("headers") or {}).items()}
    req = httpx.Request(kw["method"], kw["url"], params=kw.get("params"), content=body, headers=headers)
    # Sign as the enrolled device and authenticate as an admin, so the fuzzing reaches past the doors.
    req.headers.update(sign_request(dev.key, req.method, req.url.raw_path.decode(), body, int(time.time())))
    req.headers.setdefault("Authorization", f"Bearer {admin}")
    with httpx.Client(timeout=10) as client:
        r = client.send(req)
    assert r.status_code < 500, (req.method, str(req.url), body[:200], r.status_code, r.text[:300])
    # the reply is one the spec declares: its status, its media type, its body's schema
    case.validate_response(r, checks=[status_code_conformance, content_type_conformance,
                                      response_schema_conformance])
    if r.status_code >= 400:
        problem = r.json()
        assert problem["error"] and problem["message"]
