"""The registry's rules without a browser: labels and CSV (property tests), all-or-nothing imports,
the offline ledger, the append-only audit log, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import time
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatekeeper.admin import append_ledger, ledger_entry, ledger_path
from gatekeeper.hub.audit import AuditAction, AuditLog
from gatekeeper.hub.publisher import Publisher
from gatekeeper.hub.registry import (
    Actor,
    ConflictError,
    FieldErrors,
    IssueRequest,
    PassQuery,
    PassState,
    Registry,
    RowErrors,
    UnitInput,
    check_label,
    check_units_csv,
    clean,
    decode_csv,
)
from gatekeeper.hub.store import HubStore
from gatekeeper.verify import validate_label

ACTOR = Actor("tester", "127.0.0.1")


@pytest.fixture
def registry(db_url, site):
    store = HubStore.open(db_url)
    reg = Registry(store.db, Publisher(store, site), AuditLog(store.db))
    yield reg
    store.close()


@given(st.text(max_size=40))
def test_a_label_is_accepted_exactly_when_the_pass_format_accepts_it(text):
    label = clean(text)
    try:
        validate_label(label)
        valid = bool(label)
    except ValueError:
        valid = False
    assert (check_label(label) == []) == valid
    assert clean(text) == unicodedata.normalize("NFC", text).strip()


UNIT_NAMES = st.text(st.characters(categories=("L", "N"), max_codepoint=0x9fff), min_size=1, max_size=20)
LABELS = st.text(st.characters(categories=("L", "N", "Pd"), max_codepoint=0x9fff), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(UNIT_NAMES, LABELS, st.integers(0, 50)), max_size=12,
                     unique_by=lambda r: unicodedata.normalize("NFC", r[0])),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_units_csv_round_trip(tmp_path, site, rows, encoding):
    store = HubStore.open(str(tmp_path / "csv.db"))
    try:
        reg = Registry(store.db, Publisher(store, site), AuditLog(store.db))
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["name", "label", "quota"])
        w.writerows(rows)
        try:
            data = buf.getvalue().encode(encoding)
        except UnicodeEncodeError:
            return
        units, bad = check_units_csv(reg, data)
        good = [r for r in rows if not check_label(clean(r[1]))]
        if not rows:
            assert bad == {1: bad[1]}
        elif len(good) == len(rows):
            assert bad == {}
            assert [(u.name, u.label, u.quota) for u in units] == [(clean(n), clean(lb), q) for n, lb, q in rows]
        else:
            assert set(bad) == {n for n, r in enumerate(rows, start=2) if r not in good}
        assert reg.units()[1] == 0  # checking writes nothing
    finally:
        store.close()


def test_a_bad_import_writes_nothing_and_names_each_row(registry):
    registry.create_unit(UnitInput("1号楼1单元101", "1-1-101", 2), ACTOR)
    data = "name,label,quota,note\nA,a,1,\n1号楼1单元101,x,1,\nB,b,99,\nA,a2,1,\nC,c,1,ground floor\n"
    units, bad = check_units_csv(registry, data.encode())
    assert sorted(bad) == [3, 4, 5]
    assert [p.field for p in bad[4]] == ["quota"] and "row" in bad[5][0].params
    with pytest.raises(RowErrors) as e:
        registry.import_units([UnitInput(u.name, u.label, u.quota, u.note) for u in units], ACTOR)
    assert sorted(e.value.rows) == [3, 4, 5]
    assert registry.units()[1] == 1


def test_csv_in_gb18030_and_bad_bytes():
    assert decode_csv("name,label,quota\n3号楼,3,1\n".encode("gb18030")).startswith("name")
    with pytest.raises(FieldErrors):
        decode_csv(b"\xff\xfe\xfa\xfb\x80\x81\x82")


def test_quota_visitors_and_reissue(registry):
    registry.create_unit(UnitInput("3号楼2单元101", "3号楼2单元101", 2), ACTOR)
    a, b = registry.issue(IssueRequest("3号楼2单元101", 2), ACTOR)
    with pytest.raises(FieldErrors) as e:
        registry.issue(IssueRequest("3号楼2单元101", 1), ACTOR)
    assert e.value.problems[0].field == "count"
    now = int(time.time())
    (visitor,) = registry.issue(IssueRequest("3号楼2单元101", 1, now, now + 12 * 3600, kind="visitor"), ACTOR)
    assert visitor.label == "3号楼2单元101"
    (day_visitor,) = registry.issue(IssueRequest("3号楼2单元101", 1, kind="visitor"), ACTOR, now=now)
    assert day_visitor.valid_until - day_visitor.valid_from == 12 * 3600
    with pytest.raises(FieldErrors, match="at most 7 days"):
        registry.issue(IssueRequest("3号楼2单元101", 1, now, now + 8 * 86400, kind="visitor"), ACTOR)
    new = registry.reissue(a.pass_id, ACTOR)
    states = {p.pass_id: p.state for p in registry.passes(PassQuery(unit="3号楼2单元101"))[0]}
    assert states == {a.pass_id: PassState.REVOKED, b.pass_id: PassState.ACTIVE, visitor.pass_id: PassState.ACTIVE,
                      day_visitor.pass_id: PassState.ACTIVE, new.pass_id: PassState.ACTIVE}
    assert registry.unit("3号楼2单元101").active == 2
    with pytest.raises(ConflictError, match="reissued already"):
        registry.reissue(a.pass_id, ACTOR)
    registry.revoke(b.pass_id, ACTOR, PassState.RED, now + 3600)
    assert registry.pass_record(b.pass_id).state == PassState.RED
    assert registry.passes(PassQuery(text=new.pass_id[:8]))[0][0].pass_id == new.pass_id


def test_passes_issued_offline_are_taken_in_from_the_ledger(registry, site):
    registry.create_unit(UnitInput("5号楼101", "5-101", 4), ACTOR)
    now = time.time()
    text, claims = site.issue_pass(int(now), int(now + 86400), label="5-101")
    append_ledger(site.root, [ledger_entry(text, claims, "5号楼101")])
    with ledger_path(site.root).open("a") as f:
        f.write('{"pass_id": "torn')  # a crash while appending
    (rec,), total = registry.passes(PassQuery(unit="5号楼101"))
    assert total == 1 and rec.pass_id == claims.pass_id.hex() and rec.source == "ledger" and rec.text == text
    registry._ledger_seen = None
    assert registry.take_in_ledger() == 0  # idempotent


def test_the_audit_log_is_append_only(registry):
    registry.audit.record("tester", AuditAction.EXPORT, "audit_log", "csv", "127.0.0.1")
    for sql in ("UPDATE audit_log SET actor='someone else'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"), registry.db.transaction() as tx:
            tx.run(sql)
    assert [e.actor for e in registry.audit.entries()] == ["tester"]
