"""Operator roles and the answers of the operator API (beam-model §9.1).

Beam's admin routes check a role (viewer < operator < admin) and answer user errors with
an HTTP status and a body carrying ``errorCode``. The simulator's operator surfaces do the
same: a user error is an :class:`ApiResult`, never an exception.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import ConfigDict
from pydantic.alias_generators import to_camel

from simulator.kernel.fields import Model

#: Role order in Beam's code (§9.1): viewer (0) < operator (1) < admin (2).
ROLE_RANK: Final[dict[str, int]] = {"viewer": 0, "operator": 1, "admin": 2}


class ApiModel(Model):
    """A record the operator API returns: snake_case in Python, camelCase on the wire."""

    model_config = ConfigDict(**Model.model_config, alias_generator=to_camel)

    def view(self) -> dict[str, Any]:
        """The record as the API returns it (JSON-ready, camelCase keys)."""
        return self.model_dump(mode="json", by_alias=True)


class ApiResult(Model):
    """One API answer: HTTP status and JSON body; errors carry ``error`` and ``errorCode``."""

    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return 200 <= self.status < 300

    @property
    def error_code(self) -> str | None:
        """The body's ``errorCode``, None on success."""
        code = self.body.get("errorCode")
        return code if isinstance(code, str) else None


def ok(body: dict[str, Any], status: int = 200) -> ApiResult:
    """A successful answer."""
    return ApiResult(status=status, body=body)


def error(status: int, code: str, message: str) -> ApiResult:
    """An error answer in Beam's shape: ``{"error": message, "errorCode": code}``."""
    return ApiResult(status=status, body={"error": message, "errorCode": code})


def has_role(role: str, minimum: str) -> bool:
    """True when ``role`` is a known role at or above ``minimum``."""
    rank = ROLE_RANK.get(role)
    return rank is not None and rank >= ROLE_RANK[minimum]


def require_role(role: str, minimum: str) -> ApiResult | None:
    """None when ``role`` may act; otherwise the 403 ``FORBIDDEN`` answer."""
    if has_role(role, minimum):
        return None
    return error(403, "FORBIDDEN", f"role {role!r} may not do this; it needs {minimum} or above")
