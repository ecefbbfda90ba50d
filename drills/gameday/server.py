"""Running a GameDay: the pacer and the uvicorn server in one anyio event loop, around a
drill run (:func:`drills.executor.execute.run_drill` with this module's driver), so the
proof pack is written by the drill runner's own writers when the time is over, on
``POST /api/gameday/finish``, or on SIGINT/SIGTERM (then up to the virtual time reached).
"""

from __future__ import annotations

import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import anyio
import uvicorn

from drills.drillfile.loader import LoadedDrill
from drills.executor.execute import DrillOutcome, DrillRun, run_drill
from drills.gameday.pacer import Pacer
from drills.gameday.routes import build_app
from drills.gameday.score import Score, score, write_score
from drills.gameday.session import Session
from drills.runs.interrupt import Interrupted, StopRequest
from simulator.summary import Summary
from simulator.world import World

#: Addresses a GameDay may bind without a token.
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the GameDay's handlers stop the run."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def install_signal_handlers(self) -> None:
        """uvicorn before 0.29 installs handlers here; the GameDay keeps its own."""


def port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be bound now, or None."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            return error.strerror or type(error).__name__
    return None


@dataclass
class GameDay:
    """One GameDay's settings, and what it left when it ended."""

    host: str = "127.0.0.1"
    #: 0: a port the system chooses, in ``port`` once the server listens.
    port: int = 8765
    token: str | None = None
    speed: float = 1.0
    tick: float = 0.05
    stop: StopRequest = field(default_factory=StopRequest)
    #: Called once the server listens, with its URL.
    ready: Callable[[str], None] | None = None
    session: Session | None = None
    #: The most wall seconds the GameDay may run (tests and benches bound themselves).
    wall_limit: float | None = None

    def drive(self, drill: DrillRun, world: World, end: float) -> Summary:
        """The drill runner's driver: serve and pace until the end, then conclude."""
        session = self.session = Session(drill)
        anyio.run(self._serve, session)
        if session.error is not None:
            raise session.error
        if self.stop.signum is not None:
            raise Interrupted(self.stop.signum)
        if session.begun and drill.record.verdict != "failed":
            drill.conclude()
        return drill.summary()

    async def _serve(self, session: Session) -> None:
        pacer = Pacer(session.advance_to, lambda: session.now, session.end, speed=self.speed, tick=self.tick)
        session.pace = pacer
        config = uvicorn.Config(build_app(session, self.token), host=self.host, port=self.port, log_level="warning",
                                lifespan="off", access_log=False)
        server = _Server(config)
        started = time.monotonic()
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(server.serve)
            while not server.started and not server.should_exit:
                await anyio.sleep(0.01)
            if self.port == 0 and server.started:  # the system chose the port: keep the one it chose
                self.port = int(server.servers[0].sockets[0].getsockname()[1])
            if self.ready is not None:
                self.ready(f"http://{self.host}:{self.port}/")
            while not (session.over or session.finish_requested or self.stop.signum is not None):
                if self.wall_limit is not None and time.monotonic() - started > self.wall_limit:
                    break
                await pacer.step()
                with anyio.move_on_after(pacer.tick):
                    await pacer.stopped.wait()
            server.should_exit = True


@dataclass
class GameDayResult:
    """A finished GameDay: the drill's outcome and the operators' score."""

    outcome: DrillOutcome
    score: Score | None
    files: list[str]


def run_gameday(loaded: LoadedDrill, out: Path, gameday: GameDay, seed: int | None = None) -> GameDayResult:
    """Run ``loaded`` as a GameDay into ``out``: the drill's proof pack, then the score."""
    outcome = run_drill(loaded, out, seed, driver=gameday.drive)
    session = gameday.session
    if session is None:
        return GameDayResult(outcome, None, [])
    result = score(session, outcome.journal)
    return GameDayResult(outcome, result, write_score(out, result, session.journal))
