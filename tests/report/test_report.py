"""`newsletter report`: each figure from ledger rows, stored webhook events and status changes;
the text, --json and --html forms."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli.main import cli
from newsletter.db import Database
from newsletter.providers.sendgrid.events import to_event
from newsletter.report import figures
from newsletter.report.figures import complaint_level
from newsletter.report.text import complaint_bar
from tests.helpers.cli import run
from tests.helpers.workspace import add_config

T1 = "2026-12-01T09:00:00+00:00"  # as in conftest.py: issue 7 goes out
T2 = "2026-12-08T09:00:00+00:00"  # issue 8 goes out


def report(workspace: Path, *options: str, issue: bool = True) -> str:
    """The command's output, run from the workspace (for the trend) or on the fixture issue."""
    return run("report", *([str(workspace / "issues" / "2026-12-01.yaml")] if issue else []), *options, ok=True).output


def figures_of(workspace: Path, issue: str = "7", opens: bool = False) -> figures.IssueReport:
    with Database(workspace / "subscribers.db", read_only=True) as db:
        return figures.issue_report(db, issue, opens)


# --- the webhook stores what the report needs --------------------------------------------------


def test_the_webhook_keeps_the_bounce_kind_the_clicked_link_and_machine_opens():
    def detail(kind: str, **extra: object) -> str | None:
        event = to_event({"sg_event_id": "x", "event": kind, "email": "a@example.com", **extra})
        assert event is not None and event.event == kind  # SendGrid's own words
        return event.detail

    assert detail("bounce", type="bounce", reason="550 5.1.1 user unknown") == "hard: 550 5.1.1 user unknown"
    assert detail("bounce", type="blocked", reason="421 try later") == "soft: 421 try later"
    assert detail("click", url="https://example.org/a") == "https://example.org/a"
    assert detail("open", sg_machine_open=True) == "machine"
    assert detail("open", sg_machine_open=False) is None
    assert detail("open") is None


# --- one issue -------------------------------------------------------------------------------------


def test_an_issue_never_sent_says_so(workspace, data):
    data.ledger("6", range(3))  # another issue went out; this one did not
    found = figures_of(workspace)
    assert found.state == "never sent" and found.recipients == 0 and found.first_sent is None
    assert "Issue 7 was never sent" in report(workspace)
    assert json.loads(report(workspace, "--json"))["state"] == "never sent"


def test_without_a_database_nothing_is_created(workspace, monkeypatch):
    assert "was never sent" in report(workspace)
    monkeypatch.chdir(workspace)
    assert "No issue has been sent yet" in report(workspace, issue=False)
    assert not (workspace / "subscribers.db").exists()


def test_an_issue_still_sending_is_reported_with_partial_figures(workspace, data, monkeypatch):
    data.ledger("7", range(0, 6), "sent")
    data.ledger("7", range(6, 8), "sending")
    data.ledger("7", range(8, 12), "pending")
    data.ledger("7", range(12, 13), "skipped")
    data.events(("delivered", "r0@example.com"), ("delivered", "r1@example.com"))
    found = figures_of(workspace)
    assert found.state == "sending"
    assert (found.recipients, found.sent, found.ledger["sending"], found.ledger["pending"], found.ledger["skipped"]) == (13, 6, 2, 4, 1)
    assert found.delivered == 2
    out = report(workspace)
    assert "Still sending: 6 recipient(s) not handed over yet, so these figures are partial." in out
    monkeypatch.chdir(workspace)
    assert "(still sending)" in report(workspace, issue=False)


def test_an_issue_only_scheduled_has_not_gone_out(workspace, data):
    data.ledger("7", range(4), "scheduled")
    found = figures_of(workspace)
    assert found.state == "scheduled" and found.first_sent is None
    assert "nothing has gone out yet" in report(workspace)


def test_sent_failed_unknown_delivered_deferred_dropped(workspace, data):
    data.ledger("7", range(10), "sent", subject="Robots")
    data.ledger("7", range(10, 12), "failed")
    data.ledger("7", range(12, 13), "unknown")
    data.events(
        *[("delivered", f"r{i}@example.com") for i in range(7)],
        ("delivered", "r0@example.com"),  # repeated: counted once per address
        ("deferred", "r7@example.com"), ("deferred", "r7@example.com"),
        ("dropped", "r8@example.com", {"reason": "Spam Content (if spam checker app enabled)"}),
        ("processed", "r9@example.com"),
    )  # fmt: skip
    found = figures_of(workspace)
    assert found.state == "sent" and found.subject == "Robots" and found.first_sent == T1
    assert (found.sent, found.ledger["failed"], found.ledger["unknown"]) == (10, 2, 1)
    assert (found.delivered, found.deferred, found.dropped) == (7, 1, 1)
    out = report(workspace)
    assert re.search(r"^\s+delivered\s+7$", out, re.MULTILINE) and re.search(r"^\s+failed\s+2$", out, re.MULTILINE)


def test_hard_and_soft_bounces_are_told_apart(workspace, data):
    data.ledger("7", range(6))
    data.events(
        ("bounce", "r0@example.com", {"type": "bounce", "reason": "550 5.1.1 user unknown"}),
        ("bounce", "r1@example.com", {"type": "bounce", "reason": "550 mailbox disabled"}),
        ("bounce", "r2@example.com", {"type": "blocked", "reason": "421 rate limited"}),
        ("bounce", "r2@example.com", {"type": "blocked", "reason": "421 rate limited"}),  # the same address again
    )
    with data.db.transaction():  # an event stored before the webhook noted the kind
        data.sql.execute(
            "INSERT INTO events (event_id, provider, event, email, issue, happened_at, received_at, detail) VALUES (?, 'sendgrid', 'bounce', ?, '7', ?, ?, ?)",
            ("old", "r3@example.com", T1, T1, "550 gone"),
        )
    found = figures_of(workspace)
    assert found.bounces == {"hard": 2, "soft": 1, "unclassified": 1}
    assert found.bounced == 4
    assert "hard 2, soft 1, unclassified 1" in report(workspace)


@pytest.mark.parametrize(
    ("rate", "level"),
    [(0.0, "below 0.1%"), (0.00099, "below 0.1%"), (0.001, "above 0.1%"), (0.0029, "above 0.1%"), (0.003, "above 0.3%"), (0.02, "above 0.3%"), (None, None)],
)
def test_complaint_levels_against_gmails_lines(rate, level):
    assert complaint_level(rate) == level


def test_the_complaint_bar_marks_both_lines():
    assert complaint_bar(0) == "[.....|..........|.....]"
    assert complaint_bar(0.002) == "[#####|#####.....|.....]"
    assert complaint_bar(0.05) == "[#####|##########|#####]"  # off the scale: full


def test_complaint_rate_is_of_delivered(workspace, data):
    data.ledger("7", range(1000))
    data.events(*[("delivered", f"r{i}@example.com") for i in range(800)], ("spamreport", "r1@example.com"), ("spamreport", "r2@example.com"))
    found = figures_of(workspace)
    assert found.rate_base == "delivered" and found.complaints == 2
    assert found.complaint_rate == pytest.approx(2 / 800)
    assert "0.25% of delivered" in report(workspace) and "above 0.1%" in report(workspace)


def test_complaint_rate_is_of_sent_without_delivery_events(workspace, data):
    data.ledger("7", range(2000))
    data.events(("spamreport", "r1@example.com"))
    found = figures_of(workspace)
    assert found.rate_base == "sent" and found.complaint_rate == pytest.approx(1 / 2000)
    out = report(workspace)
    assert "0.05% of sent" in out and "below 0.1%" in out
    data.events(*[("spamreport", f"r{i}@example.com") for i in range(2, 8)])
    assert figures_of(workspace).complaint_rate == pytest.approx(7 / 2000)
    assert "above 0.3%" in report(workspace)


def test_unsubscribes_by_channel_between_this_issue_and_the_next(workspace, data):
    data.ledger("7", ["a@x.org", "b@x.org", "c@x.org", "d@x.org", "e@x.org", "f@x.org", "g@x.org", "h@x.org", "i@x.org", "j@x.org"], at=T1)
    data.ledger("7", ["failed@x.org"], "failed", at=T1)
    data.ledger("8", ["g@x.org", "h@x.org"], at=T2)
    data.status_change("a@x.org", "one-click", "2026-12-01T10:00:00+00:00")
    data.status_change("j@x.org", "one-click", "2026-12-03T10:00:00+00:00")
    data.status_change("b@x.org", "unsubscribe page", "2026-12-02T10:00:00+00:00")
    data.status_change("c@x.org", "preferences", "2026-12-02T11:00:00+00:00")
    data.status_change("d@x.org", "sendgrid unsubscribe", "2026-12-02T12:00:00+00:00")
    data.status_change("e@x.org", "command line", "2026-12-04T12:00:00+00:00")
    data.status_change("f@x.org", "one-click", "2026-11-30T12:00:00+00:00")  # before issue 7 went out
    data.status_change("g@x.org", "one-click", "2026-12-09T12:00:00+00:00")  # after issue 8 went out: issue 8's
    data.status_change("h@x.org", "sync", "2026-12-05T12:00:00+00:00")
    data.status_change("i@x.org", "sendgrid spamreport", "2026-12-02T12:00:00+00:00", status="complained")  # not an unsubscribe
    data.status_change("nobody@x.org", "one-click", "2026-12-02T12:00:00+00:00")  # never received issue 7
    data.status_change("failed@x.org", "one-click", "2026-12-02T12:00:00+00:00")  # issue 7 failed for them
    seven = figures_of(workspace, "7")
    assert seven.unsubscribes == {"one-click": 2, "page": 1, "preferences": 1, "provider": 1, "other": 2}
    assert seven.unsubscribed == 7 and seven.unsubscribe_rate == pytest.approx(7 / 10)
    assert (seven.first_sent, seven.next_sent) == (T1, T2)
    eight = figures_of(workspace, "8")
    assert eight.unsubscribes == {"one-click": 1, "page": 0, "preferences": 0, "provider": 0, "other": 0}
    assert eight.next_sent is None  # the latest issue: open-ended
    out = report(workspace)
    assert re.search(r"^\s+one-click\s+2$", out, re.MULTILINE) and re.search(r"^\s+other\s+2$", out, re.MULTILINE)
    assert f"until the next issue's first send ({T2})" in out


def test_clicks_per_link(workspace, data):
    data.ledger("7", range(5))
    a, b = "https://example.org/a", "https://example.org/b"
    data.events(
        ("click", "r0@example.com", {"url": a}), ("click", "r0@example.com", {"url": a}), ("click", "r1@example.com", {"url": a}),
        ("click", "r1@example.com", {"url": b}),
    )  # fmt: skip
    found = figures_of(workspace)
    assert [(link.url, link.clicks, link.clickers) for link in found.links] == [(a, 3, 2), (b, 1, 1)]
    assert (found.clicks, found.clickers) == (4, 2)
    out = report(workspace)
    assert "by 2 address(es)" in out and re.search(rf"^\s+3\s+2\s+{re.escape(a)}$", out, re.MULTILINE)


def test_no_clicks_no_click_section(workspace, data):
    data.ledger("7", range(2))
    assert figures_of(workspace).links == []
    assert "clicks" not in report(workspace)


def test_opens_only_on_request_with_machine_opens_apart(workspace, data):
    data.ledger("7", range(5))
    data.events(
        ("open", "r0@example.com", {"sg_machine_open": True}), ("open", "r0@example.com", {"sg_machine_open": True}),
        ("open", "r1@example.com", {"sg_machine_open": True}),
        ("open", "r2@example.com", {"sg_machine_open": False}), ("open", "r2@example.com"),
        ("open", "r1@example.com", {"sg_machine_open": False}),  # a machine open, then a real one
    )  # fmt: skip
    assert figures_of(workspace).opens is None
    out = report(workspace)
    assert "Opens" not in out and "Apple" not in out
    assert json.loads(report(workspace, "--json"))["opens"] is None
    found = figures_of(workspace, opens=True)
    assert found.opens == figures.Opens(readers=2, machine=2, events=6)
    out = report(workspace, "--opens")
    assert "Opens (inflated by Apple Mail Privacy Protection)" in out
    assert re.search(r"^\s+readers\s+2\b", out, re.MULTILINE) and re.search(r"^\s+machine\s+2\b.*counted apart", out, re.MULTILINE)
    opens = json.loads(report(workspace, "--opens", "--json"))["opens"]
    assert opens == {"readers": 2, "machine": 2, "events": 6, "note": "inflated by Apple Mail Privacy Protection"}


# --- --json ----------------------------------------------------------------------------------------


def test_json_schema_of_an_issue(workspace, data):
    data.ledger("7", range(4), subject="Robots")
    data.events(("delivered", "r0@example.com"), ("spamreport", "r0@example.com"), ("click", "r1@example.com", {"url": "https://example.org/a"}))
    found = json.loads(report(workspace, "--json"))
    assert set(found) == {"report", "issue", "subject", "state", "first_sent", "provider", "topic", "events_measured", "bounces_measured", "ledger", "delivered",
                          "deferred", "dropped", "bounced", "rate_base", "complaints", "unsubscribes", "clicks", "opens", "engagement"}  # fmt: skip
    assert (found["provider"], found["events_measured"]) == (None, True)  # sent before the provider was recorded; its events count
    assert found["report"] == "issue" and found["issue"] == "7" and found["subject"] == "Robots" and found["state"] == "sent"
    assert found["ledger"] == {"recipients": 4, "sent": 4, "failed": 0, "unknown": 0, "skipped": 0, "pending": 0, "sending": 0, "scheduled": 0}
    assert found["bounced"] == {"hard": 0, "soft": 0, "unclassified": 0, "total": 0}
    assert found["complaints"] == {"count": 1, "rate": 1.0, "level": "above 0.3%"} and found["rate_base"] == "delivered"
    assert set(found["unsubscribes"]) == {"by_channel", "total", "rate", "window"}
    assert list(found["unsubscribes"]["by_channel"]) == ["one-click", "page", "preferences", "provider", "other"]
    assert found["unsubscribes"]["window"] == {"from": T1, "until": None}
    assert found["clicks"] == {"total": 1, "clickers": 1, "links": [{"url": "https://example.org/a", "clicks": 1, "clickers": 1}]}
    assert found["engagement"] is None  # no stories recorded for it (sent before they were): the links are all there is


def test_json_schema_of_the_trend(workspace, data, monkeypatch):
    data.ledger("7", range(10), at=T1)
    data.ledger("8", range(12), at=T2)
    data.ledger("9", range(3), "pending", at=T2)  # not sent: not in the trend
    data.events(*[("delivered", f"r{i}@example.com") for i in range(5)], ("click", "r1@example.com", {"url": "https://example.org/a"}), issue="8", at=T2)
    monkeypatch.chdir(workspace)
    found = json.loads(report(workspace, "--json", issue=False))
    assert found["report"] == "trend"
    assert [point["issue"] for point in found["issues"]] == ["7", "8"]
    assert set(found["issues"][1]) == {"issue", "subject", "state", "first_sent", "list_size", "sent", "delivered", "complaints", "complaint_rate",
                                       "unsubscribes", "unsubscribe_rate", "clicks", "clickers", "opens", "provider", "measured", "topic"}  # fmt: skip
    assert (found["issues"][0]["list_size"], found["issues"][0]["delivered"], found["issues"][0]["complaint_rate"]) == (10, 0, 0.0)
    assert (found["issues"][1]["list_size"], found["issues"][1]["delivered"], found["issues"][1]["clicks"]) == (12, 5, 1)


def test_trend_text(workspace, data, monkeypatch):
    monkeypatch.chdir(workspace)
    assert "No issue has been sent yet." in report(workspace, issue=False)
    data.ledger("7", range(10), at=T1)
    data.ledger("8", range(12), at=T2)
    out = report(workspace, issue=False)
    assert re.search(r"^\s+7\s+2026-12-01\s+10\s+10\b", out, re.MULTILINE) and re.search(r"^\s+8\s+2026-12-08\s+12\s+12\b", out, re.MULTILINE)


# --- --html ----------------------------------------------------------------------------------------

RESOURCE = re.compile(
    r"""<(script|link|img|iframe|object|embed|image|use|source|video|audio)\b[^>]*\b(src|href|xlink:href|data)\s*=\s*["']?\s*(https?:|//)"""
    r"""|url\(\s*["']?\s*(https?:|//)|@import""",
    re.IGNORECASE,
)


def assert_self_contained(page: str) -> None:
    assert not RESOURCE.search(page), RESOURCE.search(page)
    assert "<script" not in page and "<link" not in page and "<img" not in page
    for reference in re.findall(r'(?:xlink:)?href="([^"]*)"', page):  # only in-page references, or the links clicked
        assert reference.startswith("#") or re.match(r"https?://example\.org/", reference), reference
    # outside the links' own text, no web address at all
    without_links = re.sub(r"<a [^>]*>.*?</a>", "", page, flags=re.DOTALL)
    assert "http://" not in without_links and "https://" not in without_links
    assert "default-src 'none'" in page


def rich_issue(data) -> None:  # type: ignore[no-untyped-def]
    data.ledger("7", range(40), subject="Robots & <friends>")
    data.events(
        *[("delivered", f"r{i}@example.com") for i in range(30)],
        ("bounce", "r31@example.com", {"type": "bounce", "reason": "550"}), ("bounce", "r32@example.com", {"type": "blocked", "reason": "421"}),
        ("spamreport", "r1@example.com"), ("click", "r2@example.com", {"url": "https://example.org/a?x=1&y=2"}),
        ("open", "r3@example.com", {"sg_machine_open": True}), ("open", "r4@example.com"),
    )  # fmt: skip
    data.status_change("r5@example.com", "one-click", "2026-12-02T10:00:00+00:00")


@pytest.mark.slow
def test_html_is_one_self_contained_file_with_svg_charts(workspace, data, tmp_path):
    rich_issue(data)
    out_dir = tmp_path / "out"
    out_dir.mkdir()  # the page's folder must exist (no folder is created for a path you name)
    page_file = out_dir / "report.html"
    report(workspace, "--opens", "--html", str(page_file))
    assert sorted(p.name for p in out_dir.iterdir()) == ["report.html"]
    page = page_file.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") >= 5  # deliveries, complaints, unsubscribes, clicks, opens
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page and "<metadata" not in page
    assert "Gmail 0.1%" not in page  # legends are drawn as paths, not text...
    assert "Robots &amp; &lt;friends&gt;" in page  # ...and the page's own text is escaped
    assert "inflated by Apple Mail Privacy Protection" in page
    assert_self_contained(page)
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # several charts, never one id twice


@pytest.mark.slow
def test_html_trend_is_self_contained_too(workspace, data, tmp_path, monkeypatch):
    rich_issue(data)
    data.ledger("8", range(50), at=T2)
    data.events(("delivered", "r1@example.com"), ("spamreport", "r1@example.com"), issue="8", at=T2)
    monkeypatch.chdir(workspace)
    report(workspace, "--html", str(tmp_path / "trend.html"), issue=False)
    page = (tmp_path / "trend.html").read_text(encoding="utf-8")
    assert page.count("<svg") >= 4
    assert_self_contained(page)


@pytest.mark.slow
def test_html_is_the_same_bytes_on_two_runs(workspace, data, tmp_path, monkeypatch):
    rich_issue(data)
    report(workspace, "--opens", "--html", str(tmp_path / "one.html"))
    report(workspace, "--opens", "--html", str(tmp_path / "two.html"))
    assert (tmp_path / "one.html").read_bytes() == (tmp_path / "two.html").read_bytes()
    monkeypatch.chdir(workspace)
    report(workspace, "--html", str(tmp_path / "t1.html"), issue=False)
    report(workspace, "--html", str(tmp_path / "t2.html"), issue=False)
    assert (tmp_path / "t1.html").read_bytes() == (tmp_path / "t2.html").read_bytes()


@pytest.mark.slow
def test_html_of_an_issue_never_sent(workspace, tmp_path):
    report(workspace, "--html", str(tmp_path / "r.html"))
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "was never sent" in page and "<svg" not in page


@pytest.mark.slow
def test_matplotlib_is_loaded_only_for_html(workspace, data):
    data.ledger("7", range(3))
    code = (
        "import sys; from click.testing import CliRunner; from newsletter.cli.main import cli; "
        f"r = CliRunner().invoke(cli, ['report', {str(workspace / 'issues' / '2026-12-01.yaml')!r}, '--json', '--opens']); "
        "assert r.exit_code == 0, r.output; assert 'matplotlib' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- what the provider does not measure ------------------------------------------------------------


@pytest.mark.slow
def test_an_issue_sent_through_the_outbox_says_its_events_are_not_measured(workspace, tmp_path, monkeypatch):
    """A real send through the outbox: the report says "not measured" where it drew zeros."""
    from newsletter.models import Subscriber

    add_config(workspace, '[tracking]\nclicks = "off"\n')  # no redirect in the email either: nothing measures a click
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber(f"r{i}@example.com", None, {}) for i in range(3)])
    monkeypatch.chdir(workspace)
    sent = CliRunner().invoke(cli, ["send", str(workspace / "issues" / "2026-12-01.yaml")], catch_exceptions=False)
    assert sent.exit_code == 0, sent.output

    out = report(workspace, "--opens")
    assert "not measured with the outbox" in out
    assert not re.search(r"^\s+(delivered|deferred|dropped|bounced)\s+0\b", out, re.MULTILINE)  # no zeros that read as measured
    assert re.search(r"^\s+complaints\s+n/a\s+not measured with the outbox$", out, re.MULTILINE)
    assert re.search(r'^\s+clicks\s+n/a\s+not measured: \[tracking\] clicks was "off" and the outbox reports no clicks$', out, re.MULTILINE), out
    assert re.search(r"^\s+opens\s+n/a\s+not measured with the outbox$", out, re.MULTILINE)
    assert re.search(r"^\s+sent\s+3$", out, re.MULTILINE)  # the ledger is ours: measured
    found = json.loads(report(workspace, "--json"))
    assert (found["provider"], found["events_measured"]) == ("outbox", False)
    assert (found["delivered"], found["bounced"], found["clicks"], found["complaints"]["count"], found["complaints"]["rate"]) == (None, None, None, None, None)
    assert found["engagement"] == {"measured": False, "not_measured": 'not measured: [tracking] clicks was "off" and the outbox reports no clicks',
                                   "stories": None, "links": None, "readers": None}  # fmt: skip

    report(workspace, "--html", str(tmp_path / "r.html"))
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "not measured with the outbox" in page
    assert "reported by the provider" not in page and "complaint(s):" not in page  # no table or sentence of zeros
    assert page.count("<svg") == 2  # the ledger's bars and the unsubscribes: no delivery or complaint chart of zeros


@pytest.mark.slow
def test_an_smtp_issue_in_the_trend_is_not_measured_where_a_sendgrid_one_is(workspace, data, tmp_path, monkeypatch):
    data.ledger("7", range(10), at=T1, subject="By SMTP", provider="smtp")
    data.ledger("8", range(10), at=T2, subject="By SendGrid", provider="sendgrid")
    data.events(("delivered", "r1@example.com"), ("click", "r1@example.com", {"url": "https://example.org/a"}), issue="8", at=T2)
    assert figures_of(workspace, "7").measured is False and figures_of(workspace, "8").measured is True
    assert "not measured with SMTP" in report(workspace)
    monkeypatch.chdir(workspace)
    out = report(workspace, issue=False)
    assert re.search(r"^\s+7\s+2026-12-01\s+10\s+10\s+n/a\s+n/a\s+.*\s+n/a\s+n/a$", out, re.MULTILINE), out
    assert re.search(r"^\s+8\s+2026-12-08\s+10\s+10\s+1\s+0\.00%", out, re.MULTILINE), out
    assert "n/a: not measured with the provider that issue went out through" in out
    points = json.loads(report(workspace, "--json", issue=False))["issues"]
    assert [(p["issue"], p["measured"], p["delivered"], p["clicks"]) for p in points] == [("7", False, None, None), ("8", True, 1, 1)]
    report(workspace, "--html", str(tmp_path / "trend.html"), issue=False)
    page = (tmp_path / "trend.html").read_text(encoding="utf-8")
    assert "#7 (not measured with SMTP)" in page
    assert re.search(r"<tr><td>7</td><td>2026-12-01</td><td>10</td><td>10</td><td>n/a</td><td>n/a</td><td>n/a</td>", page)
    assert_self_contained(page)


def test_events_stored_for_an_issue_are_shown_whatever_its_provider(workspace, data):
    data.ledger("7", range(4), provider="smtp")
    data.events(("delivered", "r0@example.com"))
    found = figures_of(workspace)
    assert found.measured is True and found.delivered == 1


# --- topics ----------------------------------------------------------------------------------------

T3 = "2026-12-15T09:00:00+00:00"


def test_an_issues_unsubscribe_window_runs_to_the_next_issue_of_its_own_topic(workspace, data):
    """Issue 7 (weekly), issue 8 (ai) a week later, issue 9 (weekly) a week after that: a weekly
    reader who leaves between 8 and 9 left after issue 7, the last weekly issue they had."""
    data.ledger("7", range(10), subject="Weekly one", topic="weekly")
    data.ledger("8", range(10), at=T2, subject="AI one", topic="ai")
    data.ledger("9", range(10), at=T3, subject="Weekly two", topic="weekly")
    data.status_change("r1@example.com", "preferences", "2026-12-10T10:00:00+00:00")
    seven = figures_of(workspace, "7")
    assert seven.topic == "weekly" and seven.next_sent == T3 and seven.unsubscribed == 1
    assert "Topic: weekly" in report(workspace)
    assert "the next issue of this topic's first send" in report(workspace)


def test_report_topic_shows_the_trend_of_that_topics_issues_only(workspace, data, monkeypatch):
    monkeypatch.chdir(workspace)
    data.ledger("7", range(10), subject="Weekly one", topic="weekly")
    data.ledger("8", range(10), at=T2, subject="AI one", topic="ai")
    (workspace / "newsletter.toml").write_text(
        (workspace / "newsletter.toml").read_text(encoding="utf-8") + '\n[topics.weekly]\nname = "Weekly"\n\n[topics.ai]\nname = "AI"\n', encoding="utf-8"
    )
    found = json.loads(report(workspace, "--topic", "ai", "--json", issue=False))
    assert [(point["issue"], point["topic"]) for point in found["issues"]] == [("8", "ai")]
    every = report(workspace, issue=False)
    assert every.splitlines()[0].startswith("topic") and re.search(r"(?m)^weekly\s+7 ", every)
    refused = run("report", "--topic", "sports")
    assert refused.exit_code != 0 and "'sports' is not a topic of this workspace (topics: weekly, ai)" in refused.output
