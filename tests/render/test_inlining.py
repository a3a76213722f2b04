"""The remembering inliner (newsletter/render/inlining.py) gives exactly what premailer gives on the whole
document: for both layouts, the web page, other languages, a sponsor in the middle, many stories,
and after edits, when most blocks come from memory and one does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.issue.loading import load_issue
from newsletter.models import Issue, Section
from newsletter.render.pipeline import Renderer
from newsletter.workspace.config import load_workspace
from tests.helpers.workspace import add_config

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "issues" / "2026-11-24.yaml"


def many(issue: Issue, count: int) -> Issue:
    stories = [issue.stories[i % len(issue.stories)] for i in range(count)]
    return issue.model_copy(update={"sections": [Section(title=f"Part {n}", stories=stories[n::3]) for n in range(3)]})


def variants() -> dict[str, Issue]:
    sample = load_issue(SAMPLE)
    assert sample.sponsor is not None
    return {
        "standard": sample,
        "digest": sample.model_copy(update={"layout": "digest"}),
        "sponsor after the lead": sample.model_copy(update={"sponsor": sample.sponsor.model_copy(update={"position": "after_first"})}),
        "25 stories": many(sample, 25),
        "25 digest stories": many(sample, 25).model_copy(update={"layout": "digest"}),
    }


@pytest.fixture(scope="module")
def renderers() -> tuple[Renderer, Renderer]:
    workspace = load_workspace(ROOT)
    return Renderer(workspace), Renderer(workspace, remember=False)


@pytest.mark.parametrize("name", list(variants()))
@pytest.mark.slow
def test_the_same_bytes_as_inlining_the_whole_document(renderers, name: str) -> None:
    remembering, whole = renderers
    issue = variants()[name]
    for _ in range(2):  # the second time, every block comes from memory
        mine, reference = remembering.render(issue), whole.render(issue)
        assert mine.html == reference.html
        assert mine.web_html == reference.web_html


def test_after_an_edit_only_the_changed_story_is_new_and_the_email_is_right(renderers) -> None:
    remembering, whole = renderers
    issue = load_issue(SAMPLE)
    remembering.render(issue)
    first = issue.sections[0].stories[0]
    edited_story = first.model_copy(update={"summary": first.summary + " A sentence added while editing."})
    edited = issue.model_copy(update={"sections": [issue.sections[0].model_copy(update={"stories": [edited_story, *issue.sections[0].stories[1:]]}), *issue.sections[1:]]})

    mine = remembering.render(edited)

    assert "A sentence added while editing." in mine.html
    assert mine.html == whole.render(edited).html


@pytest.mark.parametrize("language", ["de", "pt"])
def test_other_languages_too(workspace: Path, issue_path: Path, language: str) -> None:
    add_config(workspace, language=language)
    loaded = load_workspace(workspace)
    issue = load_issue(issue_path)
    assert Renderer(loaded).render(issue).html == Renderer(loaded, remember=False).render(issue).html
