"""The UUIDs a bulk import gives new records: version 7, unique and ascending, across blocks."""

from __future__ import annotations

import itertools
import uuid

from hypothesis import given
from hypothesis import strategies as st

from pycrm.services.contacts import time_ordered_uuids


def reference(first: str, count: int) -> list[str]:
    """``count`` UUIDs from ``first``, its 74 counter bits (rand_a, rand_b) incremented."""
    value = uuid.UUID(first).int
    time_and_version = value >> 76 << 76
    counter = (value >> 64 & 0xFFF) << 62 | value & ((1 << 62) - 1)
    out = []
    for step in range(count):
        c = (counter + step) & ((1 << 74) - 1)
        out.append(str(uuid.UUID(int=time_and_version | (c >> 62) << 64 | 0b10 << 62
                                 | c & ((1 << 62) - 1))))  # fmt: skip
    return out


@given(st.integers(min_value=0, max_value=(1 << 70) - 1), st.integers(min_value=0, max_value=5))
def test_each_uuid_is_the_previous_counter_plus_one_even_across_a_block(
    start: int, before_block_end: int
) -> None:
    # Starts ``before_block_end`` steps before the low 48 bits roll over (the head changes
    # there), or anywhere at all.
    for first in (start, (start | (1 << 48) - 1) - before_block_end):
        made = list(itertools.islice(time_ordered_uuids(first), 12))
        assert made == reference(made[0], 12)
        assert made == sorted(made) and len(set(made)) == 12
        assert {uuid.UUID(u).version for u in made} == {7}
        assert {uuid.UUID(u).variant for u in made} == {uuid.RFC_4122}


def test_the_counter_starts_at_random_and_the_time_leads() -> None:
    a, b = next(time_ordered_uuids()), next(time_ordered_uuids())
    assert a != b
    assert abs((uuid.UUID(a).int >> 80) - (uuid.UUID(b).int >> 80)) < 60_000  # ms, same minute
