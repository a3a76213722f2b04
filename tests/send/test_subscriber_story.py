"""`newsletter subscribers show | edit | erase | purge-pending`, and what `add`, `remove`, `import` and
`list` do around them, from the command line, on SQLite and on PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from newsletter.models import Status
from newsletter.subscribers.rules import sign_up
from tests.helpers.both_databases import BOTH, database, database_env
from tests.helpers.cli import run

ADA = "ada@example.com"


@pytest.fixture(params=BOTH)
def env(request, in_workspace: Path) -> Mapping[str, str]:
    """The environment each command runs in: the workspace's SQLite file, or a fresh PostgreSQL database."""
    return database_env(request)


def test_show_tells_a_subscribers_story_as_text_and_json(in_workspace: Path, env: Mapping[str, str]) -> None:
    run("subscribers", "add", ADA, "--name", "Ada", "--attr", "city=Porto", env=env, ok=True)
    run("subscribers", "unsubscribe", ADA, env=env, ok=True)
    shown = run("subscribers", "show", "Ada@Example.com", env=env, ok=True).output
    assert shown.startswith(f"{ADA} (Ada)\n  status      unsubscribed since ")
    assert "attributes  city=Porto" in shown and "consent     editor at " in shown
    assert "topics" not in shown  # the workspace has no [topics]
    history = shown.split("history:\n")[1].split("\n")[0]
    assert "unsubscribed" in history and "command line" in history
    story = json.loads(run("subscribers", "show", ADA, "--json", env=env, ok=True).output)
    assert (story["email"], story["status"], story["attributes"], story["consent"]["method"]) == (ADA, "unsubscribed", {"city": "Porto"}, "editor")
    assert [(c["status"], c["channel"]) for c in story["history"]] == [("unsubscribed", "command line")]
    missing = run("subscribers", "show", "nobody@example.com", env=env)
    assert missing.exit_code == 1 and "nobody@example.com is not a subscriber" in missing.output and "Traceback" not in missing.output


def test_show_lists_topics_when_the_workspace_has_them(in_workspace: Path) -> None:
    with (in_workspace / "newsletter.toml").open("a") as settings:
        settings.write('\n[topics.news]\nname = "News"\n\n[topics.deep-dives]\nname = "Deep dives"\ndefault = false\n')
    run("subscribers", "add", ADA, ok=True)
    assert "topics      news: yes, deep-dives: no" in run("subscribers", "show", ADA, ok=True).output
    assert json.loads(run("subscribers", "show", ADA, "--json", ok=True).output)["topics"] == {"news": True, "deep-dives": False}


def test_edit_changes_the_address_and_name_and_refuses_one_taken(in_workspace: Path, env: Mapping[str, str]) -> None:
    run("subscribers", "add", ADA, "--name", "Ada", env=env, ok=True)
    run("subscribers", "add", "bo@example.com", env=env, ok=True)
    with database(in_workspace, env) as db:
        public_id = db.subscribers.get(ADA).public_id
    taken = run("subscribers", "edit", ADA, "--email", "bo@example.com", env=env)
    assert taken.exit_code == 1 and "bo@example.com is already on the list; nothing was changed" in taken.output
    unusable = run("subscribers", "edit", ADA, "--email", "not an address", env=env)
    assert unusable.exit_code == 1 and "not a usable email address" in unusable.output
    edited = run("subscribers", "edit", ADA, "--email", "Ada@New.Example.org", "--name", "Ada L", env=env, ok=True)
    assert f"{ADA} is now ada@new.example.org" in edited.output
    with database(in_workspace, env) as db:
        moved = db.subscribers.get("ada@new.example.org")
        assert (moved.name, moved.public_id, db.subscribers.get(ADA)) == ("Ada L", public_id, None)
    assert "address changed  command line" in run("subscribers", "show", "ada@new.example.org", env=env, ok=True).output
    assert run("subscribers", "edit", "ada@new.example.org", env=env).exit_code == 1  # nothing to change


def test_erase_then_import_skips_the_address_and_counts_it(in_workspace: Path, env: Mapping[str, str]) -> None:
    run("subscribers", "add", ADA, env=env, ok=True)
    asked = run("subscribers", "erase", ADA, input="n\n", env=env)
    assert asked.exit_code == 1 and "Erase ada@example.com for good" in asked.output  # not confirmed: nothing changed
    with database(in_workspace, env) as db:
        assert db.subscribers.get(ADA) is not None
    assert "erased" in run("subscribers", "erase", ADA, "--yes", env=env, ok=True).output
    (in_workspace / "list.csv").write_text(f"email\n{ADA}\nbo@example.com\n", encoding="utf-8")
    imported = run("subscribers", "import", "list.csv", env=env, ok=True)
    assert "1 added, 0 updated, 1 suppressed: erased at their request" in imported.output
    refused = run("subscribers", "add", ADA, "--resubscribe", env=env)
    assert refused.exit_code == 1 and "only their own signup, confirmed from their inbox, can bring them back" in refused.output
    with database(in_workspace, env) as db:
        assert sorted(s.email for s in db.subscribers.all()) == ["bo@example.com"]
    again = run("subscribers", "erase", ADA, "--yes", env=env)
    assert again.exit_code == 1 and "no records hold it" in again.output


def test_remove_refuses_someone_who_left_unless_forget(in_workspace: Path, env: Mapping[str, str]) -> None:
    run("subscribers", "add", ADA, env=env, ok=True)
    run("subscribers", "unsubscribe", ADA, env=env, ok=True)
    refused = run("subscribers", "remove", ADA, env=env)
    assert refused.exit_code == 1 and "is unsubscribed: removing them would let a later import add them as active again" in refused.output
    (in_workspace / "list.csv").write_text(f"email\n{ADA}\n", encoding="utf-8")
    run("subscribers", "import", "list.csv", env=env, ok=True)
    with database(in_workspace, env) as db:
        assert db.subscribers.get(ADA).status == Status.UNSUBSCRIBED  # the row kept them off the list
    forgotten = run("subscribers", "remove", ADA, "--forget", env=env, ok=True)
    assert "warning: nothing now remembers that ada@example.com left" in forgotten.output
    assert "removed" in forgotten.output


def test_purge_pending_counts_removes_old_signups_and_keeps_confirmed_ones(in_workspace: Path, env: Mapping[str, str]) -> None:
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=45)).isoformat(timespec="seconds")
    with database(in_workspace, env) as db:
        for email in ("old@example.com", "older@example.com", "new@example.com"):
            sign_up(db, email, None)
        for email in ("old@example.com", "older@example.com"):
            db.connection.db.execute("UPDATE subscribers SET created_at = ?, status_changed_at = ? WHERE email = ?", (long_ago, long_ago, email))
            db.connection.db.execute("UPDATE notice_queue SET queued_at = ? WHERE email = ?", (long_ago, email))
    run("subscribers", "add", "kept@example.com", env=env, ok=True)
    listing = run("subscribers", "list", "--status", "pending", env=env, ok=True).output
    assert "pending  3" in listing and listing.rstrip().endswith("new@example.com\nold@example.com\nolder@example.com")

    dry = run("subscribers", "purge-pending", "--older-than", "30d", "--dry-run", env=env, ok=True)
    assert "2 signup(s) never confirmed and older than 30d would be removed" in dry.output
    assert run("subscribers", "purge-pending", "--older-than", "50d", env=env, ok=True).output.startswith("0 signup(s)")
    assert "2 signup(s) never confirmed and older than 30d removed" in run("subscribers", "purge-pending", "--older-than", "30d", env=env, ok=True).output
    with database(in_workspace, env) as db:
        assert sorted(s.email for s in db.subscribers.all()) == ["kept@example.com", "new@example.com"]
    bad = run("subscribers", "purge-pending", "--older-than", "a month", env=env)
    assert bad.exit_code == 1 and "such as 30d, 12h or 4w" in bad.output
