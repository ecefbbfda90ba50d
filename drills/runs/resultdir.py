"""A result directory that never mixes two runs.

A run writes into a fresh staging directory beside ``--out`` (``.NAME.staging-XXXX``);
when it ends, completed, failed or interrupted, the staging directory takes the place of
``--out`` and the previous results, if any, are removed. So ``--out`` always holds one
whole run, and no temporary file is left behind. A path that cannot be a result
directory is refused before the run starts, as one line.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from simulator import InputError, Problem


class OutError(InputError):
    """``--out`` cannot be a result directory."""


class ResultDirectory:
    """Where a run writes (:attr:`staging`) and where its files end up (:attr:`out`)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        existing = next(path for path in (out, *out.parents) if path.exists() or path == Path(path.anchor))
        if existing.exists() and not existing.is_dir():
            where = "" if existing == out else f" at {existing}"
            raise OutError([Problem(file=str(out), field="--out", message=f"expected a directory, found a file{where}")])
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            self.staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.staging-"))
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise OutError([Problem(file=str(out), field="--out",
                                    message=f"expected a directory that can be written, found {reason.lower()}")]) \
                from None
        #: Whether publishing replaced an earlier run's results.
        self.replaced = False

    def publish(self) -> None:
        """Move the staged files into :attr:`out`, replacing what an earlier run left there."""
        os.chmod(self.staging, 0o755)  # mkdtemp makes it private; results are meant to be shared
        previous = None
        if self.out.is_dir():
            previous = self.staging.with_name(self.staging.name.replace(".staging-", ".previous-"))
            os.replace(self.out, previous)
            self.replaced = True
        os.replace(self.staging, self.out)
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)

    def note(self) -> str:
        """What publishing did, for the run's last line."""
        return f"replaced the previous results in {self.out}" if self.replaced else f"in {self.out}"
