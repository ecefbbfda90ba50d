"""Named random streams: a stream seeded by :func:`seeded_random` is the stream
``random.Random(seed)`` makes, state and draws alike."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.kernel.rng import Streams, derive_seed, seeded_random


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_seeded_random_is_random_random(seed: int) -> None:
    fast, reference = seeded_random(seed), random.Random(seed)
    assert fast.getstate() == reference.getstate()
    assert [fast.gauss(0, 1), fast.random(), fast.getrandbits(128), fast.expovariate(2.0), fast.gauss(0, 1)] == \
        [reference.gauss(0, 1), reference.random(), reference.getrandbits(128), reference.expovariate(2.0),
         reference.gauss(0, 1)]
    assert type(fast) is random.Random


def test_streams_draw_as_before() -> None:
    streams = Streams(1)
    stream = streams("agent:finance@acme.beam.directory")
    assert streams("agent:finance@acme.beam.directory") is stream
    assert derive_seed(1, "agent:finance@acme.beam.directory") == 0xF96AFD1BD4EB3D5B
    reference = random.Random(0xF96AFD1BD4EB3D5B)
    assert stream.random() == reference.random() == 0.08392909149950545
    assert [stream.random() for _ in range(3)] == [reference.random() for _ in range(3)]
