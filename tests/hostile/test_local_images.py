"""Local pictures in an issue file (`image: {src: images/chip.jpg}`): a path may only name a file
inside the workspace. `..`, an absolute path, another scheme or a symbolic link out of the workspace
is refused with its file and line, before anything is read or written; a FIFO, a file that is not a
picture or a decompression bomb is a finding, never a hang or a crash."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from newsletter.preview.app import start_preview
from tests.helpers.hostile import run
from tests.helpers.pictures import encoded, photo, save, use_image
from tests.helpers.publishing import PAGES, snapshot

SECRET_MARK = b"OUTSIDE-THE-WORKSPACE-7f3a"


def outside_picture(tmp_path: Path) -> Path:
    """A real JPEG outside the workspace, with a comment nobody should ever see published."""
    path = tmp_path / "private" / "holiday.jpg"
    path.parent.mkdir()
    path.write_bytes(encoded(photo(400, 300), "JPEG", comment=SECRET_MARK))
    return path


def leaked(workspace: Path) -> list[str]:
    return [name for folder in ("build", "site") for name, data in snapshot(workspace / folder).items() if SECRET_MARK in data]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("src", "says"),
    [
        ("../private/holiday.jpg", "leads out of its folder with '..'"),
        ("images/../../private/holiday.jpg", "leads out of its folder with '..'"),
        ("/etc/holiday.jpg", "is not a path inside the workspace"),
        ("images\\\\..\\\\holiday.jpg", "is not a path inside the workspace"),
        ("file:///etc/holiday.jpg", "expected an http(s) URL or a path in the workspace"),
        ("data:image/png;base64,AAAA", "expected an http(s) URL or a path in the workspace"),
        ("javascript:alert(1)//.jpg", "expected an http(s) URL or a path in the workspace"),
        (".git/holiday.jpg", "is not a plain path"),
        ("images//holiday.jpg", "is not a plain path"),
        ("newsletter.toml", "a local image must be a .jpg, .jpeg, .png, .webp file"),
    ],
)
def test_a_path_that_is_not_a_picture_inside_the_workspace_is_refused_by_file_and_line(in_workspace: Path, issue_path: Path, src: str, says: str) -> None:
    use_image(in_workspace, f'"{src}"')
    for command in (["check", str(issue_path)], ["build", str(issue_path)], ["publish"]):
        result = run(*command)
        assert result.exit_code == 1, command
        assert "2026-12-01.yaml:27: sections[0].stories[0].image.src:" in result.output and says in result.output, result.output
    assert not (in_workspace / "build").exists() and not (in_workspace / "site").exists()


@pytest.mark.slow
@pytest.mark.parametrize("link", ["file", "folder"])
def test_a_symbolic_link_out_of_the_workspace_is_refused_everywhere(in_workspace: Path, issue_path: Path, tmp_path: Path, link: str) -> None:
    outside = outside_picture(tmp_path)
    if link == "file":
        (in_workspace / "images").mkdir()
        (in_workspace / "images" / "holiday.jpg").symlink_to(outside)
    else:
        (in_workspace / "images").symlink_to(outside.parent, target_is_directory=True)
    issue = use_image(in_workspace, "images/holiday.jpg")
    issue.write_text(issue.read_text(encoding="utf-8") + "publish: true\n", encoding="utf-8")
    for command in (["check", str(issue_path)], ["build", str(issue_path)], ["publish"], ["send", str(issue_path), "--dry-run"]):
        result = run(*command)
        assert result.exit_code == 1, command
        assert "2026-12-01.yaml:27: sections[0].stories[0].image.src: 'images/holiday.jpg' leads out of the workspace" in result.output, result.output
    preview = start_preview(issue_path)
    try:
        assert preview.session.snapshot.email is None and "leads out of the workspace" in (preview.session.snapshot.error or "")
        assert preview.session.snapshot.images == {}
    finally:
        preview.stop()
    assert leaked(in_workspace) == []


def test_a_link_that_stays_inside_the_workspace_is_fine(in_workspace: Path, issue_path: Path) -> None:
    data = save(in_workspace, "photos/chip.jpg", encoded(photo(300, 200), "JPEG"))
    (in_workspace / "images").mkdir()
    (in_workspace / "images" / "chip.jpg").symlink_to(in_workspace / "photos" / "chip.jpg")
    use_image(in_workspace, "images/chip.jpg")
    run("build", str(issue_path), ok=True)
    assert (in_workspace / "build" / issue_path.stem / "images" / "chip.jpg").read_bytes() == data


def test_a_fifo_named_like_a_picture_is_a_finding_not_a_hang(in_workspace: Path, issue_path: Path) -> None:
    (in_workspace / "images").mkdir()
    os.mkfifo(in_workspace / "images" / "pipe.jpg")
    use_image(in_workspace, "images/pipe.jpg")
    result = run("check", str(issue_path))
    assert result.exit_code == 1 and "images/pipe.jpg: is not a regular file" in result.output


@pytest.mark.slow
def test_a_decompression_bomb_is_refused_before_it_is_decoded(in_workspace: Path, issue_path: Path) -> None:
    bomb = Image.new("1", (12_000, 12_000))  # 144 megapixels in a few kilobytes
    data = save(in_workspace, "images/bomb.png", encoded(bomb, "PNG", optimize=True))
    assert len(data) < 100_000
    use_image(in_workspace, "images/bomb.png")
    result = run("check", str(issue_path))
    assert result.exit_code == 1 and "is 12,000 x 12,000 pixels; local images are at most 100 megapixels" in result.output
    save(in_workspace, "images/bomb.png", encoded(Image.new("1", (16_000, 16_000)), "PNG", optimize=True))  # past Pillow's own limit
    result = run("check", str(issue_path))
    assert result.exit_code == 1 and "images/bomb.png: has too many pixels" in result.output


def test_a_file_that_is_not_a_picture_stops_publish_of_its_issue_and_nothing_is_written(in_workspace: Path, issue_path: Path) -> None:
    save(in_workspace, "images/notes.jpg", b"these are my notes, not a photo\n")
    issue = use_image(in_workspace, "images/notes.jpg")
    check = run("check", str(issue_path))
    assert check.exit_code == 1 and "images/notes.jpg: is not a JPEG, PNG or WebP picture that can be read" in check.output
    issue.write_text(issue.read_text(encoding="utf-8") + "publish: true\n", encoding="utf-8")
    published = run("publish")
    assert published.exit_code == 1 and "2026-12-01.yaml:27: sections[0].stories[0].image.src: images/notes.jpg: is not a JPEG" in published.output
    assert not (in_workspace / PAGES).exists()


def test_an_unsent_drafts_broken_picture_does_not_stop_publishing_the_others(in_workspace: Path, issue_path: Path) -> None:
    use_image(in_workspace, "images/not-yet.jpg")  # issue 7: neither sent nor marked publish: true
    result = run("publish")
    assert result.exit_code == 0, result.output
