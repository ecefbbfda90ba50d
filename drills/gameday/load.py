"""The GameDay under load, on loopback and bounded: N concurrent API clients for S wall
seconds against ``beamdrill gameday SCENARIO --speed X`` in its own process, then
``POST /api/gameday/finish``. Reports the requests, their errors and latency, the pacer's
lag behind the wall target (p99, from score.json) and whether the world lost anything
(result.json's status and its conservation and history checks).

Run it as ``python -m drills.gameday.load [SCENARIO] [--clients 50] [--seconds 30] [--speed 60]``.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx

from drills.drillfile.builtin import SCENARIOS
from simulator.kernel.percentile import nearest_rank_index

#: What each client asks for, in turn: the console's reads and the metrics.
READS = ("/api/gameday", "/observability/alerts", "/admin/operator-notifications", "/v1/beam/dead-letter",
         "/observability/errors", "/admin/beta-requests", "/metrics")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _clients(base: str, clients: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    failures: list[str] = []
    deadline = time.monotonic() + seconds

    async def client(index: int) -> None:
        rng = random.Random(index)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            while time.monotonic() < deadline:
                path = rng.choice(READS)
                started = time.monotonic()
                try:
                    response = await http.get(path)
                    if response.status_code != 200:
                        failures.append(f"{path}: {response.status_code}")
                except httpx.HTTPError as error:
                    failures.append(f"{path}: {type(error).__name__}")
                latencies.append(time.monotonic() - started)

    async with anyio.create_task_group() as tasks:
        for index in range(clients):
            tasks.start_soon(client, index)
    ordered = sorted(latencies)
    return {"requests": len(latencies), "errors": len(failures), "error_examples": failures[:5],
            "requests_per_second": round(len(latencies) / seconds, 1),
            "latency_p50_ms": round(ordered[nearest_rank_index(len(ordered), 0.5)] * 1000, 1) if ordered else None,
            "latency_p99_ms": round(ordered[nearest_rank_index(len(ordered), 0.99)] * 1000, 1) if ordered else None}


def measure(scenario: Path, clients: int, seconds: float, speed: float) -> dict[str, Any]:
    """Run the measurement and return its figures."""
    port = _free_port()
    out = Path(tempfile.mkdtemp(prefix="gameday-load-")) / "day"
    command = [str(Path(sys.executable).with_name("beamdrill")), "gameday", str(scenario), "--speed", f"{speed:g}",
               "--port", str(port), "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        if "http://" not in first:
            raise RuntimeError(f"the GameDay did not start: {first}{process.stderr.read() if process.stderr else ''}")
        base = f"http://127.0.0.1:{port}"
        figures = anyio.run(_clients, base, clients, seconds)
        state = httpx.get(f"{base}/api/gameday", timeout=30).json()
        httpx.post(f"{base}/api/gameday/finish", timeout=30)
        process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    score = json.loads((out / "score.json").read_text())
    result = json.loads((out / "result.json").read_text())
    history = result["summary"].get("history") or {}
    return {"scenario": scenario.name, "clients": clients, "seconds": seconds, "speed": speed, **figures,
            "virtual_reached": result["reached"], "virtual_expected": round(seconds * speed, 1),
            "behind_at_end": round(state["target"] - state["virtualTime"], 3),
            "lag_p99_virtual_seconds": score["lag_p99"],
            "lag_p99_wall_seconds": None if score["lag_p99"] is None else round(score["lag_p99"] / speed, 4),
            "run_status": result["status"], "conservation_problems": result["summary"]["conservation"],
            "history_valid": history.get("valid"), "lost": history.get("lost"),
            "intents_accepted": result["summary"]["intents_accepted"], "out": str(out)}


def main() -> None:
    """The command line of the measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=str(SCENARIOS / "partner-day.yaml"))
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--speed", type=float, default=60.0)
    args = parser.parse_args()
    if not (1 <= args.clients <= 200 and 1 <= args.seconds <= 300):
        parser.error("--clients is 1 to 200 and --seconds 1 to 300 (the measurement stays bounded)")
    print(json.dumps(measure(Path(args.scenario), args.clients, args.seconds, args.speed), indent=2))


if __name__ == "__main__":
    main()
