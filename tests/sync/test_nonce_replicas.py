"""Issue 15 item 6: request nonces are kept in the database, so a request replayed to another
replica on the same PostgreSQL database is refused there too."""

from __future__ import annotations

import time

import httpx
import pytest

from gatekeeper.wire import PATH_LISTS, PATH_LOG, sign_request
from gatekeeper.wire.batch import encode_batch, take_within
from tests.kit.hub import HubProcess, enrolled_device, log_row


@pytest.fixture
def replicas(pg_cluster, site):
    if isinstance(pg_cluster, str):
        pytest.skip(pg_cluster)
    url = pg_cluster.new_database()
    hubs = [HubProcess(url, site.root).start(), HubProcess(url, None).start()]
    yield hubs
    for h in hubs:
        h.stop()


def test_a_request_replayed_to_another_replica_is_refused(replicas, site, tmp_path):
    one, two = replicas
    dev = enrolled_device(tmp_path, site, one)
    body = encode_batch(0, 1, take_within([dict(log_row(), seq=1)], 10**6), time.monotonic(), "b")
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip",
               **sign_request(dev.key, "POST", PATH_LOG, body, int(time.time()))}
    assert httpx.post(one.url + PATH_LOG, content=body, headers=headers).status_code == 200
    r = httpx.post(two.url + PATH_LOG, content=body, headers=headers)
    assert r.status_code == 401 and r.json()["error"] == "replay"
    target = f"{PATH_LISTS}?trust=0&revocations=0"
    signed = sign_request(dev.key, "GET", target, b"", int(time.time()))
    assert httpx.get(two.url + target, headers=signed).status_code == 200
    r = httpx.get(one.url + target, headers=signed)
    assert r.status_code == 401 and r.json()["error"] == "replay"
