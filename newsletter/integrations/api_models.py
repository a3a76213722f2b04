"""The REST API's requests and answers, as pydantic models: they validate each request body and
are the source of the OpenAPI document (api_openapi.py), so the two cannot drift apart."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from ..models import attribute_problem, name_problem
from ..models.addresses import normalize
from ..models.audience import normal_tag, topic_key_problem

MAX_TAGS = 64  # per request: a handful is usual
MAX_ATTRIBUTES = 64
MAX_TEST_ADDRESSES = 20  # test copies go to a few people
STATUSES = Literal["active", "pending", "unsubscribed", "bounced", "complained"]


def _address(value: str) -> str:
    try:
        return normalize(value)
    except ValueError as exc:
        raise ValueError(f"not a usable email address: {str(exc).rstrip('.')}") from None


def _name(value: str) -> str:
    value = " ".join(value.split())
    problem = name_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _topic_key(value: str) -> str:
    problem = topic_key_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _attributes(value: dict[str, str]) -> dict[str, str]:
    for key, text in value.items():
        problem = attribute_problem(key, text)
        if problem:
            raise ValueError(f"{key[:64]!r}: {problem}")
    return value


Address = Annotated[str, Field(min_length=3, max_length=320, examples=["ada@example.com"]), AfterValidator(_address)]
Name = Annotated[str, Field(max_length=200), AfterValidator(_name)]
Tag = Annotated[str, Field(max_length=100), AfterValidator(normal_tag)]
TopicKey = Annotated[str, Field(max_length=32), AfterValidator(_topic_key)]
Attributes = Annotated[
    dict[Annotated[str, Field(min_length=1, max_length=100)], Annotated[str, Field(max_length=2000)]],
    Field(max_length=MAX_ATTRIBUTES),
    AfterValidator(_attributes),
]


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- requests ---------------------------------------------------------------------------------


class SubscriberFields(ApiModel):
    """What an upsert sets. A name and attributes update the subscriber's (attributes are merged);
    tags are added (never taken away: see TagChange); topics record their choice of each topic given."""

    name: Name | None = None
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)] = []
    topics: Annotated[dict[TopicKey, bool], Field(max_length=MAX_TAGS)] | None = None
    attributes: Attributes = {}
    double_opt_in: bool = Field(
        False, description="A new address waits as pending and is sent the confirmation email the signup form sends, instead of being active at once."
    )


class NewSubscriber(SubscriberFields):
    email: Address


class TagChange(ApiModel):
    add: Annotated[list[Tag], Field(max_length=MAX_TAGS)] = []
    remove: Annotated[list[Tag], Field(max_length=MAX_TAGS)] = []

    @model_validator(mode="after")
    def _something(self) -> TagChange:
        if not self.add and not self.remove:
            raise ValueError("give tags to add or remove")
        both = set(self.add) & set(self.remove)
        if both:
            raise ValueError(f"{sorted(both)[0]!r} is both added and removed")
        return self


class ScheduleRequest(ApiModel):
    at: AwareDatetime = Field(description="When it goes out, an ISO 8601 time with its offset, e.g. 2026-11-26T08:00:00+00:00.")


class TestCopyRequest(ApiModel):
    __test__ = False  # not a pytest test class

    addresses: Annotated[list[Address], Field(min_length=1, max_length=MAX_TEST_ADDRESSES)]


# --- answers ----------------------------------------------------------------------------------


class SubscriberOut(ApiModel):
    id: str | None = Field(description="The subscriber's public id (the one in their links).")
    email: str
    name: str | None
    status: STATUSES
    tags: list[str]
    topics: dict[str, bool] | None = Field(description="Whether they get each topic of the workspace; null in a workspace without topics.")
    attributes: dict[str, str]
    created_at: str | None
    status_changed_at: str | None


class UpsertOut(ApiModel):
    subscriber: SubscriberOut
    created: bool
    confirmation_queued: bool = Field(description="A confirmation email is on its way: the address becomes active when its owner confirms.")
    note: str


class SubscriberPage(ApiModel):
    subscribers: list[SubscriberOut]
    next_cursor: str | None = Field(description="Pass it as `cursor` for the next page; null on the last page.")


class ErasedOut(ApiModel):
    email: str
    erased: bool


class ScheduleOut(ApiModel):
    issue: str
    send_at: str
    provider: str
    held_by: Literal["provider", "here"]


class IssueSummary(ApiModel):
    key: str
    subject: str | None
    file: str | None = Field(description="The issue file in the workspace, when one has this number.")
    ledger: dict[str, int] = Field(description="Ledger rows per state.")
    schedule: ScheduleOut | None


class IssueList(ApiModel):
    issues: list[IssueSummary]


class DeliveryOut(ApiModel):
    email: str
    state: str
    detail: str | None


class IssueDetail(ApiModel):
    key: str
    subject: str | None
    file: str | None
    topic: str | None
    ledger: dict[str, int]
    events: dict[str, int] = Field(description="Addresses per provider event (delivered, bounce...).")
    problems: list[DeliveryOut] = Field(description="Failed, unknown and in-flight rows (the first 100).")
    schedule: ScheduleOut | None
    report: dict[str, Any] = Field(description="The figures `newsletter report ISSUE --json` prints.")


class CancelOut(ApiModel):
    issue: str
    send_at: str | None = Field(description="When the cancelled delivery was due; null for a send under way.")
    recipients: int = Field(description="Rows the cancelled delivery held; for a send under way, the readers who will not get it (0 while its run stops).")
    state: Literal["pending", "unknown", "skipped"] = Field(
        description="What they became: pending, or unknown when it was too late for the provider to guarantee it; skipped when a canary, paced or paused send under way was ended."
    )
    others: list[str] = Field(description="Other issues the provider dropped with it (Mailgun drops every scheduled message at once).")
    detail: str | None = Field(default=None, description="What happened, in a sentence (a send under way).")


class TestCopyOut(ApiModel):
    __test__ = False

    address: str
    sent: bool
    problem: str | None


class TestCopiesOut(ApiModel):
    __test__ = False

    issue: str
    draft: bool
    copies: list[TestCopyOut]


class ProblemField(ApiModel):
    detail: str
    pointer: str | None = Field(None, description="A JSON pointer to the value in the request body, e.g. /tags/0.")
    parameter: str | None = Field(None, description="The path or query parameter, e.g. segment.")


class Problem(ApiModel):
    """RFC 9457 problem details, served as application/problem+json."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemField] | None = None
