"""An automation as the runner follows it: a trigger and a tree of steps, each with a stable id.

Ids name a step's place: top-level steps are "1", "2", ...; the steps of the `then:` list of step 3
are "3t1", "3t2", and of its `else:` list "3e1". A send step's ledger key is `auto-<name>-<id>`, so
each email of each automation is an "issue" of the send ledger of its own (docs/architecture.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..db.segments import AUTOMATION
from ..models.event_types import SUBSCRIBER_CONFIRMED, SUBSCRIBER_TAGGED
from ..models.windows import Window

CONFIRMED, TAGGED = SUBSCRIBER_CONFIRMED, SUBSCRIBER_TAGGED  # the triggers an automation may have

KEY_PREFIX = AUTOMATION  # each send step's ledger key: auto-<name>-<step>
KEY_MAX = 32  # a ledger key travels in tracked links, which allow 32 characters (mail/clicks.py ISSUE)

Kind = Literal["wait", "send", "tag", "if"]


@dataclass(frozen=True)
class Condition:
    """`clicked` (any link of this automation's emails since enrolling), or `tagged <tag>`; `negated`: `not ...`."""

    test: Literal["clicked", "tagged"]
    tag: str | None = None
    negated: bool = False

    def __str__(self) -> str:
        text = "clicked" if self.test == "clicked" else f"tagged {self.tag}"
        return f"not {text}" if self.negated else text


@dataclass(frozen=True)
class Step:
    id: str
    kind: Kind
    line: int
    span: dt.timedelta | None = None  # wait
    email: str | None = None  # send: the email file, relative to the workspace
    tag: str | None = None  # tag
    condition: Condition | None = None  # if
    then: tuple[Step, ...] = ()
    otherwise: tuple[Step, ...] = ()

    def describe(self) -> str:
        if self.kind == "wait":
            from ..models.spans import show_span

            return f"wait {show_span(self.span or dt.timedelta())}"
        if self.kind == "send":
            return f"send {self.email}"
        if self.kind == "tag":
            return f"tag {self.tag}"
        return f"if {self.condition}"


@dataclass(frozen=True)
class Trigger:
    event: str  # CONFIRMED or TAGGED
    tag: str | None = None  # TAGGED: the tag

    def __str__(self) -> str:
        return f"{self.event}: {self.tag}" if self.tag else self.event


@dataclass(frozen=True)
class Automation:
    name: str
    path: Path
    trigger: Trigger
    steps: tuple[Step, ...]
    send_window: Window | None = None
    _index: dict[str, Step] = field(default_factory=dict, compare=False, repr=False)
    _next: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        _walk(self.steps, None, self._index, self._next)

    @property
    def first(self) -> str | None:
        """The id of the first step (None: no steps)."""
        return self.steps[0].id if self.steps else None

    def step(self, step_id: str) -> Step | None:
        return self._index.get(step_id)

    def after(self, step_id: str) -> str | None:
        """The step that follows `step_id` once it is done (None: the automation is over)."""
        return self._next.get(step_id)

    def branch(self, step: Step, taken: bool) -> str | None:
        """Where an `if` step goes: the first step of the branch taken, else the step after it."""
        steps = step.then if taken else step.otherwise
        return steps[0].id if steps else self.after(step.id)

    def all_steps(self) -> list[Step]:
        """Every step, in the order of the file."""
        return list(self._index.values())

    def key(self, step: Step) -> str:
        """The ledger key of a send step."""
        return f"{KEY_PREFIX}{self.name}-{step.id}"

    @property
    def send_keys(self) -> list[str]:
        return [self.key(step) for step in self.all_steps() if step.kind == "send"]


def _walk(steps: tuple[Step, ...], then: str | None, index: dict[str, Step], following: dict[str, str | None]) -> None:
    for position, step in enumerate(steps):
        index[step.id] = step
        after = steps[position + 1].id if position + 1 < len(steps) else then
        following[step.id] = after
        if step.kind == "if":
            _walk(step.then, after, index, following)
            _walk(step.otherwise, after, index, following)
