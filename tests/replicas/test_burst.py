"""Issue 17 item 3: several hub processes on one PostgreSQL database behind nginx; a burst of gates
through the balancer while one hub process is killed with SIGKILL in the middle. Every row is stored
exactly once and every gate's ack only moves forward.

The burst is 1,000 gates x 2 batches of 10 rows here (so the test takes seconds, not minutes);
tools/bench_sync.py runs 1,000 gates x 100 rows through the same balancer.
"""

from __future__ import annotations

import pytest

from gatekeeper.hub.store import HubStore
from gatekeeper.verify import PrivateKey
from tests.kit.balancer import Balancer, nginx_bin
from tests.kit.burst import batches, burst
from tests.kit.core import wait_until
from tests.kit.hub import HubProcess

GATES, BATCHES, ROWS = 1000, 2, 10


@pytest.fixture
def replicas(pg_cluster, site):
    if isinstance(pg_cluster, str):
        pytest.skip(pg_cluster)
    if nginx_bin() is None:
        pytest.skip("nginx not installed (./dev test installs it)")
    url = pg_cluster.new_database()
    hubs = [HubProcess(url, site.root).start(), HubProcess(url, None).start()]
    balancer = Balancer([h.port for h in hubs]).start()
    yield url, hubs, balancer
    balancer.stop()
    for h in hubs:
        h.stop()


def test_a_burst_through_the_balancer_survives_a_killed_hub(replicas):
    url, hubs, balancer = replicas
    store = HubStore.open(url)
    keys = [PrivateKey.generate() for _ in range(GATES)]
    ids = [store.register_device(k.public, f"gate-{i}").device_id for i, k in enumerate(keys)]
    bodies = batches(BATCHES * ROWS, ROWS)
    total = GATES * BATCHES * ROWS

    def kill_one_in_the_middle() -> None:
        wait_until(lambda: store.count_rows() >= total // 3, timeout=120)
        hubs[0].kill()

    runs, _ = burst(balancer.url, [(k.to_pem(), bodies) for k in keys], give_up_s=240, during=kill_one_in_the_middle)
    try:
        assert hubs[0].proc.poll() is not None and hubs[1].proc.poll() is None  # one really died mid-burst
        assert all(r.finished for r in runs), [r for r in runs if not r.finished][:3]
        for run in runs:
            assert run.acks == sorted(run.acks) and run.acks[-1] == BATCHES * ROWS  # only forward, to the end
        rows = store.db.all("SELECT device_id, count(*), count(DISTINCT seq), min(seq), max(seq) FROM passage_log "
                            "GROUP BY device_id")
        assert len(rows) == GATES and sum(r[1] for r in rows) == total
        assert all(r[1] == r[2] == BATCHES * ROWS and (r[3], r[4]) == (1, BATCHES * ROWS) for r in rows)
        acked = dict(store.db.all("SELECT device_id, acked FROM devices"))
        assert all(acked[d] == BATCHES * ROWS for d in ids)
    finally:
        store.close()
