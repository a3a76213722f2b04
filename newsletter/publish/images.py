"""The archive's copies of the issues' local pictures (images/<issue>/<name>-<hash>.<ext>) and the
issues as the archive shows them, each picture at its address under archive_url.

Every issue file's pictures are published, sent or not: `send` refuses an issue until its pictures
are at the addresses its email will point to. A picture of an issue in the archive that cannot be
read stops the run (nothing is written); one of an issue not in the archive is left out, and
`check` and `send` name it. Resizing is the slow part, so each result is kept in the publish cache,
keyed by the picture's bytes, its width and the resizer's version: an unchanged picture is never
resized again."""

from __future__ import annotations

from pathlib import Path

from ..errors import IssueFileError, Problem
from ..files.reading import UnreadableFile
from ..images.local import LeadsOutside, display_width, local_images, read_picture, resolve, shown, with_sources
from ..images.published import archive_path, published_stem, url
from ..images.rendition import VERSION, make_rendition, rendition_width
from ..issue.loading import field_lines, field_path
from ..models import Image, Issue
from ..render.pipeline import CONTENT_WIDTH
from ..workspace.config import Workspace
from .cache import Cache, digest

Field = tuple[str | int, ...]


def publish_pictures(workspace: Workspace, issues: list[tuple[Path, Issue]], in_archive: set[Path], cache: Cache) -> tuple[dict[str, bytes], dict[Path, Issue]]:
    """The published pictures by path in the archive's folder, and each issue with local pictures
    as the archive shows it. `in_archive`: the issue files whose pages are published."""
    import PIL

    files: dict[str, bytes] = {}
    shown_issues: dict[Path, Issue] = {}
    archive_url = workspace.config.newsletter.archive_url
    for path, issue in issues:
        sources: dict[Field, Image] = {}
        for src_field, image in local_images(issue):
            try:
                picture = read_picture(resolve(workspace.root, image.src))
            except (LeadsOutside, FileNotFoundError, UnreadableFile) as exc:
                if path in in_archive:
                    raise _located(path, src_field, image.src, exc) from None
                continue
            width = rendition_width(picture, display_width(image, picture, CONTENT_WIDTH))
            stem = published_stem(image.src, picture.data, width)
            key = digest(VERSION, PIL.__version__, stem)
            data, name = cache.get("image", key), cache.get("image-name", key)
            if data is None or name is None:
                made = make_rendition(picture, width)
                data, name = made.data, f"{stem}.{made.extension}".encode()
                cache.put("image", key, data)
                cache.put("image-name", key, name)
            files[archive_path(issue.number, name.decode())] = data
            sources[src_field[:-1]] = shown(image, picture, CONTENT_WIDTH, url(archive_url, issue.number, name.decode()))
        if sources:
            shown_issues[path] = with_sources(issue, sources)
    return files, shown_issues


def _located(path: Path, src_field: Field, src: str, exc: Exception) -> IssueFileError:
    reason = "no such file in the workspace" if isinstance(exc, FileNotFoundError) else str(exc)
    line = field_lines(path, [src_field]).get(src_field)
    problem = Problem(path, line, field_path(src_field), f"{src}: {reason}" if not isinstance(exc, LeadsOutside) else reason)
    return IssueFileError(f"{path}: a picture of a published issue cannot be published; nothing was written:", [problem])
