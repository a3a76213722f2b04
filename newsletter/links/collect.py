"""Every http(s) link of an issue, with the field it is written in: what `check --links` fetches."""

from __future__ import annotations

from dataclasses import dataclass

from ..issue.checks import MARKDOWN_LINK
from ..issue.loading import Field
from ..models import Issue, is_http_url


@dataclass(frozen=True)
class IssueLink:
    url: str
    field: Field  # where it is written: ("sections", 0, "stories", 1, "url")
    story_url: str | None = None  # a story's own link: the page it must end on


def issue_links(issue: Issue) -> list[IssueLink]:
    """Story links, links in summaries, the intro, the outro and the sponsor, in the issue's order.
    Images are not links (`![alt](src)`, a story's image): they are left out."""
    found: list[IssueLink] = []
    found += _in_markdown(issue.intro, ("intro",))
    for s, section in enumerate(issue.sections):
        for n, story in enumerate(section.stories):
            here: Field = ("sections", s, "stories", n)
            found.append(IssueLink(story.url, (*here, "url"), story_url=story.url))
            found += _in_markdown(story.summary, (*here, "summary"))
    if issue.sponsor is not None:
        found.append(IssueLink(issue.sponsor.url, ("sponsor", "url")))
        found += _in_markdown(issue.sponsor.text, ("sponsor", "text"))
    found += _in_markdown(issue.outro, ("outro",))
    return found


def _in_markdown(text: str | None, field: Field) -> list[IssueLink]:
    if not text:
        return []
    return [
        IssueLink(match.group(2), field)
        for match in MARKDOWN_LINK.finditer(text)
        if not match.group(0).startswith("!") and is_http_url(match.group(2))
    ]
