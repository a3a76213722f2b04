"""The subscriber database: subscribers, the send ledger and schedules. The only package that speaks SQL.

with Database(workspace.database) as db:
    db.subscribers.get("ada@example.com")
    db.ledger.counts("7")
"""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..workspace.database import Location, Server
from .admin import Admin
from .api_reads import ApiReads
from .api_tokens import ApiToken, ApiTokens
from .audience import Audience, Consent
from .automations import AutomationReaders
from .clicks import Clicks
from .connection import Busy, Connection, NoDatabase, StoreError
from .event_outbox import EventOutbox, OutboxEvent
from .events import Event, Events, NoticeLog
from .ledger import Bouncing, Claim, IssueRecord, Ledger, Schedule, Settlement
from .notice_queue import NoticeQueue, QueuedNotice
from .records import Change, NoticeSent, ProviderEvent, Received, Records
from .reports import Reports
from .story_reports import StoryReports
from .subscribers import Confirmation, ImportCounts, Subscribers
from .webhooks import WebhookDeliveries

if TYPE_CHECKING:
    from .postgres import PostgresConnection

__all__ = [
    "Admin",
    "ApiReads",
    "ApiToken",
    "ApiTokens",
    "Audience",
    "AutomationReaders",
    "Bouncing",
    "Consent",
    "Busy",
    "Change",
    "Claim",
    "Confirmation",
    "Database",
    "Event",
    "EventOutbox",
    "Events",
    "NoDatabase",
    "ImportCounts",
    "IssueRecord",
    "Ledger",
    "Location",
    "NoticeLog",
    "NoticeQueue",
    "NoticeSent",
    "OutboxEvent",
    "ProviderEvent",
    "QueuedNotice",
    "Received",
    "Records",
    "Reports",
    "Schedule",
    "Server",
    "Settlement",
    "StoreError",
    "Subscribers",
]


class Database:
    """One open database. Use it as a context manager, so it is closed in the end."""

    def __init__(self, location: Location, create: bool = True, read_only: bool = False, pooled: Any = None) -> None:
        """Open (and with `create`, create or upgrade) the database at `location`: a SQLite file
        or a PostgreSQL server. Commands that only read pass `read_only`, so they work where this
        user may not write a SQLite file (see Connection). `pooled` is a psycopg connection
        from the web app's pool."""
        self.location = location
        self.connection: Connection | PostgresConnection
        if isinstance(location, Server):
            from .postgres import PostgresConnection  # psycopg is loaded only for PostgreSQL

            self.connection = PostgresConnection(location, pooled)
        else:
            self.connection = Connection(location, create, read_only)
        self.path = self.connection.path
        self.subscribers = Subscribers(self.connection)
        self.audience = Audience(self.connection)
        self.records = Records(self.connection)
        self.ledger = Ledger(self.connection)
        self.events = Events(self.connection)
        self.notices = NoticeLog(self.connection)
        self.notice_queue = NoticeQueue(self.connection)
        self.reports = Reports(self.connection)
        self.clicks = Clicks(self.connection)
        self.story_reports = StoryReports(self.connection)
        self.event_outbox = EventOutbox(self.connection)
        self.automations = AutomationReaders(self.connection)
        self.admin = Admin(self.connection)
        self.api_tokens = ApiTokens(self.connection)
        self.api_reads = ApiReads(self.connection)
        self.webhook_deliveries = WebhookDeliveries(self.connection)

    def transaction(self) -> contextlib.AbstractContextManager[Any]:  # the connection's session: sqlite3's or psycopg's
        """Group several changes into one transaction (all or nothing)."""
        return self.connection.transaction()

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Database:
        return self

    @property
    def read_only(self) -> bool:
        return self.connection.read_only

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None) -> None:
        self.close()
        if isinstance(value, self.connection.errors):  # busy, read-only, full or damaged: say which, in a sentence
            raise self.connection.explain(value) from None
