"""`newsletter bounces fetch`: read the delivery reports in the bounce mailbox and apply them.

For each message: read the report (dsn.py), find the VERP token (mail/verp.py) and check its
signature, find the reader by the public id it names, and store one event (provider "smtp") through
the events table, which applies it: a hard bounce makes the reader `bounced`, a soft one is counted
(three in a row bounce), a delay changes nothing. Then the message moves to `processed`.

Safe from cron: one run at a time (a lock beside the database), and each message is applied first,
then moved. A crash between the two leaves the message in place, applied; the next run applies it
again to no effect, since its event id (a hash of the report's Message-ID and the reader) is stored
once. A message that cannot be read (not a report, no token, a forged token, a reader no longer on
the list) is left where it is and counted, never deleted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..db import Database, Event
from ..errors import ConfigError
from ..mail.verp import Returned, read_token, tokens_in
from ..models import Status
from ..providers.events import BOUNCE, DEFERRED, bounce_detail, clean
from . import dsn
from .mailboxes import Mailbox, Stored, open_mailbox

if TYPE_CHECKING:
    from ..workspace.config import Workspace
    from ..workspace.credentials import SigningKeys

PROVIDER = "smtp"  # the events' provider: the mail these reports are about went out through SMTP
LOCK = "bounces"
MAX_PROBLEMS = 20  # unreadable messages named in the summary (the count covers them all)


@dataclass
class Summary:
    read: int = 0
    hard: int = 0  # applied: the reader is bounced
    soft: int = 0  # applied: counted
    delayed: int = 0  # applied: recorded, changes nothing
    other: int = 0  # reports of a delivery, or of nothing to act on: moved, nothing applied
    already_seen: int = 0  # applied by an earlier run (moved now)
    unreadable: int = 0  # left in the mailbox
    problems: list[str] = field(default_factory=list)  # "<message>: <why>" for the first unreadable ones

    def left(self, message: Stored, why: str) -> None:
        self.unreadable += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(clean(f"{message.name}: {why}"))  # a file name may hold anything


class Unattributed(Exception):
    """A report that names no reader we can trust: no token, a forged one, a reader gone."""


def fetch_bounces(workspace: Workspace, keys: SigningKeys, password: str | None) -> Summary:
    """Read every message in the bounce mailbox, apply the reports, move the applied ones to
    `processed`; the others stay. Raises ConfigError (no bounce address, no mailbox), Busy (another
    run holds the lock) or MailboxError."""
    bounce_address = workspace.config.smtp.bounce_address
    if not bounce_address:
        raise ConfigError("[smtp] bounce_address is not set: without it SMTP mail carries no VERP return path, and no bounce can name its reader")
    summary = Summary()
    busy = "another `newsletter bounces fetch` is running; this one stopped without reading anything"
    with Database(workspace.database) as db, db.connection.lock(LOCK, busy):
        mailbox = open_mailbox(workspace.config.bounces, workspace.root, password)
        try:
            _fetch(db, mailbox, bounce_address, keys, summary)
        finally:
            mailbox.close()
    return summary


def _fetch(db: Database, mailbox: Mailbox, bounce_address: str, keys: SigningKeys, summary: Summary) -> None:
    for message in mailbox.messages():
        summary.read += 1
        if message.raw is None:
            summary.left(message, message.problem or "cannot be read")
            continue
        try:
            event = event_for(message.raw, bounce_address, keys, db)
        except (dsn.Unreadable, Unattributed) as exc:
            summary.left(message, str(exc))
            continue
        if event is None:
            summary.other += 1
        elif db.events.record([event], PROVIDER) == 0:
            summary.already_seen += 1
        elif event.event == DEFERRED:
            summary.delayed += 1
        elif event.status == Status.BOUNCED:
            summary.hard += 1
        else:
            summary.soft += 1
        mailbox.processed(message)  # only once applied: a crash before this leaves it to be applied again, harmlessly


def event_for(raw: bytes, bounce_address: str, keys: SigningKeys, db: Database) -> Event | None:
    """The event a report stores; None for a report of a delivery (nothing to apply). Raises
    dsn.Unreadable or Unattributed."""
    report = dsn.parse(raw)
    returned = returned_for(report, bounce_address, keys)
    subscriber = db.subscribers.by_public_id(returned.public_id)
    if subscriber is None:
        raise Unattributed(f"its token names a reader no longer on the list (issue {returned.issue})")
    notice = _notice_for(report.notices, subscriber.email)
    if notice.kind == "delivered":
        return None
    event_id = hashlib.sha256(f"{report.message_id or hashlib.sha256(raw).hexdigest()}\0{returned.public_id}".encode()).hexdigest()[:40]
    reason = clean(notice.reason)
    when = dsn.date_of(report)
    if notice.kind == "delayed":
        return Event(event_id, DEFERRED, subscriber.email, returned.issue, None, when, reason)
    hard = notice.kind == "hard"
    return Event(event_id, BOUNCE, subscriber.email, returned.issue, None, when, bounce_detail(hard, reason), status=Status.BOUNCED if hard else None, soft_bounce=not hard)


def returned_for(report: dsn.Report, bounce_address: str, keys: SigningKeys) -> Returned:
    """The issue and reader the report's VERP token names: the first token found that is genuine."""
    tokens = [token for text in report.texts for token in tokens_in(text, bounce_address)]
    if not tokens:
        raise Unattributed(f"no VERP token for {bounce_address} in it (not a report of a message sent with [smtp] bounce_address)")
    for token in dict.fromkeys(tokens):
        returned = read_token(token, keys)
        if returned is not None:
            return returned
    raise Unattributed("its VERP token is forged or damaged (the signature does not match)")


def _notice_for(notices: list[dsn.Notice], email: str) -> dsn.Notice:
    """The notice about the reader: the one naming their address, else the first. (Each VERP
    message has one recipient; which address the report names is not trusted, the token is.)"""
    from ..providers.events import address

    return next((notice for notice in notices if address(notice.recipient) == email), notices[0])
