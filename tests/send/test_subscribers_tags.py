"""Tags and topics from the command line: `subscribers tag` and `subscribers topics`, the tags and
topics columns of import and export, Mailchimp's and listmonk's lists, and `subscribers list`'s
filters."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.models import Status
from tests.helpers.cli import run
from tests.helpers.workspace import add_config

TOPICS = '[topics.news]\nname = "The news"\n\n[topics.events]\nname = "Events"\ndefault = false\n'


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def tags(workspace: Path) -> dict[str, list[str]]:
    with Database(workspace / "subscribers.db") as db:
        return {s.email: db.audience.tags(s.email) for s in db.subscribers.all()}


def topics(workspace: Path) -> dict[str, dict[str, bool]]:
    with Database(workspace / "subscribers.db") as db:
        return {s.email: db.audience.topics(s.email, {"news": True, "events": False}) for s in db.subscribers.all()}


def add(*emails: str) -> None:
    for email in emails:
        run("subscribers", "add", email, ok=True)


# --- subscribers tag ----------------------------------------------------------------------------


def test_tag_adds_and_removes_and_names_the_addresses_not_on_the_list(in_workspace: Path) -> None:
    add("ada@example.com", "bo@example.com")
    result = run("subscribers", "tag", "Ada@Example.com", "bo@example.com", "x@example.com", "y@example.com", "--add", "vip", "--add", "  early   reader ")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2 subscriber(s) changed; 2 not on the list: x@example.com, y@example.com"
    assert tags(in_workspace) == {"ada@example.com": ["early reader", "vip"], "bo@example.com": ["early reader", "vip"]}

    result = run("subscribers", "tag", "ada@example.com", "bo@example.com", "--remove", "vip", "--add", "paid")
    assert result.output.strip() == "2 subscriber(s) changed"
    again = run("subscribers", "tag", "ada@example.com", "--add", "paid")
    assert again.output.strip() == "0 subscriber(s) changed"
    assert tags(in_workspace) == {"ada@example.com": ["early reader", "paid"], "bo@example.com": ["early reader", "paid"]}
    assert "x@example.com" not in tags(in_workspace)  # tagging never puts anyone on the list


def test_a_bad_tag_or_address_changes_nothing(in_workspace: Path) -> None:
    add("ada@example.com")
    bad_tag = run("subscribers", "tag", "ada@example.com", "--add", "ok", "--add", 'say "hi"')
    assert bad_tag.exit_code == 1 and "--add 'say \"hi\"'" in bad_tag.output and "nothing was changed" in bad_tag.output
    bad_address = run("subscribers", "tag", "ada@example.com", "not-an-address", "--add", "ok")
    assert bad_address.exit_code == 1 and "'not-an-address' is not a usable email address" in bad_address.output
    both = run("subscribers", "tag", "ada@example.com", "--add", "ok", "--remove", "ok")
    assert both.exit_code == 2 and "both added and removed" in both.output
    nothing = run("subscribers", "tag", "ada@example.com")
    assert nothing.exit_code == 2 and "--add TAG or --remove TAG" in nothing.output
    assert tags(in_workspace) == {"ada@example.com": []}
    assert "Traceback" not in bad_tag.output + bad_address.output + both.output


def test_tag_from_a_file_of_addresses_or_a_csv_file(in_workspace: Path) -> None:
    add("ada@example.com", "bo@example.com", "cy@example.com")
    plain = write(in_workspace / "people.txt", "ada@example.com\n\n Bo@Example.com \nnobody@example.com\n")
    result = run("subscribers", "tag", "--from-file", str(plain), "--add", "fair")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2 subscriber(s) changed; 1 not on the list: nobody@example.com"
    exported = write(in_workspace / "export.csv", "name,Email Address\nCy,cy@example.com\nAda,ada@example.com\n")
    result = run("subscribers", "tag", "--from-file", str(exported), "--add", "csv")
    assert result.output.strip() == "2 subscriber(s) changed"
    assert tags(in_workspace) == {"ada@example.com": ["csv", "fair"], "bo@example.com": ["fair"], "cy@example.com": ["csv"]}


def test_a_bad_address_in_the_file_is_named_with_its_line_and_nothing_changes(in_workspace: Path) -> None:
    add("ada@example.com")
    source = write(in_workspace / "people.txt", "ada@example.com\nada at example\n")
    result = run("subscribers", "tag", "--from-file", str(source), "--add", "fair")
    assert result.exit_code == 1
    assert "people.txt:2: 'ada at example' is not a usable email address" in result.output and "nothing was changed" in result.output
    assert tags(in_workspace) == {"ada@example.com": []}
    missing = run("subscribers", "tag", "--from-file", str(in_workspace / "absent.txt"), "--add", "fair")
    assert missing.exit_code != 0 and "absent.txt" in missing.output and "Traceback" not in missing.output


# --- subscribers topics -------------------------------------------------------------------------


def test_topics_need_a_workspace_with_topics(in_workspace: Path) -> None:
    add("ada@example.com")
    result = run("subscribers", "topics", "ada@example.com", "--add", "news")
    assert result.exit_code == 1 and "this workspace has no topics" in result.output and "[topics.<key>]" in result.output


def test_topics_are_chosen_explicitly_and_an_unknown_key_lists_the_topics(in_workspace: Path) -> None:
    add_config(in_workspace, TOPICS)
    add("ada@example.com", "bo@example.com")
    unknown = run("subscribers", "topics", "ada@example.com", "--add", "sport")
    assert unknown.exit_code == 1 and "'sport' is not one of this workspace's topics (news, events)" in unknown.output

    result = run("subscribers", "topics", "ada@example.com", "bo@example.com", "gone@example.com", "--add", "events", "--remove", "news")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2 subscriber(s) changed; 1 not on the list: gone@example.com"
    assert topics(in_workspace)["ada@example.com"] == {"news": False, "events": True}
    shown = run("subscribers", "topics", "ada@example.com")
    assert shown.output.strip() == "ada@example.com: events"
    assert run("subscribers", "topics", "ada@example.com", "--add", "events").output.strip() == "0 subscriber(s) changed"


# --- import and export ------------------------------------------------------------------------


def test_an_import_adds_the_tags_column_and_never_removes_tags(in_workspace: Path) -> None:
    add("ada@example.com")
    run("subscribers", "tag", "ada@example.com", "--add", "kept", ok=True)
    source = write(in_workspace / "list.csv", "email,name,tags\nada@example.com,Ada,vip; paid\nbo@example.com,Bo,\ncy@example.com,,trial\n")
    result = run("subscribers", "import", str(source))
    assert result.exit_code == 0, result.output
    assert tags(in_workspace) == {"ada@example.com": ["kept", "paid", "vip"], "bo@example.com": [], "cy@example.com": ["trial"]}
    with Database(in_workspace / "subscribers.db") as db:
        assert "tags" not in db.subscribers.get("ada@example.com").attributes


def test_a_bad_tag_or_topic_in_a_row_is_rejected_with_its_line_and_nothing_is_imported(in_workspace: Path) -> None:
    add_config(in_workspace, TOPICS)
    source = write(in_workspace / "list.csv", 'email,tags,topics\nada@example.com,vip,news\nbo@example.com,"a (b)",news\ncy@example.com,,sport\n')
    result = run("subscribers", "import", str(source))
    assert result.exit_code == 1
    assert "line 3: 'bo@example.com': column 'tags': 'a (b)': a tag is letters" in result.output
    assert "line 4: 'cy@example.com': column 'topics': 'sport' is not one of this workspace's topics (news, events)" in result.output
    assert tags(in_workspace) == {}
    skipped = run("subscribers", "import", str(source), "--skip-invalid")
    assert skipped.exit_code == 0 and tags(in_workspace) == {"ada@example.com": ["vip"]}


def test_a_topics_column_turns_the_listed_topics_on_and_the_others_off(in_workspace: Path) -> None:
    add_config(in_workspace, TOPICS)
    source = write(in_workspace / "list.csv", "email,topics\nada@example.com,events\nbo@example.com,(none)\nen@example.com,\n")
    assert run("subscribers", "import", str(source)).exit_code == 0
    no_column = write(in_workspace / "more.csv", "email\ncy@example.com\n")
    assert run("subscribers", "import", str(no_column)).exit_code == 0
    assert topics(in_workspace) == {
        "ada@example.com": {"news": False, "events": True},
        "bo@example.com": {"news": False, "events": False},  # `(none)`: none of them
        "cy@example.com": {"news": True, "events": False},  # no column: the defaults, nothing recorded
        "en@example.com": {"news": True, "events": False},  # an empty cell (other tools' exports): the same
    }


def test_a_topics_column_in_a_workspace_without_topics_is_rejected(in_workspace: Path) -> None:
    source = write(in_workspace / "list.csv", "email,topics\nada@example.com,news\n")
    result = run("subscribers", "import", str(source))
    assert result.exit_code == 1 and "column 'topics': this workspace has no [topics]" in result.output


def test_a_listmonk_list_becomes_a_tag_with_the_tag_option(in_workspace: Path) -> None:
    """listmonk exports one list at a time, with no column naming it (uuid, email, name, attributes,
    status, created_at, updated_at): --tag names it."""
    source = write(
        in_workspace / "listmonk.csv",
        "uuid,email,name,attributes,status,created_at,updated_at\n"
        "5e2b6c1e-0000-4000-8000-000000000001,ada@example.com,Ada,{},enabled,2024-02-03T04:05:06Z,2024-02-03T04:05:06Z\n",
    )
    result = run("subscribers", "import", str(source), "--tag", "Opt-in list", "--tag", "from listmonk")
    assert result.exit_code == 0, result.output
    assert tags(in_workspace) == {"ada@example.com": ["Opt-in list", "from listmonk"]}
    bad = run("subscribers", "import", str(source), "--tag", "a;b")
    assert bad.exit_code == 1 and "--tag 'a;b'" in bad.output


def test_export_writes_tags_and_topics_only_when_there_are_some(in_workspace: Path) -> None:
    add("ada@example.com")
    assert run("subscribers", "export").output.splitlines()[0] == "email,name,status,created_at,subscriber_id,status_changed_at"
    add_config(in_workspace, TOPICS)
    run("subscribers", "tag", "ada@example.com", "--add", "vip", "--add", "early reader", ok=True)
    run("subscribers", "topics", "ada@example.com", "--add", "events", ok=True)
    rows = list(csv.DictReader(io.StringIO(run("subscribers", "export").output)))
    assert [(r["email"], r["tags"], r["topics"]) for r in rows] == [("ada@example.com", "early reader;vip", "news;events")]


def round_trip(workspace: Path, fresh: Path, env: dict[str, str] | None, fresh_env: dict[str, str] | None) -> None:
    """Import a list with tags and topics, export it, import the export into `fresh`: the same
    export comes out."""
    add_config(workspace, TOPICS)
    source = write(
        workspace / "list.csv",
        "email,name,status,tags,topics,city\nada@example.com,Ada,active,vip;paid,events\nbo@example.com,Bo,unsubscribed,,(none)\n"
        "cy@example.com,,active,trial,news;events\ndee@example.com,Dee,active,,\n",
    )
    assert run("subscribers", "import", str(source), env=env).exit_code == 0
    run("subscribers", "topics", "dee@example.com", "--remove", "news", env=env, ok=True)
    exported = run("subscribers", "export", "--out", str(workspace / "export.csv"), env=env)
    assert exported.exit_code == 0, exported.output
    first = (workspace / "export.csv").read_text()
    assert first.splitlines()[0] == "email,name,status,created_at,subscriber_id,status_changed_at,tags,topics"

    (fresh / "newsletter.toml").write_text((workspace / "newsletter.toml").read_text())
    result = run("subscribers", "import", str(workspace / "export.csv"), env=fresh_env, cwd=fresh)
    assert result.exit_code == 0, result.output
    assert "4 added" in result.output
    again = run("subscribers", "export", env=fresh_env, cwd=fresh)
    assert again.output == first
    rows = {r["email"]: (r["tags"], r["topics"]) for r in csv.DictReader(io.StringIO(first))}
    assert rows == {
        "ada@example.com": ("paid;vip", "events"),
        "bo@example.com": ("", "(none)"),
        "cy@example.com": ("trial", "news;events"),
        "dee@example.com": ("", "(none)"),  # the defaults (an empty cell), then news removed
    }


def test_an_export_with_tags_and_topics_imports_back_unchanged(in_workspace: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    round_trip(in_workspace, fresh, None, None)


@pytest.mark.slow
def test_an_export_with_tags_and_topics_imports_back_unchanged_on_postgresql(in_workspace: Path, tmp_path: Path, postgres) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    round_trip(in_workspace, fresh, {"DATABASE_URL": postgres.new_database()}, {"DATABASE_URL": postgres.new_database()})


# --- subscribers list ---------------------------------------------------------------------------


def test_list_filters_by_tag_topic_and_status_pending(in_workspace: Path) -> None:
    add_config(in_workspace, TOPICS)
    add("ada@example.com", "bo@example.com", "cy@example.com")
    run("subscribers", "tag", "ada@example.com", "bo@example.com", "--add", "vip", ok=True)
    run("subscribers", "topics", "bo@example.com", "--remove", "news", ok=True)
    run("subscribers", "unsubscribe", "ada@example.com", ok=True)
    with Database(in_workspace / "subscribers.db") as db:
        db.subscribers.sign_up("new@example.com", None)

    def listed(*options: str) -> list[str]:
        result = run("subscribers", "list", *options)
        assert result.exit_code == 0, result.output
        return result.output.split("\n\n", 1)[1].split()

    assert listed("--tag", "vip") == ["ada@example.com", "bo@example.com"]
    assert listed("--tag", "vip", "--status", "active") == ["bo@example.com"]
    assert listed("--topic", "news") == ["ada@example.com", "cy@example.com", "new@example.com"]
    assert listed("--topic", "news", "--tag", "vip") == ["ada@example.com"]
    assert listed("--status", "pending") == ["new@example.com"]
    unknown = run("subscribers", "list", "--topic", "sport")
    assert unknown.exit_code == 1 and "'sport' is not one of this workspace's topics" in unknown.output
    assert Status.PENDING.value in run("subscribers", "list").output
