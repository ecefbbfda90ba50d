"""Named random streams: a stream seeded by :func:`seeded_random` is the stream
``random.Random(seed)`` makes, state and draws alike."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.kernel import draws
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


DRAWS = ["random", "getrandbits", "gauss", "expovariate", "uniform", "choice", "shuffle", "getstate", "randbytes"]


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**64 - 1), name=st.text(max_size=20),
       first=st.sampled_from(DRAWS))
def test_a_stream_seeded_on_its_first_draw_draws_as_one_seeded_at_once(seed: int, name: str, first: str) -> None:
    stream, reference = Streams(seed)(name), random.Random(derive_seed(seed, name))
    gauss, draw_random = stream.gauss, stream.random  # bound before the first draw (a latency sampler's)

    def first_draw(generator: random.Random) -> object:
        if first in ("getrandbits", "randbytes"):
            return getattr(generator, first)(100)
        if first in ("uniform", "expovariate"):
            return getattr(generator, first)(2.0) if first == "expovariate" else generator.uniform(1.0, 3.0)
        if first == "choice":
            return generator.choice(range(1000))
        if first == "shuffle":
            items = list(range(20))
            generator.shuffle(items)
            return items
        return getattr(generator, first)()

    assert first_draw(stream) == first_draw(reference)
    assert type(stream) is random.Random
    assert [gauss(), draw_random(), stream.gauss(), stream.getrandbits(64)] == \
        [reference.gauss(), reference.random(), reference.gauss(), reference.getrandbits(64)]
    assert stream.getstate() == reference.getstate()
    assert stream.__dict__ == reference.__dict__


def test_a_stream_seeded_again_before_any_draw_keeps_the_new_seed() -> None:
    stream = Streams(1)("x")
    stream.seed(42)
    assert type(stream) is random.Random
    assert stream.random() == random.Random(42).random()
    other = Streams(1)("y")
    other.setstate(random.Random(7).getstate())
    assert other.random() == random.Random(7).random()


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**64 - 1),
       calls=st.lists(st.tuples(st.sampled_from(["expovariate", "gauss"]),
                                st.floats(min_value=1e-3, max_value=1e3), st.floats(min_value=-5, max_value=5)),
                      max_size=12))
def test_compiled_draws_are_randoms_own(seed: int, calls: list[tuple[str, float, float]]) -> None:
    """The world's draws give random.Random's numbers and leave the stream in its state,
    in any order of calls (gauss keeps every second number for the next call)."""
    ours, reference = random.Random(seed), random.Random(seed)
    for name, rate_or_sigma, mu in calls:
        if name == "expovariate":
            assert draws.expovariate(ours, rate_or_sigma) == reference.expovariate(rate_or_sigma)
        else:
            assert draws.gauss(ours, mu, rate_or_sigma) == reference.gauss(mu, rate_or_sigma)
            assert draws.gauss(ours) == reference.gauss()
        assert ours.getstate() == reference.getstate()
        assert ours.gauss_next == reference.gauss_next  # type: ignore[attr-defined]
