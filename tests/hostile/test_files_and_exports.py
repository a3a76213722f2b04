"""Items 3, 7, 11, 12: spreadsheet formulas in exports, YAML injection through a file name, a
build that reports an error, and an SMTP refusal that is not a lost connection."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.issue.loading import new_yaml
from newsletter.models import State, Subscriber
from tests.helpers.hostile import run
from tests.helpers.smtp_server import serving, smtp_settings
from tests.helpers.workspace import add_config

FORMULAS = ["=HYPERLINK(\"https://evil.example\",\"click\")", "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "=1+1"]


def test_exported_formulas_are_text_and_import_back_unchanged(in_workspace: Path, tmp_path: Path, monkeypatch) -> None:
    with Database(in_workspace / "subscribers.db") as db:
        db.subscribers.upsert(
            [Subscriber(f"p{n}@example.com", formula, {"note": formula, "=evil": "x"}) for n, formula in enumerate(FORMULAS)]
        )
        before = sorted((s.email, s.name, s.attributes) for s in db.subscribers.all())
    exported = run("subscribers", "export").output
    for row in csv.reader(io.StringIO(exported)):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "newsletter.toml").write_text((in_workspace / "newsletter.toml").read_text())
    (fresh / "list.csv").write_text(exported)
    monkeypatch.chdir(fresh)
    assert run("subscribers", "import", "list.csv").exit_code == 0
    with Database(fresh / "subscribers.db") as db:
        assert sorted((s.email, s.name, s.attributes) for s in db.subscribers.all()) == before


def test_a_file_name_with_a_line_break_cannot_write_yaml(in_workspace: Path, issue_path: Path) -> None:
    name = in_workspace / "evil\n  author: Injected\n#.txt"
    name.write_text("A ferry line opens. " * 3 + "\n\n" + "The new ferry carries 300 people and runs every hour from June 2026. " * 4)
    before = issue_path.read_text()
    result = run("story", "add", str(issue_path), str(name), "--url", "https://news.example.com/ferry", "--site", "Harbour News")
    assert result.exit_code == 0, result.output
    added = issue_path.read_text()[len(before) :]
    assert "\n  author: Injected" not in added and "author: Injected" not in added.replace("# DRAFT", "")
    assert run("check", str(issue_path)).exit_code in (0, 1)  # still a readable issue file
    assert "Injected" not in run("check", str(issue_path)).output


@pytest.mark.slow
def test_build_exits_non_zero_when_the_html_would_be_clipped(in_workspace: Path, issue_path: Path) -> None:
    yaml = new_yaml()
    issue = yaml.load(issue_path.read_text())
    story = {"title": "A long story", "url": "https://news.example.com/long", "source": "News", "summary": "Long words here. " * 250}
    issue["sections"].append({"title": "Long reads", "stories": [dict(story) for _ in range(40)]})  # every field under its cap
    with issue_path.open("w") as out:
        yaml.dump(issue, out)
    result = run("build", str(issue_path))
    assert result.exit_code == 1
    assert f"error: {issue_path}: the HTML is" in result.output  # as `check` says it, with the issue file it is about
    assert "the files were written, but the issue is not ready to send" in result.output


@pytest.mark.slow
def test_an_smtp_server_without_smtputf8_fails_that_recipient_with_a_reason(in_workspace: Path, issue_path: Path) -> None:

    class Box:
        def __init__(self) -> None:
            self.rcpts: list[str] = []

        async def handle_DATA(self, server, session, envelope):
            self.rcpts += envelope.rcpt_tos
            return "250 OK"

    box = Box()
    with serving(box, enable_SMTPUTF8=False) as port:
        add_config(in_workspace, smtp_settings(port, timeout=None))
        with Database(in_workspace / "subscribers.db") as db:
            db.subscribers.upsert([Subscriber("用户@例え.jp"), Subscriber("ok@example.com")])
        result = run("send", str(issue_path))
    assert result.exit_code == 0 and "Ledger: 1 sent, 1 failed" in result.output
    with Database(in_workspace / "subscribers.db") as db:
        (failed,) = db.ledger.deliveries("7", [State.FAILED])
    assert failed.email == "用户@例え.jp" and "SMTPUTF8" in (failed.detail or "") and "connection lost" not in (failed.detail or "")
    assert box.rcpts == ["ok@example.com"]


@pytest.mark.parametrize(("field", "value", "why"), [("date", "2026-02-30", "day value"), ("date", "2026-13-01", "month value"), ("date", "2026-25-11", "month value")])
def test_an_impossible_date_is_a_located_error_everywhere(field: str, value: str, why: str, in_workspace: Path, issue_path: Path) -> None:
    text = issue_path.read_text()
    issue_path.write_text(text.replace("date: 2026-12-01", f"{field}: {value}", 1))
    line = next(n for n, row in enumerate(issue_path.read_text().splitlines(), 1) if row.startswith(f"{field}: {value}"))
    for command in (["check"], ["build"], ["send"]):
        result = run(*command, str(issue_path))
        assert result.exit_code == 1, command
        assert f"2026-12-01.yaml:{line}: {field}: '{value}' is not a date in the calendar ({why}" in result.output
    assert run("new", "2026-12-20").exit_code == 0  # another file's bad date does not stop `new`
