"""What faults do to a world: start each at its time, revert it after its duration, and
let an operator end one early (fixing the root cause). Every start and end is an event
(``fault_start`` / ``fault_end``); an instant fault ends when its effect is over, at once
for a bus restart, when the directory is back up for a directory restart, and when the
stores are restored for a disaster with a restore. The fault
specs are :mod:`simulator.scenario.faults`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from simulator.beam.links import Toxic
from simulator.scenario.parts import AclEntry

if TYPE_CHECKING:
    from simulator.world import World


#: Undoes what a fault's start did.
Revert = Callable[[], None]


def apply(world: World, fault: Any) -> Revert | None:
    """Start ``fault`` in ``world``; return the function that reverts it (None if instant)."""
    kind = fault.kind
    if kind == "bus_restart":
        world.bus.restart()
        return None
    if kind == "directory_restart":
        world.directory.restart(fault.downtime)
        return None
    if kind == "disaster":
        world.recovery.disaster()
        if fault.restore is not None:
            try:
                world.recovery.restore(fault.restore, fault.downtime, before=world.now)
            except LookupError:
                pass  # no such backup: the stores stay destroyed and both processes down
        return None
    if kind == "link":
        toxic = Toxic(fault.toxic, fault.latency, fault.jitter, fault.timeout, fault.toxicity)
        world.links.add(fault.link, toxic)
        return lambda: world.links.remove(fault.link, toxic)
    if kind in ("acl_remove", "acl_add"):
        return _change_acl(world, fault)
    if kind == "rate_limit":
        return _set_limit(world, fault.layer, fault.limit)
    if kind == "injection":
        return world.traffic.inject(fault.route, fault.text)
    if kind == "load_spike":
        return _spike(world, fault.route, fault.multiplier)
    return _apply_agent(world, fault)


def _spike(world: World, route: str | None, multiplier: float) -> Revert:
    labels = [route] if route is not None else list(world.traffic.sent)
    ends = [world.traffic.spike(label, multiplier) for label in labels]

    def end_spikes() -> None:
        for end in ends:
            end()
    return end_spikes


def _apply_agent(world: World, fault: Any) -> Revert:
    kind, agent_id = fault.kind, fault.agent
    agent = world.agents[agent_id]
    security = world.directory.security
    if kind == "agent_disconnect":
        agent.disconnect()
        return agent.connect
    if kind == "agent_latency":
        return agent.set_latency(fault.latency)
    if kind == "agent_errors":
        return agent.set_results(failure_rate=fault.rate, failure_code=fault.code)
    if kind == "capacity_drop":
        return agent.set_capacity(fault.fraction)
    if kind == "agent_async_only":
        return agent.set_results(failure_rate=0.0, async_accept=1.0)
    if kind == "clock_skew":
        previous = agent.clock_skew
        agent.clock_skew = fault.skew

        def restore_skew() -> None:
            agent.clock_skew = previous
        return restore_skew
    if kind == "trust_drop":
        previous_override = security.trust_overrides.get(agent_id)
        security.trust_overrides[agent_id] = fault.trust

        def restore_trust() -> None:
            if previous_override is None:
                security.trust_overrides.pop(agent_id, None)
            else:
                security.trust_overrides[agent_id] = previous_override
        return restore_trust
    config = security.configs[agent_id]
    saved = (config.mode, list(config.allowlist), list(config.blocklist), config.min_trust, config.rate_limit)
    for name in ("mode", "allowlist", "blocklist", "min_trust", "rate_limit"):
        value = getattr(fault, name)
        if value is not None:
            setattr(config, name, list(value) if isinstance(value, list) else value)
    security.audit.write(world.now, "shield.config.updated", agent_id)

    def restore_config() -> None:
        config.mode, config.allowlist, config.blocklist, config.min_trust, config.rate_limit = saved
        security.audit.write(world.now, "shield.config.updated", agent_id)
    return restore_config


def add_acl_row(world: World, entry: AclEntry) -> None:
    """``POST /acl``: add the row and audit ``acl.created``."""
    world.directory.security.acl.add(entry)
    world.directory.security.audit.write(world.now, "acl.created", entry.target, intentType=entry.intent,
                                         allowedFrom=entry.allowed_from)


def remove_acl_row(world: World, entry: AclEntry) -> None:
    """``DELETE /acl/:id``: delete the row, if present, and audit ``acl.deleted``."""
    if world.directory.security.acl.remove(entry):
        world.directory.security.audit.write(world.now, "acl.deleted", entry.target, intentType=entry.intent,
                                             allowedFrom=entry.allowed_from)


def _change_acl(world: World, fault: Any) -> Revert:
    entry = AclEntry(target=fault.target_agent, intent=fault.intent, allowed_from=fault.allowed_from)
    if fault.kind == "acl_add":
        add_acl_row(world, entry)
        return lambda: remove_acl_row(world, entry)
    remove_acl_row(world, entry)
    return lambda: add_acl_row(world, entry)


def _set_limit(world: World, layer: str, limit: int) -> Revert:
    if layer == "bus":
        previous = world.bus.rate_limit
        world.bus.rate_limit = limit
        return lambda: setattr(world.bus, "rate_limit", previous)
    limits = world.directory.security.limits
    name = {"public_ip": "per_ip", "public_sender": "public_per_sender", "relay_sender": "relay_per_sender"}[layer]
    previous = getattr(limits, name)
    setattr(limits, name, limit)
    return lambda: setattr(limits, name, previous)


def schedule(world: World, faults: list[Any]) -> None:
    """Start every fault at its time and revert it at its end, emitting both as events."""
    for index, fault in enumerate(faults):
        world.env.process(_run(world, index, fault))


def schedule_one(world: World, index: int, fault: Any) -> None:
    """Start fault ``index`` at its time (now, if that has passed) and revert it at its end."""
    world.env.process(_run(world, index, fault))


def end(world: World, index: int) -> bool:
    """Revert the active fault ``index`` now (an operator fixed the root cause); False if
    it is not active or cannot be reverted."""
    revert = world.fault_reverts.pop(index, None)
    if revert is None:
        return False
    fault = world.active_faults.pop(index)
    revert()
    world.events.emit("fault_end", None, fault=index, fault_kind=fault.kind, target=fault.target())
    return True


def _run(world: World, index: int, fault: Any) -> Any:
    env = world.env
    if fault.at > env.now:
        yield env.timeout(fault.at - env.now)
    world.events.emit("fault_start", None, fault=index, fault_kind=fault.kind, target=fault.target())
    world.active_faults[index] = fault
    revert = apply(world, fault)
    if revert is None:
        world.active_faults.pop(index, None)
        downtime = getattr(fault, "downtime", 0.0)
        if downtime > 0:
            yield env.timeout(downtime)
        world.events.emit("fault_end", None, fault=index, fault_kind=fault.kind, target=fault.target())
        return
    world.fault_reverts[index] = revert
    if fault.end is not None:
        yield env.timeout(max(0.0, fault.end - env.now))
        end(world, index)
