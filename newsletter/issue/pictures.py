"""An issue's local pictures as each command needs them, and what `check` says about them.

`build`, `check` and the preview show the workspace's own file (a relative address: `build` copies
the file beside email.html, the preview serves it). Everything that sends uses the address
`publish` gives it under archive_url, and refuses while `publish` has not made it: a path in a sent
email would show nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import quote, urlsplit

from ..errors import IssueFileError, Problem
from ..files.reading import UnreadableFile
from ..images import published
from ..images.local import LeadsOutside, Picture, display_width, local_images, read_picture, resolve, shown, with_sources
from ..images.rendition import BUDGET_BYTES, make_rendition, rendition_width
from ..models import Image, Issue, is_local_image
from ..render.pipeline import CONTENT_WIDTH
from ..workspace.config import Workspace
from .checks import Finding
from .loading import Field, field_lines, field_path

Mode = Literal["local", "published"]

IMAGE_MISSING = "image-missing"
IMAGE_UNREADABLE = "image-unreadable"  # too heavy, too many pixels, not a picture, not a regular file
IMAGE_OVER_BUDGET = "image-over-budget"
IMAGE_NOT_PUBLISHED = "image-not-published"
IMAGE_ALT = "image-alt"  # the alt text is missing, empty or unusable (the loader says which)
IMAGE_ALT_IS_NAME = "image-alt-is-file-name"


@dataclass(frozen=True)
class Pictures:
    issue: Issue  # the issue as rendered: each readable local image with its address and real proportions
    findings: list[Finding] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)  # each readable local image: src -> its file


# What `check` learns by resizing a picture, by its bytes' hash and width: (bytes, extension).
# A preview asks on every save; the picture is resized the first time only.
_measured: dict[tuple[str, int], tuple[int, str]] = {}


def pictures(workspace: Workspace, issue_file: Path, issue: Issue, mode: Mode, in_file: Callable[[Field], Field]) -> Pictures:
    """Find, read and measure the local images of `issue`. Raises IssueFileError (file:line) for a
    path that leads out of the workspace; anything else wrong with a picture is a finding."""
    findings = alt_findings(issue)
    sources: dict[Field, Image] = {}
    files: dict[str, Path] = {}
    config = workspace.config.newsletter
    for src_field, image in local_images(issue):
        here = src_field[:-1]
        try:
            path = resolve(workspace.root, image.src)
        except LeadsOutside as exc:
            loc = in_file(src_field)
            line = field_lines(issue_file, [loc]).get(loc)
            raise IssueFileError(f"{issue_file}: a local image is refused:", [Problem(issue_file, line, field_path(loc), str(exc))]) from None
        try:
            picture = read_picture(path)
        except FileNotFoundError:
            findings.append(Finding("error", f"{image.src}: no such file in the workspace ({path})", src_field, code=IMAGE_MISSING))
            continue
        except UnreadableFile as exc:
            findings.append(Finding("error", f"{image.src}: {exc}", src_field, code=IMAGE_UNREADABLE))
            continue
        width = rendition_width(picture, display_width(image, picture, CONTENT_WIDTH))
        stem = published.published_stem(image.src, picture.data, width)
        name = published.already_published(workspace.root, config.archive_path, issue.number, stem)
        if mode == "published":
            if name is None:
                message = f"{image.src} is not published yet: run `newsletter publish` first (a sent email shows it from under archive_url, not from this folder)"
                findings.append(Finding("error", message, src_field, code=IMAGE_NOT_PUBLISHED))
                src = quote(image.src)
            else:
                src = published.url(config.archive_url, issue.number, name)
        else:
            src = quote(image.src)
            size, extension = measure(picture, width)
            if size > BUDGET_BYTES:
                message = f"{image.src} is published as {size / 1000:,.0f} KB, over the {BUDGET_BYTES // 1000} KB budget of a picture: crop it, or choose a plainer one"
                findings.append(Finding("warning", message, src_field, code=IMAGE_OVER_BUDGET))
            if name is None:
                address = published.url(config.archive_url, issue.number, f"{stem}.{extension}")
                findings.append(Finding("note", f"{image.src}: `newsletter publish` puts it at {address}; `send` waits for that", src_field, code=IMAGE_NOT_PUBLISHED))
        sources[here] = shown(image, picture, CONTENT_WIDTH, src)
        files[image.src] = path
    return Pictures(with_sources(issue, sources), findings, files)


def measure(picture: Picture, width: int) -> tuple[int, str]:
    """The published picture's size in bytes and its extension (resized once per process)."""
    key = (hashlib.sha256(picture.data).hexdigest(), width)
    if key not in _measured:
        made = make_rendition(picture, width)
        _measured[key] = (len(made.data), made.extension)
    return _measured[key]


def alt_findings(issue: Issue) -> list[Finding]:
    """An alt text that is only the picture's file name says nothing to someone who cannot see it."""
    found = []
    for s, section in enumerate(issue.sections):
        for n, story in enumerate(section.stories):
            image = story.image
            if image is None:
                continue
            name = PurePosixPath(urlsplit(image.src).path if not is_local_image(image.src) else image.src).name
            if name and image.alt.strip().lower() in (name.lower(), PurePosixPath(name).stem.lower()):
                message = f"is the picture's file name ({image.alt!r}); say what the picture shows, for readers who cannot see it"
                found.append(Finding("warning", message, ("sections", s, "stories", n, "image", "alt"), code=IMAGE_ALT_IS_NAME))
    return found
