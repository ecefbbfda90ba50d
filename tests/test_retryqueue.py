"""The bus worker's retry queue (simulator/beam/retryqueue): due rows taken by priority,
then age, a batch at a time; a row rescheduled or no longer queued is never taken under
its old schedule."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.beam.busrows import BusMessage
from simulator.beam.retryqueue import RetryQueue


def _queued(name: str, priority: int, created_at: float) -> BusMessage:
    msg = BusMessage(name, f"n-{name}", "a@x", "b@x", "i", {}, priority, 3, created_at)
    msg.status = "queued"
    return msg


def test_due_rows_come_by_priority_then_age_and_stay_until_attempted() -> None:
    queue = RetryQueue()
    low_old, high_new, high_old, later = (_queued("low-old", 0, 1.0), _queued("high-new", 5, 3.0),
                                          _queued("high-old", 5, 2.0), _queued("later", 9, 0.0))
    for msg in (low_old, high_new, high_old):
        queue.put(msg, 10.0)
    queue.put(later, 20.0)
    assert [msg.id for msg, _ in queue.take(10.0, 2)] == ["high-old", "high-new"]
    assert [msg.id for msg, _ in queue.take(10.0, 5)] == ["high-old", "high-new", "low-old"]  # still queued
    assert [msg.id for msg, _ in queue.take(20.0, 5)] == ["later", "high-old", "high-new", "low-old"]


def test_a_rescheduled_or_settled_row_is_not_taken_under_its_old_schedule() -> None:
    queue = RetryQueue()
    moved, acked = _queued("moved", 0, 1.0), _queued("acked", 0, 2.0)
    queue.put(moved, 5.0)
    queue.put(acked, 5.0)
    queue.put(moved, 50.0)  # a new schedule supersedes the first
    acked.status = "acked"
    assert queue.take(10.0, 5) == []
    taken = queue.take(50.0, 5)
    assert [(msg.id, seq) for msg, seq in taken] == [("moved", moved.queue_seq)]
    queue.clear()
    assert queue.take(100.0, 5) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5), st.integers(0, 5)), max_size=20),
       st.integers(0, 6), st.integers(1, 8))
def test_take_is_the_workers_sql_over_the_queued_rows(rows: list[tuple[int, int, int]], now: int,
                                                      limit: int) -> None:
    """``status='queued' AND next_retry_at <= now ORDER BY priority DESC, created_at ASC LIMIT n``."""
    queue = RetryQueue()
    messages = []
    for index, (priority, created, due) in enumerate(rows):
        msg = _queued(str(index), priority, float(created))
        queue.put(msg, float(due))
        msg.next_retry_at = float(due)
        messages.append(msg)
    expected = sorted((msg for msg in messages if msg.next_retry_at is not None and msg.next_retry_at <= now),
                      key=lambda msg: (-msg.priority, msg.created_at, msg.queue_seq))[:limit]
    assert [msg for msg, _ in queue.take(float(now), limit)] == expected
