"""`newsletter diff --shots DIR`: both versions photographed by Debian's Chromium at 375 and 800 px,
offline (the email's own images are never fetched), written whole into DIR."""

from __future__ import annotations

import shutil
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from PIL import Image

from newsletter.issue.shots import CHROMIUM
from tests.helpers.cli import run
from tests.helpers.local_server import QuietServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not shutil.which("chromium"), reason=f"needs Debian's chromium at {CHROMIUM}"),
]


class Recorder(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:
        Recorder.seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def image_server():
    """A server the issue's image points at: it must never be asked for anything."""
    Recorder.seen = []
    server = QuietServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_four_screenshots_at_375_and_800_px_and_nothing_fetched(in_workspace: Path, issue_path: Path, image_server: str) -> None:
    text = issue_path.read_text(encoding="utf-8").replace("https://example.org/images/towel-robot.jpg", f"{image_server}/towel.png")
    issue_path.write_text(text, encoding="utf-8")
    after = issue_path.with_name("2026-12-01-longer.yaml")
    after.write_text(text.replace("outro: See you next week.", "outro: |\n  " + "A much longer goodbye this week. " * 60), encoding="utf-8")

    output = run("diff", issue_path, after, "--shots", "shots", ok=True).output

    shots = in_workspace / "shots"
    assert sorted(path.name for path in shots.iterdir()) == ["a-375.png", "a-800.png", "b-375.png", "b-800.png"]
    assert "Screenshots: shots/a-375.png, shots/b-375.png, shots/a-800.png, shots/b-800.png" in output
    sizes = {path.name: Image.open(path).size for path in shots.iterdir()}
    for name, (width, height) in sizes.items():
        assert width == int(name.split("-")[1].removesuffix(".png")), name
        assert height > 1000, name  # the whole email, not the first screen of it
    assert sizes["b-375.png"][1] > sizes["a-375.png"][1]  # B's longer goodbye is in B's picture
    assert sizes["a-375.png"][1] > sizes["a-800.png"][1]  # a phone's column is narrower, so longer
    assert Recorder.seen == []


def test_markdown_names_the_screenshots(in_workspace: Path, issue_path: Path, tmp_path: Path) -> None:
    body = run("diff", issue_path, issue_path, "--markdown", "--shots", tmp_path / "review", ok=True).output
    assert "Screenshots (375 and 800 px wide): `a-375.png`, `b-375.png`, `a-800.png`, `b-800.png`" in body
    assert len(list((tmp_path / "review").glob("*.png"))) == 4


def test_a_folder_that_cannot_be_made_writes_nothing(in_workspace: Path, issue_path: Path, tmp_path: Path) -> None:
    result = run("diff", issue_path, issue_path, "--shots", tmp_path / "missing" / "shots")
    assert result.exit_code == 1
    assert "does not exist; nothing was written" in result.output
    assert not (tmp_path / "missing").exists()
