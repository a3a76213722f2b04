"""`story add --llm` against a local server that speaks the OpenAI chat API: the model's summary
replaces the drafted one, a figure the article does not give is flagged, the prompt and the answer
show with --verbose, and the key never shows anywhere."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers.articles import FIXTURES
from tests.helpers.cli import run
from tests.helpers.workspace import add_config

KEY = "sk-test-a1b2c3d4e5f6g7h8i9j0"
ARTICLE = FIXTURES / "sodium-no-list.txt"


@dataclass
class FakeModel:
    """What the fake API answers next, and the requests it got."""

    url: str = ""
    replies: list[tuple[int, dict]] = field(default_factory=list)
    requests: list[tuple[dict[str, str], dict]] = field(default_factory=list)


@pytest.fixture
def model() -> Iterator[FakeModel]:
    fake = FakeModel()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.requests.append((dict(self.headers), body))
            status, reply = fake.replies.pop(0) if fake.replies else (200, completion("A summary."))
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)  # a quick shutdown
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield fake
    server.shutdown()
    server.server_close()


def completion(text: str) -> dict:
    return {"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}


@pytest.fixture
def with_model(workspace: Path, model: FakeModel, monkeypatch) -> Path:
    add_config(workspace, f'[story]\nllm = "openai"\nllm_model = "test-model"\nllm_base_url = "{model.url}"\n')
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.chdir(workspace)
    return workspace


def test_the_models_summary_replaces_the_draft_and_is_reviewed(with_model: Path, model: FakeModel, issue_path: Path) -> None:
    summary = "An Arctic trial of sodium cells kept 92 percent of their capacity through the winter. The 4-megawatt-hour battery barely needed heating."
    model.replies.append((200, completion(summary)))
    result = run("story", "add", str(issue_path), str(ARTICLE), "--llm")
    assert result.exit_code == 0, result.output
    assert summary in " ".join(issue_path.read_text().split())  # wrapped over lines in the file
    assert "written by test-model" in result.output
    headers, body = model.requests[0]
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert body["model"] == "test-model"
    assert "92 percent" in body["messages"][1]["content"]  # the extracted article went to the model
    assert KEY not in result.output


def test_a_figure_the_article_does_not_give_is_flagged(with_model: Path, model: FakeModel) -> None:
    model.replies.append((200, completion("The cells kept 97 percent of their capacity, 4-megawatt-hour battery and all.")))
    result = run("story", "show", str(ARTICLE), "--llm")
    assert result.exit_code == 0, result.output
    assert "'97'" in result.output and "which the article does not" in result.output
    assert "'4'" not in result.output  # "4-megawatt-hour" is in the article


def test_verbose_shows_the_prompt_and_the_answer_but_never_the_key(with_model: Path, model: FakeModel) -> None:
    model.replies.append((200, completion("A short summary of the test.")))
    result = run("story", "show", str(ARTICLE), "--llm", "--verbose")
    assert result.exit_code == 0, result.output
    assert "--- prompt (system) ---" in result.output and "Fixture Weekly" in result.output
    assert "--- answer from test-model ---" in result.output and "chatcmpl-1" in result.output
    assert KEY not in result.output


@pytest.mark.slow
def test_server_errors_are_retried_then_reported_and_nothing_is_written(with_model: Path, model: FakeModel, issue_path: Path) -> None:
    before = issue_path.read_bytes()
    model.replies.extend([(500, {"error": {"message": "overloaded"}})] * 3)
    result = run("story", "add", str(issue_path), str(ARTICLE), "--llm")
    assert result.exit_code == 1
    assert "overloaded" in result.output and "tried 3 times" in result.output and "Traceback" not in result.output
    assert len(model.requests) == 3
    assert issue_path.read_bytes() == before


def test_a_refused_key_is_reported_without_the_key(with_model: Path, model: FakeModel) -> None:
    model.replies.append((401, {"error": {"message": f"Incorrect API key provided: {KEY}"}}))
    result = run("story", "show", str(ARTICLE), "--llm")
    assert result.exit_code == 1
    assert "refused the request (401)" in result.output and KEY not in result.output
    assert len(model.requests) == 1  # a refusal is not retried


def test_without_a_model_or_a_key_llm_is_refused_before_fetching(workspace: Path, monkeypatch, model: FakeModel) -> None:
    monkeypatch.chdir(workspace)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = run("story", "show", str(ARTICLE), "--llm")
    assert result.exit_code == 2 and "[story] llm" in result.output
    add_config(workspace, f'[story]\nllm = "openai"\nllm_base_url = "{model.url}"\n')
    result = run("story", "show", str(ARTICLE), "--llm")
    assert result.exit_code == 2 and "OPENAI_API_KEY" in result.output
    assert model.requests == []


def test_without_llm_drafting_stays_offline(with_model: Path, model: FakeModel) -> None:
    result = run("story", "show", str(ARTICLE))
    assert result.exit_code == 0 and model.requests == []


def test_a_local_ollama_needs_no_key_variable(workspace: Path, model: FakeModel, monkeypatch) -> None:
    for variable in ("OPENAI_API_KEY", "MISTRAL_API_KEY", "GROQ_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    add_config(workspace, f'[story]\nllm = "ollama"\nllm_model = "test-model"\nllm_base_url = "{model.url}"\n')
    monkeypatch.chdir(workspace)
    model.replies.append((200, completion("A pilot plant in the Arctic kept 92 percent of its capacity through the winter.")))
    result = run("story", "show", str(ARTICLE), "--llm")
    assert result.exit_code == 0, result.output
    assert "92 percent of its capacity through the winter" in result.stdout
    headers, _ = model.requests[0]
    assert "Authorization" not in headers  # no key, and no made-up one
    assert "without TLS" not in result.output  # no key travels


@pytest.mark.parametrize(
    ("name", "base_url", "variable"),
    [("mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY"), ("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY")],
)
def test_mistral_and_groq_are_named_and_bring_their_own_address_and_key_variable(
    workspace: Path, model: FakeModel, monkeypatch, name: str, base_url: str, variable: str
) -> None:
    from newsletter.workspace.config import load_workspace

    monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(workspace)
    add_config(workspace, f'[story]\nllm = "{name}"\n')
    settings = load_workspace(workspace).config.story
    assert (settings.llm_base_url, settings.llm_key_env) == (base_url, variable)
    refused = run("story", "show", str(ARTICLE), "--llm")
    assert refused.exit_code == 2 and variable in refused.output  # its own key variable, asked for before any request
    add_config(workspace, f'llm_base_url = "{model.url}"\n')  # still in [story]: the test's server stands in for it
    monkeypatch.setenv(variable, KEY)
    result = run("story", "show", str(ARTICLE), "--llm")
    assert result.exit_code == 0, result.output
    assert model.requests[0][0]["Authorization"] == f"Bearer {KEY}"


def test_the_models_summary_is_merged_into_the_draft_without_the_command() -> None:
    from newsletter.stories.draft import draft_story
    from newsletter.stories.figures import Unsupported
    from newsletter.stories.llm import Model, ModelSummary, with_model_summary
    from newsletter.workspace.config import StorySettings

    draft = draft_story(str(ARTICLE))
    written = ModelSummary("The cells kept 97 percent of their capacity.", [], "{}", [Unsupported("97")])
    merged = with_model_summary(draft, written, Model(StorySettings(llm="ollama", llm_model="test-model"), None))
    assert merged.story.summary == written.text
    assert merged.story.title == draft.story.title and merged.article == draft.article
    assert merged.notes[: len(draft.notes)] == draft.notes
    assert merged.notes[len(draft.notes) :] == [
        "the summary was written by test-model: check it against the article",
        "the model's summary gives '97', which the article does not: check it",
    ]


def test_a_workspace_without_a_model_is_refused_by_the_stories_package(workspace: Path) -> None:
    from newsletter.stories.llm import ModelUnset, chosen_model
    from newsletter.workspace.config import load_workspace

    with pytest.raises(ModelUnset, match=r"\[story\] llm"):
        chosen_model(load_workspace(workspace).config)
