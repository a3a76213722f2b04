"""Sunsetting: letting go of readers who stopped reading (`newsletter subscribers sunset`).

One run does two things, in this order:
1. Readers whose last-chance email went out at least `grace` ago and who have not clicked since
   are unsubscribed, with channel `sunset` in their history.
2. Active readers with no click since the oldest of their last N issues (db/sunset.py says exactly
   who) are sent the last-chance email. It goes out like an issue: rows in the ledger under the
   round's key, `sunset-<date>`, claimed and settled by the send loop, so each reader gets a
   round's email once, however often the run is interrupted and started again. One round is open
   at a time: a run finishes an interrupted round before starting another.
So the same command, run again after the grace period (from cron, say), finishes what it started.

The email is the workspace's sunset.mjml.j2 and sunset.txt.j2 (the defaults otherwise). Its "keep
me subscribed" link is a tracked click: through the tool's redirect with [tracking] clicks =
"reader", else through the provider's click tracking. Following it is the click that keeps them.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field

from ..db import Database, Ledger
from ..db.segments import Selection
from ..db.sunset import Sunset, round_key
from ..i18n.catalogue import labels
from ..mail.clicks import OTHER_SLOT, tracked_url
from ..models import Email, State
from ..providers import open_provider
from ..providers.base import Edition
from ..render.pipeline import Renderer
from ..workspace.config import Workspace
from ..workspace.credentials import signing_keys
from .core import Clock, SendRefused, letters_for, provider_ready, utc_now
from .loop import NoProgress, Progress, SendLoop


@dataclass
class SunsetReport:
    key: str  # the round's key in the ledger
    chosen: list[str]  # readers sent the last-chance email by this run (a dry run: who would be)
    let_go: list[str]  # readers unsubscribed by this run (a dry run: who would be)
    counts: dict[State, int] = field(default_factory=dict)  # the round's rows by state
    stopped: str | None = None  # why the run ended early, if it did
    dry_run: bool = False


def sunset(
    workspace: Workspace,
    inactive: int,
    grace: dt.timedelta,
    *,
    dry_run: bool = False,
    clock: Clock = utc_now,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> SunsetReport:
    """Let go of the readers who did not click within `grace` of their last-chance email, then send
    one to each reader with no click in their last `inactive` issues. With `dry_run`, only say who,
    changing nothing. Raises SendRefused (a sentence) when it cannot tell who reads."""
    problem = workspace.config.unmeasured_reader_clicks
    if problem:
        raise SendRefused(f"sunsetting needs to know who clicks, and {problem}. Nothing was changed.")
    now = clock()
    sent_before = (now - grace).isoformat(timespec="seconds")
    if dry_run:
        return _plan(workspace, inactive, sent_before, now)
    with Database(workspace.database) as db, db.connection.lock("sunset", "another `newsletter subscribers sunset` is still running"):
        rounds = Sunset(db.connection)
        _check_clicks_recorded(rounds)
        key = rounds.open_round() or round_key(now.date().isoformat())
        return _run(workspace, db.ledger, rounds, key, inactive, grace, sent_before, stop or threading.Event(), progress or NoProgress())


def _plan(workspace: Workspace, inactive: int, sent_before: str, now: dt.datetime) -> SunsetReport:
    if not workspace.database.exists():
        return SunsetReport(round_key(now.date().isoformat()), [], [], dry_run=True)
    with Database(workspace.database, read_only=True) as db:
        rounds = Sunset(db.connection)
        _check_clicks_recorded(rounds)
        leaving = rounds.silent(sent_before)
        key = rounds.open_round() or round_key(now.date().isoformat())
        gone = {reader.email for reader in leaving}  # unsubscribed first by a real run
        chosen = [email for email in rounds.readers(rounds.inactive(inactive, key), key) if email not in gone]
        return SunsetReport(key, chosen, [reader.email for reader in leaving], db.ledger.counts(key), dry_run=True)


def _check_clicks_recorded(rounds: Sunset) -> None:
    """No click of anyone's recorded yet (clicks were just switched to "reader") would make every reader look inactive."""
    if not rounds.has_reader_clicks():
        raise SendRefused(
            "no click is recorded with its reader yet, so every reader would look inactive; sunset once a few issues "
            "have gone out with clicks recorded per reader. Nothing was changed."
        )


def _run(
    workspace: Workspace, ledger: Ledger, rounds: Sunset, key: str, inactive: int, grace: dt.timedelta, sent_before: str, stop: threading.Event, progress: Progress
) -> SunsetReport:
    config = workspace.config
    name = config.send.provider
    keys = signing_keys(name)
    email = last_chance_email(workspace, key, inactive, grace, keys.current)  # a template mistake stops the run before anything changes
    sender = open_provider(name, workspace)
    try:
        provider_ready(sender)  # a wrong key or an unreachable provider changes nothing either
        leaving = rounds.silent(sent_before)
        let_go = rounds.let_go(leaving, f"no click within {_days(grace)} of the last-chance email", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        condition = rounds.inactive(inactive, key)
        chosen = rounds.readers(condition, key)
        ledger.prepare(key, selection=Selection(segment=f"sunset --inactive {inactive}", in_segment=condition))
        pending = ledger.counts(key)[State.PENDING]
        stopped = None
        if pending:
            progress.start(pending)
            loop = SendLoop(ledger, sender, Edition(key, email), lambda recipients: letters_for(recipients, config, keys.current, key, name), config.send, stop, progress)
            stopped = loop.run().stopped
    finally:
        sender.close()
    return SunsetReport(key, chosen, let_go, ledger.counts(key), stopped)


def last_chance_email(workspace: Workspace, key: str, inactive: int, grace: dt.timedelta, secret: bytes) -> Email:
    """The round's email, rendered once; the reader's part of its links is filled in per letter."""
    config = workspace.config
    words = labels(config.newsletter.language, config.labels)
    target = config.newsletter.archive_url
    # Through the tool's redirect, the click names the reader; otherwise the provider's tracking does.
    keep = tracked_url(config.base_url, key, OTHER_SLOT, target, secret) if config.tracking.clicks == "reader" else target
    subject = words["sunset_subject"].format(name=config.newsletter.name)
    return Renderer(workspace).render_notice("sunset", subject, words["sunset_preheader"], {"keep_url": keep, "issues": inactive, "days": _whole_days(grace)})


def _whole_days(grace: dt.timedelta) -> int:
    """The grace period in days as the email says it: rounded up, never promising less time than it is."""
    return max(1, -(-int(grace.total_seconds()) // 86400))


def _days(grace: dt.timedelta) -> str:
    hours = int(grace.total_seconds() // 3600)
    return f"{grace.days} days" if hours % 24 == 0 else f"{hours} hours"
