"""Subject tests: `send ISSUE --test-subjects 20% --decide-after 4h`.

The issue gives 2 to 4 subjects (`subjects:`, the first being `subject:`). A share of the readers,
the test group, is split evenly among them by a keyed hash of the reader's public id and the issue,
so a re-run places everyone where they were. The rest are held here, as a schedule at the decision
time; `send --due` (or any send of the issue) after that time decides the winner and sends it to
the rest. The winner is the variant with the higher click rate (opens, when [tracking] clicks =
"off"), if a two-proportion z-test tells it apart from the first subject at 95%; else the first
subject is kept.

The issue is rendered once: each variant is the same Email with its own subject. Each row's
variant is in the ledger (deliveries.variant) before its copy is claimed, and a copy always
carries its row's subject, so a kill and re-run at any point sends nobody twice and nobody a
second subject.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..db import Database, Ledger, Schedule
from ..db.subject_tests import Decision, SubjectTestPlan, SubjectTests, VariantFigures
from ..errors import NewsletterError
from ..models import Email, Letter, Outcome, Recipient, RecipientStatus, State
from ..models.spans import parse_span, show_span
from ..providers.base import Batch, Edition, Provider, Report
from ..render.pipeline import mjml_title
from .loop import Progress, SendLoop
from .went_out import record_went_out

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..db.segments import Selection
    from ..issue.prepare import PreparedIssue
    from ..workspace.config import Config, Workspace

SHARES = range(1, 51)  # percent of the readers in the test group: the rest must be the larger part
SHORTEST_WINDOW = dt.timedelta(minutes=30)  # fewer clicks than this can come in tell nothing
LONGEST_WINDOW = dt.timedelta(days=7)  # a week on, the rest's issue is old news
CONFIDENCE = 0.95
LETTERS = "ABCD"  # how status names the variants
SHARE = re.compile(r"\s*([0-9]{1,3})\s*%?\s*")
MEASURES = {"off": "opens", "aggregate": "clicks", "reader": "readers who clicked"}
OPENS_CAVEAT = (
    'decided by opens, since [tracking] clicks = "off": opens by machines were left out, but an open is no proof of reading '
    "(Apple's Mail Privacy Protection opens mail nobody has seen), so this winner is a weaker signal than clicks"
)


class SubjectTestError(NewsletterError):
    """A subject test that cannot go ahead as asked; nothing was sent or changed."""


@dataclass(frozen=True)
class SubjectTestOptions:
    share: int  # percent
    decide_after: dt.timedelta

    def __str__(self) -> str:
        return f"--test-subjects {self.share}% --decide-after {format_window(self.decide_after)}"


@dataclass(frozen=True)
class SubjectTestRequest:
    """What a send asked for, as far as a subject test cares."""

    options: SubjectTestOptions | None  # None: carry on with the issue's test
    retry_unknown: bool = False
    at: dt.datetime | None = None
    segment_given: bool = False
    worker: bool = False


def parse_options(share: str, decide_after: str | None) -> SubjectTestOptions:
    """--test-subjects SHARE and --decide-after DURATION, checked against their bounds."""
    found = SHARE.fullmatch(share)
    if found is None or int(found.group(1)) not in SHARES:
        raise SubjectTestError(f"--test-subjects {share}: give the share of readers in the test as a whole percentage from 1% to 50%, e.g. --test-subjects 20%")
    if decide_after is None:
        raise SubjectTestError("--test-subjects needs --decide-after: how long the test runs before the rest get the winner, e.g. --decide-after 4h")
    window = parse_window(decide_after)
    if not SHORTEST_WINDOW <= window <= LONGEST_WINDOW:
        raise SubjectTestError(f"--decide-after {decide_after}: give from 30m to 7d; shorter leaves too little time for clicks, longer leaves the rest an old issue")
    return SubjectTestOptions(int(found.group(1)), window)


def parse_window(text: str) -> dt.timedelta:
    """--decide-after, read as every span of time the tool takes (models/spans.py)."""
    try:
        return parse_span(text, dt.timedelta(0), dt.timedelta(days=3650))
    except ValueError:
        raise SubjectTestError(f"--decide-after {text}: expected a duration such as 30m, 4h, 1h30m or 2d") from None


def format_window(window: dt.timedelta) -> str:
    return show_span(window)


# --- who gets which subject ----------------------------------------------------------------------


def placement(secret: bytes, issue: str, public_id: str) -> float:
    """Where a reader falls in [0, 1) for this issue: a keyed hash, so nobody can predict or steer
    it, and the same on every run with the same secret."""
    digest = hmac.new(secret, f"newsletter-subject-test\0{issue}\0{public_id}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def variant_at(place: float, share: int, variants: int) -> int | None:
    """The variant of a reader at `place`: the first `share` percent is the test group, cut into
    equal parts; None for the rest."""
    cut = share / 100
    return min(int(place / cut * variants), variants - 1) if place < cut else None


# --- the decision --------------------------------------------------------------------------------


def p_value(a: VariantFigures, b: VariantFigures) -> float:
    """Two-sided p-value of a two-proportion z-test: how likely a difference at least this large
    is between two variants that in truth do equally well. 1.0 when nothing can be told."""
    if not a.sent or not b.sent:
        return 1.0
    pooled = (min(a.measured, a.sent) + min(b.measured, b.sent)) / (a.sent + b.sent)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / a.sent + 1 / b.sent))
    if spread == 0:
        return 1.0
    z = (a.rate - b.rate) / spread
    return 1 - math.erf(abs(z) / math.sqrt(2))  # 2 * (1 - Phi(|z|))


def decide(figures: tuple[VariantFigures, ...], measure: str, decided_at: str) -> Decision:
    """The best variant wins when it is told apart from the first subject; the first subject also
    wins clearly when it is told apart from the next best. Otherwise the first is kept, unclear."""
    order = sorted(range(len(figures)), key=lambda n: (-figures[n].rate, n))  # a tie goes to the earlier subject
    best = order[0]
    other = 0 if best != 0 else order[1]
    clear = p_value(figures[best], figures[other]) < 1 - CONFIDENCE
    return Decision(best if clear else 0, clear, measure, figures, decided_at)


def figures_now(tests: SubjectTests, issue: str, variants: int, config: Config) -> tuple[str, tuple[VariantFigures, ...]]:
    """What the test measures (by [tracking] clicks), and each variant's figures so far."""
    clicks = config.tracking.clicks
    measure = MEASURES[clicks]
    measured = tests.opens_by_variant(issue) if clicks == "off" else tests.clicks_by_variant(issue, readers=clicks == "reader")
    sent = tests.sent_by_variant(issue)
    return measure, tuple(VariantFigures(sent.get(n, 0), measured.get(n, 0)) for n in range(variants))


# --- each variant's edition ----------------------------------------------------------------------


def variant_email(email: Email, first: str, subject: str) -> Email:
    """The rendered email under another subject: the Subject line, and the HTML's title and the
    label the title is copied to, as the renderer wrote them. The body is the same object."""
    if subject == first:
        return email
    old, new = mjml_title(first), mjml_title(subject)
    html = email.html.replace(f"<title>{old}</title>", f"<title>{new}</title>", 1).replace(f'aria-label="{old}"', f'aria-label="{new}"', 1)
    return email.model_copy(update={"subject": subject, "html": html})


class VariantSender:
    """The provider, handed each batch as one request per variant, each with its own edition. Each
    letter's variant is read from the ledger when its batch is made (`note`), before it is handed
    over; the provider reports letter by letter as ever, so the loop's bookkeeping is unchanged."""

    def __init__(self, provider: Provider, editions: list[Edition]) -> None:
        self.provider = provider
        self.editions = editions
        self.name = provider.name
        self.max_batch = provider.max_batch
        self.variants: dict[str, int | None] = {}

    def note(self, variants: dict[str, int | None]) -> None:
        self.variants.update(variants)

    def check(self) -> None:
        self.provider.check()

    def send(self, batch: Batch, report: Report) -> None:
        groups: dict[int, list[Letter]] = {}
        for letter in batch.letters:
            # Every claimed row has its variant; None cannot happen, and would get the first subject.
            groups.setdefault(self.variants.pop(letter.email, None) or 0, []).append(letter)
        parts = sorted(groups.items())
        for n, (variant, letters) in enumerate(parts):
            try:
                self.provider.send(Batch(self.editions[variant], batch.send_id, letters), report)
            except BaseException:
                # The parts after it never left: pending again, not `unknown` with the part that failed.
                for _, later in parts[n + 1 :]:
                    for letter in later:
                        report(letter.email, RecipientStatus(Outcome.DEFERRED, "not handed over: an earlier part of its batch failed"))
                raise

    def close(self) -> None:
        self.provider.close()


# --- the send ------------------------------------------------------------------------------------


@dataclass
class SubjectTestRun:
    """What a run of a subject test did, for the send core's report."""

    counts: dict[State, int]
    schedule: Schedule | None  # the hold, while the test is undecided
    status: SubjectTestStatus | None
    batches: int = 0
    stopped: str | None = None
    bounced: dict[str, str] = field(default_factory=dict)
    handed_over: int = 0


def subject_test_plan(ledger: Ledger, prepared: PreparedIssue, request: SubjectTestRequest, now: dt.datetime) -> SubjectTestPlan:
    """The plan this run follows: the issue's test, or a new one (saved by run_subject_test). Raises
    SubjectTestError, before anything changes, for what a subject test cannot do."""
    key = prepared.key
    plan = SubjectTests(ledger.connection).plan(key)
    _refuse_what_cannot_be_tested(prepared, plan, request)
    if plan is None:
        assert request.options is not None
        _refuse_a_late_start(ledger, key)
        return _new_plan(key, prepared, request.options, now)
    if request.options is None and plan.decide_at > now:
        raise SubjectTestError(
            f"issue {key} is in a subject test until {plan.decide_at.isoformat()}: then `newsletter send --due` (from cron) sends the winning subject to the rest. "
            f"`newsletter status {prepared.relative_path}` shows how it goes."
        )
    return plan


def _refuse_what_cannot_be_tested(prepared: PreparedIssue, plan: SubjectTestPlan | None, request: SubjectTestRequest) -> None:
    key, options = prepared.key, request.options
    if request.worker:
        raise SubjectTestError(f"issue {key} is sent with a subject test, by one `newsletter send` (--worker cannot share it); run it without --worker")
    if request.at is not None:
        raise SubjectTestError("--test-subjects cannot be scheduled with --at: the test starts when you run it, and --decide-after says when the rest go out")
    if request.segment_given:
        raise SubjectTestError(
            "--segment cannot be used with a subject test: the rest are sent when it is decided, from the issue file alone; put `segment:` in the issue file instead"
        )
    subjects = tuple(prepared.issue.subjects or ())
    if plan is None:
        if not subjects:
            raise SubjectTestError(f"{prepared.relative_path}: --test-subjects needs `subjects:` in the issue file, 2 to 4 subject lines, the first being the issue's subject")
        return
    if options is not None and (options.share, options.decide_after) != (plan.share, plan.decide_after):
        shown = SubjectTestOptions(plan.share, plan.decide_after)
        raise SubjectTestError(
            f"issue {key}'s subject test was started with {shown} ({plan.started_at}); run it again with the same options, or with none to carry on. Nothing was sent."
        )
    if subjects != plan.subjects:
        raise SubjectTestError(
            f"{prepared.relative_path}: `subjects:` changed since issue {key}'s subject test began, and readers already have its subjects: "
            f"put them back ({'; '.join(plan.subjects)}). Nothing was sent."
        )


def _refuse_a_late_start(ledger: Ledger, key: str) -> None:
    """A test starts before the first copy leaves, and only as the issue's one delivery plan."""
    saved = ledger.schedule(key)
    if saved is not None:
        raise SubjectTestError(f"issue {key} is scheduled for {saved.send_at.isoformat()}; `newsletter cancel` it first to run a subject test instead")
    handed = ledger.handed_over(key)
    if handed:
        raise SubjectTestError(f"issue {key} has already gone to {handed} reader(s) under its one subject; a subject test must start before the first copy leaves")


def _new_plan(key: str, prepared: PreparedIssue, options: SubjectTestOptions, now: dt.datetime) -> SubjectTestPlan:
    subjects = tuple(prepared.issue.subjects or ())
    started = now.replace(microsecond=0)
    return SubjectTestPlan(key, subjects, options.share, options.decide_after, started + options.decide_after, started.isoformat())


@dataclass(frozen=True)
class SubjectTestSend:
    """What the send core hands a subject test: the issue, whom it goes to, through what, and how
    each reader's letter is made."""

    prepared: PreparedIssue
    selection: Selection
    provider: str
    secret: bytes
    email: Email  # the rendered email as it goes out (tracked links and all), under the first subject
    letters: Callable[[list[Recipient]], list[Letter]]


def run_subject_test(
    ledger: Ledger, plan: SubjectTestPlan, send: SubjectTestSend, sender: Provider, stop: threading.Event, progress: Progress, clock: Callable[[], dt.datetime]
) -> SubjectTestRun:
    """Before the plan's decision time, send the test group their variants and hold the rest;
    after it, decide (once) and send the winner to the rest. The provider has been checked."""
    prepared, selection, tests = send.prepared, send.selection, SubjectTests(ledger.connection)
    key, config = prepared.key, prepared.workspace.config
    tests.start(plan)
    decided = plan.decide_at <= clock()
    if decided:
        winner = (plan.decision or _decide_now(tests, plan, config, clock)).winner
        tests.give_winner(key, winner)  # the held readers first, so that this run's selection fits them too
        ledger.prepare(key, selection=selection)
        tests.give_winner(key, winner)  # and readers who joined since
    else:
        ledger.prepare(key, selection=selection)
        _place_readers(tests, plan, send.secret, Schedule(key, plan.decide_at, send.provider, "here", None, prepared.relative_path))
    run = SubjectTestRun(ledger.counts(key), None if decided else ledger.schedule(key), None)
    pending = run.counts[State.PENDING]
    if pending:
        record_went_out(ledger, prepared, send.provider, selection.topic)
        editions = [Edition(key, variant_email(send.email, prepared.issue.subject, subject), topic=selection.topic) for subject in plan.subjects]
        variants = VariantSender(sender, editions)

        def letters(recipients: list[Recipient]) -> list[Letter]:
            variants.note(tests.variants_of(key, recipients[0].email, recipients[-1].email))
            return send.letters(recipients)

        progress.start(pending)
        loop = SendLoop(ledger, variants, editions[0], letters, config.send, stop, progress)
        loop.member = selection.in_topic
        result = loop.run()
        run.counts = ledger.counts(key)
        run.batches, run.stopped, run.bounced = result.batches, result.stopped, loop.bounced
        run.handed_over = pending - run.counts[State.PENDING]
    if decided and not run.stopped and run.counts[State.SCHEDULED] == 0:
        ledger.drop_schedule(key)  # the rest have it: `send --due` has nothing more to do for this issue
    run.status = status_of(tests, key, ledger, config)
    return run


def _place_readers(tests: SubjectTests, plan: SubjectTestPlan, secret: bytes, schedule: Schedule) -> None:
    """Each reader without a variant yet: a variant if they fall in the test group, else held."""
    variants: dict[str, int] = {}
    held: list[str] = []
    for email, public_id in tests.unassigned(plan.issue):
        variant = variant_at(placement(secret, plan.issue, public_id), plan.share, len(plan.subjects))
        if variant is None:
            held.append(email)
        else:
            variants[email] = variant
    tests.assign(plan.issue, variants, held, schedule)


def _decide_now(tests: SubjectTests, plan: SubjectTestPlan, config: Config, clock: Callable[[], dt.datetime]) -> Decision:
    measure, figures = figures_now(tests, plan.issue, len(plan.subjects), config)
    tests.decide(plan.issue, decide(figures, measure, clock().replace(microsecond=0).isoformat()))
    decided = tests.plan(plan.issue)
    assert decided is not None and decided.decision is not None
    return decided.decision


# --- status --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubjectTestStatus:
    """A subject test as `status` shows it: the plan, each variant's figures (live until the
    decision, then those it was decided on), and the readers still waiting."""

    plan: SubjectTestPlan
    measure: str
    figures: tuple[VariantFigures, ...]
    held: int  # waiting for the decision
    pending: int  # to be sent (after the decision: the rest, getting the winner)

    @property
    def caveat(self) -> str | None:
        return OPENS_CAVEAT if self.measure == "opens" else None


def status_of(tests: SubjectTests, key: str, ledger: Ledger, config: Config) -> SubjectTestStatus | None:
    plan = tests.plan(key)
    if plan is None:
        return None
    if plan.decision is not None:
        measure, figures = plan.decision.measure, plan.decision.figures
    else:
        measure, figures = figures_now(tests, key, len(plan.subjects), config)
    counts = ledger.counts(key)
    return SubjectTestStatus(plan, measure, figures, counts[State.SCHEDULED], counts[State.PENDING])


def subject_test_status(workspace: Workspace, key: str) -> SubjectTestStatus | None:
    """The issue's subject test, if it has one; reading creates nothing."""
    if not workspace.database.exists():
        return None
    with Database(workspace.database, read_only=True) as db:
        return status_of(SubjectTests(db.connection), key, db.ledger, workspace.config)
