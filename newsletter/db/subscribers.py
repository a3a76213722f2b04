"""The subscribers table: who is on the list, and their standing."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

import orjson

from ..mail.links import PUBLIC_ID_BYTES
from ..models import Status, Subscriber
from ..models.event_types import SUBSCRIBER_CREATED
from . import audience_writes
from .connection import Store, StoreError, now
from .dialect import Dialect
from .event_outbox import emit, status_event, subscriber_data

CHUNK = 20_000  # link ids made per read of the random source; rows per fetch of an export
DIRECT_UP_TO = 120_000  # rows an import holds in memory and merges directly; beyond, it stages them
UPSERT = "INSERT INTO subscribers (email, name, attributes, status, created_at, updated_at, public_id, status_changed_at)"
DEACTIVATE_ONE = "UPDATE subscribers SET status = ?, updated_at = ?, status_changed_at = ? WHERE email = ? AND status = 'active'"
IMPORT_CHANNEL = "import"  # how a status change an import makes is recorded (the report counts it under "other")
PUBLIC_ID_INDEX = "CREATE UNIQUE INDEX subscribers_by_public_id ON subscribers (public_id)"  # as in migration 2


def on_conflict(dialect: Dialect) -> str:
    """The end of an INSERT that merges each row into a known subscriber: a name only when the
    row has one, its attributes added to theirs."""
    return f""" ON CONFLICT (email) DO UPDATE SET
    name = coalesce(excluded.name, name),
    attributes = {dialect.merge_json("attributes", "excluded.attributes")},
    updated_at = excluded.updated_at"""


def merged_from(dialect: Dialect, row: str) -> str:
    """The SET clause that merges `row` into a known subscriber, as on_conflict does."""
    return f"""name = coalesce({row}.name, subscribers.name),
        attributes = {dialect.merge_json("subscribers.attributes", f"{row}.attributes")}, updated_at = {row}.updated_at"""


@dataclass(frozen=True)
class Confirmation:
    subscriber: Subscriber | None
    result: str  # confirmed, already (active before), stale (status changed after the link), unknown


@dataclass(frozen=True)
class ImportCounts:
    added: int
    updated: int  # subscribers already on the list whose name, attributes or status the input changed
    unchanged: int  # subscribers already on the list that the input holds exactly as they are
    deactivated: int  # active subscribers the input marked unsubscribed, bounced or complained


# What an import can change of someone already on the list, kept before it merges to count who changed.
SNAPSHOT_BEFORE = "SELECT email, name, attributes, status FROM subscribers WHERE email IN (SELECT email FROM staged)"
# The active subscribers of the snapshot an import took whom it took off the list, with their new status.
DEACTIVATED_SINCE_SNAPSHOT = """SELECT s.email, s.status FROM before_import AS b JOIN subscribers AS s ON s.email = b.email
    WHERE b.status = 'active' AND s.status != 'active'"""
# The active subscribers the staged import took off the list, with one time for both columns.
DEACTIVATE_STAGED = """UPDATE subscribers SET status = gone.status, updated_at = ?, status_changed_at = ?
    FROM (SELECT email, max(status) AS status FROM staged WHERE status != 'active' GROUP BY email) AS gone
    WHERE subscribers.email = gone.email AND subscribers.status = 'active'"""


def changed_since_snapshot(dialect: Dialect) -> str:
    """Whether a subscriber `s` differs from their snapshot `b`. Attributes compare as JSON values:
    PostgreSQL writes merged ones with spaces, the import without."""
    return f"{dialect.differs('s.name', 'b.name')} OR {dialect.json_value('s.attributes')} != {dialect.json_value('b.attributes')} OR s.status != b.status"



class Subscribers:
    def __init__(self, connection: Store) -> None:
        self.connection = connection
        self.db = connection.db

    def upsert(self, subscribers: Iterable[Subscriber], topics: Sequence[str] = ()) -> ImportCounts:
        """Add new subscribers and update names and attributes of known ones, in one transaction,
        streaming: the input is read as it is stored. Each row's tags are added to the
        subscriber's (never taken away); a row that gives its topics (not None) records a choice of
        every topic of `topics`, the workspace's: those it lists on, the others off.

        A status other than `active` in the input is honoured: new subscribers get it, and an
        active subscriber takes it (someone who left elsewhere is not mailed here). The other way
        round never happens: nobody is re-activated by an import. A repeated address keeps its
        first row's id and creation time; its later non-empty values win.

        The clock is read once: every row the import writes, and every change it makes, carries
        the same time (two reads could straddle a second and date one change twice)."""
        rows = iter(subscribers)
        stamp = now()
        if self.connection.dialect.copies_in_bulk:  # staging costs little at any size
            with self.connection.transaction():
                return self._merge_staged(rows, stamp, topics)
        first = list(islice(rows, DIRECT_UP_TO + 1))
        with self.connection.transaction():
            if len(first) <= DIRECT_UP_TO:
                return self._merge_directly(first, stamp, topics)
            return self._merge_staged(itertools.chain(first, rows), stamp, topics)

    def _merge_directly(self, subscribers: list[Subscriber], stamp: str, topics: Sequence[str]) -> ImportCounts:
        """A list that fits in memory: sorted by address and merged with one statement per chunk."""
        subscribers.sort(key=lambda s: s.email)  # stable: a repeat's later values still win
        ids = _public_ids(len(subscribers))
        distinct = {s.email for s in subscribers}
        before = self._as_stored(sorted(distinct))
        try:
            self.db.executemany(
                UPSERT + " VALUES (?, ?, ?, ?, ?, ?, ?, ?)" + on_conflict(self.connection.dialect),
                [_row(s, stamp, s.public_id or next(ids)) for s in subscribers],
            )
        except self.connection.integrity_error as exc:  # an imported subscriber id that someone else has
            raise self._cannot_import(exc) from None
        leaving = [(s.status, stamp, stamp, s.email) for s in subscribers if s.status != Status.ACTIVE]
        deactivated = self.db.executemany(DEACTIVATE_ONE, leaving).rowcount if leaving else 0
        audience_writes.add_imported_tags(self.connection, subscribers)
        audience_writes.choose_imported_topics(self.connection, subscribers, topics, stamp)
        after = self._as_stored(sorted(before))
        updated = sum(after[email] != stored for email, stored in before.items())
        gone = [(email, after[email][2]) for email, stored in before.items() if stored[2] == Status.ACTIVE and after[email][2] != Status.ACTIVE]
        self._record_import_changes(gone, stamp)
        return ImportCounts(len(distinct) - len(before), updated, len(before) - updated, deactivated)

    def _cannot_import(self, exc: Exception) -> StoreError:
        return StoreError(f"{self.connection.path}: cannot import: {str(exc).splitlines()[0]}; nothing was imported")

    def _as_stored(self, emails: list[str]) -> dict[str, tuple[Any, ...]]:
        """What an import can change (name, attributes, status) of those of `emails` on the list."""
        found: dict[str, tuple[Any, ...]] = {}
        for part in _parts(emails, 900):
            rows = self.db.execute(f"SELECT email, name, attributes, status FROM subscribers WHERE email IN ({','.join('?' * len(part))})", part)
            found.update((email, (name, json.loads(attributes), status)) for email, name, attributes, status in rows)
        return found

    def _changed_since_snapshot(self) -> tuple[int, int]:
        """(updated, unchanged): the subscribers in the snapshot the import took (before_import)
        whose stored values it changed, and those it left as they were."""
        known = int(self.db.execute("SELECT count(*) FROM before_import").fetchone()[0])
        changed = self.db.execute(
            f"SELECT count(*) FROM before_import AS b JOIN subscribers AS s ON s.email = b.email WHERE {changed_since_snapshot(self.connection.dialect)}"
        ).fetchone()[0]
        return int(changed), known - int(changed)

    def _merge_staged(self, subscribers: Iterable[Subscriber], stamp: str, topics: Sequence[str]) -> ImportCounts:
        """A big list (on PostgreSQL, every list): appended to a temporary table as it is read,
        then merged set-wise, so the list's B-tree is written in address order rather than at
        random places (a million-row import stays fast once the list outgrows the page cache).

        Other writers (the web app's signups) wait for the import: it holds the list against
        changes, so no signup can slip in between reading and writing."""
        dialect, db = self.connection.dialect, self.db
        # Tags first, as removing a subscriber deletes theirs first: add_staged_tags may rebuild
        # their key, and a removal holding tags while it waited for the list would deadlock it.
        dialect.lock_against_other_writers(db, "tags")
        dialect.lock_against_other_writers(db, "subscribers")
        staged = self._stage(subscribers, stamp)
        if not dialect.upsert_may_update_a_row_twice:
            db.execute("CREATE INDEX ON staged (email, n)")  # each address's rows, in file order
        dialect.refresh_statistics(db, "staged")
        db.execute(f"DROP TABLE IF EXISTS {dialect.temporary_schema}.before_import")  # left by an import that failed inside a caller's transaction
        db.execute(f"CREATE TEMP TABLE before_import AS {SNAPSHOT_BEFORE}")
        # Random link ids go into their index at random places: when the import outnumbers the
        # list, building the index afresh (one sort) is far cheaper (13 s against 6 s for a million).
        known = int(db.execute("SELECT count(*) FROM (SELECT 1 FROM subscribers LIMIT ?) AS sample", (staged.rows,)).fetchone()[0])
        rebuild_index = known < staged.rows
        try:
            if dialect.upsert_may_update_a_row_twice:
                added = self._upsert_in_file_order(rebuild_index)
            else:
                added = self._merge_first_rows_then_repeats(rebuild_index)
        except self.connection.integrity_error as exc:  # an imported subscriber id that someone else has
            raise self._cannot_import(exc) from None
        deactivated = db.execute(DEACTIVATE_STAGED, (stamp, stamp)).rowcount
        self._record_import_changes(list(db.execute(DEACTIVATED_SINCE_SNAPSHOT)), stamp)
        updated, unchanged = self._changed_since_snapshot()
        if staged.tags:
            audience_writes.add_staged_tags(self.connection, staged.rows)
        if staged.topics:
            audience_writes.choose_staged_topics(self.connection, topics, stamp)
        db.execute(f"DROP TABLE {dialect.temporary_schema}.staged")
        db.execute(f"DROP TABLE {dialect.temporary_schema}.before_import")
        return ImportCounts(added, updated, unchanged, deactivated)

    def _stage(self, subscribers: Iterable[Subscriber], stamp: str) -> Staged:
        """The list, numbered in file order, in the temporary table `staged`: how many rows, and
        whether any had tags or topics."""
        self.db.execute(f"DROP TABLE IF EXISTS {self.connection.dialect.temporary_schema}.staged")  # as before_import
        self.db.execute(f"CREATE TEMP TABLE staged (n BIGINT, {STAGED}, tags TEXT, topics TEXT)")
        staged = Staged()
        staged.rows = self.connection.dialect.load_rows(self.db, "staged", f"n, {COPIED}, tags, topics", _numbered_rows(subscribers, stamp, staged))
        return staged

    def _upsert_in_file_order(self, rebuild_index: bool) -> int:
        """SQLite: one upsert in address order, a repeated address's rows in file order (later
        values win). How many were added."""
        db = self.db
        added = int(db.execute("SELECT count(DISTINCT email) FROM staged WHERE email NOT IN (SELECT email FROM subscribers)").fetchone()[0])
        with self._public_id_index_rebuilt(rebuild_index):
            db.execute(UPSERT + f" SELECT {COPIED} FROM staged WHERE true ORDER BY email, n" + on_conflict(self.connection.dialect))
        return added

    def _merge_first_rows_then_repeats(self, rebuild_index: bool) -> int:
        """PostgreSQL, whose upsert may not touch one row twice in a statement: known addresses
        updated from their first row, new ones inserted, then the (rare) repeats in file order.
        How many were added."""
        dialect, db = self.connection.dialect, self.db
        first_rows = f"(SELECT DISTINCT ON (email) {COPIED} FROM staged ORDER BY email, n) AS first"
        db.execute(f"UPDATE subscribers SET {merged_from(dialect, 'first')} FROM {first_rows} WHERE subscribers.email = first.email")
        with self._public_id_index_rebuilt(rebuild_index):
            added = int(db.execute(
                f"""INSERT INTO subscribers ({COPIED}) SELECT {COPIED} FROM {first_rows}
                    WHERE NOT EXISTS (SELECT 1 FROM subscribers known WHERE known.email = first.email)"""
            ).rowcount)
        db.execute(
            """CREATE TEMP TABLE repeats AS SELECT * FROM (
                   SELECT *, row_number() OVER (PARTITION BY email ORDER BY n) AS nth FROM staged
                   WHERE email IN (SELECT email FROM staged GROUP BY email HAVING count(*) > 1)
               ) AS repeated WHERE nth > 1"""
        )
        most = db.execute("SELECT max(nth) FROM repeats").fetchone()[0] or 1
        for nth in range(2, most + 1):  # the second rows of every address at once, then the third...
            db.execute(
                f"UPDATE subscribers SET {merged_from(dialect, 'later')} FROM repeats AS later WHERE later.nth = ? AND subscribers.email = later.email",
                (nth,),
            )
        db.execute(f"DROP TABLE {dialect.temporary_schema}.repeats")
        return added

    @contextlib.contextmanager
    def _public_id_index_rebuilt(self, rebuild: bool) -> Iterator[None]:
        """With `rebuild`, the link id index dropped for the block and built afresh after it."""
        if rebuild:
            self.db.execute("DROP INDEX subscribers_by_public_id")
        yield
        if rebuild:
            self.db.execute(PUBLIC_ID_INDEX)

    def _record_import_changes(self, gone: list[tuple[str, str]], stamp: str) -> None:
        """The history rows of the (email, new status) an import took off the list, in its
        transaction: the report's unsubscribes and the subscriber's history see them."""
        if gone:
            self.db.executemany(
                "INSERT INTO status_changes (email, status, channel, detail, at, issue) VALUES (?, ?, ?, NULL, ?, NULL)",
                [(email, status, IMPORT_CHANNEL, stamp) for email, status in gone],
            )
            for email, status in gone:
                status_event(self.db, email, status, IMPORT_CHANNEL, stamp)

    def get(self, email: str) -> Subscriber | None:
        row = self.db.execute(f"SELECT {COLUMNS} FROM subscribers WHERE email = ?", (email,)).fetchone()
        return _subscriber(row) if row else None

    def by_public_id(self, public_id: str) -> Subscriber | None:
        row = self.db.execute(f"SELECT {COLUMNS} FROM subscribers WHERE public_id = ?", (public_id,)).fetchone()
        return _subscriber(row) if row else None

    def set_status(self, emails: Iterable[str], status: Status, only_from: Status | None = None, channel: str = "command line", detail: str | None = None) -> int:
        """Change the status of the given (known) subscribers; returns how many changed. Each
        change is recorded with its channel (command line, sync, web, webhook).

        With `only_from`, only subscribers currently in that status change (sync: active ones)."""
        stamp = now()
        condition = "status = ?" if only_from else "status != ?"
        # Someone made active again starts with a clean slate: earlier refusals do not count.
        fresh = ", soft_bounces = 0, permanent_failures = 0" if status == Status.ACTIVE else ""
        changed = 0
        with self.connection.transaction():
            for email in emails:
                cursor = self.db.execute(
                    f"UPDATE subscribers SET status = ?, updated_at = ?, status_changed_at = ?{fresh} WHERE email = ? AND {condition}",
                    (status, stamp, stamp, email, only_from or status),
                )
                if cursor.rowcount:
                    changed += 1
                    self._record_change(email, status, channel, detail, stamp)
        return changed

    def bounce(self, email: str, channel: str, detail: str, issue: str, stamp: str) -> bool:
        """An active subscriber whose address the provider refused for good (see Ledger.settle)
        becomes `bounced`, the refusal in their history. Whether they changed."""
        changed = self.db.execute(DEACTIVATE_ONE, (Status.BOUNCED, stamp, stamp, email)).rowcount
        if changed:
            self._record_change(email, Status.BOUNCED, channel, detail, stamp, issue)
        return bool(changed)

    def _record_change(self, email: str, status: Status, channel: str, detail: str | None, stamp: str, issue: str | None = None) -> None:
        """The change in the reader's history and its event in the outbox, in the caller's transaction."""
        self.db.execute(
            "INSERT INTO status_changes (email, status, channel, detail, at, issue) VALUES (?, ?, ?, ?, ?, ?)", (email, status, channel, detail, stamp, issue)
        )
        status_event(self.db, email, status, channel, stamp, detail, issue)

    def announce(self, email: str, channel: str) -> None:
        """A subscriber added one at a time (the web's signup, `subscribers add`, the API) is news
        to the outbox: `subscriber.created`, in the caller's transaction. An import is not (as
        other services do, so a list moved in does not flood every webhook)."""
        subscriber = self.get(email)
        if subscriber is not None:
            emit(self.db, SUBSCRIBER_CREATED, subscriber_data(subscriber, channel), now())

    def sign_up(self, email: str, name: str | None) -> Subscriber:
        """Someone asked to subscribe on the web: a new address becomes `pending`; a known one is
        left exactly as it is (the form must not let a stranger change someone's details or
        standing). Either way the caller queues a confirmation; only confirming changes a status.
        Two signups of one new address at once make one row (ON CONFLICT), never an error."""
        stamp = now()
        with self.connection.transaction():
            added = self.db.execute(
                "INSERT INTO subscribers (email, name, attributes, status, created_at, updated_at, public_id, status_changed_at)"
                " VALUES (?, ?, '{}', 'pending', ?, ?, ?, ?) ON CONFLICT (email) DO NOTHING RETURNING public_id",
                (email, name, stamp, stamp, next(_public_ids(1)), stamp),
            ).fetchone()
            if added is None:
                existing = self.get(email)
                if existing is None:  # removed between the two statements: rare enough to ask again
                    raise StoreError(f"{self.connection.path}: {email} was removed while signing up; try again")
                return existing
            self._record_change(email, Status.PENDING, "web", "signed up", stamp)
            subscriber = Subscriber(email, name, {}, Status.PENDING, added[0], stamp)
            emit(self.db, SUBSCRIBER_CREATED, subscriber_data(subscriber, "web"), stamp)
            return subscriber

    def last_change(self, email: str) -> int:
        """The number of `email`'s latest recorded status change (0: none), for a confirmation
        link to carry: changes are numbered in the order they commit (see confirm)."""
        return int(self.db.execute("SELECT coalesce(max(id), 0) FROM status_changes WHERE email = ?", (email,)).fetchone()[0])

    def confirm(self, public_id: str, issued_at: str, after_change: int | None = None) -> Confirmation:
        """A confirmation link was followed: the subscriber becomes active, unless their status
        changed after the link was made (an old link must not undo a later unsubscribe) or when it
        changed is not known (an imported row: treated as after every link).

        Times are kept to the second, so time alone cannot order a link and a change in one
        second: a link from before an unsubscribe in its second would re-activate, and treating
        the second as "after" would refuse a signup made just after leaving. A link made now also
        carries `after_change`, the number of the last status change it saw (last_change), and any
        recorded change numbered above it came after it, whatever the second. Numbers only grow (the
        history is never deleted from) and follow commit order for one address: every change first
        writes the subscriber's row, whose lock holds the next change until this one commits. The
        time rule stays as well, for changes no number records (a status time an import gave) and
        for links in mail sent before they carried one.

        One statement decides, so two confirmations at once (a double click, the page's script and
        its button) activate once: the second finds the subscriber already active."""
        stamp = now()
        later_change = " AND NOT EXISTS (SELECT 1 FROM status_changes c WHERE c.email = subscribers.email AND c.id > ?)"
        condition, params = (later_change, (after_change,)) if after_change is not None else ("", ())
        with self.connection.transaction():
            row = self.db.execute(
                "UPDATE subscribers SET status = 'active', updated_at = ?, status_changed_at = ?, soft_bounces = 0, permanent_failures = 0"
                f" WHERE public_id = ? AND status != 'active' AND status_changed_at IS NOT NULL AND status_changed_at <= ?{condition}"
                f" RETURNING {COLUMNS}",
                (stamp, stamp, public_id, issued_at, *params),
            ).fetchone()
            if row is not None:
                subscriber = _subscriber(row)
                self._record_change(subscriber.email, Status.ACTIVE, "web", "confirmed", stamp)
                return Confirmation(subscriber, "confirmed")
            found = self.by_public_id(public_id)
        if found is None:
            return Confirmation(None, "unknown")
        return Confirmation(found, "already" if found.status == Status.ACTIVE else "stale")

    def leave(self, public_id: str, channel: str, issue: str | None = None) -> Subscriber | None:
        """Unsubscribe the subscriber behind a link (one-click, the page, preferences). Idempotent:
        someone already unsubscribed, bounced or complained stays as they are. `issue` is the one
        the link came in, when it says (the report credits it). The subscriber as they now stand;
        None when no subscriber has this id."""
        stamp = now()
        with self.connection.transaction():
            row = self.db.execute(
                "UPDATE subscribers SET status = 'unsubscribed', updated_at = ?, status_changed_at = ?"
                f" WHERE public_id = ? AND status IN ('active', 'pending') RETURNING {COLUMNS}",
                (stamp, stamp, public_id),
            ).fetchone()
            if row is None:
                return self.by_public_id(public_id)
            subscriber = _subscriber(row)
            self._record_change(subscriber.email, Status.UNSUBSCRIBED, channel, None, stamp, issue)
            return subscriber

    def changes(self, email: str) -> list[tuple[str, str, str | None, str]]:
        """(status, channel, detail, at) of every recorded change for `email`, oldest first."""
        return list(self.db.execute("SELECT status, channel, detail, at FROM status_changes WHERE email = ? ORDER BY id", (email,)))

    def remove(self, email: str) -> bool:
        with self.connection.transaction():
            return self.db.execute("DELETE FROM subscribers WHERE email = ?", (email,)).rowcount > 0

    def counts_by_status(self) -> dict[Status, int]:
        counts = {status: 0 for status in Status}
        for status, count in self.db.execute("SELECT status, count(*) FROM subscribers GROUP BY status"):
            counts[Status(status)] = count
        return counts

    def all(self, status: Status | None = None, tag: str | None = None, topic: tuple[str, bool] | None = None) -> Iterator[Subscriber]:
        """Every subscriber (or those with `status`, with `tag`, getting `topic`: its key and
        whether a reader with no choice recorded gets it), in address order, read as they are used."""
        conditions: list[str] = []
        params: list[Any] = []
        if status:
            conditions.append("status = ?")
            params.append(status)
        if tag is not None:
            conditions.append("EXISTS (SELECT 1 FROM tags WHERE tags.email = subscribers.email AND tags.tag = ?)")
            params.append(tag)
        if topic is not None:
            conditions.append("coalesce((SELECT subscribed FROM subscriptions c WHERE c.email = subscribers.email AND c.topic = ?), ?) = 1")
            params.extend((topic[0], int(topic[1])))
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        query = f"SELECT {COLUMNS}, status_changed_at FROM subscribers {where} ORDER BY email"
        return (_subscriber(row) for row in self.connection.dialect.stream(self.connection, query, params, rows_per_fetch=CHUNK))

    def with_audience(self, topic_defaults: Mapping[str, bool]) -> Iterator[Subscriber]:
        """Every subscriber with their tags and the topics of `topic_defaults` (the workspace's,
        with their defaults) they get, in address order, read as they are used."""
        joined = self.connection.dialect.joined
        tags = f"(SELECT {joined('tag', TAG_JOIN)} FROM tags WHERE tags.email = subscribers.email)"
        choice = "topic || '=' || subscribed"
        chosen = f"(SELECT {joined(choice, TAG_JOIN)} FROM subscriptions c WHERE c.email = subscribers.email)" if topic_defaults else "NULL"
        query = f"SELECT {COLUMNS}, status_changed_at, {tags}, {chosen} FROM subscribers ORDER BY email"
        for *row, tag_cell, chosen_cell in self.connection.dialect.stream(self.connection, query, rows_per_fetch=CHUNK):
            subscriber = _subscriber(tuple(row))
            topics = _topics_got(chosen_cell, topic_defaults) if topic_defaults else None
            yield subscriber._replace(tags=tuple(sorted(tag_cell.split(TAG_JOIN))) if tag_cell else (), topics=topics)

    def has_tags(self) -> bool:
        return self.db.execute("SELECT 1 FROM tags LIMIT 1").fetchone() is not None

    def known(self, emails: Sequence[str]) -> set[str]:
        """Those of `emails` on the list."""
        found: set[str] = set()
        for part in _parts(list(emails), 900):
            found.update(email for (email,) in self.db.execute(f"SELECT email FROM subscribers WHERE email IN ({','.join('?' * len(part))})", part))
        return found

    def attribute_names(self) -> list[str]:
        rows = self.db.execute(self.connection.dialect.json_keys("subscribers", "attributes"))
        return [key for (key,) in rows]


COLUMNS = "email, name, attributes, status, public_id, created_at"
COPIED = "email, name, attributes, status, created_at, updated_at, public_id, status_changed_at"
STAGED = "email TEXT, name TEXT, attributes TEXT, status TEXT, created_at TEXT, updated_at TEXT, public_id TEXT, status_changed_at TEXT"


def _row(s: Subscriber, stamp: str, public_id: str) -> tuple[str, str | None, str, str, str, str, str, str | None]:
    """The columns COPIED of a subscriber arriving now (`stamp`). Someone who arrives already gone
    left at the time the input gives, or else now: an unknown time would let a confirmation link
    made before they left bring them back."""
    attributes = orjson.dumps(s.attributes, option=orjson.OPT_SORT_KEYS).decode() if s.attributes else "{}"
    changed = s.status_changed_at or (stamp if s.status != Status.ACTIVE else None)
    return (s.email, s.name, attributes, s.status, s.created_at or stamp, stamp, public_id, changed)


@dataclass
class Staged:
    """What staging an import found: its rows, and whether any had tags or gave topics."""

    rows: int = 0
    tags: bool = False
    topics: bool = False


def _numbered_rows(subscribers: Iterable[Subscriber], stamp: str, staged: Staged) -> Iterator[tuple[Any, ...]]:
    """(n, *the COPIED columns, tags, topics) of each subscriber, n counting from 1 in input
    order; tags and topics as JSON arrays, or NULL. Notes in `staged` whether any had either."""
    rows = iter(subscribers)
    n = 0
    dumps = orjson.dumps
    while chunk := list(islice(rows, CHUNK)):
        ids = _public_ids(len(chunk))
        for s in chunk:
            n += 1
            tags = dumps(s.tags).decode() if s.tags else None
            topics = None if s.topics is None else dumps(s.topics).decode()
            yield (n, *_row(s, stamp, s.public_id or next(ids)), tags, topics)
        staged.tags = staged.tags or any(s.tags for s in chunk)
        staged.topics = staged.topics or any(s.topics is not None for s in chunk)


def _parts(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _public_ids(count: int) -> Iterator[str]:
    """`count` fresh random link ids (as links.new_public_id makes them), from one read of the
    system's random source rather than one per subscriber."""
    raw = os.urandom(PUBLIC_ID_BYTES * count)
    for start in range(0, len(raw), PUBLIC_ID_BYTES):
        yield base64.urlsafe_b64encode(raw[start : start + PUBLIC_ID_BYTES]).decode()


TAG_JOIN = ";"  # between the tags (or topic choices) one subscriber's row of an export carries: no tag holds it


def _topics_got(chosen: str | None, defaults: Mapping[str, bool]) -> tuple[str, ...]:
    """The topics of `defaults` a reader gets, from their recorded choices ("news=1;events=0")."""
    choices = dict(item.split("=", 1) for item in chosen.split(TAG_JOIN)) if chosen else {}
    return tuple(key for key, default in defaults.items() if choices.get(key, str(int(default))) == "1")


def _subscriber(row: tuple[Any, ...]) -> Subscriber:
    """A Subscriber from the COLUMNS of a row, and its status_changed_at when selected after them."""
    email, name, attributes, status, public_id, created_at, *changed = row
    return Subscriber(email, name, json.loads(attributes), Status(status), public_id, created_at, changed[0] if changed else None)
