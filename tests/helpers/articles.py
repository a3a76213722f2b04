"""The story drafter's fixture articles with their expectations, and a web server for articles: the
fixtures `article_server` and `shared_example`."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.helpers.workspace import ROOT

REPO_ROOT = ROOT
FIXTURES = ROOT / "tests" / "stories" / "fixtures"
EXPECTED = YAML(typ="safe").load((FIXTURES / "expected.yaml").read_text(encoding="utf-8"))
SHARED_EXAMPLE = REPO_ROOT.parent / "shared" / "examples" / "story-anthropic-hires-karpathy.txt"


@dataclass
class Page:
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    body: bytes = b""
    delay: float = 0.0  # seconds to wait before answering (for timeout tests); cut short when the test ends


@dataclass
class ArticleServer:
    """A web server on 127.0.0.1 (a port the system picked): serves the fixture files, plus pages a
    test adds by path; `requested` lists every path asked for, in order."""

    base: str
    pages: dict[str, Page] = field(default_factory=dict)
    requested: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"


@pytest.fixture
def article_server() -> Iterator[ArticleServer]:
    server_state = ArticleServer(base="")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(FIXTURES), **kwargs)

        def do_GET(self) -> None:
            server_state.requested.append(self.path)
            page = server_state.pages.get(self.path)
            if page is None:
                return super().do_GET()
            server_state.stopping.wait(page.delay)
            try:
                self.send_response(page.status)
                self.send_header("Content-Type", page.content_type)
                self.send_header("Content-Length", str(len(page.body)))
                self.end_headers()
                self.wfile.write(page.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the timeout tests hang up on purpose

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

    Handler.extensions_map = {**Handler.extensions_map, ".md": "text/markdown", ".txt": "text/plain"}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server_state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        server_state.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def shared_example() -> Path:
    """The messy example article kept beside the repository (CI clones only the repo: skip without it)."""
    if not SHARED_EXAMPLE.is_file():
        pytest.skip(f"{SHARED_EXAMPLE} is not here (only the repository was cloned)")
    return SHARED_EXAMPLE
