"""Group commit: uploads stored together in one transaction, each in its own savepoint, so one
refused upload (a replay, a revoked device) stores nothing of itself and leaves the others stored."""

from __future__ import annotations

import time

from gatekeeper.hub.errors import RefusedError
from gatekeeper.hub.store import HubStore, Upload
from gatekeeper.verify import PrivateKey
from gatekeeper.wire import Ack, Batch
from tests.kit.hub import log_row


def batch(first: int, n: int) -> Batch:
    return Batch.model_validate({"prev": first - 1, "last": first + n - 1, "sent_mono": 0, "sent_boot_id": "b",
                                 "rows": [dict(log_row(), seq=s) for s in range(first, first + n)]})


def test_a_refused_upload_in_a_group_leaves_the_others_stored(db_url):
    store = HubStore.open(db_url)
    try:
        one, two, gone = (store.register_device(PrivateKey.generate().public, f"gate-{i}") for i in range(3))
        store.revoke_device(gone.device_id)
        now = time.time()
        results = store.ingest_many([Upload(two, batch(1, 3), now, "n2"), Upload(one, batch(1, 2), now, "n1"),
                                     Upload(one, batch(3, 2), now, "n1"),  # the same nonce again: a replay
                                     Upload(gone, batch(1, 1), now, "n3")])
        assert [type(r) for r in results] == [Ack, Ack, RefusedError, RefusedError]
        assert results[2].code == "replay" and results[3].code == "device_revoked"
        assert (results[0].ack, results[1].ack) == (3, 2)
        assert (store.count_rows(one.device_id), store.count_rows(two.device_id), store.count_rows(gone.device_id)) \
            == (2, 3, 0)
        assert store.device(one.device_id).acked == 2
    finally:
        store.close()
