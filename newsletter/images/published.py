"""Where a local picture is published: `images/<issue>/<name>-<hash>.<ext>` under the archive
(site/archive/images/7/chip-1f0c9a2b3d4e.jpg, at <archive_url>/images/7/chip-1f0c9a2b3d4e.jpg).

The name holds a hash of the picture's bytes and of its published width, so `send` knows the
address `publish` writes without resizing anything, a changed picture gets a new address (an email
already sent keeps showing the picture it was sent with), and a picture published before its issue
is sent (send needs it there) sits at an address nobody can guess."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from .rendition import EXTENSIONS, VERSION

SITE_FOLDER = "site"  # in the workspace: what `publish` writes and `newsletter serve` serves
FOLDER = "images"  # in the archive's folder
HASH_CHARS = 12
NOT_SLUG = re.compile(r"[^a-z0-9_-]+")
# A published picture's name, as `newsletter serve` accepts it in a URL.
NAME = re.compile(r"[a-z0-9_-]{1,80}-[0-9a-f]{" + str(HASH_CHARS) + r"}\.(?:" + "|".join(sorted(set(EXTENSIONS.values()))) + ")")


def published_stem(src: str, data: bytes, width: int) -> str:
    """The published name without its extension (which the encoding decides: a PNG photo may become a JPEG)."""
    digest = hashlib.sha256(f"{VERSION}:{width}:".encode() + data).hexdigest()[:HASH_CHARS]
    return f"{slug(src)}-{digest}"


def slug(src: str) -> str:
    """The file's name, lower-case, as letters, digits, - and _ only ("Chip Photo.JPG" -> "chip-photo")."""
    stem = Path(src).stem.lower()
    return NOT_SLUG.sub("-", stem).strip("-")[:60] or "image"


def archive_path(number: int, name: str) -> str:
    """The picture's path in the archive's folder, which is also its address relative to archive_url."""
    return f"{FOLDER}/{number}/{name}"


def url(archive_url: str, number: int, name: str) -> str:
    return f"{archive_url.rstrip('/')}/{archive_path(number, name)}"


def pages_folder(root: Path, archive: str) -> Path:
    """The archive's folder in the workspace's site/ (site/archive for archive_url .../archive)."""
    site = root / SITE_FOLDER
    return site / archive if archive else site


def already_published(root: Path, archive: str, number: int, stem: str) -> str | None:
    """The name of the picture `publish` wrote for `stem` in the workspace's site/, or None."""
    folder = pages_folder(root, archive) / FOLDER / str(number)
    for extension in sorted(set(EXTENSIONS.values())):
        if (folder / f"{stem}.{extension}").is_file():
            return f"{stem}.{extension}"
    return None
