"""The fixture workspace (newsletter.toml, the default templates, the small issue), the one way tests
add to its settings, and its readers. The fixtures `workspace`, `in_workspace` and `issue_path`."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from newsletter.models import Status

ROOT = Path(__file__).resolve().parents[2]  # the repository
FIXTURES = ROOT / "tests" / "fixtures"
SMALL_ISSUE = FIXTURES / "small-issue.yaml"
ISSUE_NAME = "2026-12-01.yaml"  # the small issue's file in the workspace
SECRET = "a-long-secret-used-only-by-the-tests"  # NEWSLETTER_SECRET of the send tests

CONFIG = """\
[newsletter]
name = "Fixture Weekly"
postal_address = "Fixture Weekly, 1 Test Street, Testville 12345"
archive_url = "https://fixture.example.org/archive"
unsubscribe_url = "https://fixture.example.org/unsubscribe?token={token}"

[sender]
name = "Fixture Editor"
address = "editor@fixture.example.org"
reply_to = "replies@fixture.example.org"

[brand]
accent_color = "#1d4ed8"
"""


def make_workspace(root: Path) -> Path:
    """A workspace in `root`: newsletter.toml, an empty templates/ (defaults apply) and
    issues/2026-12-01.yaml holding the small fixture issue."""
    (root / "templates").mkdir(parents=True)
    (root / "issues").mkdir()
    (root / "newsletter.toml").write_text(CONFIG, encoding="utf-8")
    shutil.copy(SMALL_ISSUE, root / "issues" / ISSUE_NAME)
    return root


def add_config(workspace: Path, text: str = "", language: str | None = None) -> Path:
    """Append `text` (tables of newsletter.toml) to the workspace's settings, after a blank line;
    with `language`, set [newsletter] language too. The settings file's path."""
    path = workspace / "newsletter.toml"
    settings = path.read_text(encoding="utf-8")
    if language is not None:
        settings = settings.replace("[newsletter]\n", f'[newsletter]\nlanguage = "{language}"\n', 1)
    path.write_text(settings + "\n" + text, encoding="utf-8")
    return path


def add_subscribers(workspace: Path, count: int, status: Status | None = None, prefix: str = "reader") -> list[str]:
    """`count` readers (reader00000@example.com ...) in the workspace's database, active unless
    `status` says otherwise; their addresses."""
    from newsletter.db import Database  # here: the fixtures above load before any test, and need none of it
    from newsletter.models import Status, Subscriber

    status = Status.ACTIVE if status is None else status
    emails = [f"{prefix}{n:05d}@example.com" for n in range(count)]
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert(Subscriber(email, f"Reader {n}", {}, status) for n, email in enumerate(emails))
    return emails


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A fresh workspace folder (make_workspace)."""
    return make_workspace(tmp_path / "workspace")


@pytest.fixture
def in_workspace(workspace: Path, monkeypatch) -> Path:
    """The workspace, as the current folder (commands that find it from there)."""
    monkeypatch.chdir(workspace)
    return workspace


@pytest.fixture
def issue_path(workspace: Path) -> Path:
    return workspace / "issues" / ISSUE_NAME
