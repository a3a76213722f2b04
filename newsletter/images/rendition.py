"""A local picture as the archive publishes it: upright (EXIF orientation applied), at most twice
as wide as the email shows it (sharp on high-density screens, no heavier than that), without its
metadata (EXIF holds the camera, the time and often where the photo was taken), within a budget.

A JPEG stays a JPEG and a WebP a WebP. A PNG stays a PNG (a diagram, a screenshot: sharp edges a
JPEG would smear) unless it is an opaque photo that is far smaller as a JPEG."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .local import QUARTER_TURNS, Picture

BUDGET_BYTES = 300_000  # per published picture: a 1,072 px wide photo is 100 to 250 KB at these qualities
QUALITIES = (82, 72, 62)  # a lossy picture over its budget is encoded again, a step lower each time
FAR_SMALLER = 0.5  # a PNG photo becomes a JPEG when that is at most half its size
SCALE = 2  # for screens with two pixels per CSS pixel
VERSION = "1"  # part of each published name and cache key: change it when the output changes
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}

if TYPE_CHECKING:
    from PIL.Image import Image


@dataclass(frozen=True)
class Rendition:
    data: bytes
    extension: str  # jpg, png, webp
    width: int
    height: int

    @property
    def over_budget(self) -> bool:
        return len(self.data) > BUDGET_BYTES


def rendition_width(picture: Picture, display_width: int) -> int:
    """The published picture's width: twice the email's, never wider than the file itself."""
    return min(picture.width, SCALE * display_width)


def make_rendition(picture: Picture, width: int) -> Rendition:
    """`picture` upright, `width` pixels wide (its height in proportion), stripped of metadata and
    encoded as described above."""
    from PIL import Image as Pillow
    from PIL import ImageOps

    with Pillow.open(io.BytesIO(picture.data)) as opened:
        height = max(1, round(picture.height * width / picture.width))
        if opened.format == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale when that is still large enough
            turned = opened.getexif().get(0x0112, 1) in QUARTER_TURNS
            opened.draft("RGB", (height, width) if turned else (width, height))
        icc = opened.info.get("icc_profile")  # colour, not metadata: without it a wide-gamut photo looks dull
        upright = ImageOps.exif_transpose(opened) or opened
        if upright.mode == "P" or (upright.mode not in ("RGB", "RGBA", "L", "LA")):
            upright = upright.convert("RGBA" if _has_alpha(upright) else "RGB")
        resized = upright.resize((width, height), Pillow.Resampling.LANCZOS, reducing_gap=3.0) if upright.size != (width, height) else upright.copy()
    resized.info = {}  # no EXIF, XMP or text chunks go out
    if picture.format == "PNG":
        return _png(resized, icc)
    return _lossy(resized, picture.format, icc)


def _png(image: Image, icc: bytes | None) -> Rendition:
    png = _encode(image, "PNG", icc, optimize=True)
    if not _has_alpha(image) or _opaque(image):
        jpeg = _lossy(image, "JPEG", icc)
        if len(jpeg.data) <= FAR_SMALLER * len(png):
            return jpeg
    return Rendition(png, "png", *image.size)


def _lossy(image: Image, kind: str, icc: bytes | None) -> Rendition:
    if kind == "JPEG" and image.mode != "RGB" and image.mode != "L":
        image = image.convert("RGB")  # JPEG has no transparency
    data = b""
    for quality in QUALITIES:
        if kind == "JPEG":
            data = _encode(image, kind, icc, quality=quality, optimize=True, progressive=True)
        else:
            data = _encode(image, kind, icc, quality=quality, method=4)
        if len(data) <= BUDGET_BYTES:
            break
    return Rendition(data, EXTENSIONS[kind], *image.size)


def _encode(image: Image, kind: str, icc: bytes | None, **options: object) -> bytes:
    out = io.BytesIO()
    extra = {"icc_profile": icc} if icc else {}
    image.save(out, kind, exif=b"", **extra, **options)
    return out.getvalue()


def _has_alpha(image: Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def _opaque(image: Image) -> bool:
    alpha = image.getchannel("A") if image.mode in ("RGBA", "LA") else None
    return alpha is None or alpha.getextrema() == (255, 255)
