"""Sends that pace and stop themselves: `send ISSUE --over 3h`, `[send] canary`, and the pause on
hard bounces and complaints. The send core (core.py) runs the loop; a Steering decides, batch by
batch, how much of the list the loop may claim and when the run must end.

- Paced: the rows pending when the window starts are spread evenly over it. A run hands over what
  the plan allows by now (one batch about every TICK), sleeps until the next is due, and finishes
  by the end; a run resumed after a kill sends what is due by now, never more.
- Canary: on a fresh send the most engaged share of the readers (db/send_plans.py chooses them)
  goes first, at once; the run then ends. After the wait a run (`send`, or `send --due`) judges
  the canary's hard bounces and complaints: over the limits it pauses, else the rest goes.
- Paused: the same limits over the whole send so far (with at least MINIMUM_SAMPLE copies) are
  checked between batches of any send. A paused send goes on only by the editor's `--resume`
  (never by cron), and `cancel` ends it. A resume counts only what comes after it.

The ledger's contract is the loop's: this only ever chooses which pending rows are claimed, and when.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..db import Busy, Database, Ledger, Schedule
from ..db.send_plans import Figures, SendPlan, SendPlans
from ..errors import NewsletterError
from ..models import State
from ..models.spans import parse_share, parse_span, show_span
from .loop import LoopResult

if TYPE_CHECKING:
    from ..db.connection import Store
    from ..issue.prepare import PreparedIssue
    from ..workspace.config import SendSettings, Workspace
    from .loop import SendLoop

Clock = Callable[[], dt.datetime]

HARD_BOUNCES = 0.05  # of the copies: over this, the send pauses
COMPLAINTS = 0.001
MINIMUM_SAMPLE = 100  # copies before the whole send's figures are judged (the canary is judged whatever its size)
CHECK_EVERY = 30.0  # seconds between looks at the providers' events during a send (and at a `cancel` from elsewhere)
TICK = 10.0  # seconds: a paced send hands over a batch about this often (a short window, more often)
SHORTEST_WINDOW, LONGEST_WINDOW = dt.timedelta(seconds=1), dt.timedelta(days=7)


class PlanRefused(NewsletterError):
    """A run that its plan does not allow: paused, cancelled, or asked for another pace."""


def parse_over(text: str) -> dt.timedelta:
    """`--over`'s span; raises ValueError with the sentence to show."""
    return parse_span(text, SHORTEST_WINDOW, LONGEST_WINDOW)


def pause(stop: threading.Event, seconds: float) -> None:
    """Wait between paced batches; Ctrl-C (stop) ends the wait. Tests replace it with a clock that jumps."""
    stop.wait(seconds)


class Steering:
    """One run's plan: the canary, the pace, and the limits that pause it. It is the loop's gate
    (loop.Gate): the loop asks it how many rows the next batch may hold."""

    def __init__(self, db_plans: SendPlans, ledger: Ledger, prepared: PreparedIssue, provider: str, over: dt.timedelta | None, resume: bool, clock: Clock) -> None:
        self.plans, self.ledger, self.clock = db_plans, ledger, clock
        self.key, self.file, self.provider = prepared.key, prepared.relative_path, provider
        self.settings: SendSettings = prepared.workspace.config.send
        self.over, self.resume = over, resume
        self.plan = db_plans.get(self.key)
        self.note: str | None = None  # a run that ended as planned (after the canary): when the rest goes
        self.halt: str | None = None  # why the loop must end now (a pause, a cancellation)
        self.stop = threading.Event()
        self._done = 0  # rows handed over (or claimed) under the window
        self._checked: dt.datetime | None = None

    @classmethod
    def open(cls, connection: Store, prepared: PreparedIssue, provider: str, *, over: dt.timedelta | None, resume: bool, worker: bool, clock: Clock) -> Steering:
        """The run's steering, after refusing a run its plan does not allow (nothing changed then)."""
        steering = cls(SendPlans(connection), Ledger(connection), prepared, provider, over, resume, clock)
        steering._refuse_what_the_plan_forbids(worker)
        return steering

    @property
    def holds_back(self) -> bool:
        """Whether this send must stay here rather than be held by the provider for a later time."""
        return bool(self.over or (self.plan and (self.plan.window or self.plan.canary_share)) or self._canary_share() is not None)

    def _refuse_what_the_plan_forbids(self, worker: bool) -> None:
        plan, shown = self.plan, self.file
        if plan is not None and plan.cancelled_at is not None:
            skipped = self.plans.skip_rest(self.key) + self.plans.cancelled_rows(self.key)
            cancelled = when(plan.cancelled_at, self.clock())
            raise PlanRefused(f"issue {self.key}'s send was cancelled at {cancelled}: {skipped} reader(s) did not get it, and nothing more goes out. Nothing was sent.")
        if plan is not None and plan.paused_at is not None and not self.resume:
            raise PlanRefused(f"issue {self.key} is paused: {plan.paused_reason}. Nothing was sent. {what_next(shown)}")
        if self.over and plan is not None and plan.window and plan.window != self.over:
            raise PlanRefused(
                f"issue {self.key} is already paced over {show_span(plan.window)}; --over {show_span(self.over)} would change its plan. "
                f"Run `newsletter send {shown}` to go on at its pace. Nothing was sent."
            )
        canary_ahead = plan.canary_size is not None and plan.canary_cleared_at is None if plan is not None else self._canary_share() is not None
        if worker and (self.over or (plan is not None and plan.window) or canary_ahead):
            raise PlanRefused("--worker runs send as fast as they can, with no pace and no canary: send a paced or canary send with one `newsletter send`. Nothing was sent.")

    def _canary_share(self) -> float | None:
        """The plan's canary; with no plan yet, [send] canary when the send has not begun (a canary
        only makes sense before the first copy)."""
        if self.plan is not None:
            return self.plan.canary_share
        if self.settings.canary is None or self.ledger.handed_over(self.key) > 0:
            return None
        return parse_share(self.settings.canary, 1, 50)

    # --- a scheduled send: remember what it asked -------------------------------------------------

    def remember(self) -> None:
        """A send held here for a later time keeps its pace and canary for the run that delivers it."""
        plan = self._requested()
        if plan.window or plan.canary_share:
            self.plans.save(plan)

    def _requested(self) -> SendPlan:
        plan = self.plan or SendPlan(self.key, self.file, self.provider)
        if self.over and plan.window is None:
            plan = plan.but(window=self.over)
        share = self._canary_share()
        if self.plan is None and share is not None:
            plan = plan.but(canary_share=share, canary_wait=parse_span(self.settings.canary_wait, dt.timedelta(0), dt.timedelta(days=1)))
        return plan.but(file=self.file, provider=self.provider)

    # --- the run ----------------------------------------------------------------------------------

    def run(self, loop: SendLoop, secret: bytes) -> LoopResult:
        """Run the loop as the plan allows: the canary, the wait and its verdict, then the rest."""
        loop.gate = self
        self.stop = loop.stop
        self._begin(secret)
        plan = self.plan
        if plan is not None and plan.canary_size and plan.canary_cleared_at is None:
            if plan.canary_sent_at is None:
                return self._after(self._send_canary(loop))
            waited = self._judge_canary(plan)
            if waited is not None:
                return waited
        self._start_window()
        return self._after(loop.run())

    def _begin(self, secret: bytes) -> None:
        """Save the plan this run follows: a canary chosen on a fresh send, a window asked for,
        a pause lifted by the editor."""
        now = self.clock()
        plan = self._requested()
        if plan.canary_share is not None and plan.canary_size is None:
            pending = self.ledger.counts(self.key)[State.PENDING]
            size = self.plans.choose_canary(self.key, max(1, math.ceil(plan.canary_share / 100 * pending)), secret, now)
            plan = plan.but(canary_size=size)
        if self.resume and plan.paused_at is not None:
            plan = self._resumed(plan, now)
        elif self.resume and plan.canary_sent_at is not None and plan.canary_cleared_at is None:
            plan = plan.but(canary_cleared_at=now)  # the editor does not wait for the verdict
        if plan != self.plan and (self.plan is not None or plan.window or plan.canary_share):
            self.plans.save(plan)
            self.plan = plan

    def _resumed(self, plan: SendPlan, now: dt.datetime) -> SendPlan:
        """The editor's go after a pause: what was seen is accepted (later checks count what comes
        after it), a canary is cleared, and a window moves on by the time it stood still."""
        stood = now - plan.paused_at if plan.paused_at else dt.timedelta(0)
        moved = {"starts_at": plan.starts_at + stood, "ends_at": plan.ends_at + stood} if plan.starts_at and plan.ends_at else {}
        cleared = now if plan.canary_sent_at is not None and plan.canary_cleared_at is None else plan.canary_cleared_at
        return plan.but(paused_at=None, paused_reason=None, baseline=self.plans.figures(self.key), canary_cleared_at=cleared, **moved)

    def _send_canary(self, loop: SendLoop) -> LoopResult:
        loop.claim_rows = self.plans.claim_canary
        result = loop.run()
        if result.stopped or self.plans.canary_pending(self.key):
            return result
        assert self.plan is not None and self.plan.canary_wait is not None
        sent_at = self.clock()
        self.plan = self.plan.but(canary_sent_at=sent_at)
        self.plans.save(self.plan)
        self.note = self._waiting(self.plan, sent_at)
        return result

    def _waiting(self, plan: SendPlan, now: dt.datetime) -> str:
        assert plan.canary_sent_at is not None and plan.canary_wait is not None
        goes = plan.canary_sent_at + plan.canary_wait
        rest = self.ledger.counts(self.key)[State.PENDING]
        return (
            f"Canary: {plan.canary_size:,} reader(s) ({plan.canary_share:g}%, the most engaged first) have issue {self.key}. "
            f"The rest ({rest:,}) goes after {when(goes, now)} unless the canary's hard bounces pass {HARD_BOUNCES:.0%} or its complaints {COMPLAINTS:.1%}: "
            f"run `newsletter send {self.file}` or `newsletter send --due` then (cron runs --due every minute)."
        )

    def _judge_canary(self, plan: SendPlan) -> LoopResult | None:
        """After the wait: pause on what the canary's readers reported, or clear it. Before: say when."""
        assert plan.canary_sent_at is not None and plan.canary_wait is not None
        now = self.clock()
        if now < plan.canary_sent_at + plan.canary_wait:
            self.note = self._waiting(plan, now)
            return LoopResult(0, None)
        seen = over_the_limits(self.plans.canary_figures(self.key), "canary copies")
        if seen is not None:
            self._pause(seen)
            return LoopResult(0, self.halt)
        self.plan = plan.but(canary_cleared_at=now)
        self.plans.save(self.plan)
        return None

    def _start_window(self) -> None:
        plan = self.plan
        if plan is None or plan.window is None:
            return
        handed = self.ledger.handed_over(self.key)
        if plan.starts_at is None:
            now = self.clock()
            plan = plan.but(starts_at=now, ends_at=now + plan.window, total=self.ledger.counts(self.key)[State.PENDING], done_before=handed)
            self.plans.save(plan)
            self.plan = plan
        self._done = handed - plan.done_before

    def _after(self, result: LoopResult) -> LoopResult:
        plan = self.plans.get(self.key)
        if plan is not None and plan.cancelled_at is not None:
            self.plans.skip_rest(self.key)  # `cancel` asked while this run was sending
        return result

    # --- the gate ---------------------------------------------------------------------------------

    def admit(self, limit: int, wait: bool) -> int:
        """How many rows the next batch may hold: 0 when the run must end (see halted) or, with
        `wait` False, when none is due yet. With `wait`, sleeps until some are due."""
        while self.halt is None and not self.stop.is_set():
            self._look_at_events()
            if self.halt is not None:
                break
            due, ready_at = self._due(limit)
            if due:
                self._done += due
                return due
            if not wait:
                return 0
            pause(self.stop, min(max((ready_at - self.clock()).total_seconds(), 0.001), CHECK_EVERY))
        return 0

    def halted(self) -> str | None:
        return self.halt

    def _due(self, limit: int) -> tuple[int, dt.datetime]:
        """Rows the plan allows now (up to `limit`), and when more are due if none is."""
        plan, now = self.plan, self.clock()
        if plan is None or plan.starts_at is None or plan.ends_at is None or not plan.total or now >= plan.ends_at:
            return limit, now
        window = (plan.ends_at - plan.starts_at).total_seconds()
        chunk = max(1, math.ceil(plan.total * min(TICK, window / 20) / window))
        if self._done >= plan.total:  # readers who joined after the plan was made go at its end
            return 0, plan.ends_at
        planned = math.floor(plan.total * (now - plan.starts_at).total_seconds() / window)
        allowed = min(plan.total, planned + chunk) - self._done
        if allowed >= min(chunk, plan.total - self._done):
            return min(limit, allowed), now
        target = min(self._done, plan.total - chunk)  # `planned` must reach this for the next batch
        return 0, plan.starts_at + dt.timedelta(seconds=target * window / plan.total)

    def _look_at_events(self) -> None:
        """Every CHECK_EVERY seconds: pause on the whole send's figures so far; notice a pause or
        cancellation written by someone else (`cancel` from another terminal, another worker)."""
        now = self.clock()
        if self._checked is not None and (now - self._checked).total_seconds() < CHECK_EVERY:
            return
        self._checked = now
        plan = self.plans.get(self.key)
        if plan is not None and plan.cancelled_at is not None:
            self.halt = f"cancelled: `newsletter cancel` ended the send of issue {self.key}; nobody else gets it"
            return
        if plan is not None and plan.paused_at is not None:
            self.halt = f"paused: {plan.paused_reason}. {what_next(self.file)}"
            return
        baseline = plan.baseline if plan is not None else None
        seen = over_the_limits(self.plans.figures(self.key).since(baseline), "copies so far", MINIMUM_SAMPLE)
        if seen is not None:
            self._pause(seen)

    def _pause(self, seen: str) -> None:
        plan = self.plans.get(self.key) or SendPlan(self.key, self.file, self.provider)
        self.plan = plan.but(paused_at=self.clock(), paused_reason=seen)
        self.plans.save(self.plan)
        self.halt = f"paused: {seen}. {what_next(self.file)}"


def what_next(shown: str) -> str:
    return f"Nothing more goes out until you decide: `newsletter send {shown} --resume` sends the rest; `newsletter cancel {shown}` ends the send."


def over_the_limits(figures: Figures, what: str, minimum: int = 1) -> str | None:
    """What passed the limits, in words ("7 hard bounces in 120 canary copies (5.8%, over 5%)"); None: nothing."""
    copies = figures.copies
    if copies < max(minimum, 1):
        return None
    found = []
    if figures.hard_bounces / copies > HARD_BOUNCES:
        found.append((_count(figures.hard_bounces, "hard bounce"), f"{_rate(figures.hard_bounces / copies)}, over {HARD_BOUNCES:.0%}"))
    if figures.complaints / copies > COMPLAINTS:
        found.append((_count(figures.complaints, "complaint"), f"{_rate(figures.complaints / copies)}, over {COMPLAINTS:.1%}"))
    if not found:
        return None
    if len(found) == 1:
        (counted, rate), = found
        return f"{counted} in {copies:,} {what} ({rate})"
    return " and ".join(f"{counted} ({rate})" for counted, rate in found) + f" in {copies:,} {what}"


def _count(number: int, word: str) -> str:
    return f"{number:,} {word}{'' if number == 1 else 's'}"


def _rate(rate: float) -> str:
    return f"{rate:.2%}" if rate < 0.01 else f"{rate:.1%}"


def when(moment: dt.datetime, now: dt.datetime) -> str:
    """A time as status and messages show it: 15:30 UTC, with the date when it is not today."""
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%H:%M UTC" if moment.date() == now.astimezone(dt.UTC).date() else "%Y-%m-%d %H:%M UTC")


# --- cron, status and cancel -------------------------------------------------------------------------


def plans_due(connection: Store, now: dt.datetime) -> list[Schedule]:
    """The paced and canary sends that `send --due` carries on now, as schedules held here (their
    time: when they became due): not paused, cancelled, finished or waiting for their canary."""
    plans, ledger = SendPlans(connection), Ledger(connection)
    due = []
    for plan in plans.going_on():
        if ledger.schedule(plan.issue) is not None:
            continue  # a delivery held for later: `send --due` sends it when it is due
        since = plan.starts_at or now
        if plan.canary_sent_at and plan.canary_wait and plan.canary_cleared_at is None:
            since = plan.canary_sent_at + plan.canary_wait
            if since > now:
                continue
        due.append(Schedule(plan.issue, since, plan.provider, "here", None, plan.file))
    return due


def plan_status(connection: Store, key: str, now: dt.datetime) -> list[str]:
    """The plan in a few lines for `status`: the canary, the pace and progress, a pause."""
    plans, ledger = SendPlans(connection), Ledger(connection)
    plan = plans.get(key)
    if plan is None:
        return []
    lines = []
    if plan.canary_size:
        lines.append(_canary_line(plans, plan, now))
    elif plan.canary_share:
        lines.append(f"Canary: {plan.canary_share:g}% of the readers (the most engaged) get it first, when it goes out.")
    if plan.window:
        lines.append(_pace_line(ledger, plan, now))
    if plan.paused_at:
        lines.append(f"Paused at {when(plan.paused_at, now)}: {plan.paused_reason}. {what_next(plan.file)}")
    if plan.cancelled_at:
        lines.append(f"Cancelled at {when(plan.cancelled_at, now)}: {plans.cancelled_rows(key):,} reader(s) did not get it.")
    return lines


def _canary_line(plans: SendPlans, plan: SendPlan, now: dt.datetime) -> str:
    figures = plans.canary_figures(plan.issue)
    head = f"Canary: {plan.canary_size:,} reader(s) ({plan.canary_share:g}%, the most engaged first)"
    if plan.canary_sent_at is None:
        assert plan.canary_size is not None
        return f"{head}, {plan.canary_size - plans.canary_pending(plan.issue):,} handed over so far; the rest waits for it."
    seen = f"{_count(figures.hard_bounces, 'hard bounce')} and {_count(figures.complaints, 'complaint')} reported"
    if plan.canary_cleared_at is not None:
        return f"{head}, sent {when(plan.canary_sent_at, now)}, cleared {when(plan.canary_cleared_at, now)} ({seen})."
    assert plan.canary_wait is not None
    return f"{head}, sent {when(plan.canary_sent_at, now)}; the rest goes after {when(plan.canary_sent_at + plan.canary_wait, now)} unless it passes the limits ({seen} so far)."


def _pace_line(ledger: Ledger, plan: SendPlan, now: dt.datetime) -> str:
    assert plan.window is not None
    head = f"Paced over {show_span(plan.window)}"
    if plan.starts_at is None or plan.ends_at is None or plan.total is None:
        return f"{head}, from when the canary is cleared." if plan.canary_share else f"{head}, from when it starts."
    done = ledger.handed_over(plan.issue) - plan.done_before
    pending = ledger.counts(plan.issue)[State.PENDING]
    progress = f"{head}: {done:,} of {plan.total:,} sent"
    if pending == 0:
        return f"{progress}, finished (the window ends {when(plan.ends_at, now)})."
    if now >= plan.ends_at:
        return f"{progress}, behind plan: the window ended {when(plan.ends_at, now)}, so the next run sends the rest at once."
    window = (plan.ends_at - plan.starts_at).total_seconds()
    planned = math.floor(plan.total * max((now - plan.starts_at).total_seconds(), 0) / window)
    chunk = max(1, math.ceil(plan.total * min(TICK, window / 20) / window))
    pace = "on plan" if done + chunk >= planned else f"behind plan ({planned:,} due by now; a `newsletter send` or `send --due` run goes on)"
    return f"{progress}, {pace}, ends {when(plan.ends_at, now)}."


def end_send(workspace: Workspace, key: str, clock: Clock) -> str | None:
    """`cancel` of a canary, paced or paused send: the rest will not go (`skipped`). A run sending
    it now stops before its next batch. None: the issue has no such send (a schedule, or nothing)."""
    if not workspace.database.exists():
        return None
    with Database(workspace.database) as db:
        plans = SendPlans(db.connection)
        plan = plans.get(key)
        if plan is None or plan.cancelled_at is not None:
            return None
        started = plan.canary_size is not None or plan.starts_at is not None or plan.paused_at is not None
        if not started:
            plans.drop(key)  # asked at scheduling time: `cancel` cancels the schedule, and this with it
            return None
        counts = db.ledger.counts(key)
        if counts[State.PENDING] + counts[State.SCHEDULED] + counts[State.SENDING] == 0:
            return None  # finished: nothing left to cancel
        plans.save(plan.but(cancelled_at=clock()))
        try:
            with db.connection.lock(f"issue-{key}", "busy"):
                skipped = plans.skip_rest(key)
        except Busy:
            return (
                f"Cancelled: issue {key} is being sent right now; that run stops within about 30 seconds (the batch in flight finishes), "
                "and nobody else gets it."
            )
        return f"Cancelled the send of issue {key}: {skipped:,} reader(s) who had not got it yet will not."
