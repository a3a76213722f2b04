"""An IssueDiff (diff.py) in words: as the terminal shows it, and as a pull request's comment (Markdown)."""

from __future__ import annotations

import re
from pathlib import Path

from .checks import GMAIL_CLIP_BYTES, KB, SIZE_WARNING_BYTES
from .diff import IssueDiff, PlacedStory

# GitHub refuses a comment over 65,536 characters; the plain-text diff is cut well before that.
MARKDOWN_LIMIT = 60_000
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~])")


def as_text(diff: IssueDiff, shots: list[Path] | None = None) -> str:
    """The diff for the terminal: what changed first, the plain text's unified diff last."""
    lines = [f"Issue {diff.b.prepared.issue.number}: {diff.a.label} -> {diff.b.label}"]
    lines += [f"{what}: {before!r} -> {after!r}" for what, before, after in _inbox_changes(diff)]
    lines.append(f"Stories: {_story_counts(diff)}")
    lines += [f"  + {_story(story)}" for story in diff.added]
    lines += [f"  - {_story(story)}" for story in diff.removed]
    lines += [f"  ~ {moved.after.story.title}: {_place(moved.before)} -> {_place(moved.after)}" for moved in diff.moved]
    lines.append(f"Links: {len(diff.links_added)} added, {len(diff.links_removed)} removed")
    lines += [f"  + {link}" for link in diff.links_added]
    lines += [f"  - {link}" for link in diff.links_removed]
    lines.append(f"HTML size: {size_summary(diff)}")
    if shots:
        lines.append(f"Screenshots: {', '.join(str(path) for path in shots)}")
    if diff.text_diff:
        lines += ["Plain text:", *diff.text_diff]
    else:
        lines.append("Plain text: no change")
    return "\n".join(lines)


def as_markdown(diff: IssueDiff, shots: list[Path] | None = None) -> str:
    """The diff as a comment body for a pull request (GitHub's Markdown)."""
    number = diff.b.prepared.issue.number
    lines = [f"### Issue {number}: `{_code(diff.a.label)}` → `{_code(diff.b.label)}`", ""]
    if diff.unchanged:
        lines += ["Nothing a reader sees changes: the subject, the preheader and both parts are the same.", ""]
    for what, before, after in _inbox_changes(diff):
        lines.append(f"- **{what}:** {escape(before)} → {escape(after)}")
    lines.append(f"- **Stories:** {_story_counts(diff)}")
    lines.append(f"- **Links:** {len(diff.links_added)} added, {len(diff.links_removed)} removed")
    lines += [f"- **HTML size:** {size_summary(diff)}", ""]
    rows = [f"| added | {_linked(story)} | {escape(story.section)} |" for story in diff.added]
    rows += [f"| removed | {_linked(story)} | {escape(story.section)} |" for story in diff.removed]
    rows += [f"| moved | {_linked(moved.after)} | {escape(_place(moved.before))} → {escape(_place(moved.after))} |" for moved in diff.moved]
    if rows:
        lines += ["| | Story | Section |", "|---|---|---|", *rows, ""]
    links = [f"- added {_autolink(link)}" for link in diff.links_added] + [f"- removed {_autolink(link)}" for link in diff.links_removed]
    if links:
        lines += ["<details><summary>Links</summary>", "", *links, "", "</details>", ""]
    if shots:
        lines += [f"Screenshots (375 and 800 px wide): {', '.join(f'`{_code(path.name)}`' for path in shots)}", ""]
    body = "\n".join(lines)
    if diff.text_diff:
        body += "\n" + _diff_block(diff.text_diff, MARKDOWN_LIMIT - len(body))
    return body.rstrip("\n") + "\n"


def size_summary(diff: IssueDiff) -> str:
    """Both sizes, the change, and where the new one stands against Gmail's clip."""
    before, after, change = diff.a.size, diff.b.size, diff.size_change
    sign = "+" if change > 0 else "-" if change < 0 else "±"
    sizes = f"{before / KB:.1f} KB -> {after / KB:.1f} KB ({sign}{abs(change) / KB:.1f} KB)"
    clip = f"Gmail's ~{GMAIL_CLIP_BYTES // KB} KB clip"
    if after > GMAIL_CLIP_BYTES:
        crossed = "now " if before <= GMAIL_CLIP_BYTES else ""
        return f"{sizes}, {crossed}over {clip}: readers would see [Message clipped]"
    spare = f"{(GMAIL_CLIP_BYTES - after) / KB:.1f} KB under {clip}"
    return f"{sizes}, {spare}" + (" (close to it)" if after > SIZE_WARNING_BYTES else "")


def escape(text: str) -> str:
    """Text shown as itself in Markdown: no link, emphasis, table cell or HTML made of it."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _inbox_changes(diff: IssueDiff) -> list[tuple[str, str, str]]:
    a, b = diff.a.prepared.email, diff.b.prepared.email
    pairs = [("Subject", a.subject, b.subject), ("Preheader", a.preheader, b.preheader)]
    return [(what, before, after) for what, before, after in pairs if before != after]


def _story_counts(diff: IssueDiff) -> str:
    return f"{len(diff.added)} added, {len(diff.removed)} removed, {len(diff.moved)} moved"


def _story(placed: PlacedStory) -> str:
    return f"{placed.story.title} ({_place(placed)}) {placed.story.url}"


def _place(placed: PlacedStory) -> str:
    return f"{placed.section}, story {placed.place}"


def _linked(placed: PlacedStory) -> str:
    return f"[{escape(placed.story.title)}]({_url(placed.story.url)})"


def _url(url: str) -> str:
    """A link's target that cannot end the Markdown around it."""
    return url.replace(" ", "%20").replace("<", "%3C").replace(">", "%3E").replace("(", "%28").replace(")", "%29")


def _autolink(url: str) -> str:
    return f"<{_url(url)}>"


def _code(text: str) -> str:
    return text.replace("`", "'")


def _diff_block(lines: list[str], room: int) -> str:
    """The plain text's diff, folded, in a fence no line of it can close; cut to `room` characters."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    kept: list[str] = []
    used = 200  # the wrapping around it
    for line in lines:
        used += len(line) + 1
        if used > room:
            break
        kept.append(line)
    cut = len(lines) - len(kept)
    note = [f"({cut:,} more lines: run `newsletter diff` to see them all)", ""] if cut else []
    summary = f"Plain text: {sum(line.startswith(('+', '-')) and not line.startswith(('+++', '---')) for line in lines)} lines changed"
    return "\n".join([f"<details><summary>{summary}</summary>", "", f"{fence}diff", *kept, fence, "", *note, "</details>", ""])
