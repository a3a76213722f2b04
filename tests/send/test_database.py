"""The database: upgrading one written by the first release, and query plans that stay flat at any size."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.db.migrations import SCHEMA_VERSION
from newsletter.models import State, Status

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "subscribers-v1.db"


@pytest.fixture
def old_database(tmp_path: Path) -> Path:
    """A copy of a database the first release (schema 1) wrote: see tests/fixtures/make_v1_database.py."""
    path = tmp_path / "subscribers.db"
    shutil.copy(FIXTURE, path)
    return path


def rows(path: Path, query: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(query).fetchall()


def test_a_database_from_the_first_release_is_upgraded_with_its_data_intact(old_database: Path) -> None:
    assert rows(old_database, "PRAGMA user_version") == [(1,)]
    before_people = rows(old_database, "SELECT email, name, status, created_at FROM subscribers ORDER BY email")
    before_ledger = rows(old_database, "SELECT issue, email, state, send_id, attempts, message_id, detail FROM deliveries ORDER BY issue, email")

    with Database(old_database) as db:
        people = {s.email: s for s in db.subscribers.all()}
        assert db.ledger.counts("7") == {**{state: 0 for state in State}, State.SENT: 2, State.FAILED: 1, State.UNKNOWN: 3}
        failed = db.ledger.deliveries("7", [State.FAILED])
        schedule = db.ledger.schedule("8")

    assert rows(old_database, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    # Every subscriber and every ledger row is still there, unchanged.
    after_ledger = rows(old_database, "SELECT issue, email, state, send_id, attempts, message_id, detail FROM deliveries ORDER BY issue, email")
    assert after_ledger == before_ledger
    expected = {email: (name, status, created) for email, name, status, created in before_people}
    expected["hal@example.com"] = ("Hal", "unsubscribed", expected["hal@example.com"][2])  # see below
    assert {s.email: (s.name, s.status, s.created_at) for s in people.values()} == expected
    assert people["ada@example.com"].attributes == {"city": "Leith", "plan": "paid"}
    assert people["gus@example.com"].name == 'Gus = Greene, "G"'
    assert [d.detail for d in failed] == ["SendGrid: does not contain a valid address"]
    # Each subscriber now has its own random link id.
    ids = [s.public_id for s in people.values()]
    assert all(ids) and len(set(ids)) == len(ids)
    # The SendGrid schedule of issue 8 is kept, as held by the provider.
    assert schedule is not None and (schedule.batch_id, schedule.held_by, schedule.provider) == ("batch-abc", "provider", "sendgrid")


def test_the_upgrade_restores_the_status_the_first_release_filed_as_an_attribute(old_database: Path) -> None:
    """Schema 1 imported an export's `status` column as an attribute and made everyone active."""
    with Database(old_database) as db:
        hal = db.subscribers.get("hal@example.com")
        ida = db.subscribers.get("ida@example.com")
    assert hal is not None and (hal.status, hal.attributes) == (Status.UNSUBSCRIBED, {"plan": "free"})
    assert ida is not None and (ida.status, ida.attributes) == (Status.ACTIVE, {})


def test_an_upgraded_database_sends_on(old_database: Path) -> None:
    with Database(old_database) as db:
        db.ledger.prepare("9")
        claimed = db.ledger.claim("9", 100, "run-1", 0.0).recipients
    assert sorted(r.email for r in claimed) == ["ada@example.com", "bo@example.com", "chidi@example.org", "gus@example.com", "ida@example.com"]
    assert all(r.public_id for r in claimed)


# --- query plans -------------------------------------------------------------------------------------


def test_each_per_batch_query_uses_an_index(tmp_path: Path) -> None:
    """Every statement the ledger runs for a batch (claim, mark, settle, next due) searches an
    index; none scans a table or sorts, so a batch costs the same at any list size."""
    from newsletter.db import Settlement
    from newsletter.models import Subscriber

    with Database(tmp_path / "subscribers.db") as db:
        db.subscribers.upsert(Subscriber(f"r{n:04d}@example.com") for n in range(50))
        db.ledger.prepare("7")
        statements: list[str] = []
        db.connection.db.set_trace_callback(statements.append)
        claim = db.ledger.claim("7", 10, "send-1", 0.0)
        db.ledger.settle(claim, {claim.recipients[0].email: Settlement(State.SENT)}, Settlement(State.PENDING))
        claim = db.ledger.claim("7", 10, "send-2", 0.0)
        db.ledger.settle(claim, {r.email: Settlement(State.SENT, None, None, "msg-1") for r in claim.recipients}, Settlement(State.PENDING))
        db.ledger.next_due("7")
        db.connection.db.set_trace_callback(None)
        queries = [sql for sql in statements if sql.lstrip().upper().startswith(("SELECT", "UPDATE"))]
        assert len(queries) >= 5
        for sql in dict.fromkeys(queries):  # each distinct statement once
            plan = " | ".join(row[3] for row in db.connection.db.execute("EXPLAIN QUERY PLAN " + sql))
            assert "SEARCH" in plan, (sql, plan)
            assert "SCAN" not in plan and "TEMP B-TREE" not in plan, (sql, plan)
            # Never the primary-key walk over every row of the issue, sent ones included:
            if "LIMIT" in sql or "min(not_before)" in sql or "state = 'pending' AND email BETWEEN" in sql:
                assert "USING INDEX deliveries_pending" in plan, (sql, plan)
            if "state = 'sending' AND email BETWEEN" in sql:
                assert "USING INDEX deliveries_sending (issue=? AND email>? AND email<?)" in plan, (sql, plan)


@pytest.mark.slow
def test_the_ledger_loop_costs_the_same_per_batch_at_any_size(tmp_path: Path) -> None:
    """Claim and settle 20 batches from a ledger of 20,000 rows, most already sent: no claim reads
    more rows than its batch (counted by SQLite's virtual machine steps)."""
    from newsletter.db import Settlement
    from newsletter.models import Subscriber

    with Database(tmp_path / "subscribers.db") as db:
        db.subscribers.upsert(Subscriber(f"r{n:06d}@example.com") for n in range(20_000))
        db.ledger.prepare("1")
        steps: list[int] = []

        def count_steps(_: object = None) -> int:
            steps[-1] += 1
            return 0

        db.connection.db.set_progress_handler(lambda: count_steps(), 100)
        for batch in range(20):
            steps.append(0)
            claim = db.ledger.claim("1", 1000, f"send-{batch}", 0.0)
            db.ledger.settle(claim, {r.email: Settlement(State.SENT) for r in claim.recipients}, Settlement(State.PENDING))
        db.connection.db.set_progress_handler(None, 0)
    # The first and the last batch do the same work, though the last walks past 19,000 sent rows.
    assert steps[-1] <= steps[0] * 1.2, steps
