"""`newsletter new`: the next issue file, numbered after the latest one, with guidance in comments."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..db import Database
from ..errors import IssueFileError
from ..workspace.config import Workspace
from .loading import issue_numbers

TEMPLATE = """\
# Issue {number} of {name}. Fill in every TODO; `newsletter check {path}` lists what is left.
# Preview while you write: newsletter preview {path}
number: {number}
date: {date}
subject: "TODO: the subject line (keep it under about 60 characters)"
preheader: "TODO: one sentence shown after the subject in the inbox (40 to 100 characters)"

# Optional. Markdown: *emphasis*, **bold**, [links](https://example.com), lists.
intro: |
  TODO: a few sentences to open the issue.

sections:
  - title: TODO section title
    stories:
      - title: TODO story title
        url: https://TODO.example.com/the-article
        source: TODO site or publication
        # author: Name            (optional)
        # published: {date}   (optional, YYYY-MM-DD)
        summary: |
          TODO: two or three sentences in your own words. Markdown allowed.
        key_facts:
          - TODO a short fact, with a number or a name in it
        # quote:                  (optional)
        #   text: What someone said.
        #   attribution: Who said it, and in what role
        # image:                  (optional; alt text is required)
        #   src: https://example.com/picture.jpg
        #   alt: What the picture shows
        #   width: 536

# Optional:
# sponsor:
#   name: Sponsor name
#   url: https://example.com
#   text: A sentence or two about them (Markdown).
# outro: |
#   A closing note.
"""


def next_number(workspace: Workspace) -> int:
    """One more than the highest number any issue file or the send ledger has used, so a number
    that went out is never reused, even after its file was deleted."""
    highest = max(issue_numbers(workspace.issues_dir, strict=True).values(), default=0)
    if workspace.database.exists():  # `new` never creates the database
        with Database(workspace.database) as db:
            highest = max(highest, db.ledger.highest_issue())
    return highest + 1


def later_issues(workspace: Workspace, date: dt.date) -> list[Path]:
    """Issue files named for a date after `date` (they have lower numbers than the new one)."""
    later = []
    for path in issue_numbers(workspace.issues_dir):
        try:
            if dt.date.fromisoformat(path.stem) > date:
                later.append(path)
        except ValueError:
            continue
    return later


def next_free_date(issues_dir: Path, after: dt.date) -> dt.date:
    """The first day after `after` that has no issue file yet."""
    day = after + dt.timedelta(days=1)
    while (issues_dir / f"{day.isoformat()}.yaml").exists():
        day += dt.timedelta(days=1)
    return day


def new_issue(workspace: Workspace, date: dt.date) -> tuple[Path, str]:
    """The path and the text of the next issue file. Refuses to replace an existing file."""
    issues_dir = workspace.issues_dir
    path = issues_dir / f"{date.isoformat()}.yaml"
    if path.exists():
        free = next_free_date(issues_dir, date)
        raise IssueFileError(f"{path} already exists; pick another date, e.g. the next free one: newsletter new {free.isoformat()}")
    number = next_number(workspace)
    shown = Path(issues_dir.name) / path.name
    return path, TEMPLATE.format(number=number, date=date.isoformat(), name=workspace.config.newsletter.name, path=shown)
