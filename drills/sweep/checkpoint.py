"""Checkpoints: every finished run written to its own file, atomically, as it completes.

A run's file is ``cells/CCCC-RRR.json`` (cell, replication) in the output directory,
written to a temporary file and renamed, so a file that exists is whole. ``--resume``
keeps every run whose file holds an ``ok`` record with the same key (the same resolved
scenario, seed and recovery rule); everything else runs again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from drills.runs.files import write_json
from drills.sweep.cell import CellJob


class Checkpoints:
    """The ``cells/`` directory of a sweep's output."""

    def __init__(self, out: Path) -> None:
        self.folder = out / "cells"

    def path(self, cell: int, replication: int) -> Path:
        """Where the run (``cell``, ``replication``) is kept."""
        return self.folder / f"{cell:04d}-{replication:03d}.json"

    def clear(self) -> None:
        """Forget every run kept (a sweep that does not resume starts afresh)."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def save(self, record: dict[str, Any]) -> None:
        """Keep one finished run's record."""
        write_json(self.path(record["cell"], record["replication"]), record)

    def load(self, job: CellJob) -> dict[str, Any] | None:
        """The kept record of ``job`` if it finished with the same key; else None."""
        try:
            record: dict[str, Any] = json.loads(self.path(job.cell, job.replication).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if record.get("key") != job.key or record.get("status") != "ok":
            return None
        return record
