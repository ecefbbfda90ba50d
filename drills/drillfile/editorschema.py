"""The JSON Schemas of scenario and drill files, generated from the pydantic models that
validate them, for editors that check YAML as it is typed (yaml-language-server, VS Code's
YAML extension). The loaders stay the judges: a schema cannot see cross-field rules (an
ACL row naming a known agent, a fault within the scenario's duration)."""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel

from drills.drillfile.schema import Drill
from simulator import Scenario

#: The file kinds ``beamdrill schema`` knows, and the model each is validated by.
SCHEMA_MODELS: Final[dict[str, type[BaseModel]]] = {"scenario": Scenario, "drill": Drill}
#: The JSON Schema dialect pydantic writes.
DIALECT: Final[str] = "https://json-schema.org/draft/2020-12/schema"


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of a ``kind`` file (a key of :data:`SCHEMA_MODELS`), naming its dialect."""
    return {"$schema": DIALECT, **SCHEMA_MODELS[kind].model_json_schema(by_alias=True)}
