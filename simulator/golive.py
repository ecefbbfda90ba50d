"""Partner requests a scenario declares, taken in on virtual time: ``POST /waitlist`` at the
request's time, then an operator's PATCH recording its owner, the go-live prerequisites its
plan leaves open (as ``blockedPrerequisites``, never in notes, beam-model §10) and the next
action that closes the first of them."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Final

import simpy

from simulator.operator.partners import PartnerRequest, Partners
from simulator.scenario.readiness import PREREQUISITE_ACTIONS, PartnerRequestSpec, missing_prerequisites

#: The next action of a request whose go-live plan leaves nothing open.
READY_ACTION: Final[str] = "Go live in the confirmed window"
#: Who records the prerequisites on the request.
ACTOR: Final[str] = "go-live-checklist"


def take_in(env: simpy.Environment, partners: Partners, specs: list[PartnerRequestSpec]) -> None:
    """Schedule each declared request's intake and triage."""
    for spec in specs:
        env.process(_take_in(env, partners, spec))


def _take_in(env: simpy.Environment, partners: Partners, spec: PartnerRequestSpec) -> Generator[simpy.Event, Any, None]:
    yield env.timeout(spec.at)
    created = partners.create(spec.email, spec.company, None, spec.workflow_type)
    request_id = created.body["request"]["id"]
    missing = missing_prerequisites(spec.go_live)
    patch: dict[str, Any] = {"blockedPrerequisites": missing,
                             "nextAction": PREREQUISITE_ACTIONS[missing[0]] if missing else READY_ACTION}
    if spec.owner:
        patch["owner"] = spec.owner
    partners.patch(request_id, patch, role="operator", actor=ACTOR)


def declared_requests(partners: Partners,
                      specs: list[PartnerRequestSpec]) -> list[tuple[PartnerRequest, PartnerRequestSpec]]:
    """Each declared request taken in so far, with its declaration (matched by email)."""
    by_email = {request.email: request for request in partners.all()}
    return [(by_email[spec.email.strip().lower()], spec) for spec in specs if spec.email.strip().lower() in by_email]
