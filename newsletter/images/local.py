"""The pictures of an issue that are files of the workspace: where each is, read through the capped
reader, and its real size. A path that leads out of the workspace (through a symbolic link: the
issue file's own words were checked by the model) is refused; a missing or broken file is a finding."""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..files.reading import UnreadableFile, read_capped
from ..models import Image, Issue, is_local_image

MAX_SOURCE_BYTES = 20_000_000  # a phone's photo is 2 to 12 MB; more is a scan or a mistake, refused
MAX_SOURCE_PIXELS = 100_000_000  # a 48-megapixel camera is under half of it; more is a decompression bomb
# EXIF orientations that turn the picture a quarter: its width and height swap once it is upright.
QUARTER_TURNS = (5, 6, 7, 8)
ORIENTATION_TAG = 0x0112

Field = tuple[str | int, ...]


class LeadsOutside(Exception):
    """A local image's path that resolves outside the workspace (a symbolic link out of it)."""


@dataclass(frozen=True)
class Picture:
    """A local image as read: its bytes, its format and its size once upright (EXIF orientation applied)."""

    data: bytes
    format: str  # Pillow's name: JPEG, PNG, WEBP
    width: int
    height: int


def local_images(issue: Issue) -> list[tuple[Field, Image]]:
    """Every story image whose `src` is a path in the workspace, with the field of its src."""
    found: list[tuple[Field, Image]] = []
    for s, section in enumerate(issue.sections):
        for n, story in enumerate(section.stories):
            if story.image is not None and is_local_image(story.image.src):
                found.append((("sections", s, "stories", n, "image", "src"), story.image))
    return found


def resolve(root: Path, src: str) -> Path:
    """The file `src` names in the workspace at `root`, with every symbolic link followed. Raises
    LeadsOutside when that is not inside the workspace. The file need not exist."""
    base = root.resolve()
    target = Path(os.path.realpath(base / src))
    if not target.is_relative_to(base):
        raise LeadsOutside(f"{src!r} leads out of the workspace (through a symbolic link, to {target}); a local image must be a file inside it")
    return target


def read_picture(path: Path) -> Picture:
    """The picture at `path`: a regular file of at most MAX_SOURCE_BYTES that Pillow reads as a
    JPEG, PNG or WebP of at most MAX_SOURCE_PIXELS. Raises FileNotFoundError, or UnreadableFile
    with a phrase that follows the path."""
    data = read_capped(path, MAX_SOURCE_BYTES, "local image")
    return picture_of(data)


def picture_of(data: bytes) -> Picture:
    """`data` as a Picture, reading the header only (nothing is decoded)."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with warnings.catch_warnings():  # Pillow's own bomb warning: the pixel cap below says it in words
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            opened = PILImage.open(io.BytesIO(data), formats=("JPEG", "PNG", "WEBP"))
        with opened:
            width, height = opened.size
            if width * height > MAX_SOURCE_PIXELS:
                raise UnreadableFile(f"is {width:,} x {height:,} pixels; local images are at most {MAX_SOURCE_PIXELS // 1_000_000} megapixels")
            orientation = opened.getexif().get(ORIENTATION_TAG, 1)
            kind = str(opened.format)
    except PILImage.DecompressionBombError:
        raise UnreadableFile(f"has too many pixels; local images are at most {MAX_SOURCE_PIXELS // 1_000_000} megapixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnreadableFile(f"is not a JPEG, PNG or WebP picture that can be read ({exc})") from None
    if orientation in QUARTER_TURNS:
        width, height = height, width
    return Picture(data, kind, width, height)


def display_width(image: Image, picture: Picture, content_width: int) -> int:
    """How wide the email shows the picture: the `width:` the issue gives, else its own, never
    wider than the card's content and never stretched."""
    return max(1, min(image.width or picture.width, picture.width, content_width))


def with_sources(issue: Issue, sources: dict[Field, Image]) -> Issue:
    """`issue` with the images at the given fields (("sections", 0, "stories", 1, "image")) replaced (their src, width and height as the
    email and page show them). The replacement is not validated again: a src may be relative."""
    if not sources:
        return issue
    sections = list(issue.sections)
    for field, image in sources.items():
        s, n = int(field[1]), int(field[3])
        stories = list(sections[s].stories)
        stories[n] = stories[n].model_copy(update={"image": image})
        sections[s] = sections[s].model_copy(update={"stories": stories})
    return issue.model_copy(update={"sections": sections})


def shown(image: Image, picture: Picture, content_width: int, src: str) -> Image:
    """The image as the email shows it: `src`, its display width and the height that keeps the
    real file's proportions (whatever the issue file says)."""
    width = display_width(image, picture, content_width)
    height = max(1, round(picture.height * width / picture.width))
    return image.model_copy(update={"src": src, "width": width, "height": height})
