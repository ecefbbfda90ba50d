"""Reading scenario files: YAML into a validated :class:`Scenario`, with every problem
reported as one line (file, field path, what was expected, what was found)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from simulator.kernel.problems import InputError, Problem, validation_problems
from simulator.kernel.yamlfile import read_yaml_mapping
from simulator.scenario.faults import AgentFault, Injection, LinkFault, LoadSpike
from simulator.scenario.tenants import tenant_of
from simulator.scenario.model import QuoteDeskHandler, Scenario
from simulator.scenario.parts import AclEntry


class ScenarioError(InputError):
    """A scenario file failed to load or validate."""


def cross_checks(scenario: Scenario, file: str) -> list[Problem]:
    """Checks that span fields: ids must be unique and every reference must resolve."""
    problems: list[Problem] = []

    def problem(field: str, message: str) -> None:
        problems.append(Problem(file=file, field=field, message=message))

    known = {agent.id for agent in scenario.agents}
    if len(known) < len(scenario.agents):
        counts = Counter(agent.id for agent in scenario.agents)
        known = set()
        for index, agent in enumerate(scenario.agents):
            if agent.id in known:
                problem(f"agents[{index}].id", f"expected a unique agent id, found {agent.id!r} {counts[agent.id]} times")
            known.add(agent.id)

    def agent_ref(field: str, beam_id: str) -> None:
        if beam_id not in known:
            problem(field, f"expected one of the scenario's agents, found {beam_id!r}")

    for index, agent in enumerate(scenario.agents):
        handler = agent.handler
        if isinstance(handler, QuoteDeskHandler):
            agent_ref(f"agents[{index}].handler.warehouse", handler.warehouse)
            agent_ref(f"agents[{index}].handler.finance", handler.finance)
    for index, entry in enumerate(scenario.acl):
        agent_ref(f"acl[{index}].target", entry.target)
    labels = Counter(route.label for route in scenario.traffic.routes)
    seen: set[str] = set()
    for index, route in enumerate(scenario.traffic.routes):
        agent_ref(f"traffic.routes[{index}].from", route.sender)
        agent_ref(f"traffic.routes[{index}].to", route.recipient)
        if route.label in seen:
            problem(f"traffic.routes[{index}].name", f"expected a unique route name, found {route.label!r} {labels[route.label]} times")
        seen.add(route.label)
    for index, burst in enumerate(scenario.traffic.bursts):
        if burst.route not in labels:
            problem(f"traffic.bursts[{index}].route", f"expected one of the route names {sorted(labels)}, found {burst.route!r}")
    route_labels = set(labels)
    for index, fault in enumerate(scenario.faults):
        field = f"faults[{index}]"
        if fault.at > scenario.duration:
            problem(f"{field}.at", f"expected a time within the scenario's duration ({scenario.duration:g} s), "
                                   f"found {fault.at:g} s")
        if isinstance(fault, AgentFault):
            agent_ref(f"{field}.agent", fault.agent)
        elif isinstance(fault, (Injection, LoadSpike)) and fault.route is not None \
                and fault.route not in route_labels:
            problem(f"{field}.route", f"expected one of the route names {sorted(route_labels)}, found {fault.route!r}")
        elif isinstance(fault, LinkFault) and fault.link.startswith("directory->"):
            agent_ref(f"{field}.link", fault.link.removeprefix("directory->"))
        elif fault.kind in ("acl_remove", "acl_add"):
            agent_ref(f"{field}.target", fault.target_agent)
            entry = AclEntry(target=fault.target_agent, intent=fault.intent, allowed_from=fault.allowed_from)
            if fault.kind == "acl_remove" and entry not in scenario.acl:
                problem(field, f"expected one of the scenario's acl rows, found {fault.target_agent} "
                        f"{fault.intent} from {fault.allowed_from}")
    tenants = sorted({tenant_of(agent.id) for agent in scenario.agents}) if scenario.tenants else []
    declared: set[str] = set()
    for index, tenant in enumerate(scenario.tenants):
        if tenant.name in declared:
            problem(f"tenants[{index}].name", f"expected a unique tenant name, found {tenant.name!r} twice")
        elif tenant.name not in tenants:
            shown = ", ".join(tenants[:10]) + (", ..." if len(tenants) > 10 else "")
            problem(f"tenants[{index}].name", f"expected the tenant of one of the scenario's agents ({shown}), "
                                              f"found {tenant.name!r}")
        declared.add(tenant.name)
    for index, workflow in enumerate(scenario.traffic.workflows):
        agent_ref(f"traffic.workflows[{index}].requester", workflow.requester)
        agent_ref(f"traffic.workflows[{index}].desk", workflow.desk)
        if workflow.desk in known and not isinstance(scenario.agent(workflow.desk).handler, QuoteDeskHandler):
            problem(f"traffic.workflows[{index}].desk", f"expected an agent with handler kind quote-desk, found {workflow.desk!r}")
    for index, capability in enumerate(scenario.capabilities):
        agent_ref(f"capabilities[{index}].agent", capability.agent)
    for index, request in enumerate(scenario.partner_requests):
        plan = request.go_live
        for side, beam_id in (("sender", plan.sender), ("receiver", plan.receiver)):
            if beam_id is not None:
                agent_ref(f"partner_requests[{index}].go_live.{side}", beam_id)
    return problems


def validate_scenario(data: dict[str, Any], file: str = "<scenario>") -> Scenario:
    """Validate an already-parsed mapping against the schema and its references; raise
    :class:`ScenarioError` on any problem. Checks that need the world's policies are
    :func:`simulator.load_scenario`'s."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(validation_problems(exc, file, Scenario)) from None
    problems = cross_checks(scenario, file)
    if problems:
        raise ScenarioError(problems)
    return scenario


def read_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file (schema and references); raise
    :class:`ScenarioError` on any problem."""
    path = Path(path)
    return validate_scenario(read_yaml_mapping(path, ScenarioError), str(path))
