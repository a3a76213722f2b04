"""The hostile suite's LLM section: `story --llm` against a local server that speaks the OpenAI chat
API and does whatever the test asks (answer, refuse, echo the key, drip), in a workspace whose
[story] points at it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.fake_model import FakeModel, serve
from tests.helpers.hostile import LLM_API_KEY
from tests.helpers.workspace import add_config


@pytest.fixture
def model() -> Iterator[FakeModel]:
    fake = FakeModel()
    server = serve(fake)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    fake.stop.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def with_model(in_workspace: Path, model: FakeModel, monkeypatch) -> Path:
    """The workspace (as the current folder) with [story] pointing at the fake model, and its key set."""
    add_config(in_workspace, f'[story]\nllm = "openai"\nllm_model = "test-model"\nllm_base_url = "{model.url}"\n')
    monkeypatch.setenv("OPENAI_API_KEY", LLM_API_KEY)
    return in_workspace


@pytest.fixture
def article(tmp_path: Path) -> Callable[[str], Path]:
    """article(text) writes an article file of that text; returns its path."""

    def write(text: str) -> Path:
        path = tmp_path / "article.txt"
        path.write_text("URL: https://news.example.com/battery\n\n" + text, encoding="utf-8")
        return path

    return write
