"""Who an issue goes to, as SQL: a topic's readers and a segment (models/segments.py) compiled
to conditions over `subscribers s`, the same on SQLite and PostgreSQL (dialect.py says how each
reads a JSON attribute).

Counting a million readers walks the subscribers once. In statements over the whole list, a
topic's exceptions and a tag's readers are read once per statement; a batch's claim checks the
topic again per reader by primary key, so it costs the same at any list size (only whole-list
statements use segments). Each condition is true or false, never NULL, so `not` is the exact opposite of what it
negates.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Mapping
from dataclasses import dataclass

from ..models.segments import All, Any, Attribute, Clicked, Expression, HasTag, InTopic, Joined, Not, Received, Segment
from .dialect import Dialect

Params = tuple[object, ...]

# Sunsetting's last-chance emails (db/sunset.py) and automations' emails (db/automations.py) are
# ledger rows under keys of their own, not issues: no list of issues or count of issues has them.
LAST_CHANCE = "sunset-"
AUTOMATION = "auto-"


def an_issue(column: str) -> str:
    """SQL: the ledger key in `column` is an issue's (not a last-chance or an automation's email)."""
    return f"{column} NOT LIKE '{LAST_CHANCE}%' AND {column} NOT LIKE '{AUTOMATION}%'"


# An issue a reader received: a `sent` row of the ledger (`d`) that is not a last-chance email.
RECEIVED_ISSUE = f"d.state = 'sent' AND {an_issue('d.issue')}"
# Every click of a person, with its time: through the tool's redirect with the reader known
# ([tracking] clicks = "reader") and not judged a mail scanner's, or reported by the provider.
PERSONS_CLICKS = """SELECT c.email, c.clicked_at AS at FROM clicks c WHERE c.email IS NOT NULL AND c.machine IS NULL
    UNION ALL SELECT e.email, coalesce(e.happened_at, e.received_at) AS at FROM events e WHERE e.event = 'click' AND e.email IS NOT NULL"""
# SQL's form of each comparison of `received`.
SQL_COMPARISON = {"<": "<", "<=": "<=", "=": "=", "!=": "<>", ">": ">", ">=": ">="}
COMPARE = {"<": operator.lt, "<=": operator.le, "=": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge}


@dataclass(frozen=True)
class Condition:
    """SQL over `subscribers s`, and its parameters."""

    sql: str
    params: Params = ()

    def __and__(self, other: Condition) -> Condition:
        return Condition(f"({self.sql}) AND ({other.sql})", self.params + other.params)


EVERYONE = Condition("1 = 1")


@dataclass(frozen=True)
class Selection:
    """Who a send goes to: the active readers of `topic` (None: the whole list) whom the
    segment matches (None: all of them). `segment` is the label its deliveries are recorded under."""

    topic: str | None = None
    segment: str | None = None
    in_topic: Condition = EVERYONE  # per reader: what a claim checks again for its few rows
    in_segment: Condition = EVERYONE
    topic_readers: Condition = EVERYONE  # the same as in_topic, as a set read once per statement

    @property
    def condition(self) -> Condition:
        """The whole-list form, for statements over every subscriber (count, prepare)."""
        if self.topic is None and self.segment is None:
            return EVERYONE
        return self.topic_readers & self.in_segment


WHOLE_LIST = Selection()


def select(dialect: Dialect, topic: str | None, defaults: Mapping[str, bool], segment: Segment | None, now: dt.datetime) -> Selection:
    """The Selection for `topic` (one of `defaults`, the workspace's topics and their defaults) and
    `segment`; `now` fixes what `joined < 30d` counts from, for the whole send."""
    in_topic = topic_member(topic, defaults[topic]) if topic is not None else EVERYONE
    readers = topic_readers(topic, defaults[topic]) if topic is not None else EVERYONE
    in_segment = _Compiler(dialect, defaults, now).condition(segment.expression) if segment is not None else EVERYONE
    return Selection(topic, segment.label if segment else None, in_topic, in_segment, readers)


def topic_member(topic: str, default: bool) -> Condition:
    """The reader gets `topic`: their recorded choice, or with none, the topic's default."""
    if default:
        return Condition("NOT EXISTS (SELECT 1 FROM subscriptions c WHERE c.email = s.email AND c.topic = ? AND c.subscribed = 0)", (topic,))
    return Condition("EXISTS (SELECT 1 FROM subscriptions c WHERE c.email = s.email AND c.topic = ? AND c.subscribed = 1)", (topic,))


def topic_readers(topic: str, default: bool) -> Condition:
    """topic_member for a statement over the whole list: the readers who chose otherwise than the
    default are read once from subscriptions_by_topic (a lookup per reader costs 2x on a million)."""
    if default:
        return Condition("s.email NOT IN (SELECT c.email FROM subscriptions c WHERE c.topic = ? AND c.subscribed = 0)", (topic,))
    return Condition("s.email IN (SELECT c.email FROM subscriptions c WHERE c.topic = ? AND c.subscribed = 1)", (topic,))


@dataclass(frozen=True)
class _Compiler:
    dialect: Dialect
    defaults: Mapping[str, bool]
    now: dt.datetime

    def condition(self, expression: Expression) -> Condition:
        match expression:
            case HasTag(tag):
                # The tag's readers, read once per statement (one pass over tags): faster over a whole list than a lookup per reader.
                return Condition("s.email IN (SELECT g.email FROM tags g WHERE g.tag = ?)", (tag,))
            case InTopic(topic):
                return topic_readers(topic, self.defaults[topic])
            case Attribute(name, operator, values):
                return self._attribute(name, operator, values)
            case Joined(within, age):
                cutoff = self._cutoff(age)
                return Condition("s.created_at > ?" if within else "s.created_at <= ?", (cutoff,))
            case Clicked(within, age):
                clickers = Condition(f"s.email IN (SELECT k.email FROM ({PERSONS_CLICKS}) k WHERE k.at >= ?)", (self._cutoff(age),))
                return clickers if within else Condition(f"NOT ({clickers.sql})", clickers.params)
            case Received(operator, count):
                return _received(operator, count)
            case Not(part):
                inner = self.condition(part)
                return Condition(f"NOT ({inner.sql})", inner.params)
            case All(parts) | Any(parts):
                joiner = " AND " if isinstance(expression, All) else " OR "
                compiled = [self.condition(part) for part in parts]
                return Condition(joiner.join(f"({c.sql})" for c in compiled), tuple(p for c in compiled for p in c.params))
        raise TypeError(f"not a segment expression: {expression!r}")

    def _cutoff(self, age: dt.timedelta) -> str:
        """`age` before now, as every table stores time."""
        return (self.now - age).astimezone(dt.UTC).isoformat(timespec="seconds")

    def _attribute(self, name: str, operator: str, values: tuple[str, ...]) -> Condition:
        value = self.dialect.json_text("s.attributes")  # one ? for the attribute's name
        if operator == "!=":  # a reader without the attribute is not "DE" either
            return Condition(f"coalesce({value} != ?, 1 = 1)", (name, values[0]))
        marks = ", ".join("?" * len(values))
        return Condition(f"coalesce({value} IN ({marks}), 1 = 0)", (name, *values))


def _received(comparison: str, count: int) -> Condition:
    """received OP N, counting each reader's issues in one pass over the ledger. A reader with none
    has no row there: when the comparison holds for 0, the readers whose count fails it are left out
    instead."""
    if COMPARE[comparison](0, count):
        failing = f"SELECT d.email FROM deliveries d WHERE {RECEIVED_ISSUE} GROUP BY d.email HAVING NOT (count(*) {SQL_COMPARISON[comparison]} ?)"
        return Condition(f"s.email NOT IN ({failing})", (count,))
    holding = f"SELECT d.email FROM deliveries d WHERE {RECEIVED_ISSUE} GROUP BY d.email HAVING count(*) {SQL_COMPARISON[comparison]} ?"
    return Condition(f"s.email IN ({holding})", (count,))
