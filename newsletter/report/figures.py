"""The figures of `newsletter report`, computed from the database (read only) through db.reports.

Per issue (IssueReport):

- the ledger: how many rows are sent, failed, unknown, skipped, and still pending, sending or
  scheduled (an issue with rows in those last three is still going out: its figures are partial);
- the provider's events, as distinct addresses: delivered, deferred, bounced (hard, soft), dropped,
  complained (spamreport);
- the complaint rate: complaints / delivered, or / sent when the provider reported no deliveries
  (the outbox and SMTP report nothing), against Gmail's bulk-sender lines: stay below 0.1%, never
  reach 0.3%;
- unsubscribes by channel. The rule: an unsubscribe counts for an issue when the address received
  it (ledger state `sent`) and either came through a link of that issue (the link names it), or,
  naming no issue (a link sent before links named theirs, the command line, a sync), changed to
  `unsubscribed` at or after the issue's first send and before the next issue's first send
  (open-ended for the latest issue). An issue's first send is the earliest of its handed-over
  ledger rows' last update and its earliest provider event;
- clicks per link (click events carry the link), and, on request, opens: these are inflated by
  Apple Mail Privacy Protection, which fetches every image, so machine opens are counted apart.

The event figures (deliveries, bounces, complaints, clicks, opens) are measured only where the
provider reports events: an issue sent through the outbox or SMTP, with no event stored for it,
says "not measured with this provider" rather than zeros that read as measured.

Without an issue, the Trend: one point per issue that went out, in the order they went out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..providers import EVENT_SOURCES, NAMES
from .stories import Engagement, engagement

if TYPE_CHECKING:
    from ..db import Database

GMAIL_TARGET = 0.001  # Gmail: keep the spam rate below 0.1%...
GMAIL_LIMIT = 0.003  # ...and never let it reach 0.3%
CHANNELS = ("one-click", "page", "preferences", "provider", "other")
# Whoever records status changes from events, on the channel "<provider> <event>": every provider, and "generic"
PROVIDERS = frozenset((*NAMES, *EVENT_SOURCES))
OPENS_NOTE = "inflated by Apple Mail Privacy Protection"

EVENTLESS = {"outbox": "the outbox", "smtp": "SMTP"}  # providers that report no events, as a sentence names them
# Providers whose only events are the delivery reports mail servers send back (SMTP's VERP return
# path, read by `newsletter bounces fetch`): bounces and delays are measured, deliveries are not.
RETURNED_EVENTS = ("bounce", "deferred")
BOUNCES_BY_MAIL = frozenset({"smtp"})

NEVER_SENT, SCHEDULED, SENDING, SENT = "never sent", "scheduled", "sending", "sent"
LEDGER_STATES = ("sent", "failed", "unknown", "skipped", "pending", "sending", "scheduled")


def channel_group(channel: str) -> str:
    """The report's name for a status change's channel."""
    if channel == "one-click":
        return "one-click"
    if channel == "unsubscribe page":
        return "page"
    if channel == "preferences":
        return "preferences"
    if channel.split(" ", 1)[0] in PROVIDERS:  # "sendgrid unsubscribe", "sendgrid dropped", "mailgun spamreport", "generic unsubscribe"
        return "provider"
    return "other"  # "command line", "import", "sync", ...


def complaint_level(rate: float | None) -> str | None:
    """Where a complaint rate stands against Gmail's two lines."""
    if rate is None:
        return None
    if rate < GMAIL_TARGET:
        return "below 0.1%"
    if rate < GMAIL_LIMIT:
        return "above 0.1%"
    return "above 0.3%"


def _rate(count: int, base: int) -> float | None:
    return count / base if base else None


def measures_events(provider: str | None, events: dict[str, int]) -> bool:
    """Whether an issue's event figures are measured: some events were stored for it, or it went
    out through a provider that reports them (or one not recorded, as before the provider was).
    Bounces that came back by mail (SMTP) do not make its deliveries or clicks measured."""
    counted = {event: count for event, count in events.items() if provider not in BOUNCES_BY_MAIL or event not in RETURNED_EVENTS}
    return sum(counted.values()) > 0 or provider not in EVENTLESS


def measures_bounces(provider: str | None, events: dict[str, int]) -> bool:
    """Whether an issue's bounces and delays are measured: its events are, or its provider's bounces
    come back by mail and some have (`newsletter bounces fetch`)."""
    return measures_events(provider, events) or (provider in BOUNCES_BY_MAIL and any(events.get(event) for event in RETURNED_EVENTS))


def not_measured(provider: str | None) -> str:
    """The words for a figure the issue's provider does not measure."""
    return f"not measured with {EVENTLESS.get(provider or '', 'this provider')}"


@dataclass(frozen=True)
class Link:
    url: str
    clicks: int  # click events
    clickers: int  # distinct addresses


@dataclass(frozen=True)
class Opens:
    readers: int  # distinct addresses with an open that was not a machine open
    machine: int  # distinct addresses with a machine open (Apple Mail Privacy Protection)
    events: int  # every open event, both kinds


@dataclass(frozen=True)
class IssueReport:
    issue: str
    subject: str | None
    state: str  # never sent, scheduled, sending (partial figures) or sent
    first_sent: str | None
    next_sent: str | None  # the next issue's first send: the end of the unsubscribe window
    ledger: dict[str, int]  # rows per state (LEDGER_STATES)
    delivered: int = 0
    deferred: int = 0
    dropped: int = 0
    bounces: dict[str, int] = field(default_factory=lambda: {"hard": 0, "soft": 0, "unclassified": 0})
    complaints: int = 0
    unsubscribes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHANNELS, 0))
    links: list[Link] = field(default_factory=list)
    clickers: int = 0  # distinct addresses that clicked any link
    opens: Opens | None = None
    provider: str | None = None  # the provider it went out through (None: not recorded)
    measured: bool = True  # the event figures are measured (see measures_events)
    topic: str | None = None  # the topic it went out in (None: a workspace without topics)
    bounces_measured: bool = True  # bounces and delays are measured (see measures_bounces); True wherever `measured` is
    engagement: Engagement | None = None  # clicks by story (None: sent before its stories were recorded)
    pixel: bool = False  # it went out with the tool's open pixel
    commit: tuple[str | None, bool] | None = None  # the git commit it went out from, and whether as committed

    @property
    def opens_measured(self) -> bool:
        """Opens are measured by the provider's events or the tool's pixel; else "not measured"."""
        return self.measured or self.pixel

    @property
    def recipients(self) -> int:
        """Ledger rows: the addresses that were active when the issue was prepared."""
        return sum(self.ledger.values())

    @property
    def sent(self) -> int:
        return self.ledger["sent"]

    @property
    def bounced(self) -> int:
        return sum(self.bounces.values())

    @property
    def rate_base(self) -> str:
        """What rates are taken of: delivered, or sent when the provider reported no deliveries."""
        return "delivered" if self.delivered else "sent"

    @property
    def base(self) -> int:
        return self.delivered or self.sent

    @property
    def complaint_rate(self) -> float | None:
        return _rate(self.complaints, self.base) if self.measured else None

    @property
    def unsubscribed(self) -> int:
        return sum(self.unsubscribes.values())

    @property
    def unsubscribe_rate(self) -> float | None:
        return _rate(self.unsubscribed, self.base)

    @property
    def clicks(self) -> int:
        return sum(link.clicks for link in self.links)

    def to_dict(self) -> dict[str, Any]:
        """The figures for --json (schema: tests/report/test_report.py checks it). Event figures the
        provider does not measure are null, never 0."""
        measured, bounces = self.measured, self.bounces_measured
        return {
            "report": "issue",
            "issue": self.issue,
            "subject": self.subject,
            "state": self.state,
            "first_sent": self.first_sent,
            "provider": self.provider,
            "topic": self.topic,
            "events_measured": measured,
            "bounces_measured": bounces,
            "ledger": {"recipients": self.recipients, **self.ledger},
            "delivered": self.delivered if measured else None,
            "deferred": self.deferred if bounces else None,
            "dropped": self.dropped if measured else None,
            "bounced": {**self.bounces, "total": self.bounced} if bounces else None,
            "rate_base": self.rate_base,
            "complaints": {"count": self.complaints if measured else None, "rate": self.complaint_rate, "level": complaint_level(self.complaint_rate)},
            "unsubscribes": {
                "by_channel": dict(self.unsubscribes),
                "total": self.unsubscribed,
                "rate": self.unsubscribe_rate,
                "window": {"from": self.first_sent, "until": self.next_sent},
            },
            "clicks": None if not measured else {
                "total": self.clicks,
                "clickers": self.clickers,
                "links": [{"url": link.url, "clicks": link.clicks, "clickers": link.clickers} for link in self.links],
            },
            "opens": None if self.opens is None or not self.opens_measured else _opens(self.opens),
            "engagement": None if self.engagement is None else self.engagement.to_dict(),
        }


def _opens(opens: Opens) -> dict[str, Any]:
    return {"readers": opens.readers, "machine": opens.machine, "events": opens.events, "note": OPENS_NOTE}


@dataclass(frozen=True)
class TrendPoint:
    issue: str
    subject: str | None
    state: str
    first_sent: str
    list_size: int  # ledger rows: active subscribers when the issue was prepared
    sent: int
    delivered: int | None  # None, as the other event figures: not measured with its provider
    complaints: int | None
    complaint_rate: float | None
    unsubscribes: int
    unsubscribe_rate: float | None
    clicks: int | None
    clickers: int | None
    opens: Opens | None = None
    provider: str | None = None
    measured: bool = True
    topic: str | None = None

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "opens"}
        found["opens"] = None if self.opens is None else _opens(self.opens)
        return found


@dataclass(frozen=True)
class Trend:
    points: list[TrendPoint]
    unknown_issue_events: int = 0  # provider events naming an issue the ledger does not know: left out

    def to_dict(self) -> dict[str, Any]:
        return {"report": "trend", "issues": [point.to_dict() for point in self.points], "unknown_issue_events": self.unknown_issue_events}


def never_sent(issue: str, subject: str | None = None) -> IssueReport:
    """The report of an issue the ledger has nothing for (or when there is no database yet)."""
    return IssueReport(issue, subject, NEVER_SENT, None, None, dict.fromkeys(LEDGER_STATES, 0))


def _state(ledger: dict[str, int]) -> str:
    handed_over = ledger["sent"] + ledger["failed"] + ledger["unknown"] + ledger["sending"]
    if not handed_over:
        return SCHEDULED if ledger["scheduled"] else NEVER_SENT
    if ledger["pending"] or ledger["sending"] or ledger["scheduled"]:
        return SENDING
    return SENT


def _window(first_sends: dict[str, str], issue: str) -> tuple[str | None, str | None]:
    """The issue's first send, and the first send after it (another issue's, of the same topic:
    the caller passes only those), if any."""
    first = first_sends.get(issue)
    if first is None:
        return None, None
    later = sorted(at for key, at in first_sends.items() if key != issue and at > first)
    return first, (later[0] if later else None)


def issue_report(db: Database, issue: str, opens: bool = False, first_sends: dict[str, str] | None = None) -> IssueReport:
    """Every figure of one issue (opens only when asked for)."""
    reports = db.reports
    found = reports.states(issue)
    ledger = {state: found.get(state, 0) for state in LEDGER_STATES}
    subject = reports.subject(issue)
    state = _state(ledger)
    events = reports.addresses_per_event(issue)
    if state == NEVER_SENT and not events:
        return IssueReport(issue, subject, NEVER_SENT, None, None, ledger)
    topics = reports.topics()
    topic = topics.get(issue)
    sends = reports.first_sends() if first_sends is None else first_sends
    # A reader of one topic who leaves after the next issue of another topic still left this one's readers.
    first, until = _window({key: at for key, at in sends.items() if topics.get(key) == topic}, issue)
    bounces = {"hard": 0, "soft": 0, "unclassified": 0} | reports.bounces(issue)
    unsubscribes = dict.fromkeys(CHANNELS, 0)
    if first is not None:
        for channel, count in reports.unsubscribes(issue, first, until).items():
            unsubscribes[channel_group(channel)] += count
    provider = reports.provider(issue)
    delivered, sent = events.get("delivered", 0), ledger["sent"]
    return IssueReport(
        engagement=engagement(db, issue, provider, delivered or sent, "delivered" if delivered else "sent"),
        pixel=bool(db.story_reports.tracking(issue).opens),
        provider=provider,
        topic=topic,
        measured=measures_events(provider, events),
        bounces_measured=measures_bounces(provider, events),
        issue=issue,
        subject=subject,
        state=state,
        first_sent=first,
        next_sent=until,
        ledger=ledger,
        delivered=events.get("delivered", 0),
        deferred=events.get("deferred", 0),
        dropped=events.get("dropped", 0),
        bounces=bounces,
        complaints=events.get("spamreport", 0),
        unsubscribes=unsubscribes,
        links=[Link(url, clicks, clickers) for url, clicks, clickers in reports.clicks(issue)],
        clickers=events.get("click", 0),
        opens=Opens(*reports.opens(issue)) if opens else None,
        commit=reports.commit(issue),
    )


def standing(report: IssueReport) -> list[tuple[str, str]]:
    """What the report says before its figures, as (tone, sentence): tone is "note" or "warn".
    Never sent: the one sentence, and no figures follow."""
    if report.state == NEVER_SENT:
        return [("note", f"Issue {report.issue} was never sent: the ledger has no recipient it went out to.")]
    found = []
    if report.state == SCHEDULED:
        found.append(("note", f"Scheduled: {report.ledger['scheduled']:,} recipient(s) are waiting for the delivery time; nothing has gone out yet."))
    elif report.first_sent:
        found.append(("note", f"First sent {report.first_sent}"))
    if report.state == SENDING:
        waiting = report.ledger["pending"] + report.ledger["sending"] + report.ledger["scheduled"]
        found.append(("warn", f"Still sending: {waiting:,} recipient(s) not handed over yet, so these figures are partial."))
    return found


def trend(db: Database, opens: bool = False, topic: str | None = None) -> Trend:
    """One point per issue that went out (or is going out), in the order of their first sends;
    with `topic`, only that topic's issues. Events naming an issue the ledger does not know make
    no point: they are only counted."""
    first_sends = db.reports.first_sends()
    topics = db.reports.topics() if topic is not None else {}
    points = []
    for issue, _ in sorted(first_sends.items(), key=lambda item: (item[1], item[0])):
        if topic is not None and topics.get(issue) != topic:
            continue
        report = issue_report(db, issue, opens, first_sends)
        if report.first_sent is None:
            continue
        measured = report.measured
        points.append(
            TrendPoint(
                issue=issue,
                subject=report.subject,
                state=report.state,
                first_sent=report.first_sent,
                list_size=report.recipients,
                sent=report.sent,
                delivered=report.delivered if measured else None,
                complaints=report.complaints if measured else None,
                complaint_rate=report.complaint_rate,
                unsubscribes=report.unsubscribed,
                unsubscribe_rate=report.unsubscribe_rate,
                clicks=report.clicks if measured else None,
                clickers=report.clickers if measured else None,
                opens=report.opens if report.opens_measured else None,
                topic=report.topic,
                provider=report.provider,
                measured=measured,
            )
        )
    return Trend(points, db.reports.events_of_no_known_issue())
