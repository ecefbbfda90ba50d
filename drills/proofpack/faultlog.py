"""The faults of a drill as its proof pack shows them: each start and end the world emitted
(:class:`FaultEntry`), paired into windows for faults that last and markers for instant
ones (a bus or directory restart), each with a label that says when."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

from simulator.scenario.faults import INSTANT_KINDS

FaultEvent = Literal["fault_start", "fault_end"]


def clock(seconds: float) -> str:
    """A virtual time for a label: ``185`` → ``3m05s``, ``240`` → ``4m``, ``20`` → ``20s``."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours:g}h"] if hours else []
    if minutes:
        parts.append(f"{minutes:02g}m" if parts else f"{minutes:g}m")
    if secs or not parts:
        parts.append(f"{secs:02g}s" if parts else f"{secs:g}s")
    return "".join(parts)


@dataclass(frozen=True)
class FaultEntry:
    """A fault started or ended: when, which fault of the scenario (its index), its name,
    and whether it is an instant kind."""

    time: float
    event: FaultEvent
    fault: int
    name: str
    instant: bool

    @classmethod
    def of(cls, time: float, kind: str, fault: int, spec: Any) -> FaultEntry:
        """The entry for a ``fault_start`` or ``fault_end`` event (``kind``) of fault number
        ``fault`` of the scenario, ``spec``; an unnamed fault is called by its kind and target."""
        event: FaultEvent = "fault_end" if kind == "fault_end" else "fault_start"
        name = spec.name or " ".join(part for part in (spec.kind, spec.target()) if part)
        return cls(time, event, fault, name, spec.kind in INSTANT_KINDS)


@dataclass(frozen=True)
class FaultWindow:
    """A fault that lasted from ``start`` to ``end``; ``ended`` is False when it was still
    active when the run stopped (``end`` is then the end of the run)."""

    start: float
    end: float
    name: str
    ended: bool

    @property
    def label(self) -> str:
        """The fault's name and its window."""
        if not self.ended:
            return f"{self.name}, from {clock(self.start)} (not ended)"
        return f"{self.name}, {clock(self.start)}–{clock(self.end)}"


@dataclass(frozen=True)
class FaultMarker:
    """An instant fault at ``time``; ``back`` is when its effect ended if that was later
    (a directory restart's downtime)."""

    time: float
    name: str
    back: float | None = None

    @property
    def label(self) -> str:
        """The fault's name and time."""
        label = f"{self.name} at {clock(self.time)}"
        return label if self.back is None else f"{label}, back at {clock(self.back)}"


@dataclass(frozen=True)
class FaultTimeline:
    """What the chart draws of the faults: windows shaded, instant faults as markers,
    each in order of time."""

    windows: tuple[FaultWindow, ...] = ()
    markers: tuple[FaultMarker, ...] = ()

    def in_order(self) -> list[FaultWindow | FaultMarker]:
        """Windows and markers together, in order of the time each starts."""
        return sorted([*self.windows, *self.markers],
                      key=lambda fault: fault.start if isinstance(fault, FaultWindow) else fault.time)

    @property
    def caption(self) -> str:
        """What the shading and the dashed lines are, in a sentence or two."""
        parts = []
        if self.windows:
            parts.append("Shaded: " + "; ".join(window.label for window in self.windows) + ".")
        if self.markers:
            parts.append("Dashed: " + "; ".join(marker.label for marker in self.markers) + ".")
        return " ".join(parts) or "No fault."


def fault_timeline(log: Sequence[FaultEntry], end: float) -> FaultTimeline:
    """Pair each fault's start with its end; a fault still active at ``end`` lasts to it.
    An instant fault, or one that ended when it started, is a marker."""
    started: dict[int, FaultEntry] = {}
    windows: list[FaultWindow] = []
    markers: list[FaultMarker] = []
    for entry in log:
        if entry.event == "fault_start":
            started[entry.fault] = entry
            continue
        start = started.pop(entry.fault, None)
        if start is None:
            continue
        if start.instant or entry.time <= start.time:
            markers.append(FaultMarker(start.time, start.name, entry.time if entry.time > start.time else None))
        else:
            windows.append(FaultWindow(start.time, entry.time, start.name, ended=True))
    for start in started.values():
        if start.instant:
            markers.append(FaultMarker(start.time, start.name))
        else:
            windows.append(FaultWindow(start.time, max(end, start.time), start.name, ended=False))
    return FaultTimeline(tuple(sorted(windows, key=lambda w: (w.start, w.end, w.name))),
                         tuple(sorted(markers, key=lambda m: (m.time, m.name))))
