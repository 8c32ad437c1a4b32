"""Group commit: uploads stored together in one transaction, each in its own savepoint, so one
refused upload (a replay, a revoked device) stores nothing of itself and leaves the others stored."""

from __future__ import annotations

import time
from functools import partial

from gatekeeper.hub.errors import RefusedError
from gatekeeper.hub.gates import GateHealth
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


def test_a_gates_contact_is_written_in_its_uploads_transaction_and_not_for_a_refused_one(db_url):
    store = HubStore.open(db_url)
    health = GateHealth(store.db)
    try:
        one, two = (store.register_device(PrivateKey.generate().public, f"gate-{i}") for i in range(2))
        now = time.time()

        def contact(dev):
            assert health.due(dev.gate_id, now)
            return partial(health.record, device_id=dev.device_id, gate_id=dev.gate_id, report_text=None, now=now)

        results = store.ingest_many([Upload(one, batch(1, 2), now, "n1", contact(one)),
                                     Upload(one, batch(3, 1), now, "n1", None),  # a replay
                                     Upload(two, batch(1, 1), now, "n1", contact(two))])
        assert [type(r) for r in results] == [Ack, RefusedError, Ack]
        assert health.gate(one.gate_id).last_seen == health.gate(two.gate_id).last_seen == now
        # once a second per gate at most: the next request in that second writes no contact
        assert not health.due(one.gate_id, now + 0.5) and health.due(one.gate_id, now + 1.5)

        three = store.register_device(PrivateKey.generate().public, "gate-3")
        replay = Upload(three, batch(1, 1), now, "n3")
        store.ingest_many([replay])
        health.due(three.gate_id, now)
        store.ingest_many([Upload(three, batch(2, 1), now, "n3", partial(
            health.record, device_id=three.device_id, gate_id=three.gate_id, report_text=None, now=now))])
        assert health.gate(three.gate_id).last_seen is None  # its upload was refused: no contact either
    finally:
        store.close()
