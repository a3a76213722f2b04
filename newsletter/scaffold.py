"""`newsletter new`: the next issue file, numbered after the latest one, with guidance in comments."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from .errors import IssueFileError

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


def latest_number(issues_dir: Path) -> int:
    """The highest `number:` among the issue files (0 when there are none)."""
    yaml = YAML(typ="safe", pure=True)
    highest = 0
    for path in sorted(issues_dir.glob("*.yaml")):
        try:
            data = yaml.load(path.read_text(encoding="utf-8"))
        except (OSError, YAMLError) as exc:
            raise IssueFileError(f"{path}: cannot read its issue number: {exc}") from None
        number = data.get("number") if isinstance(data, dict) else None
        if isinstance(number, int):
            highest = max(highest, number)
    return highest


def new_issue(issues_dir: Path, newsletter_name: str, date: dt.date) -> tuple[Path, str]:
    """The path and the text of the next issue file. Refuses to replace an existing file."""
    path = issues_dir / f"{date.isoformat()}.yaml"
    if path.exists():
        raise IssueFileError(f"{path} already exists; pick another date (newsletter new YYYY-MM-DD)")
    number = latest_number(issues_dir) + 1 if issues_dir.is_dir() else 1
    shown = Path(issues_dir.name) / path.name
    return path, TEMPLATE.format(number=number, date=date.isoformat(), name=newsletter_name, path=shown)
