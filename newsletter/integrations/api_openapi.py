"""The OpenAPI 3.1 document of the REST API, generated from the models that validate its requests
(api_models.py) and the table of its routes below: what the document says is what the app checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .. import __version__
from . import api_models as m

PREFIX = "/api/v1"
REF = "#/components/schemas/{model}"
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Parameter:
    name: str
    where: str  # path or query
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = True


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # under PREFIX, with {parameters}
    operation: str
    summary: str
    scope: str | None  # None: no token needed
    answer: type[BaseModel]
    status: int = 200  # the success answer's status (an upsert's is 201 when it added the address)
    body: type[BaseModel] | None = None
    parameters: tuple[Parameter, ...] = ()
    errors: tuple[int, ...] = (401, 403, 404, 422, 429)


EMAIL = Parameter("email", "path", "The subscriber's email address (URL-encoded).")
KEY = Parameter("key", "path", "The issue's number (its key in the ledger).", {"type": "string", "pattern": "^[0-9]{1,9}$"})

READ = (401, 403, 404, 422, 429)
WRITE = (400, 401, 403, 404, 409, 413, 415, 422, 429)
UPSERT = (400, 401, 403, 409, 413, 415, 422, 429)
QUERY = (
    Parameter("segment", "query", "A segment expression (tag:vip and not tag:paused) or a [segments] name; none: everyone.", required=False),
    Parameter("status", "query", "Only subscribers with this status.", {"type": "string", "enum": ["active", "pending", "unsubscribed", "bounced", "complained"]}, False),
    Parameter("cursor", "query", "next_cursor of the previous page.", required=False),
    Parameter("limit", "query", "At most this many (1 to 500, default 100).", {"type": "integer", "minimum": 1, "maximum": 500}, False),
)

ROUTES: tuple[Route, ...] = (
    Route("get", "/openapi.json", "openapi", "This document.", None, m.ApiModel, errors=()),
    Route("post", "/subscribers", "createSubscriber", "Add or update a subscriber (address in the body).", "subscribers:write", m.UpsertOut, body=m.NewSubscriber, errors=UPSERT),
    Route("get", "/subscribers", "listSubscribers", "A page of the subscribers a segment matches, by address.", "subscribers:read", m.SubscriberPage, parameters=QUERY),
    Route(
        "put", "/subscribers/{email}", "upsertSubscriber", "Add or update a subscriber by address.", "subscribers:write", m.UpsertOut,
        body=m.SubscriberFields, parameters=(EMAIL,), errors=UPSERT,
    ),
    Route("get", "/subscribers/{email}", "getSubscriber", "One subscriber.", "subscribers:read", m.SubscriberOut, parameters=(EMAIL,)),
    Route("delete", "/subscribers/{email}", "eraseSubscriber", "Erase a subscriber, as `subscribers erase` does.", "subscribers:write", m.ErasedOut, parameters=(EMAIL,)),
    Route(
        "post", "/subscribers/{email}/tags", "tagSubscriber", "Add and remove tags.", "subscribers:write", m.SubscriberOut,
        body=m.TagChange, parameters=(EMAIL,), errors=WRITE,
    ),
    Route("get", "/issues", "listIssues", "Every issue the ledger knows and every issue file, with ledger rows per state.", "issues:read", m.IssueList, errors=(401, 403, 429)),
    Route("get", "/issues/{key}", "getIssue", "One issue's ledger counts, provider events, schedule and report.", "issues:read", m.IssueDetail, parameters=(KEY,)),
    Route(
        "post", "/issues/{key}/schedule", "scheduleIssue", "Send the issue at a time, as `newsletter send ISSUE --at TIME`.", "issues:send", m.ScheduleOut,
        status=201, body=m.ScheduleRequest, parameters=(KEY,), errors=WRITE,
    ),
    Route(
        "delete", "/issues/{key}/schedule", "cancelIssue", "Cancel the issue's scheduled delivery, as `newsletter cancel ISSUE`.", "issues:send", m.CancelOut,
        parameters=(KEY,), errors=(401, 403, 404, 409, 429),
    ),
    Route(
        "post", "/issues/{key}/test", "sendTestCopies", "Send a test copy, marked [TEST], to each address (not in the ledger).", "issues:send", m.TestCopiesOut,
        body=m.TestCopyRequest, parameters=(KEY,), errors=WRITE,
    ),
)

REASONS = {
    400: "The body is not JSON (UTF-8), or is nested too deep.",
    401: "No token, or one that is not (or no longer) valid.",
    403: "The token lacks the scope this route needs.",
    404: "No such subscriber or issue.",
    409: "The list or the ledger does not allow it now (the detail says why).",
    413: "The body is too large.",
    415: "The body is not JSON.",
    422: "A value does not validate (errors names each).",
    429: "Too many requests for this token (Retry-After says when to try again).",
}


def schemas() -> dict[str, Any]:
    """Every model's JSON Schema, each under its own name, referring to the others by REF."""
    answers: list[type[BaseModel]] = [m.Problem, *{route.answer for route in ROUTES if route.answer is not m.ApiModel}]
    bodies = [route.body for route in ROUTES if route.body is not None]
    pairs: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [(model, "serialization") for model in answers]
    pairs += [(model, "validation") for model in bodies]
    _, top = models_json_schema(pairs, ref_template=REF)
    return dict(sorted(top.get("$defs", {}).items()))


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document."""
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(PREFIX + route.path, {})[route.method] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "newsletter REST API",
            "version": __version__,
            "description": "Subscribers and issues of one newsletter workspace. Errors are RFC 9457 problem details.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer", "description": "A token made with `newsletter api-token create`."}},
        },
    }


WORDS = {200: "OK", 201: "Created"}


def _successes(route: Route) -> tuple[int, ...]:
    return (200, 201) if route.answer is m.UpsertOut else (route.status,)


def _operation(route: Route) -> dict[str, Any]:
    answer: dict[str, Any] = {"type": "object"} if route.answer is m.ApiModel else {"$ref": REF.format(model=route.answer.__name__)}
    operation: dict[str, Any] = {
        "operationId": route.operation,
        "summary": route.summary,
        "responses": {str(status): {"description": WORDS[status], "content": {"application/json": {"schema": answer}}} for status in _successes(route)},
    }
    if route.scope is not None:
        operation["security"] = [{"token": []}]
        operation["description"] = f"Needs a token with the scope {route.scope}."
    else:
        operation["security"] = []
    if route.parameters:
        operation["parameters"] = [
            {"name": p.name, "in": p.where, "required": p.required if p.where == "query" else True, "description": p.description, "schema": p.schema} for p in route.parameters
        ]
    if route.body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"$ref": REF.format(model=route.body.__name__)}}}}
    for status in route.errors:
        operation["responses"][str(status)] = {"description": REASONS[status], "content": {PROBLEM: {"schema": {"$ref": REF.format(model="Problem")}}}}
    return operation
