"""`newsletter automations run`: enroll readers from the event outbox, then move every reader whose
step is due. Safe from cron every minute: one run at a time (a lock), and every step is idempotent.

A run, in order: check every automation and email (a problem stops it before anything changes);
take the events not yet handed to the "automations" consumer and enroll the readers their
triggers match, in one transaction with the hand-over; recover rows a killed run left `sending`;
move readers through wait, tag and if steps, and queue a ledger row for each reader due at a send
step (inside its send window); send those rows; and move on the readers whose row is settled.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from ..db import Database
from ..db.automations import DONE, LEFT_AUTOMATION, SETTLED, Due, still_active
from ..db.connection import now as stamp_now
from ..models import State
from ..models.event_types import SUBSCRIBER_CREATED
from ..models.windows import Window, next_opening, reader_zone, zone_named
from ..providers import open_provider
from ..providers.base import Provider
from ..sending.core import provider_ready
from ..workspace.config import Workspace
from ..workspace.credentials import signing_keys
from .checks import Checked, check_automations, refuse_problems
from .sending import recover, send_step
from .steps import CONFIRMED, TAGGED, Automation, Step

Clock = Callable[[], dt.datetime]
CONSUMER: Final = "automations"
EVENTS_AT_ONCE = 500
READERS_AT_ONCE = 1000
BUSY = "another `newsletter automations run` is still running; this one changed nothing"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class RunReport:
    enrolled: Counter[str] = field(default_factory=Counter)  # readers who entered, by automation
    steps: int = 0  # steps readers moved past
    finished: int = 0  # readers who reached the end
    left: int = 0  # readers who left (unsubscribed, bounced, complained, erased)
    sends: dict[str, dict[State, int]] = field(default_factory=dict)  # each send step's ledger counts, when it sent
    stopped: list[str] = field(default_factory=list)  # why a send stopped early
    retried_unknown: int = 0

    @property
    def unknown(self) -> int:
        return sum(counts.get(State.UNKNOWN, 0) for counts in self.sends.values())


def run_automations(
    workspace: Workspace, clock: Clock = utc_now, stop: threading.Event | None = None, retry_unknown: bool = False, provider: str | None = None
) -> RunReport:
    """One run over every automation of the workspace (see the module's docstring)."""
    checked = check_automations(workspace)
    refuse_problems(checked)
    with Database(workspace.database) as db, db.connection.lock("automations", BUSY):
        run = _Run(workspace, db, checked, clock, stop or threading.Event(), provider or workspace.config.send.provider)
        try:
            run.enroll()
            run.recover(retry_unknown)
            run.advance()
            run.send()
            run.advance()
        finally:
            run.close()
        return run.report


class _Run:
    def __init__(self, workspace: Workspace, db: Database, checked: Checked, clock: Clock, stop: threading.Event, provider: str) -> None:
        self.workspace, self.db, self.checked, self.clock, self.stop, self.provider = workspace, db, checked, clock, stop, provider
        self.report = RunReport()
        settings = workspace.config.automations
        self.window = _window(settings.send_window)
        self.zone: dt.tzinfo = zone_named(settings.time_zone) or dt.datetime.now().astimezone().tzinfo or dt.UTC
        self.sender: Provider | None = None

    def close(self) -> None:
        if self.sender is not None:
            self.sender.close()

    # --- entering ----------------------------------------------------------------------------------

    def enroll(self) -> None:
        """Each event not yet handed to this consumer enrolls the readers its automations' triggers
        match, in the transaction that marks it handed: a crash enrolls them, or leaves the event for the next run."""
        outbox = self.db.event_outbox
        while True:
            with self.db.transaction():
                events = outbox.take(CONSUMER, EVENTS_AT_ONCE)
                if not events:
                    return
                moment = self.clock()
                for automation in self.checked.automations:
                    emails = [email for event in events if (email := _enrolls(automation, event.type, event.data))]
                    if emails and automation.first is not None:
                        first = automation.step(automation.first)
                        assert first is not None
                        entered = self.db.automations.enroll(automation.name, dict.fromkeys(emails), first.id, _due(first, moment))
                        self.report.enrolled[automation.name] += entered
                outbox.handed(CONSUMER, [event.id for event in events])

    # --- moving ------------------------------------------------------------------------------------

    def recover(self, retry_unknown: bool) -> None:
        stamp = stamp_now()
        for automation in self.checked.automations:
            for key in automation.send_keys:
                recover(self.db, key, stamp)
                if retry_unknown:
                    self.report.retried_unknown += self.db.ledger.retry_unknown(key)

    def advance(self) -> None:
        for automation in self.checked.automations:
            self.report.left += self.db.automations.leave_when_gone([automation.name], automation.send_keys)
            moment = self.clock()
            after = ""
            while readers := self.db.automations.due(automation.name, moment.timestamp(), READERS_AT_ONCE, after):
                for reader in readers:
                    self._move(automation, reader, moment)
                after = readers[-1].email

    def _move(self, automation: Automation, reader: Due, moment: dt.datetime) -> None:
        """Take the reader through every step due now: until a wait, a send step waiting for its
        window or its row, or the end. Each move is committed as it is made."""
        readers = self.db.automations
        if not still_active(reader.status):
            readers.end(automation.name, reader.email, LEFT_AUTOMATION, reader.status or "removed from the list")
            self.report.left += 1
            return
        step_id: str | None = reader.step
        arrived = False  # at the step the reader was found at, its wait is over when it is due
        while step_id is not None:
            step = automation.step(step_id)
            if step is None:
                readers.end(automation.name, reader.email, LEFT_AUTOMATION, f"step {step_id} is no longer in {automation.path}")
                self.report.left += 1
                return
            if step.kind == "wait":
                if arrived:
                    return  # moved here with its due time set
                step_id = self._go(automation, reader.email, automation.after(step.id), moment)
            elif step.kind == "tag":
                assert step.tag is not None
                step_id = self._go(automation, reader.email, automation.after(step.id), moment, (step.tag,))
            elif step.kind == "if":
                step_id = self._go(automation, reader.email, automation.branch(step, self._holds(automation, step, reader)), moment)
            elif not self._sent(automation, step, reader, moment):
                return  # waiting for its window, its row to be sent, or the editor's word on an unknown one
            else:
                step_id = self._go(automation, reader.email, automation.after(step.id), moment)
            arrived = True

    def _go(self, automation: Automation, email: str, target: str | None, moment: dt.datetime, tags: tuple[str, ...] = ()) -> str | None:
        """Move the reader to `target` (None: the end), adding `tags` in the same transaction."""
        self.report.steps += 1
        if target is None:
            self.db.automations.end(automation.name, email, DONE, None, tags)
            self.report.finished += 1
            return None
        step = automation.step(target)
        assert step is not None
        self.db.automations.move(automation.name, email, target, _due(step, moment), tags)
        return target

    def _holds(self, automation: Automation, step: Step, reader: Due) -> bool:
        condition = step.condition
        assert condition is not None
        if condition.test == "clicked":
            found = self.db.automations.clicked(reader.email, automation.send_keys, reader.enrolled_at)
        else:
            assert condition.tag is not None
            found = self.db.automations.has_tag(reader.email, condition.tag)
        return found != condition.negated

    def _sent(self, automation: Automation, step: Step, reader: Due, moment: dt.datetime) -> bool:
        """Whether the reader's copy of this send step is settled (they move on). Otherwise its row
        is queued, once, when the send window is open in the reader's zone."""
        key = automation.key(step)
        state = self.db.automations.row_state(key, reader.email)
        if state is not None:
            return state in SETTLED
        window = automation.send_window or self.window
        if window is not None:
            opening = next_opening(window, moment, reader_zone(reader.attributes, self.zone))
            if opening > moment:
                self.db.automations.move(automation.name, reader.email, step.id, opening.timestamp())
                return False
        self.db.automations.queue(key, reader.email)
        return False

    # --- sending -----------------------------------------------------------------------------------

    def send(self) -> None:
        """Each send step's pending rows go out through the send loop, under its own ledger key."""
        for automation in self.checked.automations:
            for step in automation.all_steps():
                if step.kind != "send" or self.stop.is_set():
                    continue
                key = automation.key(step)
                if not self.db.automations.pending(key):
                    continue
                assert step.email is not None
                stopped = send_step(self.db, self._sender(), key, self.checked.emails[step.email], signing_keys(self.provider), self.stop)
                if stopped:
                    self.report.stopped.append(f"{automation.path}:{step.line}: {stopped}")
                self.report.sends[key] = self.db.ledger.counts(key)

    def _sender(self) -> Provider:
        if self.sender is None:
            self.sender = open_provider(self.provider, self.workspace)
            provider_ready(self.sender)
        return self.sender


def _enrolls(automation: Automation, kind: str, data: dict[str, Any]) -> str | None:
    """The address an event enrolls in `automation`, or None when its trigger does not match."""
    email = data.get("email")
    if not isinstance(email, str) or not email:
        return None
    trigger = automation.trigger
    if trigger.event == CONFIRMED and (kind == CONFIRMED or (kind == SUBSCRIBER_CREATED and data.get("status") == "active")):
        return email  # confirmed their signup, or joined active (added by the editor or the API)
    if trigger.event == TAGGED and kind == TAGGED:
        tags = data.get("tags", [])
        tags = [*tags] if isinstance(tags, list) else []
        if isinstance(data.get("tag"), str):
            tags.append(data["tag"])
        return email if trigger.tag in tags else None
    return None


def _due(step: Step, moment: dt.datetime) -> float:
    """When a reader arriving at `step` now is due: after its wait, or now."""
    if step.kind == "wait" and step.span is not None:
        return (moment + step.span).timestamp()
    return moment.timestamp()


def _window(text: str | None) -> Window | None:
    from ..models.windows import parse_window

    return parse_window(text) if text else None
