"""What an API operation refuses, as the web app answers it (RFC 9457 problem details): an HTTP
status, a title, a sentence, and for a value that does not validate, where it is."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import NewsletterError

PROBLEM_TYPE = "urn:newsletter-desk:problem:"  # + a slug: what kind of problem, for a program to branch on


@dataclass(frozen=True)
class FieldProblem:
    """One value that does not validate: a JSON pointer into the body ("/tags/0"), or the name of a
    path or query parameter, and why."""

    detail: str
    pointer: str | None = None
    parameter: str | None = None


class ApiError(NewsletterError):
    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str, errors: tuple[FieldProblem, ...] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class NotFound(ApiError):
    status = 404
    title = "Not found"
    slug = "not-found"


class Invalid(ApiError):
    status = 422
    title = "Validation failed"
    slug = "validation"


class Conflict(ApiError):
    """The request is well formed, but the list or the ledger does not allow it now."""

    status = 409
    title = "Conflict"
    slug = "conflict"


def invalid_parameter(name: str, detail: str) -> Invalid:
    return Invalid(f"{name}: {detail}", (FieldProblem(detail, parameter=name),))
