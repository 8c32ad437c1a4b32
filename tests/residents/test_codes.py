"""Unit codes (issue 14): 80 random bits, typable from paper, stored only hashed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gatekeeper.hub.residents import ALPHABET, CODE_BITS, code_hash, new_code, normal_code


def test_a_code_is_80_bits_in_four_groups_without_ambiguous_letters():
    code = new_code()
    groups = code.split("-")
    assert [len(g) for g in groups] == [4, 4, 4, 4]
    assert len("".join(groups)) * 5 == CODE_BITS
    assert not set("ILOU") & set(code)
    assert len({new_code() for _ in range(1000)}) == 1000


@given(st.integers(0, 2**CODE_BITS - 1), st.sampled_from(["", " ", "-", "  "]), st.booleans())
def test_typed_codes_come_back_to_the_printed_form(n, sep, lower):
    chars = "".join(ALPHABET[(n >> (5 * i)) & 31] for i in range(16))
    printed = "-".join(chars[i:i + 4] for i in range(0, 16, 4))
    typed = sep.join(chars[i:i + 4] for i in range(0, 16, 4))
    typed = typed.lower() if lower else typed
    assert normal_code(typed) == printed
    # O, I and L typed for 0, 1, 1
    assert normal_code(printed.replace("0", "O").replace("1", "l")) == printed


@given(st.text(max_size=40))
def test_anything_else_is_no_code(text):
    normal = normal_code(text)
    assert normal is None or (len(normal) == 19 and normal_code(normal) == normal)


def test_only_a_hash_is_stored_and_it_differs_per_code():
    a, b = new_code(), new_code()
    assert code_hash(a) != code_hash(b) and a not in code_hash(a) and len(code_hash(a)) == 64


def test_a_units_code_is_rate_limited(tmp_path):
    import pytest

    from gatekeeper.hub.audit import AuditLog
    from gatekeeper.hub.publisher import Publisher
    from gatekeeper.hub.registry import Registry
    from gatekeeper.hub.residents import UNIT_CHANGE_RATE, UNIT_RATE, Refusal, ResidentError, Residents
    from gatekeeper.hub.store import HubStore
    store = HubStore.open(str(tmp_path / "hub.db"))
    audit = AuditLog(store.db)
    residents = Residents(store, Registry(store.db, Publisher(store, None), audit), audit)
    for rate, change in ((UNIT_RATE, False), (UNIT_CHANGE_RATE, True)):
        for _ in range(int(rate.split()[0])):
            residents.use("A-101", change=change)
        with pytest.raises(ResidentError) as refused:
            residents.use("A-101", change=change)
        assert refused.value.refusal is Refusal.BUSY
        residents.use("B-202", change=change)  # another unit is not held up
    store.close()
