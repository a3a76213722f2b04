"""Item 27: a model's API that drips its answer (a byte every little while, each read quick, the whole
never done) meets one total deadline per request, connect and every read included, and is not tried
again: `story --llm` stops near the deadline with one sentence, and writes nothing."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

import newsletter.stories.llm as llm
from tests.helpers.fake_model import FakeModel
from tests.helpers.hostile import run

pytestmark = pytest.mark.slow  # each case waits out a model that drips its answer

DEADLINE = 1.5  # seconds, in place of the minute a real model gets
ARTICLE = "The harbour battery opened on 3 March 2026. It stores 40 megawatt-hours and cost 12 million euros.\n"


def drip_body(request: BaseHTTPRequestHandler, fake: FakeModel) -> None:
    request.send_response(200)
    request.send_header("Content-Type", "application/json")
    request.end_headers()
    request.wfile.write(b'{"choices": [{"message": {"content": "')
    for _ in range(100):  # 30 s at a byte every 0.3 s
        if fake.stop.wait(0.3):
            return
        request.wfile.write(b"a")
        request.wfile.flush()


def drip_headers(request: BaseHTTPRequestHandler, fake: FakeModel) -> None:
    for byte in b"HTTP/1.1 200 OK\r\n" + b"X-Padding: " + b"p" * 100:
        if fake.stop.wait(0.3):
            return
        request.wfile.write(bytes([byte]))
        request.wfile.flush()


@pytest.mark.parametrize("answer", [drip_body, drip_headers])
def test_a_dripping_model_meets_the_total_deadline(answer, with_model: Path, model: FakeModel, article, issue_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(llm, "TIMEOUT", DEADLINE)
    model.answer = answer
    before = issue_path.read_bytes()
    started = time.monotonic()
    result = run("story", "add", str(issue_path), str(article(ARTICLE)), "--llm")
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert f"gave no complete answer within {DEADLINE:g} seconds" in result.output
    # One deadline, not one per read or per try (which would last the drip's 30 s and more); 10 s
    # over it: room for a loaded machine, still far from the drip's end.
    assert DEADLINE - 0.1 < elapsed < DEADLINE + 10.0, elapsed
    assert len(model.requests) == 1
    assert issue_path.read_bytes() == before
