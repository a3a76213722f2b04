"""Readers go through automations as the clock moves: the welcome sequence, a tag trigger, both
branches of an if, a reader who leaves mid-way, and the send window in the reader's own zone.
Each on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from newsletter.db.clicks import Click
from newsletter.db.connection import now
from newsletter.models import State, Status
from tests.automations.conftest import Clock, confirm, open_db, run, write_automation, write_email
from tests.helpers.cli import run as cli
from tests.helpers.outbox import delivered
from tests.helpers.workspace import add_config


def subjects(workspace: Path) -> dict[str, list[str]]:
    """Each address's subjects, in the order the outbox got them."""
    from email.parser import BytesHeaderParser
    from email.utils import parseaddr

    found: dict[str, list[str]] = {}
    folder = workspace / "outbox" / "new"
    for path in sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime_ns) if folder.is_dir() else []:
        with path.open("rb") as handle:
            headers = BytesHeaderParser().parse(handle)
        found.setdefault(parseaddr(str(headers["To"]))[1], []).append(str(headers["Subject"]))
    return found


def test_a_reader_the_editor_adds_active_is_welcomed_and_a_pending_signup_is_not_yet(welcome: Path, env, clock: Clock) -> None:
    cli("subscribers", "add", "bo@example.com", cwd=welcome, env=env, ok=True)
    with open_db(welcome, env) as db:
        db.subscribers.sign_up("cy@example.com", None)  # has not confirmed: not on the list yet
    report = run(welcome, clock)
    assert report.enrolled["welcome"] == 1
    assert subjects(welcome) == {"bo@example.com": ["Welcome aboard"]}


@pytest.mark.slow  # five runs, about 0.3 s
def test_a_confirmed_reader_goes_through_the_welcome_sequence_as_the_clock_moves(welcome: Path, env, clock: Clock) -> None:
    with open_db(welcome, env) as db:
        confirm(db, "ada@example.com")
    report = run(welcome, clock)
    assert report.enrolled["welcome"] == 1
    assert subjects(welcome) == {"ada@example.com": ["Welcome aboard"]}

    clock.move(days=1)
    run(welcome, clock)
    run(welcome, clock)  # every minute from cron: nothing is due, nothing is sent
    assert delivered(welcome) == {"ada@example.com": 1}

    clock.move(days=1, minutes=1)
    report = run(welcome, clock)
    assert subjects(welcome) == {"ada@example.com": ["Welcome aboard", "Where to start reading"]}
    assert report.finished == 1
    with open_db(welcome, env) as db:
        assert db.audience.tags("ada@example.com") == ["welcomed"]
        assert db.ledger.counts("auto-welcome-1")[State.SENT] == 1 and db.ledger.counts("auto-welcome-3t1")[State.SENT] == 1
        assert db.reports.issues() == []  # an automation's emails are not issues: no report lists them

    clock.move(days=30)
    run(welcome, clock)
    assert delivered(welcome) == {"ada@example.com": 2}  # done is done
    shown = cli("automations", "status", cwd=welcome, ok=True).output
    assert "done: 1" in shown and "send emails/welcome-2.yaml" in shown


def test_a_reader_who_clicked_the_first_email_takes_the_other_branch(welcome: Path, env, clock: Clock) -> None:
    add_config(welcome, '[tracking]\nclicks = "reader"\n')
    with open_db(welcome, env) as db:
        confirm(db, "ada@example.com")
        confirm(db, "bob@example.com")
    run(welcome, clock)
    with open_db(welcome, env) as db:
        db.clicks.record([Click("auto-welcome-1", "1", "https://example.org/robots/towels", now(), "ada@example.com")])
    clock.move(days=2, minutes=1)
    run(welcome, clock)
    assert delivered(welcome) == {"ada@example.com": 1, "bob@example.com": 2}
    with open_db(welcome, env) as db:
        assert db.audience.tags("ada@example.com") == db.audience.tags("bob@example.com") == ["welcomed"]


def test_a_tag_enrolls_a_reader_and_if_not_tagged_branches(welcome: Path, env, clock: Clock) -> None:
    write_email(welcome, "vip.yaml", "A note for our VIPs")
    write_automation(welcome, "vip", """\
trigger:
  subscriber.tagged: vip
steps:
  - if: not tagged press
    then:
      - send: emails/vip.yaml
    else:
      - tag: press-vip
""")
    with open_db(welcome, env) as db:
        db.subscribers.upsert([])  # nothing: the list exists
        confirm(db, "ada@example.com")
        confirm(db, "bob@example.com")
        db.audience.tag(["bob@example.com"], add=["press"])
    run(welcome, clock)
    with open_db(welcome, env) as db:
        db.audience.tag(["ada@example.com", "bob@example.com"], add=["vip"])
    report = run(welcome, clock)
    assert report.enrolled["vip"] == 2
    assert subjects(welcome)["ada@example.com"] == ["Welcome aboard", "A note for our VIPs"]
    assert subjects(welcome)["bob@example.com"] == ["Welcome aboard"]
    with open_db(welcome, env) as db:
        assert "press-vip" in db.audience.tags("bob@example.com")
        db.audience.tag(["ada@example.com"], add=["vip"])  # tagged again: already has it, no second time
    run(welcome, clock)
    assert delivered(welcome)["ada@example.com"] == 2


def test_a_reader_who_unsubscribes_mid_way_leaves_every_automation(welcome: Path, env, clock: Clock) -> None:
    with open_db(welcome, env) as db:
        confirm(db, "ada@example.com")
        confirm(db, "bob@example.com")
    run(welcome, clock)
    with open_db(welcome, env) as db:
        db.subscribers.set_status(["ada@example.com"], Status.UNSUBSCRIBED)
    clock.move(days=2, minutes=1)
    report = run(welcome, clock)
    assert report.left == 1
    assert delivered(welcome) == {"ada@example.com": 1, "bob@example.com": 2}
    with open_db(welcome, env) as db:
        assert "welcomed" not in db.audience.tags("ada@example.com")
        assert db.automations.left_by_status("welcome") == {"unsubscribed": 1}
    assert "left: 1 (1 unsubscribed)" in cli("automations", "status", cwd=welcome, ok=True).output


def test_a_pending_copy_of_a_reader_who_left_is_skipped(welcome: Path, env, clock: Clock) -> None:
    with open_db(welcome, env) as db:
        confirm(db, "ada@example.com")
        db.automations.queue("auto-welcome-1", "ada@example.com")  # queued by a run that stopped before sending
        db.subscribers.set_status(["ada@example.com"], Status.BOUNCED)
    run(welcome, clock)
    assert delivered(welcome) == {}
    with open_db(welcome, env) as db:
        assert db.ledger.counts("auto-welcome-1")[State.SKIPPED] == 1


def test_a_send_step_waits_for_the_window_in_the_readers_own_zone(welcome: Path, env) -> None:
    add_config(welcome, '[automations]\nsend_window = "09:00-17:00"\ntime_zone = "Europe/Paris"\n')
    clock = Clock(dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC))  # 12:00 in Tokyo, 22:00 in New York, 04:00 in Paris
    with open_db(welcome, env) as db:
        confirm(db, "tokyo@example.com", {"timezone": "Asia/Tokyo"})
        confirm(db, "newyork@example.com", {"time_zone": "America/New_York"})
        confirm(db, "paris@example.com")  # no zone of their own: the newsletter's
        confirm(db, "nowhere@example.com", {"timezone": "Mars/Olympus"})  # not a zone: the newsletter's
    run(welcome, clock)
    assert set(delivered(welcome)) == {"tokyo@example.com"}

    clock.now = dt.datetime(2026, 12, 7, 8, 1, tzinfo=dt.UTC)  # 09:01 in Paris, 03:01 in New York
    run(welcome, clock)
    assert set(delivered(welcome)) == {"tokyo@example.com", "paris@example.com", "nowhere@example.com"}

    clock.now = dt.datetime(2026, 12, 7, 14, 0, tzinfo=dt.UTC)  # 09:00 in New York
    run(welcome, clock)
    assert delivered(welcome) == dict.fromkeys(["tokyo@example.com", "paris@example.com", "nowhere@example.com", "newyork@example.com"], 1)


def test_an_erased_reader_leaves_no_trace_in_the_automations(welcome: Path, env, clock: Clock) -> None:
    with open_db(welcome, env) as db:
        confirm(db, "ada@example.com")
    run(welcome, clock)
    cli("subscribers", "erase", "ada@example.com", "--yes", cwd=welcome, ok=True)
    clock.move(days=2, minutes=1)
    run(welcome, clock)
    assert delivered(welcome) == {"ada@example.com": 1}
    with open_db(welcome, env) as db:
        assert db.automations.counts("welcome") == {}
        assert not db.records.holds("ada@example.com")
