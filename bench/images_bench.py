"""Local pictures benchmark: `publish` of 20 issues holding 200 local pictures (phone photos and a few
PNG charts), the first time and incrementally, against a floor measured in the same run: the same
200 pictures opened, turned upright, resized to the same widths and saved by a plain Pillow loop.

Run with `.venv/bin/python bench/images_bench.py` (`--pictures N`). Printed as ratios to the floor:
the first run does the floor's work plus hashing, caching, the pages and the writes; an incremental
run should cost a small fraction of it (each picture is read and hashed, none is resized).
"""

from __future__ import annotations

import argparse
import io
import shutil
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

from newsletter.images.rendition import SCALE
from newsletter.publish import publish
from newsletter.render.pipeline import CONTENT_WIDTH
from newsletter.workspace.config import load_workspace

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "newsletter.toml"
PER_ISSUE = 10
WIDTH = SCALE * CONTENT_WIDTH  # every picture here is wider than this: each is resized to it


def make_picture(number: int) -> tuple[str, bytes]:
    """A phone photo (4:3 JPEG, every third one turned by EXIF) or, one in ten, a PNG chart."""
    out = io.BytesIO()
    if number % 10 == 9:
        chart = Image.new("RGB", (1800, 1000), "white")
        draw = ImageDraw.Draw(chart)
        for bar in range(12):
            draw.rectangle((100 + bar * 140, 900 - (bar * 53 + number) % 800, 200 + bar * 140, 900), fill=(30, 80 + bar * 10, 200))
        chart.save(out, "PNG")
        return f"images/chart-{number}.png", out.getvalue()
    base = Image.linear_gradient("L").rotate(number * 7).resize((1600, 1200)).convert("RGB")
    photo = Image.blend(base, Image.effect_noise((1600, 1200), 24).convert("RGB"), 0.3)
    exif = Image.Exif()
    if number % 3 == 0:
        exif[0x0112] = 6
    exif[0x010F] = "BenchCam"
    photo.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return f"images/photo-{number}.jpg", out.getvalue()


def issue_text(number: int, pictures: list[str]) -> str:
    stories = "".join(
        f"""      - title: Story {n} of issue {number}
        url: https://example.org/{number}/{n}
        source: Example
        summary: A sentence about story {n}.
        image:
          src: {src}
          alt: Picture {n} of issue {number}
"""
        for n, src in enumerate(pictures)
    )
    return f"""number: {number}
date: 2026-01-{number:02d}
subject: "Issue {number}"
preheader: "Ten stories, each with a picture from the editor's own folder."
sections:
  - title: Pictures
    stories:
{stories}publish: true
"""


def floor(files: dict[str, bytes]) -> float:
    """The same pictures through a plain Pillow loop: open, upright, resize, save (no hashing,
    no cache, no pages, no writes)."""
    start = time.perf_counter()
    for src, data in files.items():
        with Image.open(io.BytesIO(data)) as opened:
            upright = ImageOps.exif_transpose(opened) or opened
            height = round(upright.height * WIDTH / upright.width)
            resized = upright.resize((WIDTH, height), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            if src.endswith(".png"):
                resized.save(out, "PNG", optimize=True)
            else:
                resized.save(out, "JPEG", quality=82, optimize=True, progressive=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="images-bench-") as temp:
        root = Path(temp)
        (root / "issues").mkdir()
        (root / "images").mkdir()
        shutil.copy(CONFIG, root / "newsletter.toml")
        files = dict(make_picture(n) for n in range(args.pictures))
        for src, data in files.items():
            (root / src).write_bytes(data)
        names = list(files)
        for number, start in enumerate(range(0, len(names), PER_ISSUE), start=1):
            (root / "issues" / f"2026-01-{number:02d}.yaml").write_text(issue_text(number, names[start : start + PER_ISSUE]), encoding="utf-8")
        workspace = load_workspace(root)

        base = floor(files)
        print(f"floor: {len(files)} pictures through a plain Pillow loop: {base:6.2f} s")

        start = time.perf_counter()
        first = publish(workspace)
        seconds = time.perf_counter() - start
        published = sum(1 for path in first.written if "/images/" in path.as_posix())
        print(f"publish, first run:                 {seconds:6.2f} s  x{seconds / base:.2f} the floor  ({published} pictures, {len(first.written)} files written)")

        start = time.perf_counter()
        again = publish(workspace)
        seconds = time.perf_counter() - start
        print(f"publish again, nothing changed:     {seconds:6.2f} s  x{seconds / base:.2f} the floor  ({len(again.written)} files written)")

        _, data = make_picture(len(files) + 1)  # another photo in place of the first
        (root / names[0]).write_bytes(data)
        start = time.perf_counter()
        one = publish(workspace)
        seconds = time.perf_counter() - start
        print(f"publish after one picture changed:  {seconds:6.2f} s  x{seconds / base:.2f} the floor  ({', '.join(path.name for path in one.written)})")


if __name__ == "__main__":
    main()
