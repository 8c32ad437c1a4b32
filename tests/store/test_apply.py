"""Applying signed lists to the device store: what is accepted, and every refusal leaves it as it was."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import cbor2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatekeeper.admin.site import DAY, Site
from gatekeeper.gate.store import MIGRATIONS, SCHEMA_VERSION, Parked, Store, connect
from gatekeeper.verify import (
    EntryState,
    Issuer,
    ListError,
    PrivateKey,
    RevocationList,
    TrustList,
    load_revocation_list,
    pack_entries,
    pack_ids,
)
from gatekeeper.verify.envelope import seal
from gatekeeper.verify.revocation import KIND as REV_KIND
from tests.kit.core import SCOPE
from tests.kit.hub import log_row

PID = [bytes([n]) * 12 for n in range(1, 10)]


def rl(version: int, issued_at: int, entries: dict | None = None, base: int | None = None,
       lifted: set | None = None) -> RevocationList:
    return RevocationList(version, issued_at, base, pack_entries(entries or {}), pack_ids(lifted or set()))


@pytest.fixture
def cached(store: Store, site: Site) -> Store:
    """A store holding revocation list v2 (two entries) on top of the site's first lists."""
    now = int(site.revocations().issued_at)
    store.apply_list(rl(2, now + 10, {PID[0]: (1, now), PID[1]: (2, now)}).sign(site.authority))
    return store


def refused(store: Store, data: bytes, dump_db, match: str | None = None) -> str:
    """Apply ``data``; require a ListError and an unchanged database; return the message."""
    before = dump_db(store.path)
    with pytest.raises(ListError) as e:
        store.apply_list(data)
    assert dump_db(store.path) == before
    if match:
        assert match in str(e.value), str(e.value)
    return str(e.value)


# --- accepted -------------------------------------------------------------------------------------
def test_full_then_delta_then_lookup(cached: Store, site: Site) -> None:
    assert cached.lookup(PID[0]).state is EntryState.REVOKED
    assert cached.lookup(PID[1]).state is EntryState.RED
    assert cached.lookup(PID[2]) is None
    t = cached.list_status().revocation_issued_at
    r = cached.apply_list(rl(3, t + 5, {PID[2]: (3, t), PID[1]: (1, t)}, base=2, lifted={PID[0]}).sign(site.authority))
    assert (r.kind, r.version, r.entries, r.lifted) == ("revocations-delta", 3, 2, 1)
    assert cached.lookup(PID[0]) is None
    assert cached.lookup(PID[1]).state is EntryState.REVOKED
    assert cached.lookup(PID[2]).state is EntryState.YELLOW
    s = cached.list_status()
    assert (s.revocation_version, s.revocation_entries, s.revocation_issued_at) == (3, 2, t + 5)
    # a later full snapshot replaces everything
    cached.apply_list(rl(9, t + 9, {PID[5]: (2, t)}).sign(site.authority))
    assert cached.lookup(PID[1]) is None and cached.lookup(PID[5]).state is EntryState.RED
    assert cached.list_status().revocation_entries == 1


def test_site_revoke_writes_a_full_and_a_delta_that_both_apply(tmp_path: Path, site: Site, store: Store) -> None:
    full, delta = site.revoke(PID[3], EntryState.RED, 100)
    other = Store(tmp_path / "other.db", site.authority_public)
    other.apply_list(site.trust_file().read_bytes())
    other.apply_list(full.read_bytes())          # a new device: the full snapshot
    store.apply_list(delta.read_bytes())         # a device at v1: the delta
    assert store.lookup(PID[3]) == other.lookup(PID[3]) and store.lookup(PID[3]).since == 100
    other.close()


def test_an_issuer_allowed_to_sign_lists_may_sign_them(site: Site, store: Store) -> None:
    signer = PrivateKey.generate()
    t = store.list_status().revocation_issued_at
    tl = TrustList(2, t, (*site.trust_list().issuers, Issuer(signer.public, t - DAY, t + DAY, (SCOPE,), True)))
    store.apply_list(tl.sign(site.authority))
    store.apply_list(rl(2, t + 1, {PID[0]: (1, t)}, base=1).sign(signer))
    assert store.lookup(PID[0]).state is EntryState.REVOKED


def test_an_issuer_signing_lists_is_bounded(site: Site, store: Store, dump_db) -> None:
    """Issue 15 item 4 on a real store: the issuer may add, not lift, weaken, replace or jump; the
    authority may do each."""
    signer = PrivateKey.generate()
    t = store.list_status().revocation_issued_at
    tl = TrustList(2, t, (*site.trust_list().issuers, Issuer(signer.public, t - DAY, t + DAY, (SCOPE,), True)))
    store.apply_list(tl.sign(site.authority))
    store.apply_list(rl(2, t + 1, {PID[0]: (1, t)}, base=1).sign(signer))
    refused(store, rl(3, t + 2, lifted={PID[0]}, base=2).sign(signer), dump_db, "only the authority may lift")
    refused(store, rl(3, t + 2, {PID[0]: (3, t)}, base=2).sign(signer), dump_db, "would weaken the entry")
    refused(store, rl(3, t + 2).sign(signer), dump_db, "is a full snapshot")
    refused(store, rl(2**63 - 1, t + 2, {PID[1]: (1, t)}, base=2).sign(signer), dump_db, "by at most 1000")
    store.apply_list(rl(3, t + 2, {PID[1]: (1, t)}, base=2).sign(signer))
    store.apply_list(rl(5000, t + 3, base=3, lifted={PID[0]}).sign(site.authority))
    assert store.lookup(PID[0]) is None and store.list_status().revocation_version == 5000


def test_schema_version_is_recorded_and_a_newer_schema_is_refused(tmp_path: Path, site: Site, dump_db) -> None:
    path = tmp_path / "d.db"
    Store(path, site.authority_public).close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (str(SCHEMA_VERSION),)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match=f"schema {SCHEMA_VERSION + 1} is newer"):
        Store(path, site.authority_public)
    # reopening an up-to-date store migrates nothing: it changes nothing, and needs no write lock
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))
    before = dump_db(path)
    conn.execute("BEGIN IMMEDIATE")  # another writer holds the lock while the store opens
    try:
        Store(path, site.authority_public).close()
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    assert dump_db(path) == before


def test_a_schema_1_store_with_a_json_quarantine_is_migrated_into_the_tables(tmp_path: Path, site: Site) -> None:
    path = tmp_path / "old.db"
    conn = connect(path)
    MIGRATIONS[1](conn)  # a store as release 1 left it, its quarantine a JSON list in a meta key
    row = log_row(pass_id="ab" * 12).columns() | {"seq": 3}
    parked = [{"first": 3, "last": 4, "status": 422, "message": "label too long", "at": 1700000000.5,
               "rows": [row, row | {"seq": 4, "label": "x" * 300}]},
              {"first": 9, "last": 9, "status": 400, "message": "bad", "at": 1700000100.0, "rows": [row | {"seq": 9}]}]
    conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)",
                     [("schema_version", "1"), ("sync.quarantine", json.dumps(parked))])
    conn.close()
    with Store(path, site.authority_public) as store:
        assert store.get_state("schema_version") == str(SCHEMA_VERSION) and SCHEMA_VERSION == 2
        assert store.get_state("sync.quarantine") is None
        assert store.parked() == [Parked(3, 4, 422, "label too long", 1700000000.5, 2),
                                  Parked(9, 9, 400, "bad", 1700000100.0, 1)]
        assert store.parked(above=4) == [Parked(9, 9, 400, "bad", 1700000100.0, 1)]
        kept = store.conn.execute("SELECT seq, label, pass_id FROM quarantine_rows ORDER BY seq").fetchall()
        assert kept == [(3, "A-101", "ab" * 12), (4, "x" * 300, "ab" * 12), (9, "A-101", "ab" * 12)]


# --- refused, each leaving the cache exactly as it was ---------------------------------------------
def test_rollback_and_equal_versions_are_refused(cached: Store, site: Site, dump_db) -> None:
    t = cached.list_status().revocation_issued_at
    refused(cached, rl(2, t + 50, {PID[4]: (1, t)}).sign(site.authority), dump_db, "version 2 is already applied")
    refused(cached, rl(1, t + 50).sign(site.authority), dump_db, "rollback")
    refused(cached, site.revocation_file().read_bytes(), dump_db, "rollback")  # the genuine v1 file
    refused(cached, site.trust_file().read_bytes(), dump_db, "trust list version 1 is already applied")


def test_delta_on_the_wrong_base_is_refused(cached: Store, site: Site, dump_db, tmp_path: Path) -> None:
    t = cached.list_status().revocation_issued_at
    refused(cached, rl(4, t + 1, {PID[4]: (1, t)}, base=3).sign(site.authority), dump_db, "does not fit")
    refused(cached, rl(3, t + 1, {PID[4]: (1, t)}, base=1).sign(site.authority), dump_db, "does not fit")
    empty = Store(tmp_path / "empty.db", site.authority_public)
    empty.apply_list(site.trust_file().read_bytes())
    refused(empty, rl(2, t + 1, {}, base=1).sign(site.authority), dump_db, "cached version none")
    empty.close()


def test_wrong_signers_are_refused(cached: Store, site: Site, dump_db) -> None:
    t = cached.list_status().revocation_issued_at
    body = rl(5, t + 1, {PID[4]: (1, t)})
    refused(cached, body.sign(PrivateKey.generate()), dump_db, "may not sign")
    refused(cached, body.sign(site.issuer), dump_db, "may not sign")       # an issuer without the right
    # the authority's key id over another key's signature
    forged = cbor2.loads(body.sign(PrivateKey.generate()))
    forged[2] = site.authority.kid
    refused(cached, cbor2.dumps(forged), dump_db, "bad signature")
    # a trust list signed by an issuer, or by a stranger
    tl = TrustList(7, t, site.trust_list().issuers)
    refused(cached, tl.sign(site.issuer), dump_db, "signed by key")
    # an issuer allowed to sign lists, but outside its window
    signer = PrivateKey.generate()
    cached.apply_list(TrustList(2, t, (*site.trust_list().issuers,
                                       Issuer(signer.public, t - DAY, t + 10, (SCOPE,), True))).sign(site.authority))
    refused(cached, rl(5, t + 11).sign(signer), dump_db, "outside its trusted window")


def test_kind_confusion_is_refused(cached: Store, site: Site, dump_db) -> None:
    """A revocation body signed as a trust list (or the other way round) is neither."""
    t = cached.list_status().revocation_issued_at
    refused(cached, seal("gk-trust/1", rl(5, t).body(), site.authority), dump_db, "trust list")
    refused(cached, seal(REV_KIND, TrustList(5, t, ()).body(), site.authority), dump_db, "revocation list")
    refused(cached, seal("gk-other/1", b"\xa0", site.authority), dump_db, "unknown list kind")


@pytest.mark.parametrize("body, match", [
    ({"version": 5, "issued_at": 1, "type": "full", "entries": b"\x01" * 20}, "whole 21-byte"),
    ({"version": 5, "issued_at": 1, "type": "full", "entries": PID[1] + b"\x01" + bytes(8) + PID[0] + b"\x01"
      + bytes(8)}, "ascending"),
    ({"version": 5, "issued_at": 1, "type": "full", "entries": PID[0] + b"\x01" + bytes(8) + PID[0] + b"\x02"
      + bytes(8)}, "ascending"),
    ({"version": 5, "issued_at": 1, "type": "full", "entries": PID[0] + b"\x04" + bytes(8)}, "unknown state"),
    ({"version": 5, "issued_at": 1, "type": "full", "entries": PID[0] + b"\x01" + b"\xff" * 8}, "plausible"),
    ({"version": 5, "issued_at": 2**63, "type": "full", "entries": b""}, "out of range"),
    ({"version": 2**64, "issued_at": 1, "type": "full", "entries": b""}, "out of range"),
    ({"version": 0, "issued_at": 1, "type": "full", "entries": b""}, "positive"),
    ({"version": 5, "issued_at": 1, "type": "snapshot", "entries": b""}, "type must be"),
    ({"version": 5, "issued_at": 1, "type": "delta", "entries": b""}, "'base'"),
    ({"version": 5, "issued_at": 1, "type": "delta", "base": 2, "entries": b""}, "'lifted'"),
    ({"version": 5, "issued_at": 1, "type": "delta", "base": 5, "entries": b"", "lifted": b""}, "not below"),
    ({"version": 5, "issued_at": 1, "type": "delta", "base": 2, "entries": b"", "lifted": b"\x01" * 13}, "12-byte"),
    ({"version": 5, "issued_at": True, "type": "full", "entries": b""}, "wrong type"),
    ({"version": "5", "issued_at": 1, "type": "full", "entries": b""}, "wrong type"),
    ([5, 1], "not a map"),
])
def test_malformed_signed_content_is_refused(cached: Store, site: Site, dump_db, body, match: str) -> None:
    refused(cached, seal(REV_KIND, cbor2.dumps(body), site.authority), dump_db, match)


def _files(site: Site, cached: Store) -> dict[str, bytes]:
    t = cached.list_status().revocation_issued_at
    return {
        "full": rl(3, t + 1, {PID[4]: (1, t), PID[5]: (3, t)}).sign(site.authority),
        "delta": rl(3, t + 1, {PID[4]: (2, t)}, base=2, lifted={PID[0]}).sign(site.authority),
        "trust": TrustList(2, t, site.trust_list().issuers).sign(site.authority),
    }


def test_a_tampered_byte_anywhere_is_refused(cached: Store, site: Site, dump_db) -> None:
    before = dump_db(cached.path)
    for name, good in _files(site, cached).items():
        for pos in range(len(good)):
            for mask in (0x01, 0x80, 0xFF):
                bad = bytearray(good)
                bad[pos] ^= mask
                with pytest.raises(ListError):
                    cached.apply_list(bytes(bad))
        assert dump_db(cached.path) == before, name
    # the untampered files do apply (so the refusals above were for the tampering)
    files = _files(site, cached)
    cached.apply_list(files["trust"])
    cached.apply_list(files["delta"])


def test_every_truncation_is_refused(cached: Store, site: Site, dump_db) -> None:
    before = dump_db(cached.path)
    for good in _files(site, cached).values():
        for n in range(len(good)):
            with pytest.raises(ListError):
                cached.apply_list(good[:n])
        with pytest.raises(ListError):
            cached.apply_list(good + b"\x00")  # trailing bytes too
    assert dump_db(cached.path) == before


# --- crash safety ---------------------------------------------------------------------------------
def big_snapshot(n: int, version: int, issued_at: int, seed: int = 1) -> RevocationList:
    """``n`` random entries, built with numpy (packing a million through Python takes seconds)."""
    rng = np.random.default_rng(seed)
    ids = np.unique(rng.integers(0, 256, size=(n, 12), dtype=np.uint8).view("S12").ravel())
    rec = np.zeros(len(ids), dtype=[("id", "S12"), ("state", "u1"), ("since", ">u8")])
    rec["id"], rec["state"], rec["since"] = ids, 1, issued_at - 100
    return RevocationList(version, issued_at, None, rec.tobytes())


CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from gatekeeper.gate.store import Store
    from gatekeeper.verify import PublicKey
    store = Store(sys.argv[1], PublicKey.from_pem(Path(sys.argv[2]).read_bytes()))
    told = []
    def progress():
        # tell the parent once the apply is inside its transaction, then keep going
        if store.conn.in_transaction and not told:
            told.append(1)
            print("in-transaction", flush=True)
        return 0
    store.conn.set_progress_handler(progress, 1000)
    store.apply_list(Path(sys.argv[3]).read_bytes())
    print("done", flush=True)
""")


@pytest.mark.timeout(120)
def test_kill_mid_apply_leaves_the_old_cache_and_the_next_apply_succeeds(
        tmp_path: Path, cached: Store, site: Site, dump_db) -> None:
    t = cached.list_status().revocation_issued_at
    snap = big_snapshot(300_000, 3, t + 1)
    path = tmp_path / "big.gkl"
    path.write_bytes(snap.sign(site.authority))
    before = dump_db(cached.path)
    cached.close()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(cached.path), str(site.root / "keys/authority.pub"),
                              str(path)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "in-transaction"
    os.kill(child.pid, 9)
    child.wait()
    rest = child.stdout.read()
    assert "done" not in rest and child.returncode == -9  # it really died mid-apply
    store = Store(cached.path, site.authority_public)  # opening recovers from the WAL
    assert dump_db(store.path) == before
    assert store.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    r = store.apply_list(path.read_bytes())
    assert (r.version, r.entries) == (3, len(snap))
    first = snap.entries[:12]
    assert store.lookup(first).state is EntryState.REVOKED and store.lookup(PID[0]) is None
    store.close()


# --- the parser, by property ----------------------------------------------------------------------
PROP = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_KEY = PrivateKey.generate()
_entries = st.dictionaries(st.binary(min_size=12, max_size=12), st.tuples(st.sampled_from([1, 2, 3]),
                           st.integers(0, 2**40 - 1)), max_size=30)


@PROP
@given(st.binary(max_size=400))
def test_arbitrary_bytes_are_refused_cleanly(data: bytes) -> None:
    with pytest.raises(ListError):
        load_revocation_list(data, _KEY.public, None)


@PROP
@given(st.dictionaries(st.sampled_from(["version", "issued_at", "type", "base", "entries", "lifted", "x"]),
                       st.one_of(st.integers(-2**65, 2**65), st.binary(max_size=50), st.text(max_size=6),
                                 st.sampled_from(["full", "delta"]), st.none(), st.booleans(), st.floats())))
def test_signed_arbitrary_bodies_parse_or_are_refused(body: dict) -> None:
    data = seal(REV_KIND, cbor2.dumps(body), _KEY)
    try:
        parsed = load_revocation_list(data, _KEY.public, None)
    except ListError:
        return
    assert parsed.version == body["version"] and len(parsed.entries) % 21 == 0


@PROP
@given(_entries, st.sets(st.binary(min_size=12, max_size=12), max_size=10), st.booleans(),
       st.integers(1, 2**40 - 1))
def test_valid_lists_round_trip(entries: dict, lifted: set, delta: bool, issued_at: int) -> None:
    made = rl(7, issued_at, entries, base=3 if delta else None, lifted=lifted if delta else None)
    got = load_revocation_list(made.sign(_KEY), _KEY.public, None)
    assert got == made
    assert {pid: (s, since) for pid, s, since in got.iter_entries()} == entries
    assert set(got.iter_lifted()) == (lifted if delta else set())
