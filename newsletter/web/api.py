"""The REST API at /api/v1/: bearer tokens, a scope per route, JSON in and out, RFC 9457 problem
details for every refusal, a rate limit per token ([api] rate_limit). Each route is declared once,
in integrations/api_openapi.py's table (method, path, scope, body and answer models), and made
here from it, so the OpenAPI document and the app cannot disagree. The operations are in
integrations/api_subscribers.py and api_issues.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ValidationError

from ..integrations import api_issues, api_subscribers
from ..integrations.api_errors import PROBLEM_TYPE, ApiError, FieldProblem, Invalid, invalid_parameter
from ..integrations.api_models import NewSubscriber, ScheduleRequest, SubscriberFields, TagChange, TestCopyRequest
from ..integrations.api_openapi import PREFIX, PROBLEM, ROUTES, Route, document
from ..integrations.api_tokens import authenticate
from . import inbox_limit
from .extensions import client_key, csrf, limiter
from .site import site

api = Blueprint("api", __name__, url_prefix=PREFIX)
BY_OPERATION = {route.operation: route for route in ROUTES}
REALM = 'Bearer realm="newsletter API"'
MAX_JSON_DEPTH = 32  # deeper than any body of this API


def problem(status: int, title: str, detail: str, slug: str | None = None, errors: tuple[FieldProblem, ...] = (), headers: dict[str, str] | None = None) -> Response:
    """An RFC 9457 problem details answer."""
    body: dict[str, Any] = {"type": PROBLEM_TYPE + slug if slug else "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = [{key: value for key, value in vars(error).items() if value is not None} for error in errors]
    answer = jsonify(body)
    answer.status_code = status
    answer.mimetype = PROBLEM
    answer.headers.update(headers or {})
    return answer


HTTP_WORDS = {
    404: "no such route in this API (GET /api/v1/openapi.json lists them)",
    405: "this route does not take that method (GET /api/v1/openapi.json lists them)",
    413: "the request body is too large",
    429: "too many requests: wait as long as Retry-After says, then try again",
    503: "the database is busy or unavailable: try again shortly",
}


def http_problem(code: int, retry_after: int | None = None) -> Response:
    """The app's own HTTP errors (404, 413, 429, 503...) under /api/, as problem details."""
    from http import HTTPStatus

    title = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else "Error"
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return problem(code, title, HTTP_WORDS.get(code, title.lower()), headers=headers)


def is_api_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


# --- tokens and their scopes ------------------------------------------------------------------


def _presented() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _token() -> Any:
    """The request's token (an ApiToken), or None; looked up once per request."""
    if "api_token" not in g:
        presented = _presented()
        g.api_token = site().run(lambda db: authenticate(db, presented)) if presented else None
    return g.api_token


def rate_key() -> str:
    """A token's requests count against that token; a request without a valid one, against its client."""
    token = _token() if request.endpoint != "api.openapi" else None
    return f"api-token:{token.name}" if token is not None else f"api-client:{client_key()}"


def _rate() -> str:
    return site().config.api.rate_limit


def _unauthorized(detail: str, error: str | None = None) -> Response:
    challenge = REALM + (f', error="{error}"' if error else "")
    return problem(401, "Unauthorized", detail, "unauthorized", headers={"WWW-Authenticate": challenge})


def _guarded(route: Route, view: Callable[..., Any]) -> Callable[..., ResponseReturnValue]:
    def guarded(**parameters: str) -> ResponseReturnValue:
        if route.scope is not None:
            if _presented() is None:
                return _unauthorized("this route needs a token: Authorization: Bearer TOKEN (make one with `newsletter api-token create`)")
            token = _token()
            if token is None:
                return _unauthorized("the token is not valid: mistyped, forged or revoked", "invalid_token")
            if route.scope not in token.scopes:
                detail = f"the token {token.name!r} lacks the scope {route.scope} (it has: {', '.join(token.scopes) or 'none'})"
                return problem(403, "Forbidden", detail, "insufficient-scope", headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{route.scope}"'})
        if route.body is not None:
            parameters["body"] = _body(route.body)  # type: ignore[assignment]  # the view's body argument is the model
        found = view(**parameters)
        if isinstance(found, dict):  # the OpenAPI document
            return jsonify(found), route.status
        model, status = found if isinstance(found, tuple) else (found, route.status)
        return jsonify(model.model_dump(mode="json")), status

    guarded.__name__ = route.operation
    return guarded


def _body(model: type[BaseModel]) -> BaseModel:
    """The request's JSON body, validated by `model`. ApiError for a body that is not JSON or does not validate."""
    if not request.is_json:
        raise Unsupported("the body must be JSON, sent with Content-Type: application/json")
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        data = None
    if data is None:
        raise ApiError("the body is not valid JSON (UTF-8)")
    if _depth(data) > MAX_JSON_DEPTH:
        raise ApiError(f"the body is nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from None


class Unsupported(ApiError):
    status = 415
    title = "Unsupported media type"
    slug = "unsupported-media-type"


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_JSON_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(item, level + 1) for item in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(item, level + 1) for item in value), default=level + 1)
    return level


def _invalid(exc: ValidationError) -> Invalid:
    problems = []
    for error in exc.errors(include_url=False, include_input=False)[:20]:
        pointer = "".join(f"/{str(part).replace('~', '~0').replace('/', '~1')}" for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(FieldProblem(message, pointer=pointer or "/"))
    first = problems[0]
    return Invalid(f"{first.pointer}: {first.detail}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""), tuple(problems))


@api.errorhandler(ApiError)
def api_error(error: ApiError) -> ResponseReturnValue:
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, api_subscribers.TooManyConfirmations) else None
    return problem(error.status, error.title, error.detail, error.slug, error.errors, headers)


def route(operation: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Make the route `operation` of the table from the view below it."""
    spec = BY_OPERATION[operation]

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        rule = spec.path.replace("{", "<").replace("}", ">")
        api.add_url_rule(rule, operation, _guarded(spec, view), methods=[spec.method.upper()])
        return view

    return register


# --- the routes -------------------------------------------------------------------------------


@route("openapi")
def openapi() -> Any:
    return document()


def _upsert(email: str, fields: SubscriberFields) -> BaseModel | tuple[BaseModel, int]:
    here = site()
    token = _token()
    limit = here.config.web.address_rate

    def work(db: Any) -> Any:
        return api_subscribers.upsert(db, here.config, email, fields, token.name, lambda address: inbox_limit.take(address, limit))

    done = here.run(work)
    if done.confirmation_queued:
        here.sender.wake()
    return done, 201 if done.created else 200


@route("createSubscriber")
def create_subscriber(body: NewSubscriber) -> Any:
    return _upsert(body.email, SubscriberFields(**body.model_dump(exclude={"email"})))


@route("upsertSubscriber")
def upsert_subscriber(email: str, body: SubscriberFields) -> Any:
    return _upsert(api_subscribers.address_from_path(email), body)


@route("getSubscriber")
def get_subscriber(email: str) -> Any:
    address = api_subscribers.address_from_path(email)
    return site().run(lambda db: api_subscribers.get(db, site().config, address))


@route("listSubscribers")
def list_subscribers() -> Any:
    args = request.args
    raw_limit = args.get("limit", str(api_subscribers.DEFAULT_PAGE))
    if not raw_limit.isdigit() or len(raw_limit) > 4:
        raise invalid_parameter("limit", f"expected a number from 1 to {api_subscribers.MAX_PAGE}")
    here = site()
    return here.run(lambda db: api_subscribers.page(db, here.config, args.get("segment"), args.get("status"), args.get("cursor"), int(raw_limit)))


@route("tagSubscriber")
def tag_subscriber(email: str, body: TagChange) -> Any:
    address = api_subscribers.address_from_path(email)
    here = site()
    return here.run(lambda db: api_subscribers.retag(db, here.config, address, body.add, body.remove))


@route("eraseSubscriber")
def erase_subscriber(email: str) -> Any:
    from ..integrations.api_models import ErasedOut

    address = api_subscribers.address_from_path(email)
    site().run(lambda db: api_subscribers.erase(db, address))
    return ErasedOut(email=address, erased=True)


@route("listIssues")
def list_issues() -> Any:
    here = site()
    return here.run(lambda db: api_issues.list_issues(db, here.workspace))


@route("getIssue")
def get_issue(key: str) -> Any:
    here = site()
    return here.run(lambda db: api_issues.issue_detail(db, here.workspace, key))


@route("scheduleIssue")
def schedule_issue(key: str, body: ScheduleRequest) -> Any:
    return api_issues.schedule(site().workspace, key, body.at)


@route("cancelIssue")
def cancel_issue(key: str) -> Any:
    return api_issues.cancel(site().workspace, key)


@route("sendTestCopies")
def send_test_copies(key: str, body: TestCopyRequest) -> Any:
    return api_issues.send_test_copies(site().workspace, key, body.addresses)


def register_api(app: Flask) -> None:
    """The API on `app`: its routes, no CSRF (a token, never a cookie, authorizes), its rate limit per token."""
    csrf.exempt(api)
    app.register_blueprint(api)


limiter.limit(_rate, key_func=rate_key)(api)
