"""Hostile YAML is refused before anything is built from it: too large, nested too deep,
aliases that expand too far. Each is one problem naming the file and the limit, in
bounded time and memory, for scenarios and drills alike."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from drills import DrillError, load_drill
from simulator import InputError, ScenarioError, load_scenario
from simulator.kernel.yamlfile import MAX_ALIAS_NODES, MAX_BYTES, MAX_DEPTH, read_yaml_mapping

BEAMDRILL = Path(sys.executable).parent / "beamdrill"


def billion_laughs(levels: int = 9) -> str:
    """The classic shape: each level a list of ten aliases to the one before."""
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\nname: x\n"


def added_by_aliases(levels: int) -> int:
    """Nodes the aliases of :func:`billion_laughs` add when expanded: level k is a list of
    ten copies of level k-1 (sizes 2, 21, 211, ...), of which only the list node is its own."""
    size, added = 2, 0
    for _ in range(levels):
        size = 1 + 10 * size
        added += size - 1
    return added


def nested(depth: int, opening: str = "[", closing: str = "]") -> str:
    return "name: " + opening * depth + closing * depth + "\n"


HOSTILE = {
    "deep lists": (nested(5000), f"expected mappings and lists nested at most {MAX_DEPTH} deep, found deeper"),
    "deep mappings": ("name: x\nagents: " + "{a: " * 200 + "1" + "}" * 200 + "\n",
                      f"expected mappings and lists nested at most {MAX_DEPTH} deep, found deeper"),
    "billion laughs": (billion_laughs(), "expected aliases to add at most 100,000 nodes when expanded, found "
                                         f"{added_by_aliases(9):,}"),
    "too large": ("name: x\n" + "# padding\n" * (MAX_BYTES // 10 + 1),
                  f"expected at most {MAX_BYTES:,} bytes, found {len('name: x') + 1 + 10 * (MAX_BYTES // 10 + 1):,}"),
}


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("load", [load_scenario, load_drill], ids=["scenario", "drill"])
def test_hostile_yaml_is_one_problem_in_bounded_time_and_memory(name: str, load: object, tmp_path: Path) -> None:
    text, message = HOSTILE[name]
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    tracemalloc.start()
    started = time.process_time()
    with pytest.raises(InputError) as caught:
        load(path)  # type: ignore[operator]
    cpu = time.process_time() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert isinstance(caught.value, (ScenarioError, DrillError))
    assert [problem.line() for problem in caught.value.problems] == [f"{path}: (file): {message}"]
    # Generous bounds (shared machines): the file is refused long before it could expand.
    assert cpu < 10, cpu
    assert peak < 200 * 2**20, peak


def test_depth_at_the_limit_and_shared_aliases_within_it_are_read(tmp_path: Path) -> None:
    path = tmp_path / "fine.yaml"
    path.write_text(nested(MAX_DEPTH - 1, "[", "]") + billion_laughs(4), encoding="utf-8")
    data = read_yaml_mapping(path, InputError)
    assert data["a4"][0][0][0][0] == ["lol"]


def test_alias_limit_is_on_the_added_nodes(tmp_path: Path) -> None:
    assert added_by_aliases(4) < MAX_ALIAS_NODES < added_by_aliases(5)
    path = tmp_path / "five.yaml"
    path.write_text(billion_laughs(5), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_yaml_mapping(path, InputError)
    assert caught.value.problems[0].message == (f"expected aliases to add at most {MAX_ALIAS_NODES:,} nodes when "
                                                f"expanded, found {added_by_aliases(5):,}")


def _limit_memory() -> None:
    limit = 1024 * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_cli_refuses_a_billion_laughs_scenario_in_one_line_within_a_memory_cap(tmp_path: Path) -> None:
    path = tmp_path / "laughs.yaml"
    path.write_text(billion_laughs(), encoding="utf-8")
    done = subprocess.run([str(BEAMDRILL), "run", str(path), "--out", str(tmp_path / "out")], capture_output=True,
                          text=True, timeout=120, preexec_fn=_limit_memory)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [f"{path}: (file): {HOSTILE['billion laughs'][1]}"]
    assert not (tmp_path / "out").exists()
