"""Reports by story: `report ISSUE`'s clicks per story and per link (text, --json, --html), "not
measured" where nothing measured them, `report --stories` across the archive, and the note `story
add` prints. The stories are those a real outbox send of the fixture issue recorded; the clicks are
rows as the redirect stores them; the SQL runs on both databases."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from pathlib import Path

import pytest

from newsletter.db import Database, Event
from newsletter.db.clicks import Click
from newsletter.mail.clicks import StoryLink
from newsletter.models import Subscriber
from newsletter.report.stories import Engagement, StoryClicks
from newsletter.report.text import story_lines
from tests.helpers.articles import FIXTURES
from tests.helpers.both_databases import BOTH, database, database_env
from tests.helpers.cli import run
from tests.helpers.workspace import ISSUE_NAME, add_config
from tests.report.test_report import RESOURCE, assert_self_contained

AT = "2026-12-01T10:00:00+00:00"
R = [f"reader{n:05d}@example.com" for n in range(10)]  # the ten readers of readers_sent_one_issue
TOWELS, MAPS, COOLING = "A home robot folds towels at human speed", "Warehouse robots get a shared map format", "Liquid cooling cuts a data centre's noise in half"


@pytest.fixture(params=BOTH)
def env(request, in_workspace: Path) -> Mapping[str, str]:
    """Where each command keeps its data: the workspace's SQLite file, or a fresh PostgreSQL database."""
    return database_env(request)


def send(workspace: Path, env: Mapping[str, str], number: int = 7) -> Path:
    """Send the fixture issue (as issue `number`) through the outbox; its file."""
    issue_file = workspace / "issues" / ISSUE_NAME
    if number != 7:
        issue_file = workspace / "issues" / f"issue-{number}.yaml"
        text = (workspace / "issues" / ISSUE_NAME).read_text(encoding="utf-8")
        issue_file.write_text(text.replace("number: 7", f"number: {number}"), encoding="utf-8")
    run("send", issue_file, env=env, ok=True)
    return issue_file


def clicks(db: Database, issue: str, *items: tuple[int | str, str | None, int] | tuple[int | str, str | None, int, str]) -> None:
    """(story position or slot, reader's address or None, how many[, machine]) each, on the story's own link."""
    urls = {story.slot: story.url for story in db.clicks.stories(issue)}
    rows = []
    for slot, email, count, *machine in items:
        url = urls.get(str(slot), "https://example.org/chart")
        rows += [Click(issue, str(slot), url, AT, email, None, machine[0] if machine else None)] * count
    db.clicks.record(rows)


def report(*options: str | Path, env: Mapping[str, str] | None = None) -> str:
    return run("report", *options, env=env, ok=True).output


def readers_sent_one_issue(workspace: Path, env: Mapping[str, str], mode: str) -> Path:
    """Ten readers, [tracking] clicks = `mode`, the fixture issue sent; its file."""
    add_config(workspace, f'[tracking]\nclicks = "{mode}"\n')
    with database(workspace, env) as db:
        db.subscribers.upsert([Subscriber(address, None, {}) for address in R])
    return send(workspace, env)


# --- one issue -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_clicks_per_story_and_link_with_the_readers_who_clicked(in_workspace: Path, env: Mapping[str, str], tmp_path: Path) -> None:
    issue_file = readers_sent_one_issue(in_workspace, env, "reader")
    with database(in_workspace, env) as db:
        assert [(s.position, s.title, s.source, s.section) for s in db.clicks.stories("7")][:3] == [
            (1, TOWELS, "Robot Report", "Robotics"), (2, MAPS, "Logistics Daily", "Robotics"), (3, COOLING, "Data Centre News", "Infrastructure"),
        ]  # fmt: skip
        clicks(db, "7", (1, R[0], 2), (1, R[1], 1), (1, R[2], 1), (1, None, 2, "head"), (3, R[1], 1), ("sponsor", R[4], 1), ("0", R[5], 1), (2, None, 3, "agent"))

    out = report(issue_file, env=env)
    # story 1: 4 clicks by 3 readers of 10 sent (the outbox reports no delivery: the rate is of sent)
    assert re.search(rf"^\s+1\s+4\s+3\s+30\.00%\s+{TOWELS} \(Robot Report · Robotics\)$", out, re.MULTILINE), out
    assert re.search(rf"^\s+2\s+0\s+0\s+0\.00%\s+{MAPS}", out, re.MULTILINE), out  # its 3 clicks were a scanner's
    assert re.search(rf"^\s+3\s+1\s+1\s+10\.00%\s+{COOLING}", out, re.MULTILINE), out
    assert re.search(r"^\s+sponsor\s+1\s+1\s+10\.00%\s+Example Sponsor$", out, re.MULTILINE), out
    assert "rate: readers who clicked / sent" in out and "other links (outside any story): 1 click(s)" in out
    assert "machine clicks: 5 (mail scanners" in out
    assert re.search(r"^\s+4\s+2\s+3\s+https://example\.org/robots/towels", out, re.MULTILINE), out  # per link: people, machine, readers
    assert re.search(rf"^\s+readers\s+5\s+clicked a link: {R[0]}, {R[1]}, {R[2]}, {R[4]}, {R[5]}$", out, re.MULTILINE), out

    found = json.loads(report(issue_file, "--json", env=env))["engagement"]
    assert (found["measured"], found["measured_by"], found["mode"], found["rate"]) == (True, ["the tool's redirect"], "reader", "readers who clicked / sent")
    assert (found["clicks"], found["machine_clicks"], found["other_clicks"]) == (7, 5, 1)
    assert [(s["position"], s["clicks"], s["machine"], s["clickers"], s["rate"]) for s in found["stories"]] == [
        (1, 4, 2, 3, 0.3), (2, 0, 3, 0, 0.0), (3, 1, 0, 1, 0.1), (None, 1, 0, 1, 0.1),
    ]  # fmt: skip
    assert found["readers"] == {"count": 5, "addresses": [R[0], R[1], R[2], R[4], R[5]]}
    assert found["links"][0] == {"url": "https://example.org/robots/towels", "slot": "1", "clicks": 4, "machine": 2, "clickers": 3}

    page_file = tmp_path / "r.html"
    report(issue_file, "--html", page_file, env=env)
    page = page_file.read_text(encoding="utf-8")
    bars = re.search(r'<ol class="bars" aria-label="Clicks per story">(.*?)</ol>', page, re.DOTALL)
    assert bars, page
    items = re.findall(r"<li><span>(.*?)</span>: <strong>(.*?)</strong><span class=\"bar\" aria-hidden=\"true\" style=\"width: ([0-9.]+)%\"></span></li>", bars.group(1))
    assert items[0] == (f"1. {TOWELS} (Robot Report · Robotics)", "3 reader(s) clicked, 30.00%", "100.0")
    assert items[2] == (f"3. {html.escape(COOLING)} (Data Centre News · Infrastructure)", "1 reader(s) clicked, 10.00%", "33.3")
    assert f"<li>{R[5]}</li>" in page and "Machine clicks (mail scanners), counted apart: 5." in page
    assert not RESOURCE.search(page) and "<script" not in page  # links to click, but nothing the page fetches


@pytest.mark.slow
def test_aggregate_mode_counts_clicks_not_readers(in_workspace: Path, tmp_path: Path) -> None:
    issue_file = readers_sent_one_issue(in_workspace, {}, "aggregate")
    with database(in_workspace, {}) as db:
        clicks(db, "7", (1, None, 3), (2, None, 1), (2, None, 1, "early"))
    out = report(issue_file)
    assert "rate: clicks (nobody is recorded" in out and "readers" not in out.split("Clicks per story")[1]
    assert re.search(rf"^\s+1\s+3\s+30\.00%\s+{TOWELS}", out, re.MULTILINE), out
    found = json.loads(report(issue_file, "--json"))["engagement"]
    assert (found["mode"], found["rate"], found["readers"]) == ("aggregate", "clicks / sent", None)
    assert [(s["clicks"], s["clickers"]) for s in found["stories"]][:2] == [(3, None), (1, None)]
    report(issue_file, "--html", tmp_path / "r.html")
    assert "3 click(s), 30.00%" in (tmp_path / "r.html").read_text(encoding="utf-8")


# --- what nothing measures -------------------------------------------------------------------------


def recorded(data, provider: str, clicks_mode: str, opens: bool = False, provider_clicks: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Issue 7 as a send records it: ten readers, its stories and what measured it."""
    data.ledger("7", range(10), subject="S", provider=provider)
    stories = [StoryLink("1", 1, "One", "Robot Report", "Robotics", "https://example.org/one"), StoryLink("2", 2, "Two", "Logistics Daily", "Robotics", "https://example.org/two")]
    data.db.clicks.record_stories("7", stories)
    data.db.clicks.record_tracking("7", clicks_mode, opens, provider_clicks)


@pytest.mark.slow
def test_sendgrid_without_click_tracking_and_the_redirect_off_is_not_measured(workspace: Path, data, tmp_path: Path) -> None:
    recorded(data, "sendgrid", "off")
    data.events(*[("delivered", f"r{i}@example.com") for i in range(8)])
    issue_file = workspace / "issues" / ISSUE_NAME
    out = report(issue_file)
    assert re.search(r'^\s+clicks\s+n/a\s+not measured: \[tracking\] clicks was "off" and SendGrid without \[sendgrid\] click_tracking reports no clicks$', out, re.MULTILINE), out
    assert "Clicks per story" not in out and not re.search(r"^\s+clicks\s+0\b", out, re.MULTILINE)
    assert json.loads(report(issue_file, "--json"))["engagement"]["stories"] is None
    report(issue_file, "--html", tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Clicks: not measured: [tracking] clicks was &quot;off&quot;" in page and 'class="bars"' not in page


def test_sendgrids_click_events_count_per_story_with_the_readers_who_clicked(workspace: Path, data) -> None:
    recorded(data, "sendgrid", "off", provider_clicks=True)
    data.events(*[("delivered", f"r{i}@example.com") for i in range(8)])
    data.events(("click", "r1@example.com", {"url": "https://example.org/one"}), ("click", "r1@example.com", {"url": "https://example.org/one"}),
                ("click", "r2@example.com", {"url": "https://example.org/one"}))  # fmt: skip
    found = json.loads(report(workspace / "issues" / ISSUE_NAME, "--json"))["engagement"]
    assert (found["measured_by"], found["mode"], found["rate"]) == (["sendgrid"], "reader", "readers who clicked / delivered")
    assert [(s["title"], s["clicks"], s["clickers"], s["rate"]) for s in found["stories"]] == [("One", 3, 2, 2 / 8), ("Two", 0, 0, 0.0)]
    assert found["readers"]["addresses"] == ["r1@example.com", "r2@example.com"]


def test_opens_are_measured_with_the_pixel_and_not_without(workspace: Path, data) -> None:
    recorded(data, "outbox", "aggregate")
    issue_file = workspace / "issues" / ISSUE_NAME
    assert re.search(r"^\s+opens\s+n/a\s+not measured with the outbox$", report(issue_file, "--opens"), re.MULTILINE)
    assert json.loads(report(issue_file, "--opens", "--json"))["opens"] is None
    data.db.clicks.record_tracking("7", "aggregate", True, False)  # the same issue, gone out with the pixel
    out = report(issue_file, "--opens")
    assert "opens      " not in out and re.search(r"^\s+readers\s+0\s+addresses with an open", out, re.MULTILINE), out
    assert json.loads(report(issue_file, "--opens", "--json"))["opens"]["readers"] == 0
    # In aggregate mode the pixel's opens carry no address: each counts once, a machine's apart.
    anonymous = [Event(f"newsletter-open-{n}", "open", None, "7", None, "2026-12-01T10:00:00+00:00", "machine" if n == 2 else None) for n in range(3)]
    data.db.events.record(anonymous, "newsletter")
    assert json.loads(report(issue_file, "--opens", "--json"))["opens"]["readers"] == 2


# --- across the archive ----------------------------------------------------------------------------


@pytest.mark.slow
def test_report_stories_across_the_archive(in_workspace: Path, env: Mapping[str, str], tmp_path: Path) -> None:
    readers_sent_one_issue(in_workspace, env, "aggregate")
    send(in_workspace, env, 8)
    with database(in_workspace, env) as db:
        clicks(db, "7", (1, None, 5), (2, None, 1), (3, None, 3, "burst"), ("sponsor", None, 9))
        clicks(db, "8", (1, None, 3), (2, None, 1), (3, None, 2))
        # issue 9 went out with nothing measuring its clicks: its stories are left out, not counted as 0
        db.ledger.record_issue("9", "issues/x.yaml", "S", "f", "outbox")
        db.clicks.record_stories("9", [StoryLink("1", 1, "Nine", "Robot Report", "Robotics", "https://example.org/nine")])
        db.clicks.record_tracking("9", "off", False, False)

    found = json.loads(report("--stories", "--json", env=env))
    assert found["report"] == "stories" and found["stories"] == 6

    def figures(dimension: str) -> list[tuple[str, int, int, float]]:
        return [(f["key"], f["stories"], f["clicks"], round(f["click_through"], 4)) for f in found[dimension]]

    assert figures("source") == [("Robot Report", 2, 8, 0.4), ("Data Centre News", 2, 2, 0.1), ("Logistics Daily", 2, 2, 0.1)]
    assert figures("section") == [("Robotics", 4, 10, 0.25), ("Infrastructure", 2, 2, 0.1)]
    assert figures("position") == [("1st", 2, 8, 0.4), ("2nd", 2, 2, 0.1), ("3rd", 2, 2, 0.1)]
    assert figures("format") == [
        ("with image", 2, 8, 0.4), ("without image", 4, 4, 0.1), ("with quote", 2, 8, 0.4), ("without quote", 4, 4, 0.1), ("with key facts", 6, 12, 0.2),
    ]  # fmt: skip

    out = report("--stories", env=env)
    assert re.search(r"^\s+40\.00%\s+2\s+8\s+Robot Report$", out, re.MULTILINE), out
    assert re.search(r"^\s+25\.00%\s+4\s+10\s+Robotics$", out, re.MULTILINE), out
    assert re.search(r"^\s+10\.00%\s+2\s+2\s+2nd$", out, re.MULTILINE), out
    assert re.search(r"^\s+10\.00%\s+4\s+4\s+without image$", out, re.MULTILINE), out
    assert "over 6 stories" in out

    report("--stories", "--html", tmp_path / "s.html", env=env)
    page = (tmp_path / "s.html").read_text(encoding="utf-8")
    assert "<li><span>Robot Report</span>: <strong>40.00% (2 stories, 8 clicks)</strong>" in page
    assert "<li><span>with key facts</span>: <strong>20.00% (6 stories, 12 clicks)</strong>" in page
    assert_self_contained(page)


def test_report_stories_without_a_database_or_a_measured_issue(in_workspace: Path, data) -> None:
    assert report("--stories").startswith("No issue with measured clicks has stories recorded yet")
    recorded(data, "outbox", "off")
    assert json.loads(report("--stories", "--json"))["stories"] == 0
    refused = run("report", "--stories", "--topic", "ai")
    assert refused.exit_code != 0 and "--stories reports across every issue" in refused.output


# --- story add ---------------------------------------------------------------------------------------


def archive_of(db: Database, rates: Mapping[str, list[int]]) -> None:
    """Issues of 100 sent copies each, story n of each source clicked rates[source][n] times."""
    issues = max(len(counts) for counts in rates.values())
    for number in range(1, issues + 1):
        issue = str(number)
        with db.transaction():
            db.connection.db.executemany(
                "INSERT INTO deliveries (issue, email, state, attempts, updated_at) VALUES (?, ?, 'sent', 1, ?)", [(issue, f"r{i}@example.com", AT) for i in range(100)]
            )
        db.ledger.record_issue(issue, "issues/x.yaml", "S", "f", "outbox")
        stories = [StoryLink(str(p), p, f"{source} {number}", source, "News", f"https://example.org/{p}/{number}") for p, source in enumerate(rates, start=1)]
        db.clicks.record_stories(issue, [s for s in stories if len(rates[s.source or ""]) >= number])
        db.clicks.record_tracking(issue, "aggregate", False, False)
        db.clicks.record(
            [Click(issue, s.slot, s.url, AT) for s in stories for _ in range(rates[s.source or ""][number - 1] if len(rates[s.source or ""]) >= number else 0)]
        )


def add_story(issue_file: Path, site: str) -> str:
    return run("story", "add", issue_file, FIXTURES / "ferry-key-facts.txt", "--site", site, ok=True).stdout


@pytest.mark.slow
def test_story_add_notes_a_source_clicked_far_above_or_below_the_median(in_workspace: Path, tmp_path: Path) -> None:
    issue_file = in_workspace / "issues" / ISSUE_NAME
    assert "note:" not in add_story(issue_file, "Robot Report")  # no database: silent
    with Database(in_workspace / "subscribers.db") as db:
        archive_of(db, {"Hot Wire": [9, 10, 11], "Plain Post": [3, 3, 2, 3], "Mid Mag": [4, 3, 3, 4], "Cold Call": [1, 1, 1], "New Voice": [30, 30]})
    # Hot Wire: 10% a story against the median story's 3%; Cold Call: 1%; Mid Mag: 3.5%; New Voice: only 2 stories
    hot, cold = add_story(issue_file, "Hot Wire").splitlines()[-1], add_story(issue_file, "Cold Call").splitlines()[-1]
    assert hot == "note: Hot Wire's 3 earlier stories were clicked 3.3x the newsletter's median story (10.00% against 3.00%): far above it"
    assert cold == "note: Cold Call's 3 earlier stories were clicked 0.3x the newsletter's median story (1.00% against 3.00%): far below it"
    assert "note:" not in add_story(issue_file, "Mid Mag")
    assert "note:" not in add_story(issue_file, "New Voice")
    assert "note:" not in add_story(issue_file, "Somebody New")


def test_story_add_is_silent_when_no_click_was_measured(in_workspace: Path) -> None:
    with Database(in_workspace / "subscribers.db") as db:
        for issue in ("7", "8", "9"):  # three stories of the source, in issues nothing measured the clicks of
            db.ledger.record_issue(issue, "issues/x.yaml", "S", "f", "outbox")
            db.clicks.record_stories(issue, [StoryLink("1", 1, "T", "Robot Report", "R", "https://example.org/t")])
            db.clicks.record_tracking(issue, "off", False, False)
    assert "note:" not in add_story(in_workspace / "issues" / ISSUE_NAME, "Robot Report")


def test_the_text_lists_a_few_readers_who_clicked_and_counts_the_rest() -> None:
    readers = [f"r{n:02d}@example.com" for n in range(12)]
    story = StoryClicks("1", 1, "One", None, None, "https://example.org/one", 12, 0, 12, 0.5)
    lines = story_lines(Engagement(("the tool's redirect",), "reader", stories=[story], readers=readers))
    assert re.search(r"^\s+readers\s+12\s+clicked a link: r00@example.com, r01@example.com, r02@example.com, r03@example.com, r04@example.com$", lines[-2]), lines
    assert lines[-1] == "    ... and 7 more (--json lists them all)"
