"""The GameDay's HTTP surface: Beam's operator routes in Beam's request and reply shapes,
the facilitator's controls under ``/api/gameday``, ``/metrics`` and the console at ``/``.

Safety: with a token every request needs ``Authorization: Bearer <token>`` or the
console's cookie (401 and nothing changes otherwise); bodies are JSON objects of at most :data:`MAX_BODY` bytes;
every refusal is a Beam-style ``{"error", "errorCode"}`` body with a 4xx status.
"""

from __future__ import annotations

import hmac
import json
from http.cookies import SimpleCookie
from urllib.parse import parse_qs
from typing import Any, Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from drills.gameday import reads
from drills.gameday.console import console_html
from drills.gameday.journal import ActionName
from drills.gameday.livemetrics import CONTENT_TYPE, LiveMetrics, drill_events_now
from drills.gameday.session import Session
from simulator.operator.api import ApiResult, error

#: The largest request body the API reads, in bytes.
MAX_BODY = 64 * 1024
#: The header naming who acts (journalled); ``operator`` when absent.
ACTOR_HEADER = "x-beamdrill-actor"
#: The cookie a browser carries the token in once it opened ``/?token=<token>``.
COOKIE = "beamdrill_gameday_token"


class BadRequest(Exception):
    """A request the API refuses before it reaches the world."""

    def __init__(self, answer: ApiResult) -> None:
        super().__init__(answer.body.get("error"))
        self.answer = answer


def answer(result: ApiResult) -> JSONResponse:
    """An :class:`ApiResult` as a response."""
    return JSONResponse(result.body, status_code=result.status)


def refuse(status: int, code: str, message: str) -> JSONResponse:
    """A Beam-style error response."""
    return answer(error(status, code, message))


async def _body(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise BadRequest(error(413, "PAYLOAD_TOO_LARGE", f"a request body is at most {MAX_BODY} bytes"))
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise BadRequest(error(413, "PAYLOAD_TOO_LARGE", f"a request body is at most {MAX_BODY} bytes"))
    if not raw:
        return {}
    try:
        document = json.loads(bytes(raw))
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(error(400, "INVALID_JSON", "the body is not valid JSON")) from None
    if not isinstance(document, dict):
        raise BadRequest(error(400, "INVALID_BODY", "the body must be a JSON object"))
    return document


def _actor(request: Request) -> str:
    actor = request.headers.get(ACTOR_HEADER, "operator").strip()
    if not actor or len(actor) > 100 or not actor.isprintable():
        raise BadRequest(error(400, "INVALID_ACTOR", f"{ACTOR_HEADER} is 1 to 100 printable characters"))
    return actor


Handler = Callable[[Request], Awaitable[Response]]


def build_app(session: Session, token: str | None = None) -> Starlette:
    """The ASGI app serving ``session``; ``token`` (when set) guards every route."""
    metrics = LiveMetrics(session.world, lambda: drill_events_now(session.ctx))

    def act(action: ActionName, fixed: Callable[[Request], dict[str, Any]] | None = None) -> Handler:
        """A handler doing ``action`` with the JSON body's arguments (and ``fixed``'s, from the path)."""
        async def handle(request: Request) -> Response:
            actor = _actor(request)
            arguments = await _body(request)
            if fixed is not None:
                overlap = set(fixed(request)) & set(arguments)
                if overlap:
                    return refuse(400, "INVALID_REQUEST", f"{', '.join(sorted(overlap))} comes from the path")
                arguments = {**fixed(request), **arguments}
            return answer(session.act(actor, action, arguments))
        return handle

    def item_id(request: Request) -> dict[str, Any]:
        raw = request.path_params["id"]
        if not raw.isdigit() or len(raw) > 12:
            raise BadRequest(error(400, "INVALID_ID", f"expected a numeric id, found {raw[:40]!r}"))
        return {"id": int(raw)}

    async def get_inbox(request: Request) -> Response:
        query = request.query_params
        return answer(reads.inbox(session, query.get("status"), query.get("source"), query.get("limit")))

    async def get_alerts(_: Request) -> Response:
        return answer(reads.alerts(session))

    async def get_trace(request: Request) -> Response:
        return answer(reads.trace(session, request.path_params["nonce"]))

    async def get_errors(_: Request) -> Response:
        return answer(reads.errors(session))

    async def get_dead_letters(request: Request) -> Response:
        query = request.query_params
        return answer(reads.dead_letters(session, query.get("recipient"), query.get("limit")))

    async def get_acl(request: Request) -> Response:
        return answer(reads.acl(session, request.path_params["beam_id"]))

    async def get_shield(request: Request) -> Response:
        return answer(reads.shield(session, request.path_params["beam_id"]))

    async def get_partners(_: Request) -> Response:
        return answer(reads.partner_requests(session))

    async def get_state(_: Request) -> Response:
        return JSONResponse(reads.state(session))

    async def get_journal(_: Request) -> Response:
        return JSONResponse(session.journal.model_dump(mode="json"))

    async def get_metrics(_: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    async def get_console(_: Request) -> Response:
        return HTMLResponse(console_html(session))

    routes = [
        Route("/", get_console, methods=["GET"]),
        Route("/metrics", get_metrics, methods=["GET"]),
        Route("/admin/operator-notifications", get_inbox, methods=["GET"]),
        Route("/admin/operator-notifications/{id}", act("inbox.patch", item_id), methods=["PATCH"]),
        Route("/observability/alerts", get_alerts, methods=["GET"]),
        Route("/observability/intents/{nonce}", get_trace, methods=["GET"]),
        Route("/observability/errors", get_errors, methods=["GET"]),
        Route("/observability/prune", act("prune"), methods=["POST"]),
        Route("/observability/export", act("evidence.export"), methods=["POST"]),
        Route("/v1/beam/dead-letter", get_dead_letters, methods=["GET"]),
        Route("/v1/beam/dead-letter/{id}/requeue", act("dead_letter.requeue", lambda r: {"id": r.path_params["id"]}),
              methods=["POST"]),
        Route("/acl", act("acl.add"), methods=["POST"]),
        Route("/acl", act("acl.remove"), methods=["DELETE"]),
        Route("/acl/{beam_id}", get_acl, methods=["GET"]),
        Route("/shield/config/{beam_id}", get_shield, methods=["GET"]),
        Route("/shield/config/{beam_id}", act("shield.update", lambda r: {"beamId": r.path_params["beam_id"]}),
              methods=["PATCH"]),
        Route("/admin/beta-requests", get_partners, methods=["GET"]),
        Route("/admin/beta-requests", act("partner_request.create"), methods=["POST"]),
        Route("/admin/beta-requests/{id}", act("partner_request.patch", item_id), methods=["PATCH"]),
        Route("/api/gameday", get_state, methods=["GET"]),
        Route("/api/gameday/journal", get_journal, methods=["GET"]),
        Route("/api/gameday/faults", act("fault.inject"), methods=["POST"]),
        Route("/api/gameday/faults/{fault}/revert", act("fault.revert", _fault_ref), methods=["POST"]),
        Route("/api/gameday/pause", act("pace.pause"), methods=["POST"]),
        Route("/api/gameday/resume", act("pace.resume"), methods=["POST"]),
        Route("/api/gameday/speed", act("pace.speed"), methods=["POST"]),
        Route("/api/gameday/finish", act("gameday.finish"), methods=["POST"]),
    ]

    async def not_found(_: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        if status == 405:
            return refuse(405, "METHOD_NOT_ALLOWED", "this route does not take that method")
        return refuse(status, "NOT_FOUND" if status == 404 else "BAD_REQUEST", "no such route")

    async def bad_request(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadRequest)
        return answer(exc.answer)

    async def broken(_: Request, exc: Exception) -> Response:
        return refuse(500, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}")

    app = Starlette(routes=routes, exception_handlers={HTTPException: not_found, BadRequest: bad_request,
                                                       Exception: broken})
    app.add_middleware(BearerToken, token=token)
    return app


def _fault_ref(request: Request) -> dict[str, Any]:
    raw = request.path_params["fault"]
    return {"fault": int(raw) if raw.isdigit() and len(raw) < 6 else raw}


class BearerToken:
    """Refuse every request without the token (when one is set): ``Authorization: Bearer
    <token>``, or, for a browser, the cookie that ``GET /?token=<token>`` sets (HttpOnly,
    SameSite=Strict, so another site cannot act with it) before it redirects to ``/``."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = None if token is None else token.encode()

    def _carries(self, scope: Scope) -> bool:
        assert self.token is not None
        headers = dict(scope["headers"])
        if hmac.compare_digest(headers.get(b"authorization", b""), b"Bearer " + self.token):
            return True
        cookies = SimpleCookie(headers.get(b"cookie", b"").decode("latin-1"))
        morsel = cookies.get(COOKIE)
        return morsel is not None and hmac.compare_digest(morsel.value.encode(), self.token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.token is not None and scope["type"] == "http" and not self._carries(scope):
            given = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[-1]
            if scope["path"] == "/" and hmac.compare_digest(given.encode(), self.token):
                response: Response = RedirectResponse("/", status_code=303)
                response.set_cookie(COOKIE, self.token.decode(), httponly=True, samesite="strict")
            else:
                response = refuse(401, "UNAUTHORIZED", "this GameDay needs Authorization: Bearer <token> "
                                                       "(a browser: open /?token=<token> once)")
                response.headers["WWW-Authenticate"] = "Bearer"
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
