"""One attempt of a bus message through the directory (``deliverToDirectory``): what the
bus makes of the directory's answer, and the attempt that settles once, on that answer, a
link's reset or the bus's attempt timeout."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Final

from simulator.beam.busrows import Attempt, BusMessage
from simulator.beam.relay import NO_RESPONSE, Frame, RelayOutcome

if TYPE_CHECKING:
    from simulator.beam.bus import Bus

#: The bus's own timeout ran out before the directory answered.
ABORTED: Final[Attempt] = Attempt(False, None, "TIMEOUT", "Delivery timeout (30s)")
#: The directory could not be reached.
CONNECTION_FAILED: Final[Attempt] = Attempt(False, None, "DELIVERY_FAILED", "Connection error: connect ECONNREFUSED")
#: The connection was reset before an answer came.
CONNECTION_RESET: Final[Attempt] = Attempt(False, None, "DELIVERY_FAILED", "Connection error: socket hang up")


def attempt_from_relay(outcome: RelayOutcome) -> Attempt:
    """Map the directory's answer to ``POST /intents/send`` onto a bus attempt.

    The attempt's ``error`` is what ``deliverToDirectory`` makes of the body: its
    ``error`` text, else the code (or "Unknown directory error") for a 2xx, else
    ``HTTP <status>: <body text>``.
    """
    status = outcome.http_status
    if status == NO_RESPONSE:
        return CONNECTION_FAILED
    if 200 <= status < 300 and outcome.success:
        return Attempt(True, status, None, None, outcome.payload)
    code = outcome.error_code
    if outcome.error is not None:
        return Attempt(False, status, code, outcome.error)
    if 200 <= status < 300:
        return Attempt(False, status, code, code or "Unknown directory error")
    return Attempt(False, status, code, f"HTTP {status}: ")


class DeliveryAttempt:
    """One attempt of a bus message through the directory: it settles once, with the
    directory's answer, a link's reset or the bus's attempt timeout, whichever comes first,
    and then calls ``then`` (unless the bus restarted since). Its bound methods are the
    callbacks, so nothing refers back to it in a cycle: it is freed when the last one goes."""

    def __init__(self, bus: Bus, msg: BusMessage, epoch: int, then: Callable[[Attempt], Any], frame: Frame) -> None:
        self.bus = bus
        self.msg = msg
        self.epoch = epoch
        self.number = msg.attempts
        self.then = then
        self.frame = frame
        self.settled = False

    def settle(self, attempt: Attempt) -> None:
        """End the attempt with ``attempt`` (only the first call counts)."""
        if self.settled:
            return
        self.settled = True
        bus = self.bus
        if self.epoch != bus.epoch:
            return  # the bus restarted meanwhile; this process no longer exists
        if bus.events.active:
            bus.events.emit("attempt", self.msg.nonce, number=self.number, delivered=attempt.delivered,
                            http_status=attempt.http_status, code=attempt.error_code, error=attempt.error)
        self.then(attempt)

    def deliver(self, _event: Any = None) -> None:
        """Relay the frame through the directory."""
        bus = self.bus
        bus.directory.submit(self.frame, "http", self.answered, bus.ip)

    def answered(self, outcome: RelayOutcome) -> None:
        """The directory's answer."""
        self.settle(attempt_from_relay(outcome))

    def reset(self, _event: Any) -> None:
        """The link dropped the request and the connection closed."""
        self.settle(CONNECTION_RESET)

    def abort(self, _event: Any) -> None:
        """The bus's attempt timeout ran out first."""
        self.settle(ABORTED)
