"""Lifecycle states, transition tables, buckets and the ledger guard (beam-model §2.2, §2.3, §14.1, §14.2)."""

from __future__ import annotations

import itertools

import pytest

from simulator.kernel.lifecycle import (
    STATES,
    TRANSITIONS,
    IllegalTransition,
    Ledger,
    bucket,
    is_allowed,
    is_terminal,
)
from simulator.kernel.row import LifecycleRow

# §2.1, in the spec's order.
SPEC_STATES = (
    "received",
    "validated",
    "queued",
    "dispatched",
    "delivered",
    "acked",
    "failed",
    "dead_letter",
)

# §2.2, copied row by row from the spec's table (next-state sets, WITHOUT the self-repeat,
# which the spec allows separately: "each state may also repeat itself").
DIRECTORY_TABLE = {
    "received": {"validated", "queued", "failed", "dead_letter"},
    "validated": {"queued", "dispatched", "failed", "dead_letter"},
    "queued": {"dispatched", "failed", "dead_letter"},
    "dispatched": {"queued", "delivered", "failed", "dead_letter"},
    "delivered": {"acked", "failed", "queued", "dead_letter"},
    "acked": set(),
    "failed": {"queued"},
    "dead_letter": {"queued"},
}
BUS_TABLE = {
    "received": {"validated", "queued", "dispatched", "failed", "dead_letter"},
    "validated": {"queued", "dispatched", "failed", "dead_letter"},
    "queued": {"dispatched", "failed", "dead_letter"},
    "dispatched": {"queued", "delivered", "failed", "dead_letter"},
    "delivered": {"acked", "failed", "queued", "dead_letter"},
    "acked": set(),
    "failed": {"queued"},
    "dead_letter": {"queued"},
}
SPEC_TABLES = {"directory": DIRECTORY_TABLE, "bus": BUS_TABLE}

ALL_PAIRS = [
    (path, previous, next_)
    for path in ("directory", "bus")
    for previous, next_ in itertools.product(SPEC_STATES, SPEC_STATES)
]


def _expected_allowed(path: str, previous: str, next_: str) -> bool:
    return next_ == previous or next_ in SPEC_TABLES[path][previous]


# --- the tables -------------------------------------------------------------------------


def test_states_are_the_eight_spec_states_in_order():
    assert STATES == SPEC_STATES


@pytest.mark.parametrize(("path", "previous", "next_"), ALL_PAIRS)
def test_is_allowed_matches_spec_table(path, previous, next_):
    assert is_allowed(previous, next_, path) is _expected_allowed(path, previous, next_)


def test_spec_table_has_expected_number_of_allowed_pairs():
    # Guards the literal tables above against a typo, and counts the code's allowed pairs:
    # 8 self-repeats plus the listed moves.
    # directory: 4+4+3+4+4+0+1+1 = 21; bus adds received→dispatched = 22.
    assert sum(map(len, DIRECTORY_TABLE.values())) == 21
    assert sum(map(len, BUS_TABLE.values())) == 22
    allowed = {
        path: sum(is_allowed(p, n, path) for p, n in itertools.product(SPEC_STATES, SPEC_STATES))
        for path in ("directory", "bus")
    }
    assert allowed == {"directory": 8 + 21, "bus": 8 + 22}


@pytest.mark.parametrize("path", ["directory", "bus"])
def test_transitions_constant_equals_spec_table_plus_self_repeat(path):
    table = TRANSITIONS[path]
    assert set(table) == set(SPEC_STATES)
    for state in SPEC_STATES:
        assert set(table[state]) == SPEC_TABLES[path][state] | {state}, state


def test_transitions_has_exactly_two_paths():
    assert set(TRANSITIONS) == {"bus", "directory"}


def test_default_path_is_bus():
    # received→dispatched is legal only on the bus.
    assert is_allowed("received", "dispatched") is True
    assert is_allowed("received", "dispatched", "directory") is False


@pytest.mark.parametrize("path", ["directory", "bus"])
@pytest.mark.parametrize("state", SPEC_STATES)
def test_every_state_may_repeat_itself(path, state):
    assert is_allowed(state, state, path) is True


@pytest.mark.parametrize("path", ["directory", "bus"])
@pytest.mark.parametrize("next_", SPEC_STATES)
def test_start_allows_only_received(path, next_):
    assert is_allowed(None, next_, path) is (next_ == "received")


@pytest.mark.parametrize("path", ["directory", "bus"])
def test_start_rejects_unknown_state(path):
    assert is_allowed(None, "pending", path) is False


def test_only_difference_between_paths_is_received_to_dispatched():
    differing = [
        (previous, next_)
        for previous, next_ in itertools.product(SPEC_STATES, SPEC_STATES)
        if is_allowed(previous, next_, "bus") != is_allowed(previous, next_, "directory")
    ]
    assert differing == [("received", "dispatched")]
    assert is_allowed("received", "dispatched", "bus") is True
    assert is_allowed("received", "dispatched", "directory") is False


@pytest.mark.parametrize("path", ["directory", "bus"])
@pytest.mark.parametrize("next_", SPEC_STATES)
def test_acked_is_terminal_in_the_table(path, next_):
    assert is_allowed("acked", next_, path) is (next_ == "acked")


@pytest.mark.parametrize("path", ["directory", "bus"])
def test_unknown_states_are_not_allowed(path):
    # Legacy names (§2.2) are renamed on read, never valid lifecycle states.
    assert is_allowed("received", "pending", path) is False
    assert is_allowed("pending", "received", path) is False
    assert is_allowed("delivered", "success", path) is False
    assert is_allowed("expired", "queued", path) is False


@pytest.mark.parametrize("bad_path", ["Bus", "dir", "", "directory ", "http"])
def test_invalid_path_raises_value_error(bad_path):
    with pytest.raises(ValueError):
        is_allowed("received", "queued", bad_path)
    with pytest.raises(ValueError):
        is_allowed(None, "received", bad_path)


# --- buckets (§2.3) ---------------------------------------------------------------------

SPEC_BUCKETS = {
    "received": "in_flight",
    "validated": "in_flight",
    "queued": "in_flight",
    "dispatched": "in_flight",
    "delivered": "in_flight",
    "acked": "success",
    "failed": "error",
    "dead_letter": "error",
}


@pytest.mark.parametrize(("state", "expected"), sorted(SPEC_BUCKETS.items()))
def test_bucket(state, expected):
    assert bucket(state) == expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("received", False),
        ("validated", False),
        ("queued", False),
        ("dispatched", False),
        ("delivered", False),
        ("acked", True),
        ("failed", True),
        ("dead_letter", True),
    ],
)
def test_is_terminal(state, expected):
    assert is_terminal(state) is expected


# --- Ledger -----------------------------------------------------------------------------


def _item(nonce: str = "n-1") -> LifecycleRow:
    return LifecycleRow(nonce)


def _zero_counts() -> dict[str, int]:
    return {state: 0 for state in SPEC_STATES}


def test_new_ledger_is_empty():
    ledger = Ledger("bus")
    assert ledger.path == "bus"
    assert ledger.accepted == 0
    assert ledger.counts == _zero_counts()
    assert ledger.buckets() == {"success": 0, "error": 0, "in_flight": 0}


def test_admit_puts_item_in_received_and_counts_it():
    calls = []
    ledger = Ledger("directory", hook=lambda *args: calls.append(args))
    a, b = _item("a"), _item("b")
    ledger.admit(a)
    ledger.admit(b)
    assert a.status == "received" and b.status == "received"
    assert ledger.accepted == 2
    assert ledger.counts == {**_zero_counts(), "received": 2}
    assert calls == [("a", None, "received", False), ("b", None, "received", False)]


def test_move_updates_counts_and_buckets_along_bus_happy_path():
    calls = []
    ledger = Ledger("bus", hook=lambda *args: calls.append(args))
    item = _item("m-1")
    other = _item("m-2")
    ledger.admit(item)
    ledger.admit(other)
    ledger.move(item, "dispatched")  # bus-only shortcut
    assert ledger.counts == {**_zero_counts(), "received": 1, "dispatched": 1}
    ledger.move(item, "delivered")
    ledger.move(item, "acked")
    ledger.move(other, "dead_letter")
    assert item.status == "acked"
    assert other.status == "dead_letter"
    assert ledger.accepted == 2
    assert ledger.counts == {**_zero_counts(), "acked": 1, "dead_letter": 1}
    assert ledger.buckets() == {"success": 1, "error": 1, "in_flight": 0}
    assert calls == [
        ("m-1", None, "received", False),
        ("m-2", None, "received", False),
        ("m-1", "received", "dispatched", False),
        ("m-1", "dispatched", "delivered", False),
        ("m-1", "delivered", "acked", False),
        ("m-2", "received", "dead_letter", False),
    ]


def test_self_repeat_move_keeps_counts():
    ledger = Ledger("bus")
    item = _item()
    ledger.admit(item)
    ledger.move(item, "queued")
    ledger.move(item, "queued")
    assert item.status == "queued"
    assert ledger.counts == {**_zero_counts(), "queued": 1}


def test_requeue_from_dead_letter_is_legal():
    ledger = Ledger("bus")
    item = _item()
    ledger.admit(item)
    ledger.move(item, "dead_letter")
    ledger.move(item, "queued")
    assert ledger.counts == {**_zero_counts(), "queued": 1}
    assert ledger.buckets() == {"success": 0, "error": 0, "in_flight": 1}


def test_illegal_move_raises_and_leaves_everything_unchanged():
    calls = []
    ledger = Ledger("directory", hook=lambda *args: calls.append(args))
    item = _item("nonce-42")
    bystander = _item("nonce-43")
    ledger.admit(item)
    ledger.admit(bystander)
    ledger.move(bystander, "failed")
    calls.clear()
    counts_before = dict(ledger.counts)

    with pytest.raises(IllegalTransition) as caught:
        ledger.move(item, "dispatched")  # legal on the bus only

    error = caught.value
    message = str(error)
    assert "nonce-42" in message
    assert "directory" in message
    assert "received" in message
    assert "dispatched" in message
    # §2.2: "Invalid <ctx> transition from X to Y".
    assert "Invalid directory transition from received to dispatched" in message
    assert (error.nonce, error.path, error.previous, error.next) == (
        "nonce-42",
        "directory",
        "received",
        "dispatched",
    )
    assert ledger.counts == counts_before
    assert ledger.accepted == 2
    assert item.status == "received"
    assert calls == []


def test_illegal_move_out_of_acked_on_bus():
    ledger = Ledger("bus")
    item = _item("done-1")
    ledger.admit(item)
    for state in ("dispatched", "delivered", "acked"):
        ledger.move(item, state)
    counts_before = dict(ledger.counts)
    with pytest.raises(IllegalTransition) as caught:
        ledger.move(item, "queued")
    message = str(caught.value)
    assert "Invalid bus transition from acked to queued" in message
    assert "done-1" in message
    assert ledger.counts == counts_before == {**_zero_counts(), "acked": 1}
    assert item.status == "acked"


def test_illegal_transition_is_an_exception_with_start_wording():
    error = IllegalTransition("n-9", "bus", None, "queued")
    assert isinstance(error, Exception)
    assert "Invalid bus transition from start to queued" in str(error)
    assert "n-9" in str(error)


# Legal routes (per the spec table, valid on both paths) to reach each state from received.
_ROUTE_TO = {
    "received": [],
    "validated": ["validated"],
    "queued": ["queued"],
    "dispatched": ["queued", "dispatched"],
    "delivered": ["queued", "dispatched", "delivered"],
    "acked": ["queued", "dispatched", "delivered", "acked"],
    "failed": ["failed"],
    "dead_letter": ["dead_letter"],
}


@pytest.mark.parametrize(("path", "previous", "next_"), ALL_PAIRS)
def test_ledger_move_enforces_spec_table(path, previous, next_):
    ledger = Ledger(path)
    item = _item("grid")
    ledger.admit(item)
    for state in _ROUTE_TO[previous]:
        ledger.move(item, state)
    assert item.status == previous
    if _expected_allowed(path, previous, next_):
        ledger.move(item, next_)
        assert item.status == next_
        assert ledger.counts == {**_zero_counts(), next_: 1}
    else:
        with pytest.raises(IllegalTransition):
            ledger.move(item, next_)
        assert item.status == previous
        assert ledger.counts == {**_zero_counts(), previous: 1}
    assert ledger.accepted == 1


def test_force_skips_the_table_but_counts_and_reports_the_change():
    """Beam's raw SQL resets (as-coded quirks) change a state the table forbids."""
    calls: list[tuple] = []
    ledger = Ledger("directory", hook=lambda *args: calls.append(args))
    item = _item("f-1")
    ledger.admit(item)
    ledger.move(item, "validated")
    ledger.move(item, "dispatched")
    ledger.move(item, "failed")
    assert not is_allowed("failed", "received", "directory")
    ledger.force(item, "received")
    assert item.status == "received"
    assert ledger.counts == {**_zero_counts(), "received": 1}
    assert calls[-1] == ("f-1", "failed", "received", True)


def test_admit_then_moves_on_through_the_table():
    ledger = Ledger("directory")
    item = _item("t-1")
    ledger.admit(item, then="validated")
    assert (item.status, ledger.accepted, ledger.counts["validated"], ledger.counts["received"]) == ("validated", 1, 1, 0)
    with pytest.raises(IllegalTransition):
        ledger.admit(_item("t-2"), then="acked")
    assert ledger.counts["received"] == 1 and ledger.accepted == 2
