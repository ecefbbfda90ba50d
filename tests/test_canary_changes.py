"""The change kinds a rollout ships beside an agent version: a retry_policy change's own
retry budget and circuit breaker, a Shield config at the trust gate (live and shadow) and
a per-sender bus rate limit, each in a world where the cohort's intents see the change and
the baseline's do not; the refused-sends samples the judge reads; describe() texts."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from drills.canary.samples import IntervalSamples, add_refusals
from simulator import (
    RateLimitChange, RetryPolicyChange, ShadowAnswer, ShieldChange, StagedChange, World, parse_scenario, tenant_of,
)

SVC = "svc@beamco.beam.directory"
ACME = "app@acme.beam.directory"
GLOBEX = "app@globex.beam.directory"
#: Two tenants sending a service 0.2 intents a second each; no limit of Beam's is near.
OPEN_LIMITS = f"""
name: changes
duration: 10m
agents:
  - {{id: {SVC}, latency: 50ms, failure_rate: 0.1, shield: {{rate_limit: 1000}}}}
  - {{id: {ACME}}}
  - {{id: {GLOBEX}}}
directory: {{public_limits: {{per_ip_per_min: 6000, per_sender_per_min: 600}}, rate_limit_per_min: 600}}
bus: {{rate_limit_per_min: 600}}
acl:
  - {{target: {SVC}, intent: task.delegate, allowed_from: {ACME}}}
  - {{target: {SVC}, intent: task.delegate, allowed_from: {GLOBEX}}}
traffic:
  routes:
    - {{name: acme, from: {ACME}, to: {SVC}, intent: task.delegate, rate: 0.2, via: VIA}}
    - {{name: globex, from: {GLOBEX}, to: {SVC}, intent: task.delegate, rate: 0.2, via: VIA}}
"""
#: Over the bus, the service failing half its work: retries, budgets and breakers matter.
BUS = OPEN_LIMITS.replace("VIA", "bus").replace("failure_rate: 0.1", "failure_rate: 0.5")
HTTP = OPEN_LIMITS.replace("VIA", "http")


def _world(text: str, change: Any = None, mode: str = "live",
           tenants: tuple[str, ...] = ("acme",)) -> tuple[World, StagedChange | None, list[tuple[Any, ...]]]:
    """A world run for 10 minutes with ``change`` exposed to ``tenants`` from the start,
    and every rate-limit refusal it told of."""
    world = World(parse_scenario(yaml.safe_load(text)), seed=3)
    refused: list[tuple[Any, ...]] = []
    world.watch_rate_limits(lambda *refusal: refused.append(refusal))
    staged = None
    if change is not None:
        staged = world.stage_change(change)
        staged.expose(tenants, mode)  # type: ignore[arg-type]
    world.run(until=600.0, steps=1)
    return world, staged, refused


def _bus_rows(world: World) -> Counter[tuple[str, str, str | None]]:
    return Counter((tenant_of(m.sender), m.status, m.error_code) for m in world.bus.by_nonce.values())


def _tenant_rows(world: World, tenant: str) -> dict[tuple[str, str | None], int]:
    return {(status, code): n for (owner, status, code), n in _bus_rows(world).items() if owner == tenant}


# -- a retry_policy change's own budget and breaker -----------------------------------------


def test_a_breaker_only_change_guards_its_cohorts_bus_calls_with_a_breaker_of_its_own() -> None:
    change = RetryPolicyChange(kind="retry_policy", agent=SVC, circuit_breaker={
        "sliding_window_size": 4, "minimum_number_of_calls": 4, "wait_duration_in_open_state": "30s"})
    world, staged, _ = _world(BUS, change)
    assert staged is not None
    served = set(staged.served)
    assert (world.bus.attempts, world.bus.retries, world.bus.breaker_rejections, len(served)) == (422, 179, 188, 133)
    assert world.bus.breaker_transitions == {"OPEN": 13, "HALF_OPEN": 12, "CLOSED": 1}
    # The bus has no breaker; the change's one pair is acme's, and only acme's rows fail fast.
    assert world.bus.breakers is None
    assert list(staged.guards.breakers) == [(ACME, SVC)]  # type: ignore[attr-defined]
    assert _tenant_rows(world, "acme") == {("dead_letter", "CIRCUIT_OPEN"): 6, ("dead_letter", "RESULT_ERROR"): 2,
                                           ("delivered", "CIRCUIT_OPEN"): 2, ("delivered", None): 19,
                                           ("queued", "CIRCUIT_OPEN"): 88, ("queued", "RESULT_ERROR"): 16}
    assert not any(code == "CIRCUIT_OPEN" for (_status, code) in _tenant_rows(world, "globex"))
    # No retry preset in the change: the cohort's rows keep the bus's own max_retries.
    assert {world.bus.by_nonce[nonce].max_retries for nonce in served} == {5}


def test_a_budget_only_change_spends_a_budget_of_its_own_never_the_bus_s() -> None:
    with_budget = BUS.replace("bus: {rate_limit_per_min: 600}",
                              "bus: {rate_limit_per_min: 600, retry_budget: {percent_can_retry: 0.5}}")
    reference, _, _ = _world(with_budget)
    change = RetryPolicyChange(kind="retry_policy", agent=SVC,
                               retry_budget={"percent_can_retry": 0, "min_retries_per_sec": 0})
    world, staged, _ = _world(with_budget, change)
    assert staged is not None
    guards = staged.guards  # type: ignore[attr-defined]
    assert world.bus.budgets is not None and list(world.bus.budgets) == [(GLOBEX, SVC)]
    assert list(guards.budgets) == [(ACME, SVC)]
    # A budget that allows no retry dead-letters every failed first attempt of the cohort's.
    assert (world.bus.budget_refusals, len(staged.served)) == (65, 133)
    assert _tenant_rows(world, "acme") == {("dead_letter", "RETRY_BUDGET_EXHAUSTED"): 65, ("delivered", None): 68}
    assert _tenant_rows(world, "globex") == _tenant_rows(reference, "globex") == {
        ("dead_letter", "RESULT_ERROR"): 8, ("delivered", None): 57, ("queued", "RESULT_ERROR"): 45}
    world.bus.restart()
    assert (guards.budgets, world.bus.budgets) == ({}, {})


def test_a_retry_policy_change_must_change_something() -> None:
    with pytest.raises(ValidationError, match="expected at least one of retry_policy, retry_budget and "
                                              "circuit_breaker, found none"):
        RetryPolicyChange(kind="retry_policy", agent=SVC)


def test_a_retry_change_describes_its_guards() -> None:
    change = RetryPolicyChange(kind="retry_policy", agent=SVC, version="guarded", retry_policy="full_jitter",
                               retry_budget={}, circuit_breaker={"sliding_window_size": 20})
    assert change.describe() == (
        "bus retries to svc@beamco.beam.directory version guarded: full_jitter (base 30, cap 480, max_retries 4, "
        "multiplier 2), retry budget 20 % + 10/s over 10 s, circuit breaker at 50 % failures or 100 % slower than "
        "60 s over 20 calls (at least 100), open 60 s")


# -- a Shield config ----------------------------------------------------------------------


def test_a_live_shield_config_gates_its_cohorts_frames_only() -> None:
    reference, _, nothing = _world(HTTP)
    assert (reference.directory.rejections_by_code, nothing) == ({}, [])
    world, staged, refused = _world(HTTP, ShieldChange(kind="shield", agent=SVC, shield={"rate_limit": 3}))
    assert staged is not None
    assert world.directory.rejections_by_code == {"SHIELD_RATE_LIMITED": 129}
    assert Counter((tenant_of(sender), limiter) for _t, sender, _r, limiter in refused) == {
        ("acme", "shield_pair"): 129}
    assert len(staged.served) == 132
    assert {tenant_of(row.sender) for row in world.directory.rows.values() if row.nonce in set(staged.served)} == {
        "acme"}
    world, staged, _ = _world(HTTP, ShieldChange(kind="shield", agent=SVC, shield={"blocklist": [ACME]}))
    assert world.directory.rejections_by_code == {"SHIELD_BLOCKED": 132}


def test_a_shadowed_shield_config_decides_both_ways_and_keeps_the_agents_own() -> None:
    reference, _, _ = _world(HTTP)
    answers: list[ShadowAnswer] = []
    world = World(parse_scenario(yaml.safe_load(HTTP)), seed=3)
    staged = world.stage_change(ShieldChange(kind="shield", agent=SVC, shield={"rate_limit": 3}))
    staged.on_shadow(answers.append)
    staged.expose(["acme", "globex"], "shadow")
    world.run(until=600.0, steps=1)
    assert world.directory.rejections_by_code == {}
    assert [(row.nonce, row.status) for row in world.directory.rows.values()] == [
        (row.nonce, row.status) for row in reference.directory.rows.values()]
    # Three frames per pair within the hour pass the change's limit; the own config lets all in.
    assert Counter((a.tenant, a.success, a.shadow_success) for a in answers) == {
        ("acme", True, True): 3, ("acme", True, False): 129, ("globex", True, True): 3, ("globex", True, False): 105}
    assert (staged.served, staged.exposure) == ([], "shadow")


def test_a_shield_change_names_a_field_and_describes_itself() -> None:
    with pytest.raises(ValidationError, match="expected at least one of mode, allowlist, blocklist, min_trust and "
                                              "rate_limit, found none"):
        ShieldChange(kind="shield", agent=SVC, shield={})
    change = ShieldChange(kind="shield", agent=SVC, version="strict",
                          shield={"mode": "whitelist", "allowlist": [ACME], "min_trust": 0.5, "rate_limit": 5})
    assert change.describe() == ("Shield config of svc@beamco.beam.directory version strict: mode whitelist, "
                                 "allowlist of 1 (app@acme.beam.directory), min trust 0.5, pair rate limit 5/h")


# -- a rate limit -------------------------------------------------------------------------------


def test_a_live_rate_limit_refuses_its_cohorts_senders_only() -> None:
    healthy = BUS.replace("failure_rate: 0.5", "failure_rate: 0")
    reference, _, nothing = _world(healthy)
    assert (reference.bus.rejections_by_code, nothing, len(reference.bus.by_nonce)) == ({}, [], 243)
    world, staged, refused = _world(healthy, RateLimitChange(kind="rate_limit", agent=SVC, limit_per_min=6))
    assert staged is not None
    assert world.bus.rejections_by_code == {"RATE_LIMIT_EXCEEDED": 77}
    assert Counter((tenant_of(sender), limiter) for _t, sender, _r, limiter in refused) == {("acme", "bus_sender"): 77}
    assert Counter(tenant_of(m.sender) for m in world.bus.by_nonce.values()) == {"acme": 56, "globex": 110}
    assert len(staged.served) == 56
    # Never more than 6 of acme's sends accepted in any 60 s.
    times = sorted(m.created_at for m in world.bus.by_nonce.values() if m.sender == ACME)
    assert max(sum(1 for t in times if start <= t < start + 60.0) for start in times) == 6


def test_a_rate_limit_has_no_shadow_and_describes_itself() -> None:
    change = RateLimitChange(kind="rate_limit", agent=SVC, limit_per_min=6)
    staged = World(parse_scenario(yaml.safe_load(BUS)), seed=3).stage_change(change)
    with pytest.raises(ValueError, match="a rate_limit change has no shadow"):
        staged.expose(["acme"], "shadow")
    assert change.describe() == ("bus rate limit of the senders to svc@beamco.beam.directory version canary: "
                                 "6/min per sender")


# -- refused sends, as the judge reads them ------------------------------------------------------


def test_refused_sends_are_counted_per_tenant_and_bucket_it_sent_in() -> None:
    samples = IntervalSamples()
    accepted = [(100.0, ACME), (105.0, GLOBEX), (131.0, GLOBEX), (150.0, "app@initech.beam.directory")]
    refusals = [(101.0, ACME), (102.0, ACME), (125.0, ACME), (139.0, GLOBEX)]
    add_refusals(samples, refusals, accepted, frozenset({"acme"}), 100.0, 10.0)
    assert samples.canary.refused == {("acme", 0): 2, ("acme", 2): 1}
    assert samples.baseline.refused == {("globex", 0): 0, ("globex", 3): 1, ("initech", 5): 0}
    assert (samples.canary.refused_counts(), samples.baseline.refused_counts()) == ([2.0, 1.0], [0.0, 1.0, 0.0])
    assert (samples.canary.refused_sends, samples.baseline.refused_sends) == (3, 1)


def test_a_shadow_counts_its_pair_limit_in_windows_of_its_own() -> None:
    """The agent allowlists both senders, so its own gate never counts a pair; the shadow,
    without the allowlist and with a limit of 3, still refuses from the fourth frame on."""
    allowlisted = HTTP.replace("shield: {rate_limit: 1000}",
                               f"shield: {{rate_limit: 1000, allowlist: [{ACME}, {GLOBEX}]}}")
    answers: list[ShadowAnswer] = []
    world = World(parse_scenario(yaml.safe_load(allowlisted)), seed=3)
    staged = world.stage_change(ShieldChange(kind="shield", agent=SVC, shield={"allowlist": [], "rate_limit": 3}))
    staged.on_shadow(answers.append)
    staged.expose(["acme"], "shadow")
    world.run(until=600.0, steps=1)
    assert world.directory.rejections_by_code == {}
    assert Counter((a.tenant, a.success, a.shadow_success) for a in answers) == {
        ("acme", True, True): 3, ("acme", True, False): 129}
