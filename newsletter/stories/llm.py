"""`story add --llm`: a language model writes the summary, in the newsletter's voice, from the
article the drafter extracted. Optional: it needs `[story] llm` in newsletter.toml and a key in the
environment; without `--llm` nothing here runs and drafting stays offline and deterministic.

The model's words are checked against the article (newsletter/stories/figures.py): a figure in its
summary that the article does not give is reported, since a model can invent one, and so is one the
article gives only in a sentence addressed to a model, since a page can steer one.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass, field

from pydantic import ValidationError
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from ..errors import ConfigError
from ..models import Story
from ..workspace.config import Config, StorySettings
from ..workspace.credentials import llm_api_key, mask_secrets, refuse_clear_text
from .draft import Draft
from .errors import StoryError
from .figures import Unsupported, unsupported_figures
from .guarded_http import Guard, opener, read_body

ARTICLE_CHARS = 24_000  # what the model reads of a long article: the lead and the body's first pages
ANSWER_BYTES = 1_000_000
TIMEOUT = 60.0  # seconds for a whole request, connect to the answer's last byte


@dataclass
class ModelSummary:
    text: str
    prompt: list[dict[str, str]]  # the messages sent, for --verbose (secrets masked)
    answer: str  # the model's answer as it came, for --verbose (secrets masked)
    unsupported: list[Unsupported] = field(default_factory=list)  # figures in `text` the article does not give


@dataclass(frozen=True)
class Model:
    """The model [story] names, with its key: made by `model_for`, which checks where the key may go."""

    settings: StorySettings
    key: str | None = field(repr=False)  # None: the API asks for none (a local Ollama)

    @property
    def url(self) -> str:
        return self.settings.llm_base_url.rstrip("/") + "/chat/completions"


class ModelUnset(ConfigError):
    """--llm cannot run: [story] names no model, or the key it names is not in the environment."""


def chosen_model(config: Config) -> tuple[str, Model]:
    """(the newsletter's name, the model [story] names), checked before any fetching: a model is
    named, its key is set (ModelUnset if not), and the key may go where llm_base_url says."""
    if config.story.llm is None:
        raise ModelUnset('--llm needs a model: set [story] llm = "openai", "mistral", "groq" or "ollama" (any OpenAI-compatible API) in newsletter.toml')
    try:
        if config.story.llm_key_env is not None:
            llm_api_key(config.story.llm_key_env)
    except ConfigError as exc:
        raise ModelUnset(str(exc)) from None
    return config.newsletter.name, model_for(config.story)


def model_for(settings: StorySettings) -> Model:
    """The model of `settings` with its key from the environment, if [story] llm_key_env names one
    (Ollama's default names none). The key goes with every request, so [story] llm_base_url must
    then be https, or plain http to this machine (a local model, with a warning), as for SendGrid and
    SMTP. Raises ConfigError before anything is sent."""
    if settings.llm_key_env is None:
        return Model(settings, None)
    key = llm_api_key(settings.llm_key_env)
    refuse_clear_text(settings.llm_base_url, "[story] llm_base_url")
    return Model(settings, key)


class _Retryable(Exception):
    """A 429, a 5xx or a dropped connection: worth another try."""


def write_summary(article: str, title: str, newsletter: str, model: Model) -> ModelSummary:
    """Ask `model` for a 2 to 3 sentence summary of `article`. Raises StoryError. No secret is in
    what it returns or raises."""
    settings = model.settings
    prompt = messages(article, title, newsletter, settings.voice)
    body = {"model": settings.llm_model, "messages": prompt, "temperature": 0.2}
    try:
        answer = _ask(model.url, model.key, body)
        text = mask_secrets(_content(answer, settings))  # it goes into the issue file
    except (_Retryable, StoryError) as exc:  # some providers echo part of a wrong key: never show it
        raise StoryError(mask_secrets(str(exc)) + (" (tried 3 times)" if isinstance(exc, _Retryable) else "")) from None
    shown = [{**message, "content": mask_secrets(message["content"])} for message in prompt]
    return ModelSummary(text, shown, mask_secrets(answer), unsupported_figures(text, article))


def with_model_summary(draft: Draft, written: ModelSummary, model: Model) -> Draft:
    """The draft with the model's summary (from write_summary) in place of the extractive one, and
    a note for each figure in it that the article does not give. Raises StoryError when the summary
    would not make a valid story."""
    try:
        story = Story.model_validate({**draft.story.model_dump(), "summary": written.text})
    except ValidationError as exc:
        raise StoryError(f"the model's summary cannot be used: {exc.errors()[0]['msg']}") from None
    notes = [*draft.notes, f"the summary was written by {model.settings.llm_model}: check it against the article"]
    for found in written.unsupported:
        if found.injected:
            sentence = found.injected if len(found.injected) <= 160 else found.injected[:157] + "..."
            notes.append(
                f"the model's summary gives {found.figure!r}, which the article gives only in a sentence addressed to a model ({sentence!r}): "
                "check it, the page may be steering the model"
            )
        else:
            notes.append(f"the model's summary gives {found.figure!r}, which the article does not: check it")
    return Draft(story, draft.origin, notes, draft.article)


def messages(article: str, title: str, newsletter: str, voice: str) -> list[dict[str, str]]:
    system = (
        f"You write the story summaries of the newsletter {newsletter!r}. Its voice: {voice}. "
        "Summarize the article you are given in 2 or 3 sentences, at most 60 words, in the article's language. "
        "Lead with who did what, when, and the key figures. Use only facts the article states; keep every number exactly as written. "
        "Write in your own words, copy no sentence, and answer with the summary alone."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": f"Title: {title}\n\n{article[:ARTICLE_CHARS]}"}]


@retry(
    retry=retry_if_exception(lambda exc: isinstance(exc, _Retryable)),
    stop=stop_after_attempt(3),
    wait=wait_exponential(multiplier=0.5, max=8),
    reraise=True,
)
def _ask(url: str, key: str | None, body: dict[str, object]) -> str:
    """POST `body` to `url` within one deadline of TIMEOUT seconds for the whole request (connect,
    headers and body: a server dripping a byte at a time meets it too), never followed elsewhere.
    A deadline missed is not tried again: another try would only triple the wait."""
    import urllib.error
    import urllib.request

    guard = Guard(url, TIMEOUT, allow_private=True, name=f"the model's API at {url}")  # a local model is fine
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {key}"} if key else {})
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers=headers)
    try:
        with opener(guard, follow_redirects=False).open(request, timeout=TIMEOUT) as response:
            data = read_body(response, guard, ANSWER_BYTES)
            status = response.status
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        if guard.expired.is_set():
            raise guard.too_slow() from None
        raise _Retryable(f"cannot reach {url}: {exc.__class__.__name__}") from None
    finally:
        guard.close()
    text = data[:ANSWER_BYTES].decode("utf-8", "replace")
    if status == 429 or status >= 500:
        raise _Retryable(f"{url} answered {status}: {_words(text)}")
    if status != 200:
        raise StoryError(f"the model's API at {url} refused the request ({status}): {_words(text)}")
    return text


def _content(answer: str, settings: StorySettings) -> str:
    try:
        text = json.loads(answer)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise StoryError(f"the model's API at {settings.llm_base_url} gave an answer that is not a chat completion") from None
    if not isinstance(text, str) or not text.strip():
        raise StoryError(f"the model ({settings.llm_model}) answered with no summary")
    return " ".join(text.split())


def _words(text: str) -> str:
    """The provider's own message, if its error is JSON; else the start of what it sent. Secrets are
    masked before the cut, which could leave a piece of one that no longer matches it whole."""
    try:
        error = json.loads(text).get("error")
        if isinstance(error, dict) and error.get("message"):
            return mask_secrets(str(error["message"]))[:300]
    except (ValueError, AttributeError):
        pass
    return mask_secrets(" ".join(text.split()))[:300]
