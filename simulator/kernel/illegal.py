"""The error a ledger raises for a state change its transition table forbids; apart from
:mod:`simulator.kernel.lifecycle`, which is compiled, because a compiled module cannot
subclass ``RuntimeError``."""

from __future__ import annotations


class IllegalTransition(RuntimeError):
    """A state change the transition table forbids: a bug in the model, never a result."""

    def __init__(self, nonce: str, path: str, previous: str | None, next: str) -> None:
        self.nonce = nonce
        self.path = path
        self.previous = previous
        self.next = next
        super().__init__(
            f"Invalid {path} transition from {previous or 'start'} to {next} (nonce {nonce})"
        )
