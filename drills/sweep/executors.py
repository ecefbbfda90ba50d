"""Where runs execute: this process, a local process pool, or a Dask cluster.

Every executor runs :func:`drills.sweep.cell.run_cell` on each job and yields the records
as they finish (in any order); the sweep orders them afterwards, so the files are the
same bytes whichever executor ran them. :meth:`Executor.stop` abandons what has not
finished (used on Ctrl-C); those runs have no checkpoint and run again on ``--resume``.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterator, Protocol, Sequence

from drills.sweep.cell import CellJob, failed_record, run_cell

Record = dict[str, Any]
#: Called about every :data:`POLL_SECONDS` while runs are in flight; raising stops the sweep.
Poll = Callable[[], None]
POLL_SECONDS = 0.2


def _no_poll() -> None:
    """Nothing to check."""


class Executor(Protocol):
    """Runs jobs and yields their records as they finish."""

    name: str

    def run(self, jobs: Sequence[CellJob], poll: Poll = _no_poll) -> Iterator[Record]:
        """Run every job; yield each record when it is done; call ``poll`` while waiting."""
        ...

    def stop(self) -> None:
        """Abandon every job not finished yet, and release the workers."""
        ...


class InProcess:
    """One worker: the runs one after another in this process."""

    name = "in-process"

    def run(self, jobs: Sequence[CellJob], poll: Poll = _no_poll) -> Iterator[Record]:
        """Run the jobs in order (``poll`` is called between them)."""
        for job in jobs:
            poll()
            yield run_cell(job)

    def stop(self) -> None:
        """Nothing runs in the background."""


def _record(future: Any, job: CellJob) -> Record:
    """A finished future's record; a worker that died (or any executor error) makes a failed one."""
    try:
        record: Record = future.result()
    except Exception as error:
        return failed_record(job, error)
    return record


def _ignore_interrupts() -> None:
    """Pool workers leave Ctrl-C to the sweep, which stops them itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _worker_context() -> multiprocessing.context.BaseContext:
    """Fork where the platform has it: a forked worker starts in milliseconds with the
    simulator already imported, where a fresh interpreter takes about a second."""
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class LocalPool:
    """A :class:`~concurrent.futures.ProcessPoolExecutor` of ``workers`` processes
    forked from this one."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.name = f"process pool of {workers}"
        self._pool: ProcessPoolExecutor | None = None

    def run(self, jobs: Sequence[CellJob], poll: Poll = _no_poll) -> Iterator[Record]:
        """Submit every job at once and yield records as they complete."""
        self._pool = ProcessPoolExecutor(self.workers, mp_context=_worker_context(), initializer=_ignore_interrupts)
        submitted = {self._pool.submit(run_cell, job): job for job in jobs}
        pending: set[Future[Record]] = set(submitted)
        try:
            while pending:
                poll()
                done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                for future in done:
                    yield _record(future, submitted[future])
            pool, self._pool = self._pool, None
            pool.shutdown(wait=True)  # every run is done: let the idle workers exit on their own
        finally:
            self.stop()

    def stop(self) -> None:
        """Cancel queued runs and end the workers (runs in flight are abandoned)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # The standard library has no public way to end a pool's running workers before 3.14.
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=5)


#: How long a Dask scheduler has to answer the first connection, in seconds.
CONNECT_SECONDS = 5


class Unreachable(Exception):
    """The Dask scheduler did not answer."""


class DaskCluster:
    """A Dask distributed scheduler at ``address`` (``tcp://host:port``) and its workers."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.name = f"Dask scheduler {address}"
        self._client: Any = None
        self._futures: list[Any] = []

    def connect(self) -> None:
        """Connect to the scheduler now; raise :class:`Unreachable` if it does not answer."""
        from distributed import Client

        if self._client is not None:
            return
        try:
            self._client = Client(self.address, set_as_default=False,  # type: ignore[no-untyped-call]
                                  timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError) as error:
            raise Unreachable(f"expected a Dask scheduler answering at {self.address}, found none within "
                              f"{CONNECT_SECONDS} s ({type(error).__name__})") from None

    def run(self, jobs: Sequence[CellJob], poll: Poll = _no_poll) -> Iterator[Record]:
        """Submit every job to the cluster and yield records as they complete."""
        self.connect()
        try:
            submitted = {self._client.submit(run_cell, job, pure=False,
                                             key=f"beamdrill-{job.key[:16]}-{job.cell}-{job.replication}"): job
                         for job in jobs}
            self._futures = list(submitted)
            pending = list(self._futures)
            while pending:
                poll()
                done = [future for future in pending if future.done()]
                if not done:
                    time.sleep(POLL_SECONDS)
                    continue
                finished = {id(future) for future in done}
                pending = [future for future in pending if id(future) not in finished]
                for future in done:
                    yield _record(future, submitted[future])
        finally:
            self.stop()

    def stop(self) -> None:
        """Cancel what has not run and close the connection."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if self._futures:
                client.cancel(self._futures)
        finally:
            self._futures = []
            client.close()


def executor_for(workers: int, scheduler: str | None) -> Executor:
    """Dask when a scheduler is given, else a process pool of ``workers`` (in-process for 1)."""
    if scheduler is not None:
        return DaskCluster(scheduler)
    if workers <= 1:
        return InProcess()
    return LocalPool(workers)
