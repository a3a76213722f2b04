"""Pictures the local-image tests make with Pillow (no binary fixtures), and an issue that shows them."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw

from tests.helpers.workspace import ISSUE_NAME

FIXTURE_SRC = "https://example.org/images/towel-robot.jpg"  # the small issue's first story image


def photo(width: int, height: int, noise: float = 20.0) -> Image.Image:
    """A photo-like picture: a gradient with grain (what JPEG is for, and PNG is not)."""
    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    grain = Image.effect_noise((width, height), noise).convert("RGB")
    return Image.blend(base, grain, 0.3)


def diagram(width: int, height: int) -> Image.Image:
    """A drawing of flat colours and sharp edges (what PNG is for)."""
    picture = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(picture)
    draw.rectangle((width // 30, height // 15, width // 2, height * 2 // 3), fill="red")
    draw.ellipse((width * 8 // 15, height // 8, width * 29 // 30, height * 14 // 15), fill="blue")
    return picture


def encoded(picture: Image.Image, kind: str, **options: object) -> bytes:
    out = io.BytesIO()
    picture.save(out, kind, **options)
    return out.getvalue()


def save(workspace: Path, src: str, data: bytes) -> bytes:
    """`data` written to the workspace at `src` (its folders made); `data`."""
    path = workspace / src
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def use_image(workspace: Path, src: str, alt: str = "A robot folding a towel", width: int | None = 480, issue: str = ISSUE_NAME) -> Path:
    """The fixture issue with its first story's image at `src` (and `alt`, `width`); the issue file."""
    path = workspace / "issues" / issue
    text = path.read_text(encoding="utf-8")
    start = text.index("        image:\n")
    end = text.index("      - title: Warehouse")
    block = f"        image:\n          src: {src}\n          alt: {alt}\n" + (f"          width: {width}\n" if width else "")
    path.write_text(text[:start] + block + text[end:], encoding="utf-8")
    return path
