"""Append a drafted story to an issue file, changing nothing else in it.

The file is edited as text at the place ruamel's round-trip parser locates (the end of the chosen
section's stories, or the end of the sections list for a new section), so every other byte, comments
and blank lines included, stays as the editor wrote it. The result is validated as an Issue before it
is written, and it is written atomically."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import IssueFileError
from ..files.reading import UnreadableFile, read_capped
from ..files.writing import write_files
from ..issue.loading import MAX_FILE_BYTES, new_yaml, parse_issue
from ..models import Story
from .block import story_yaml
from .draft import Draft
from .errors import StoryError


@dataclass(frozen=True)
class Appended:
    path: Path
    section: str
    section_index: int
    new_section: bool
    line: int  # 1-based line of the new story's "- title:" in the written file
    text: str  # the whole new file


def append_story(issue_path: Path, draft: Draft, section: str | None = None) -> Appended:
    """Add `draft` to the section titled `section` (default: the last section); a section title not in
    the issue starts a new section at the end. Raises StoryError or IssueFileError; writes nothing then."""
    return append_stories(issue_path, [(draft, section)])[0]


def append_stories(issue_path: Path, drafts: list[tuple[Draft, str | None]]) -> list[Appended]:
    """Add each (draft, section) in turn, as append_story does, and write the file once: all of them
    or, on any problem, none."""
    path = issue_path.resolve()  # write through a symlink to the real file
    text = _read(issue_path)
    parse_issue(text, issue_path)  # an invalid issue file is the editor's to fix first
    appended: list[Appended] = []
    for draft, section in drafts:
        planned = plan_append(text, draft, section, issue_path)
        try:
            updated = parse_issue(planned.text, issue_path)
        except IssueFileError as exc:  # a bug here must not cost the editor their file
            message = f"{issue_path}: the drafted story would make the issue invalid, so nothing was written:"
            raise StoryError(message, exc.problems) from None
        if _comparable(updated.sections[planned.section_index].stories[-1]) != _comparable(draft.story):
            raise StoryError(f"{issue_path}: the story did not read back as drafted, so nothing was written")
        text = planned.text
        appended.append(Appended(issue_path, planned.section, planned.section_index, planned.new_section, planned.line, planned.text))
    write_files(path.parent, {path.name: text.encode("utf-8")})
    return appended


def plan_append(text: str, draft: Draft, section: str | None, path: Path) -> Appended:
    """The issue file's new text with the story added (nothing is written)."""
    data = new_yaml().load(text)
    sections = data["sections"]
    _no_flow(sections, "sections", path)
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    index = _find_section(sections, section)

    if index is not None:
        stories = sections[index]["stories"]
        _no_flow(stories, f"sections[{index}].stories", path)
        row, column = stories.lc.item(len(stories) - 1)
        dash = _dash_column(lines, row, column)
        end = _end_of(data, ("sections", index, "stories"), len(lines))
        at = _back_over_trailing(lines, end, dash)
        story = story_yaml(draft, indent=dash)
        block = story
        separator = "\n" if _stories_spaced(data, lines) else ""
        title = str(sections[index]["title"]).strip()
        new_section = False
        rows_before_story = separator.count("\n")
    else:
        title = section or ""
        index = len(sections)
        row, key_column = sections.lc.item(len(sections) - 1)
        section_dash = _dash_column(lines, row, key_column)
        end = _end_of(data, ("sections",), len(lines))
        at = _back_over_trailing(lines, end, section_dash)
        head = f"{' ' * section_dash}- title: {_scalar(title)}\n{' ' * key_column}stories:\n"
        story = story_yaml(draft, indent=key_column + _story_offset(sections, lines))
        block = head + story
        separator = "\n" if _sections_spaced(sections, lines) else ""
        new_section = True
        rows_before_story = separator.count("\n") + 2

    before = "".join(lines[:at])
    if before and not before.endswith("\n"):
        before += newline  # the file ended without a line break
    inserted = (separator + block).replace("\n", newline)
    new_text = before + inserted + "".join(lines[at:])
    first_row = at + rows_before_story + _comment_lines(story)
    return Appended(path, title, index, new_section, first_row + 1, new_text)


def _comparable(story: Story) -> dict[str, Any]:
    """A story's fields with the summary's line wrapping ignored (the block wraps it for reading)."""
    fields = story.model_dump()
    fields["summary"] = " ".join(fields["summary"].split())
    return fields


def _read(path: Path) -> str:
    try:
        # bytes, so "\r\n" line ends survive untouched
        return read_capped(path, MAX_FILE_BYTES, "issue file").decode("utf-8")
    except FileNotFoundError:
        raise StoryError(f"{path}: no such issue file") from None
    except UnicodeDecodeError as exc:
        raise StoryError(f"{path}: is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except UnreadableFile as exc:
        raise StoryError(f"{path}: {exc}") from None


def _find_section(sections: Any, wanted: str | None) -> int | None:
    if wanted is None:
        return len(sections) - 1
    titles = [str(s["title"]).strip() for s in sections]
    wanted = wanted.strip()
    for fold in (False, True):  # the exact title first, then one that differs only in case
        for index, title in enumerate(titles):
            if (title.casefold() == wanted.casefold()) if fold else (title == wanted):
                return index
    return None


def _no_flow(node: Any, where: str, path: Path) -> None:
    if node.fa.flow_style():
        raise StoryError(
            f"{path}: {where} is written inline ([...]); write it as a block list (one '- ' per line) to append to it"
        )


def _dash_column(lines: list[str], row: int, column: int) -> int:
    """The column of the "- " that starts the list item whose content starts at (row, column)."""
    dash = lines[row].rfind("-", 0, column)
    return dash if dash >= 0 else max(column - 2, 0)


def _end_of(data: Any, location: tuple[int | str, ...], total: int) -> int:
    """The row where the node at `location` ends: where its next sibling (or an ancestor's) begins."""
    for depth in range(len(location), 0, -1):
        parent = data
        for part in location[: depth - 1]:
            parent = parent[part]
        key = location[depth - 1]
        if isinstance(key, int):
            if key + 1 < len(parent):
                return int(parent.lc.item(key + 1)[0])  # ruamel's line/column records are untyped
        else:
            keys = list(parent.keys())
            position = keys.index(key)
            if position + 1 < len(keys):
                return int(parent.lc.key(keys[position + 1])[0])
    return total


def _back_over_trailing(lines: list[str], end: int, dash: int) -> int:
    """Step back from `end` over blank lines and over comments that sit at or left of the list's
    dashes (they introduce what comes next, so they stay with it)."""
    at = end
    while at > 0:
        line = lines[at - 1]
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if not stripped or (stripped.startswith("#") and indent <= dash):
            at -= 1
        else:
            break
    return at


def _stories_spaced(data: Any, lines: list[str]) -> bool:
    """Whether the file separates stories with a blank line (the sample issue does)."""
    for section in data["sections"]:
        stories = section["stories"]
        for index in range(1, len(stories)):
            row = stories.lc.item(index)[0]
            if row > 0 and not lines[row - 1].strip():
                return True
    return False


def _sections_spaced(sections: Any, lines: list[str]) -> bool:
    rows = [sections.lc.item(index)[0] for index in range(1, len(sections))]
    return any(row > 0 and not lines[row - 1].strip() for row in rows)


def _story_offset(sections: Any, lines: list[str]) -> int:
    """How far a section's story dashes sit right of its keys (4 in "  - title:" / "      - title:")."""
    row, column = sections.lc.item(0)
    stories = sections[0]["stories"]
    story_row, story_column = stories.lc.item(0)
    return max(_dash_column(lines, story_row, story_column) - int(column), 0)


def _scalar(value: str) -> str:
    """`value` as a YAML scalar on one line (quoted when it needs to be)."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump({"k": value}, out)
    return out.getvalue()[len("k: ") :].rstrip("\n")


def _comment_lines(block: str) -> int:
    count = 0
    for line in block.splitlines():
        if not line.lstrip().startswith("#"):
            break
        count += 1
    return count
