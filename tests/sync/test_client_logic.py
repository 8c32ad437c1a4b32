"""The device's side of sync without a hub process: the uploader, the updater, the hub client and
enrolment against a scripted hub on httpx's MockTransport.

Every request the scripted hub receives is checked as the real hub would: the signature by the
device's key over the exact path, the batch by the wire model. The few end-to-end tests over real
HTTP (test_upload, test_lists, test_refusals) stay as they are; these cover the reactions the real
hub is hard to make give: each status, Retry-After, 413, an inflated or a lowered ack, stale_time.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime

import cbor2
import httpx
import pytest

from gatekeeper.admin.site import Site
from gatekeeper.gate.enrolment import EnrolError, EnrolFailure, enrol
from gatekeeper.gate.store import Store
from gatekeeper.gate.updater import UpdateOutcome, Updater
from gatekeeper.gate.uploader import Uploader, UploadOutcome, unacknowledged
from gatekeeper.verify import PrivateKey, PublicKey
from gatekeeper.wire import H_FRESHNESS, H_HUB_TIME, PATH_ENROL, PATH_LISTS, PATH_LOG, etag
from gatekeeper.wire.batch import Batch
from gatekeeper.wire.freshness import Freshness
from gatekeeper.wire.protocol import b64, parse_signature_headers
from tests.kit.hub import Device, log_row, make_device

HUB = "http://hub.test"
Reply = httpx.Response | Callable[[httpx.Request, Batch | None], httpx.Response] | Exception


class ScriptedHub:
    """Answers each request with the next scripted reply (then ``default``); keeps what it got."""

    def __init__(self, device_key: PublicKey, default: Reply | None = None) -> None:
        self.device_key = device_key
        self.script: list[Reply] = []
        self.default = default or ack_all
        self.requests: list[httpx.Request] = []
        self.batches: list[Batch] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        signed = parse_signature_headers(request.headers)
        assert signed.verify(self.device_key, request.method, request.url.raw_path.decode(), request.content)
        batch = None
        if request.url.path == PATH_LOG:
            batch = Batch.model_validate_json(gzip.decompress(request.content))
            self.batches.append(batch)
        reply = self.script.pop(0) if self.script else self.default
        if isinstance(reply, Exception):
            raise reply
        return reply(request, batch) if callable(reply) else reply

    def sent_seqs(self) -> list[list[int]]:
        return [[r.seq for r in b.rows] for b in self.batches]


def hub_json(status: int, body: dict, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers={H_HUB_TIME: str(time.time()), **headers})


def ack(n: int, stored: int = 0) -> httpx.Response:
    return hub_json(200, {"ack": n, "stored": stored, "duplicates": 0, "conflicts": [], "hub_time": time.time()})


def ack_all(_: httpx.Request, batch: Batch | None) -> httpx.Response:
    """A well-behaved hub: it holds everything the batch covered."""
    assert batch is not None
    return ack(batch.last, len(batch.rows))


def refuse(status: int, error: str = "nope", **headers: str) -> httpx.Response:
    return hub_json(status, {"error": error, "message": f"hub says {error}"}, **headers)


@pytest.fixture
def device(tmp_path, site: Site) -> Device:
    return make_device(tmp_path, site, HUB, batch_max_rows=1000, backoff_cap=60)


def uploader(dev: Device, hub: ScriptedHub, **sync: object) -> Uploader:
    args = list(dev.sync_args())
    args[2] = dev.settings.sync.model_copy(update=sync)
    return Uploader(*args, transport=hub.transport)


def log(dev: Device, n: int) -> None:
    with dev.store() as s:
        for _ in range(n):
            s.log(log_row())


# --- the uploader ---------------------------------------------------------------------------------
def test_busy_hub_is_retried_never_sooner_than_retry_after_then_the_same_rows_go(device: Device) -> None:
    log(device, 3)
    hub = ScriptedHub(device.key.public)
    http_date = format_datetime(datetime.fromtimestamp(time.time() + 120, UTC), usegmt=True)
    hub.script = [refuse(429, "busy", **{"Retry-After": "7"}), refuse(503, "down", **{"Retry-After": http_date}),
                  refuse(500, "oops")]
    up = uploader(device, hub)
    r = up.run_once()
    assert (r.outcome, r.backlog) == (UploadOutcome.RETRY, 3) and 7 <= r.delay <= 60
    r = up.run_once()
    assert r.outcome is UploadOutcome.RETRY and 100 <= r.delay <= 120  # an HTTP date counts too
    r = up.run_once()
    assert r.outcome is UploadOutcome.RETRY and r.delay <= 60  # no Retry-After: the jitter, under the cap
    status = up.status()["upload"]
    assert status["backlog"] == 3 and status["last_error"] == "hub 500: hub says oops" and status["next_retry_at"]
    r = up.run_once()
    assert (r.outcome, r.acked, r.backlog) == (UploadOutcome.SENT, 3, 0)
    assert hub.sent_seqs() == [[1, 2, 3]] * 4  # the same rows each time, nothing skipped or parked
    assert up.status()["upload"]["last_error"] is None
    up.close()


def test_an_unreachable_hub_is_retried(device: Device) -> None:
    log(device, 1)
    hub = ScriptedHub(device.key.public)
    hub.script = [httpx.ConnectError("connection refused"), httpx.ReadTimeout("timed out")]
    up = uploader(device, hub)
    for _ in range(2):
        r = up.run_once()
        assert r.outcome is UploadOutcome.RETRY and r.backlog == 1 and "unreachable" in r.message
    assert up.run_once().outcome is UploadOutcome.SENT
    up.close()


def test_413_halves_the_batch_until_accepted_then_the_full_size_again(device: Device) -> None:
    log(device, 8)
    hub = ScriptedHub(device.key.public, default=lambda req, b: refuse(413, "too_large") if len(b.rows) > 2
                      else ack_all(req, b))
    up = uploader(device, hub, batch_max_rows=8)
    results = [up.run_once() for _ in range(12)]
    sizes = [len(s) for s in hub.sent_seqs()]
    assert sizes[:4] == [8, 4, 2, 6]  # halved twice; after the accepted batch, the configured size again
    assert results[0].outcome is UploadOutcome.RETRY and results[0].delay == 0  # resent at once, smaller
    delivered = [seq for b in hub.batches if len(b.rows) <= 2 for seq in (r.seq for r in b.rows)]
    assert delivered == list(range(1, 9))  # every row once, in order
    assert results[-1].outcome is UploadOutcome.IDLE and unacknowledged(up.store) == 0
    up.close()


@pytest.mark.parametrize("status", [400, 409, 422])
def test_another_4xx_parks_the_batch_and_the_rows_behind_it_flow(device: Device, status: int) -> None:
    log(device, 1)
    hub = ScriptedHub(device.key.public)
    up = uploader(device, hub)
    assert up.run_once().outcome is UploadOutcome.SENT
    log(device, 2)
    hub.script = [refuse(status, "bad_row")]
    r = up.run_once()
    assert r.outcome is UploadOutcome.QUARANTINED and r.delay == 0
    log(device, 1)
    r = up.run_once()  # row 4, with the range of rows 2 and 3 declared as parked
    assert (r.outcome, r.acked, r.backlog) == (UploadOutcome.SENT, 4, 0)
    declared = hub.batches[-1]
    assert [(p.first, p.last, p.status) for p in declared.parked] == [(2, 3, status)]
    assert [row.seq for row in declared.rows] == [4] and declared.prev == 1
    q = up.status()["upload"]
    assert [(p["first"], p["last"], p["status"], p["rows"]) for p in q["quarantine"]] == [(2, 3, status, 2)]
    assert q["quarantine_message"] == f"2 row(s) parked: hub said {status} hub says bad_row"
    with Store(device.store_path, device.site.authority_public) as s:
        assert s.conn.execute("SELECT seq FROM quarantine_rows").fetchall() == [(2,), (3,)]
    assert up.run_once().outcome is UploadOutcome.IDLE  # parked, not sent again
    up.close()


@pytest.mark.parametrize("status", [401, 403])
def test_a_device_the_hub_does_not_accept_waits_at_the_cap_rows_untouched(device: Device, status: int) -> None:
    log(device, 2)
    hub = ScriptedHub(device.key.public, default=refuse(status, "device_unknown"))
    up = uploader(device, hub)
    for _ in range(3):
        r = up.run_once()
        assert (r.outcome, r.delay, r.backlog) == (UploadOutcome.REFUSED, 60, 2)
    assert up.status()["upload"]["quarantine"] == [] and unacknowledged(up.store) == 2
    assert hub.sent_seqs() == [[1, 2]] * 3
    up.close()


def test_stale_time_corrects_the_clock_and_retries_once_at_once(device: Device) -> None:
    log(device, 1)
    hub = ScriptedHub(device.key.public)
    ahead = time.time() + 3600  # the hub's clock: the device's is an hour slow
    hub.script = [refuse(401, "stale_time", **{H_HUB_TIME: str(ahead)})]
    up = uploader(device, hub)
    r = up.run_once()
    assert r.outcome is UploadOutcome.SENT and len(hub.requests) == 2  # one call, the retry inside it
    signed = [parse_signature_headers(q.headers).timestamp for q in hub.requests]
    assert abs(signed[1] - ahead) < 60 and signed[1] - signed[0] > 3000  # the retry is signed in hub time
    # refused as stale again: not retried a second time (no loop), the device waits as for a 401
    log(device, 1)
    hub.script = [refuse(401, "stale_time"), refuse(401, "stale_time")]
    r = up.run_once()
    assert r.outcome is UploadOutcome.REFUSED and len(hub.requests) == 4
    up.close()


def test_a_lower_ack_is_believed_and_the_rows_above_it_are_sent_again(device: Device) -> None:
    log(device, 5)
    hub = ScriptedHub(device.key.public)
    hub.script = [ack(2)]  # a hub restored from a backup holds only rows 1 and 2
    up = uploader(device, hub)
    r = up.run_once()
    assert (r.outcome, r.acked, r.backlog, r.delay) == (UploadOutcome.SENT, 2, 3, 0)
    r = up.run_once()
    assert (r.acked, r.backlog) == (5, 0)
    assert hub.batches[1].prev == 2 and hub.sent_seqs()[1] == [3, 4, 5]
    up.close()


def test_an_inflated_ack_does_not_make_later_rows_unsendable(device: Device) -> None:
    """Issue 15 item 2: a hub answering an ack far above the rows sent."""
    log(device, 3)
    hub = ScriptedHub(device.key.public)
    hub.script = [ack(2**62)]
    up = uploader(device, hub)
    r = up.run_once()
    assert (r.outcome, r.acked, r.backlog) == (UploadOutcome.SENT, 3, 0)  # believed up to the last row sent
    log(device, 3)
    assert unacknowledged(up.store) == 3  # what the daemon's /status shows as log_backlog
    up.run_once()
    assert up.status()["upload"]["backlog"] == 0 and up.status()["upload"]["acked_seq"] == 6
    assert hub.sent_seqs() == [[1, 2, 3], [4, 5, 6]]  # the later rows were sent
    up.close()


def test_a_200_that_is_not_an_ack_is_tried_again(device: Device) -> None:
    log(device, 1)
    hub = ScriptedHub(device.key.public)
    hub.script = [httpx.Response(200, text="<html>captive portal</html>")]
    up = uploader(device, hub)
    r = up.run_once()
    assert r.outcome is UploadOutcome.RETRY and r.backlog == 1 and unacknowledged(up.store) == 1
    assert up.run_once().outcome is UploadOutcome.SENT
    up.close()


# --- the updater ----------------------------------------------------------------------------------
def updater(dev: Device, hub: ScriptedHub) -> Updater:
    return Updater(*dev.sync_args(), transport=hub.transport)


def not_modified(site: Site, trust: int = 1, revocations: int = 1, at: float | None = None,
                 key: PrivateKey | None = None) -> httpx.Response:
    fresh = Freshness(trust, revocations, int(at or time.time())).sign(key or site.authority)
    return httpx.Response(304, headers={H_FRESHNESS: fresh, H_HUB_TIME: str(time.time())})


def checked_at(dev: Device) -> float | None:
    with dev.store() as s:
        return s.list_status().revocation_checked_at


def test_304_with_a_signed_statement_renews_freshness(device: Device, site: Site) -> None:
    before = checked_at(device)
    at = int(time.time())
    hub = ScriptedHub(device.key.public, default=not_modified(site, at=at))
    up = updater(device, hub)
    r = up.poll_once()
    assert r.outcome is UpdateOutcome.UNCHANGED and r.fresh_at == at and r.applied == []
    assert checked_at(device) == at > before
    req = hub.requests[0]
    assert req.url.path == PATH_LISTS and req.url.params["trust"] == "1" and req.url.params["revocations"] == "1"
    assert req.headers["If-None-Match"] == etag(1, 1)
    assert up.status()["lists_sync"]["signed_time"] == at and up.status()["lists_sync"]["last_error"] is None
    up.close()


@pytest.mark.parametrize("reply, note", [
    (lambda site: httpx.Response(304), "sent no signed time"),
    (lambda site: not_modified(site, key=PrivateKey.generate()), "freshness statement refused"),
    (lambda site: not_modified(site, revocations=7), "signed versions differ"),
])
def test_a_304_without_a_good_statement_renews_nothing(device: Device, site: Site, reply, note: str) -> None:
    before = checked_at(device)
    hub = ScriptedHub(device.key.public, default=reply(site))
    up = updater(device, hub)
    r = up.poll_once()
    assert r.outcome is UpdateOutcome.UNCHANGED and r.fresh_at is None and note in r.message
    assert checked_at(device) == before
    up.close()


def test_a_delta_that_does_not_fit_makes_the_updater_ask_for_the_full_snapshot(device: Device, site: Site) -> None:
    site.revoke(b"\x01" * 12, 1, int(time.time()) - 60)
    full, delta = site.revoke(b"\x02" * 12, 1, int(time.time()) - 60)  # v3, and a delta from v2
    hub = ScriptedHub(device.key.public)
    lists = lambda data: httpx.Response(200, content=cbor2.dumps(data), headers={H_HUB_TIME: str(time.time())})  # noqa: E731
    hub.script = [lists([delta.read_bytes()]), lists([full.read_bytes()])]
    up = updater(device, hub)
    r = up.poll_once()
    assert r.outcome is UpdateOutcome.APPLIED and r.applied == ["revocations-full v3"]
    assert [q.url.params["revocations"] for q in hub.requests] == ["1", "0"]
    with device.store() as s:
        assert s.list_status().revocation_version == 3 and s.lookup(b"\x02" * 12) is not None
    up.close()


def test_a_busy_hub_delays_the_next_poll_by_its_retry_after(device: Device) -> None:
    hub = ScriptedHub(device.key.public, default=refuse(503, "busy", **{"Retry-After": "30"}))
    up = updater(device, hub)
    r = up.poll_once()
    assert r.outcome is UpdateOutcome.RETRY and 30 <= r.delay <= device.settings.sync.poll_interval
    assert "hub 503" in up.status()["lists_sync"]["last_error"]
    up.close()


# --- enrolment ------------------------------------------------------------------------------------
def enrolment_hub(key: PrivateKey, reply: Reply) -> ScriptedHub:
    return ScriptedHub(key.public, default=reply)


def test_enrol_sends_the_token_signed_by_the_new_key(site: Site) -> None:
    key = PrivateKey.generate()
    hub = enrolment_hub(key, hub_json(201, {"device_id": "d" * 16, "gate_id": "north", "hub_time": 1.0,
                                            "authority_key": "PEM", "scope": "demo", "site_name": "Maple"}))
    e = enrol(HUB, "gk1_token", "north", key, transport=hub.transport)
    assert (e.device_id, e.gate_id, e.scope, e.site_name) == ("d" * 16, "north", "demo", "Maple")
    assert e.authority_pem == "PEM"
    sent = json.loads(hub.requests[0].content)
    assert hub.requests[0].url.path == PATH_ENROL
    assert sent == {"token": "gk1_token", "gate_id": "north", "public_key": b64(key.public.raw)}


@pytest.mark.parametrize("reply, kind", [
    (refuse(409, "token_used"), EnrolFailure.REFUSED),
    (httpx.ConnectError("connection refused"), EnrolFailure.UNSENT),
    (httpx.ConnectTimeout("connect timed out"), EnrolFailure.UNSENT),
    (httpx.ReadTimeout("read timed out"), EnrolFailure.NO_REPLY),
    (httpx.RemoteProtocolError("reset mid-reply"), EnrolFailure.NO_REPLY),
])
def test_enrol_failures_say_whether_the_request_can_have_arrived(reply: Reply, kind: EnrolFailure) -> None:
    key = PrivateKey.generate()
    with pytest.raises(EnrolError) as caught:
        enrol(HUB, "gk1_token", "north", key, transport=enrolment_hub(key, reply).transport)
    assert caught.value.kind is kind
    if kind is EnrolFailure.REFUSED:
        assert "token_used" in str(caught.value)
    else:
        assert type(reply).__name__ in caught.value.detail
