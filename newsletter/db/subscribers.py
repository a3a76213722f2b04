"""The subscribers table: who is on the list, and their standing."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

import orjson

from ..links import PUBLIC_ID_BYTES
from ..models import Status, Subscriber
from .connection import Connection, StoreError, now

CHUNK = 20_000  # rows per executemany: big enough to be fast, small enough to stream


@dataclass(frozen=True)
class ImportCounts:
    added: int
    updated: int  # rows that matched someone already on the list (repeats in the file included)
    deactivated: int  # active subscribers the input marked unsubscribed, bounced or complained

    def __add__(self, other: ImportCounts) -> ImportCounts:
        return ImportCounts(self.added + other.added, self.updated + other.updated, self.deactivated + other.deactivated)


class Subscribers:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.db = connection.db

    def upsert(self, subscribers: Iterable[Subscriber]) -> ImportCounts:
        """Add new subscribers and update names and attributes of known ones, in one transaction,
        streaming (the input is read CHUNK rows at a time).

        A status other than `active` in the input is honoured: new subscribers get it, and an
        active subscriber takes it (someone who left elsewhere is not mailed here). The other way
        round never happens: nobody is re-activated by an import."""
        rows = iter(subscribers)
        total = ImportCounts(0, 0, 0)
        with self.connection.transaction():
            while chunk := list(islice(rows, CHUNK)):
                # In address order (stable: a repeat's later values still win), the inserts walk
                # the table's B-tree in order instead of jumping around it.
                chunk.sort(key=lambda s: s.email)
                total = total + self._store(chunk)
        return total

    def _store(self, chunk: list[Subscriber]) -> ImportCounts:
        stamp = now()
        ids = _public_ids(len(chunk))
        new = self._count_new(chunk)
        try:
            self.db.executemany(
                """INSERT INTO subscribers (email, name, attributes, status, created_at, updated_at, public_id)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (email) DO UPDATE SET
                       name = coalesce(excluded.name, name),
                       attributes = json_patch(attributes, excluded.attributes),
                       updated_at = excluded.updated_at""",
                [_row(s, stamp, s.public_id or next(ids)) for s in chunk],
            )
        except sqlite3.IntegrityError as exc:  # an imported subscriber id that someone else has
            raise StoreError(f"{self.connection.path}: cannot import: {exc}; nothing was imported") from None
        leaving = [(s.status, stamp, s.email) for s in chunk if s.status != Status.ACTIVE]
        deactivated = 0
        if leaving:
            deactivated = self.db.executemany("UPDATE subscribers SET status = ?, updated_at = ? WHERE email = ? AND status = 'active'", leaving).rowcount
        return ImportCounts(new, len(chunk) - new, deactivated)

    def _count_new(self, chunk: list[Subscriber]) -> int:
        """How many distinct addresses of the chunk are not on the list yet."""
        distinct = {s.email for s in chunk}
        marks = ",".join("?" * len(distinct))
        known = self.db.execute(f"SELECT count(*) FROM subscribers WHERE email IN ({marks})", list(distinct)).fetchone()[0]
        return len(distinct) - int(known)

    def get(self, email: str) -> Subscriber | None:
        row = self.db.execute(f"SELECT {COLUMNS} FROM subscribers WHERE email = ?", (email,)).fetchone()
        return _subscriber(row) if row else None

    def by_public_id(self, public_id: str) -> Subscriber | None:
        row = self.db.execute(f"SELECT {COLUMNS} FROM subscribers WHERE public_id = ?", (public_id,)).fetchone()
        return _subscriber(row) if row else None

    def set_status(self, emails: Iterable[str], status: Status, only_from: Status | None = None) -> int:
        """Change the status of the given (known) subscribers; returns how many changed.

        With `only_from`, only subscribers currently in that status change (sync: active ones)."""
        stamp = now()
        condition = "status = ?" if only_from else "status != ?"
        with self.connection.transaction():
            cursor = self.db.executemany(
                f"UPDATE subscribers SET status = ?, updated_at = ? WHERE email = ? AND {condition}",
                [(status, stamp, email, only_from or status) for email in emails],
            )
        return cursor.rowcount

    def remove(self, email: str) -> bool:
        with self.connection.transaction():
            return self.db.execute("DELETE FROM subscribers WHERE email = ?", (email,)).rowcount > 0

    def counts_by_status(self) -> dict[Status, int]:
        counts = {status: 0 for status in Status}
        for status, count in self.db.execute("SELECT status, count(*) FROM subscribers GROUP BY status"):
            counts[Status(status)] = count
        return counts

    def all(self, status: Status | None = None) -> Iterator[Subscriber]:
        """Every subscriber (or those with `status`), in address order, read as they are used."""
        if status:
            rows = self.db.execute(f"SELECT {COLUMNS} FROM subscribers WHERE status = ? ORDER BY email", (status,))
        else:
            rows = self.db.execute(f"SELECT {COLUMNS} FROM subscribers ORDER BY email")
        return (_subscriber(row) for row in rows)

    def attribute_names(self) -> list[str]:
        rows = self.db.execute("SELECT DISTINCT key FROM subscribers, json_each(subscribers.attributes) ORDER BY key")
        return [key for (key,) in rows]


COLUMNS = "email, name, attributes, status, public_id, created_at"


def _row(s: Subscriber, stamp: str, public_id: str) -> tuple[str, str | None, str, str, str, str, str]:
    attributes = orjson.dumps(s.attributes, option=orjson.OPT_SORT_KEYS).decode() if s.attributes else "{}"
    return (s.email, s.name, attributes, s.status, s.created_at or stamp, stamp, public_id)


def _public_ids(count: int) -> Iterator[str]:
    """`count` fresh random link ids (as links.new_public_id makes them), from one read of the
    system's random source rather than one per subscriber."""
    raw = os.urandom(PUBLIC_ID_BYTES * count)
    for start in range(0, len(raw), PUBLIC_ID_BYTES):
        yield base64.urlsafe_b64encode(raw[start : start + PUBLIC_ID_BYTES]).decode()


def _subscriber(row: tuple[str, str | None, str, str, str, str]) -> Subscriber:
    email, name, attributes, status, public_id, created_at = row
    return Subscriber(email, name, json.loads(attributes), Status(status), public_id, created_at)
