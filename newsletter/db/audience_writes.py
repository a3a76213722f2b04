"""Tags and topic choices written many at a time: an import's (from the rows it merges directly, or
set-wise from its staging table) and `subscribers tag`'s. Never one statement per subscriber: a
list of a million rows takes as long with its tags as without them, near enough."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice
from typing import TYPE_CHECKING

from .connection import now
from .event_outbox import tagged_events

if TYPE_CHECKING:
    from ..models import Subscriber
    from .connection import Store

ROWS_PER_CALL = 10_000  # rows per executemany
ADD_TAG = "INSERT INTO tags (email, tag) VALUES (?, ?) ON CONFLICT DO NOTHING"
REMOVE_TAG = "DELETE FROM tags WHERE email = ? AND tag = ?"
# A recorded choice keeps its time unless it changes: the time says when the reader last chose.
CHOOSE = """INSERT INTO subscriptions (email, topic, subscribed, changed_at) {rows}
    ON CONFLICT (email, topic) DO UPDATE SET subscribed = excluded.subscribed,
    changed_at = CASE WHEN subscriptions.subscribed = excluded.subscribed THEN subscriptions.changed_at ELSE excluded.changed_at END"""


def add_imported_tags(store: Store, subscribers: Sequence[Subscriber]) -> None:
    """The tags of `subscribers` (sorted by address, all on the list now) added to theirs."""
    if any(s.tags for s in subscribers):
        store.db.executemany(ADD_TAG, ((s.email, tag) for s in subscribers for tag in s.tags))


def choose_imported_topics(store: Store, subscribers: Sequence[Subscriber], topics: Sequence[str], stamp: str) -> None:
    """Each subscriber's choice of every topic of `topics` as their last row gives it: the
    topics it lists on, the others off. A row without topics (None) records nothing."""
    last = {s.email: s.topics for s in subscribers if s.topics is not None}
    rows = ((email, topic, int(topic in chosen), stamp) for email, chosen in last.items() for topic in topics)
    _many(store, CHOOSE.format(rows="VALUES (?, ?, ?, ?)"), rows)


def add_staged_tags(store: Store, staged_rows: int) -> None:
    """The tags in the staging table's `tags` column (a JSON array per row) added, in one statement.

    On PostgreSQL, when the list holds fewer tags than the import has rows, the key is dropped and
    built afresh after the insert, as the link ids' index is: one sort instead of a B-tree insert
    (and conflict check) per tag, which took most of an import's extra time (1.9 s of 2.5 for
    233,000 tags). Dropping the key locks the table, so no other writer adds a tag meanwhile."""
    items = store.dialect.json_items("staged.tags", "tag")
    if not (store.dialect.rebuilds_primary_keys and _fewer_tags_than(store, staged_rows)):
        store.db.execute(f"INSERT INTO tags (email, tag) SELECT staged.email, tag.value FROM staged, {items} WHERE staged.tags IS NOT NULL ON CONFLICT DO NOTHING")
        return
    db = store.db
    db.execute("ALTER TABLE tags DROP CONSTRAINT tags_pkey")
    # Without the key, the pairs the file repeats or the list holds are left out here. The
    # planner guesses 100 tags a row: JIT would compile for longer than the statement runs,
    # and a sort it thinks huge would spill to disk; both set back when it is done.
    db.execute("SET LOCAL jit = off")
    db.execute("SET LOCAL work_mem = '64MB'")
    db.execute(
        f"""INSERT INTO tags (email, tag) SELECT DISTINCT staged.email, tag.value FROM staged, {items}
            WHERE staged.tags IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tags AS had WHERE had.email = staged.email AND had.tag = tag.value)
            ORDER BY 1, 2"""
    )
    db.execute("SET LOCAL jit TO DEFAULT")
    db.execute("SET LOCAL work_mem TO DEFAULT")
    db.execute("ALTER TABLE tags ADD CONSTRAINT tags_pkey PRIMARY KEY (email, tag)")


def _fewer_tags_than(store: Store, rows: int) -> bool:
    """Whether the list holds fewer than `rows` tags (counted no further than needed)."""
    return int(store.db.execute("SELECT count(*) FROM (SELECT 1 FROM tags LIMIT ?) AS sample", (rows,)).fetchone()[0]) < rows


def choose_staged_topics(store: Store, topics: Sequence[str], stamp: str) -> None:
    """Each staged address's choice of every topic of `topics`, from its last row that gives its
    topics (a JSON array): one statement per topic of the workspace, none per subscriber."""
    items = store.dialect.json_items("last.topics", "chosen")
    rows = f"""SELECT last.email, ?, CASE WHEN EXISTS (SELECT 1 FROM {items} WHERE chosen.value = ?) THEN 1 ELSE 0 END, ?
        FROM staged AS last WHERE last.n IN (SELECT max(n) FROM staged WHERE topics IS NOT NULL GROUP BY email)"""
    for topic in topics:
        store.db.execute(CHOOSE.format(rows=rows), (topic, topic, stamp))


def retag(store: Store, emails: Sequence[str], add: Sequence[str], remove: Sequence[str]) -> int:
    """Add and remove tags of `emails` (all on the list); how many subscribers' tags changed."""
    had = _tags_of(store, emails, [*add, *remove])
    adding = [(email, tag) for email in emails for tag in add if (email, tag) not in had]
    removing = [(email, tag) for email in emails for tag in remove if (email, tag) in had and tag not in add]
    _many(store, ADD_TAG, adding)
    _many(store, REMOVE_TAG, removing)
    tagged_events(store.db, adding, now())
    return len({email for email, _ in adding} | {email for email, _ in removing})


def _tags_of(store: Store, emails: Sequence[str], tags: Sequence[str]) -> set[tuple[str, str]]:
    """Which of `tags` each of `emails` has, as (email, tag) pairs."""
    if not tags:
        return set()
    found: set[tuple[str, str]] = set()
    marks = ",".join("?" * len(tags))
    for start in range(0, len(emails), 500):
        part = list(emails[start : start + 500])
        query = f"SELECT email, tag FROM tags WHERE email IN ({','.join('?' * len(part))}) AND tag IN ({marks})"
        found.update((email, tag) for email, tag in store.db.execute(query, (*part, *tags)))
    return found


def _many(store: Store, statement: str, rows: Iterable[tuple[object, ...]]) -> None:
    rows = iter(rows)
    while chunk := list(islice(rows, ROWS_PER_CALL)):
        store.db.executemany(statement, chunk)
