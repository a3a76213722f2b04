"""Moving between the databases: PostgreSQL's migration of the first release's schema, and
`db copy` there and back with every table compared. (Creating, refusing and failing upgrades are
in the contract, test_contract.py, on both databases.)"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import psycopg
import pytest

from newsletter.db import Database, Event, Server, Settlement, StoreError
from newsletter.db.copying import compare_databases, copy_database
from newsletter.db.migrations import POSTGRES_MIGRATIONS, SCHEMA_VERSION
from newsletter.models import State, Status, Subscriber

V1_FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "subscribers-v1.db"


def filled(location) -> None:
    """A database with rows in every table: subscribers, a ledger mid-send, events, notices, schedules."""
    with Database(location) as db:
        db.subscribers.upsert(Subscriber(f"r{n:03d}@example.com", f"Rë {n}" if n % 3 else None, {"n": str(n)}, Status.ACTIVE) for n in range(120))
        db.subscribers.sign_up("new@example.com", None)
        db.ledger.prepare("1")
        claim = db.ledger.claim("1", 50, "s-1", time.time())
        db.ledger.mark_handed_over(claim)
        db.ledger.settle(claim, {"r001@example.com": Settlement(State.FAILED, "refused")}, Settlement(State.SENT, message_id="m"))
        db.ledger.mark_handed_over(db.ledger.claim("1", 10, "s-2", time.time()))  # in flight
        db.ledger.settle(db.ledger.claim("1", 5, "s-3", time.time()), {}, Settlement(State.PENDING, "deferred", not_before=time.time() + 0.5))
        db.ledger.record_issue("1", "issues/one.yaml", "One", "fp")
        db.events.record([Event("e1", "click", "r002@example.com", "1", "s-1", "2026-12-01T08:00:00+00:00", "https://example.com/ü")], "sendgrid")
        db.notices.record("confirm", "new@example.com", "outbox", "sent", None)
        db.audience.tag(["r001@example.com", "r002@example.com"], add=["ai", "VIP readers"])
        db.audience.choose_topics("r001@example.com", {"weekly": False, "ai": True})
        with db.transaction():
            db.audience.record_consent("r001@example.com", "import", "list.csv")
            db.audience.suppress("gone@example.com", "erased at their request")


def test_postgresql_migrates_the_first_releases_schema_as_sqlite_does(pg_url: str, tmp_path: Path) -> None:
    """The rows of the first release's database, in PostgreSQL's schema 1, come out of the
    upgrade exactly as they do from SQLite's (link ids aside: those are new random ones)."""
    with sqlite3.connect(V1_FIXTURE) as old, psycopg.connect(pg_url, autocommit=True) as raw:
        raw.execute(POSTGRES_MIGRATIONS[0])
        raw.execute("CREATE TABLE newsletter_schema (version INTEGER NOT NULL); INSERT INTO newsletter_schema VALUES (1)")
        for table in ("subscribers", "deliveries", "schedules"):
            rows = old.execute(f"SELECT * FROM {table}").fetchall()
            marks = ", ".join(["%s"] * len(rows[0]))
            raw.cursor().executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    sqlite_copy = tmp_path / "v1.db"
    shutil.copy(V1_FIXTURE, sqlite_copy)

    with Database(Server(pg_url)) as pg, Database(sqlite_copy) as lite:
        assert pg.connection.migrated_from == 1 and pg.connection.version() == SCHEMA_VERSION
        for query in (
            "SELECT email, name, attributes, status, created_at, updated_at, status_changed_at, soft_bounces FROM subscribers ORDER BY email",
            "SELECT * FROM deliveries ORDER BY issue, email",
            "SELECT issue, send_at, provider, held_by, batch_id, file FROM schedules ORDER BY issue",
        ):
            mine, theirs = pg.connection.db.execute(query).fetchall(), lite.connection.db.execute(query).fetchall()
            assert [_normalized(row) for row in mine] == [_normalized(row) for row in theirs], query
        ids = [s.public_id for s in pg.subscribers.all()]
        assert all(len(i) == 24 for i in ids) and len(set(ids)) == len(ids)
        assert pg.subscribers.get("hal@example.com").status == Status.UNSUBSCRIBED


def _normalized(row: tuple) -> tuple:
    """JSON text as data: PostgreSQL writes a changed attributes object with spaces."""
    import json

    return tuple(json.loads(value) if isinstance(value, str) and value.startswith("{") else value for value in row)


def test_copy_from_sqlite_to_postgresql_and_back_loses_nothing(pg_url: str, tmp_path: Path) -> None:
    source, back = tmp_path / "source.db", tmp_path / "back.db"
    filled(source)
    with Database(source) as lite, Database(Server(pg_url)) as pg:
        report = copy_database(lite, pg)
        assert report.rows["subscribers"] == 121 and report.rows["events"] == 1 and report.rows["handovers"] == 1
    with Database(Server(pg_url)) as pg, Database(back) as lite_again:
        copy_database(pg, lite_again)
    with Database(source) as first, Database(back) as last:
        counts = compare_databases(first, last)
    assert counts["deliveries"] == 120 and counts["status_changes"] == 1
    # The copy is a working database: new rows number on after the copied ones, and the send resumes.
    with Database(Server(pg_url)) as pg:
        pg.notices.record("welcome", "new@example.com", "outbox", "sent", None)
        assert [kind for kind, _, _ in pg.notices.sent_to("new@example.com")] == ["confirm", "welcome"]
        pg.audience.tag(["r003@example.com"], add=["late"])  # the outbox's copied events number on too
        newest, copied = pg.event_outbox.recent(2)
        assert newest.data["tag"] == "late" and newest.id > copied.id
        pg.ledger.prepare("1")
        counts_after = pg.ledger.counts("1")
        assert counts_after[State.UNKNOWN] == 10 and counts_after[State.SENT] == 49


def test_copy_refuses_a_destination_that_is_not_empty(pg_url: str, tmp_path: Path) -> None:
    source = tmp_path / "source.db"
    filled(source)
    with Database(Server(pg_url)) as pg:
        pg.subscribers.upsert([Subscriber("someone@example.com", None, {}, Status.ACTIVE)])
    with Database(source) as lite, Database(Server(pg_url)) as pg, pytest.raises(StoreError, match="not empty"):
        copy_database(lite, pg)
    with Database(Server(pg_url)) as pg:
        assert [s.email for s in pg.subscribers.all()] == ["someone@example.com"]


def test_a_copy_that_does_not_compare_equal_is_rolled_back(pg_url: str, tmp_path: Path, monkeypatch) -> None:
    import newsletter.db.copying as copying

    source = tmp_path / "source.db"
    filled(source)
    real_fill = copying._fill

    def lossy(connection, table, columns, rows):  # a copy that drops a row on the way
        rows = iter(rows)
        if table == "deliveries":
            next(rows)
        return real_fill(connection, table, columns, rows)

    monkeypatch.setattr(copying, "_fill", lossy)
    with Database(source) as lite, Database(Server(pg_url)) as pg, pytest.raises(StoreError, match="nothing was copied"):
        copy_database(lite, pg)
    with Database(Server(pg_url)) as pg:
        assert pg.connection.db.execute("SELECT count(*) FROM subscribers").fetchone()[0] == 0


SCHEMA_5_ROWS = (
    "INSERT INTO subscribers (email, name, attributes, status, created_at, updated_at, public_id, status_changed_at)"
    " VALUES ('ada@example.com', 'Ada', '{\"plan\": \"pro\"}', 'active', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00', 'aaaaaaaaaaaaaaaa', NULL)",
    "INSERT INTO deliveries (issue, email, state, updated_at) VALUES ('3', 'ada@example.com', 'sent', '2026-02-01T00:00:00+00:00')",
    "INSERT INTO issues (issue, file, subject, fingerprint, first_fingerprint, updated_at) VALUES ('3', 'issues/3.yaml', 'Three', 'f', 'f', '2026-02-01T00:00:00+00:00')",
)


def _upgraded_from_schema_5(db: Database) -> None:
    """What an upgrade from the schema before the audience keeps, and what it adds."""
    assert db.connection.migrated_from == 5 and db.connection.version() == SCHEMA_VERSION
    ada = db.subscribers.get("ada@example.com")
    assert ada is not None and ada.status == Status.ACTIVE and ada.attributes == {"plan": "pro"} and ada.public_id == "aaaaaaaaaaaaaaaa"
    assert db.ledger.counts("3")[State.SENT] == 1
    assert db.connection.db.execute("SELECT segment FROM deliveries").fetchall() == [(None,)]  # sent to the whole list
    assert db.audience.tags("ada@example.com") == []
    assert db.audience.topics("ada@example.com", {"weekly": True, "ai": False}) == {"weekly": True, "ai": False}  # a reader from before topics: the defaults
    db.audience.tag(["ada@example.com"], add=["ai"])
    assert db.audience.tags("ada@example.com") == ["ai"]


def test_sqlite_upgrades_a_schema_5_database_keeping_every_row(tmp_path: Path) -> None:
    from newsletter.db.migrations import MIGRATIONS

    path = tmp_path / "v5.db"
    with sqlite3.connect(path) as raw:
        for step in MIGRATIONS[:5]:
            raw.executescript(step)
        for row in SCHEMA_5_ROWS:
            raw.execute(row)
        raw.execute("PRAGMA user_version = 5")
    with Database(path) as db:
        _upgraded_from_schema_5(db)


def test_postgresql_upgrades_a_schema_5_database_keeping_every_row(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as raw:
        for step in POSTGRES_MIGRATIONS[:5]:
            raw.execute(step)
        raw.execute("CREATE TABLE newsletter_schema (version INTEGER NOT NULL); INSERT INTO newsletter_schema VALUES (5)")
        for row in SCHEMA_5_ROWS:
            raw.execute(row)
    with Database(Server(pg_url)) as db:
        _upgraded_from_schema_5(db)
