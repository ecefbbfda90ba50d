"""Result directories that describe themselves: atomic writes, versions, resolved config."""

from __future__ import annotations

import json
import os
import platform
import tempfile
from importlib import metadata
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, TextIO

from simulator.kernel.eventjson import EventEncoder
from simulator.kernel.events import Event

#: Event lines joined per write of :class:`EventLog`.
EVENT_BATCH = 1024

#: beamdrill's own root (the checkout, or the installed packages' directory): built-in
#: drills and scenarios are recorded relative to it, so results do not name a checkout.
OWN_ROOT = Path(__file__).resolve().parents[2]


def shown_path(path: Path) -> str:
    """A file as result files record it: a built-in one relative to beamdrill's root, one
    under the working directory relative to it, any other as given."""
    resolved = path.resolve()
    for root in (OWN_ROOT, Path.cwd().resolve()):
        if resolved.is_relative_to(root):
            return resolved.relative_to(root).as_posix()
    return str(path)


@contextmanager
def atomic_stream(path: Path) -> Iterator[TextIO]:
    """A text stream whose content replaces ``path`` only once the block finishes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            yield stream
        os.chmod(temporary, 0o644)  # mkstemp makes it private; results are meant to be shared
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    with atomic_stream(path) as stream:
        stream.write(text)


def json_text(data: Any) -> str:
    """``data`` as every JSON result file holds it: indented, keys in their order, a trailing newline."""
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as :func:`json_text`, atomically."""
    atomic_write_text(path, json_text(data))


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Write one JSON object per line, atomically."""
    atomic_write_text(path, "".join(json.dumps(record, separators=(",", ":")) + "\n" for record in records))


def versions() -> dict[str, str]:
    """Return the versions of Python and the packages a result depends on."""
    found = {"python": platform.python_version()}
    for package in ("beamdrill", "simpy", "pydantic"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


class EventLog:
    """Writes each event as one JSON line (:class:`~simulator.kernel.eventjson.EventEncoder`:
    exactly ``json.dumps(event.to_json(), separators=(",", ":"))``) to a temporary file,
    renamed on close. Subscribe :attr:`sink`, the encoder itself, which the stream gives
    each event's fields without building the event; it writes the lines of every
    :data:`EVENT_BATCH` events together. (The log is a sink of events too, one call slower.)"""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._temporary = path.with_name(f".{path.name}.tmp")
        self._stream: TextIO = self._temporary.open("w", encoding="utf-8")
        #: The sink to subscribe.
        self.sink = EventEncoder(self._stream.write, EVENT_BATCH)

    @property
    def count(self) -> int:
        """Events received so far."""
        return self.sink.count

    def __call__(self, event: Event) -> None:
        """Write one event (and any lines the encoder holds before it)."""
        self._stream.write(self.sink.text((event,)))

    def close(self) -> None:
        """Write the pending events, finish the file and move it into place."""
        self._stream.write(self.sink.take())
        self._stream.close()
        os.replace(self._temporary, self.path)
