"""The click redirect attacked: it must never send anyone anywhere an issue did not link (no open
redirect), whatever a stranger does to a tracked link: forge its signature, change its link, move
it to another issue or slot, sign a javascript: link, stretch or twist the path and query. A
genuine link replayed counts again and still goes only where it went. A flood, with the database
down, keeps a bounded number of clicks in memory. The signature check takes the same time however
close a forgery comes (hmac.compare_digest)."""

from __future__ import annotations

import hmac
import random
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from newsletter.db import Database
from newsletter.engagement.recorder import KEPT, Recorder
from newsletter.mail.clicks import link_signature, reader_signer, tracked_url, verify_link, verify_reader
from newsletter.web import create_app
from newsletter.web.extensions import limiter
from newsletter.web.security import redact_tokens
from newsletter.workspace.credentials import signing_keys

ISSUE = "7"
STORY = "https://example.org/robots/towels"
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}


@pytest.fixture
def app(workspace: Path) -> Iterator[Flask]:
    made = create_app(workspace)
    limiter.reset()
    yield made
    here = made.extensions["newsletter"]
    here.recorder.stop()
    here.sender.stop()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def secret() -> bytes:
    return signing_keys("outbox").current


def reader(public_id: str = "AbCdEfGhIjKlMnOp", issue: str = ISSUE) -> str:
    return reader_signer(secret(), issue)(public_id)


def link(url: str = STORY, slot: str = "1", issue: str = ISSUE, who: str | None = None) -> str:
    """A genuine tracked link's path and query, as the send makes it."""
    return tracked_url("", issue, slot, url, secret(), reader=who or reader(issue=issue))


def clicks(app: Flask) -> int:
    app.extensions["newsletter"].recorder.flush()
    with Database(app.extensions["newsletter"].workspace.database) as db:
        return db.clicks.count(ISSUE, people_only=False)


def refused(client: FlaskClient, path: str, **headers: str) -> None:
    """`path` gets a 4xx and no Location: it goes nowhere."""
    answer = client.get(path, headers={**BROWSER, **headers})
    assert 400 <= answer.status_code < 500, (path[:200], answer.status_code)
    assert "Location" not in answer.headers


def test_a_genuine_link_goes_to_its_story(client: FlaskClient, app: Flask) -> None:
    answer = client.get(link(), headers=BROWSER)
    assert (answer.status_code, answer.headers["Location"]) == (302, STORY)
    assert clicks(app) == 1


def test_a_forged_signature_goes_nowhere_and_counts_nothing(client: FlaskClient, app: Flask) -> None:
    genuine = link()
    sig = genuine.split("/")[4]
    for forged in ("A" * len(sig), sig[:-1] + ("A" if sig[-1] != "A" else "B"), "", "x", sig + "A"):
        refused(client, genuine.replace(f"/{sig}/", f"/{forged}/"))
    page = client.get(genuine.replace(f"/{sig}/", "/AAAAAAAAAAAAAAAAAAAAAA/"))
    assert page.status_code == 404 and "<html" in page.get_data(as_text=True).lower()  # the plain not-found page
    assert clicks(app) == 0


def test_a_genuine_signature_with_another_link_goes_nowhere(client: FlaskClient, app: Flask) -> None:
    genuine = link()
    for other in ("https://evil.example/", "https://example.org/robots/towels/", "http://example.org/robots/towels", "https://example.org/robots/towels?x=1", "https://EXAMPLE.org/robots/towels"):
        refused(client, genuine.replace(urllib.parse.quote(STORY, safe=":/?=@"), urllib.parse.quote(other, safe=":/?=@")))
    assert clicks(app) == 0


def test_another_issues_or_slots_signature_goes_nowhere(client: FlaskClient) -> None:
    sig = link().split("/")[4]
    refused(client, f"/r/8/1/{sig}/{reader(issue='8')}?u={STORY}")
    refused(client, f"/r/{ISSUE}/2/{sig}/{reader()}?u={STORY}")
    refused(client, f"/r/{ISSUE}/sponsor/{sig}/{reader()}?u={STORY}")


NO_WEB_PAGE = ["javascript:alert(document.cookie)", "data:text/html,<script>alert(1)</script>", "//evil.example/", "ftp://evil.example/", "JAVASCRIPT:alert(1)"]


@pytest.mark.parametrize("url", [*NO_WEB_PAGE, " https://evil.example/", "https:/\\evil.example"])
def test_a_link_that_is_no_web_page_goes_nowhere_even_signed_with_the_real_key(client: FlaskClient, url: str) -> None:
    assert link_signature(ISSUE, "1", url, secret())  # the key would sign it; the redirect still refuses it
    refused(client, link(url=url))


ODD = [
    "/r/7/1/{sig}/{reader}",  # no ?u=
    "/r/7/1/{sig}/{reader}?u=",
    "/r/7/1/{sig}/{reader}?u={story}&u=https://evil.example/",  # a second u= to take over the first
    "/r/7/1/{sig}/{reader}?u=https://evil.example/&u={story}",
    "/r/7/1/{sig}/{reader}?u={story}%0d%0aLocation:%20https://evil.example/",
    "/r/7/1/{sig}/{reader}?u={story}%00",
    "/r/7/1/{sig}/{reader}?U={story}",
    "/r/7/1/{sig}/../../evil?u={story}",
    "/r/7/1/{sig}/{reader}/extra?u={story}",
    "/r/7/1/{sig}?u={story}",
    "/r/7//{sig}/{reader}?u={story}",
    "/r/%2e%2e/1/{sig}/{reader}?u={story}",
    "/r/7/1/{sig}/{reader}?u=https://example.org/robots/t%C3%B6wels",
    "/r/7/99999/{sig}/{reader}?u={story}",
    "/r/" + "7" * 5000 + "/1/{sig}/{reader}?u={story}",
    "/r/7/1/" + "A" * 20_000 + "/{reader}?u={story}",
    "/r/7/1/{sig}/{reader}?u=https://example.org/" + "a" * 50_000,
    "/r/7/1/{sig}/{reader}?" + "&".join(f"p{n}=1" for n in range(5000)),
    "/r/7/1/{sig}/{reader}?u=%ff%fe{story}",
    "/r/7/1/{sig}/\u00e9\u00e9?u={story}",
]


@pytest.mark.parametrize("template", ODD, ids=range(len(ODD)))
def test_odd_paths_and_queries_get_a_4xx_never_a_redirect_or_a_500(client: FlaskClient, template: str) -> None:
    genuine = link()
    path = template.format(sig=genuine.split("/")[4], reader=reader(), story=STORY)
    answer = client.get(path, headers=BROWSER)
    if answer.status_code == 302:  # only ever to the story itself: the query's other fields are ignored
        assert answer.headers["Location"] == STORY, path[:200]
    else:
        assert 400 <= answer.status_code < 500 and "Location" not in answer.headers, (path[:200], answer.status_code)


@pytest.mark.slow
def test_flipping_any_character_of_a_genuine_link_never_redirects_elsewhere(client: FlaskClient) -> None:
    genuine = link()
    alphabet = "AZaz09-_./?=:%"
    chances = random.Random(27)
    for _ in range(300):
        at = chances.randrange(3, len(genuine))
        mutated = genuine[:at] + chances.choice(alphabet) + genuine[at + 1 :]
        answer = client.get(mutated, headers=BROWSER)
        assert answer.status_code != 500, mutated
        if answer.status_code == 302:
            assert answer.headers["Location"] == STORY, mutated  # a flip in the reader part: still the story


def test_a_replayed_link_counts_again_and_goes_to_the_same_place(client: FlaskClient, app: Flask) -> None:
    genuine = link()
    assert [client.get(genuine, headers=BROWSER).headers["Location"] for _ in range(3)] == [STORY] * 3
    assert clicks(app) == 3


def test_a_host_header_of_a_strangers_choosing_changes_nowhere_a_link_goes(client: FlaskClient) -> None:
    assert client.get(link(), headers={**BROWSER, "Host": "evil.example"}).headers["Location"] == STORY
    refused(client, link().replace(link().split("/")[4], "A" * 22), Host="evil.example")


def test_the_reader_part_never_reaches_a_log_line() -> None:
    line = f"GET {link()} HTTP/1.1"
    assert reader() not in redact_tokens(line)
    assert reader() not in redact_tokens(f"GET /o/{ISSUE}/{reader()} HTTP/1.1")
    assert STORY in redact_tokens(line)  # what was clicked stays readable


@pytest.mark.slow
def test_a_flood_with_the_database_down_keeps_a_bounded_number_of_clicks(client: FlaskClient, app: Flask, workspace: Path, caplog) -> None:
    recorder = app.extensions["newsletter"].recorder
    recorder.keep = 50
    recorder.every = 3600.0  # only this test's flushes write (the thread's open connection would outlive the move)
    assert client.get(link(), headers=BROWSER).status_code == 302
    assert recorder.flush()
    database = workspace / "subscribers.db"
    database.rename(workspace / "away.db")
    database.mkdir()
    assert all(client.get(link(), headers=BROWSER).status_code == 302 for _ in range(150))
    assert not recorder.flush()
    assert (recorder.waiting, recorder.dropped) == (50, 100)
    database.rmdir()
    (workspace / "away.db").rename(database)
    assert recorder.flush()
    assert clicks(app) == 51
    assert "100 click(s) and open(s) dropped" in caplog.text


@pytest.mark.slow
def test_the_recorder_holds_at_most_its_limit_whatever_comes(tmp_path: Path, monkeypatch, caplog) -> None:
    folder = tmp_path / "not-a-database"
    folder.mkdir()  # every write fails
    recorder = Recorder(folder, every=3600)
    for _ in range(KEPT + 5_000):
        recorder.click(ISSUE, "1", STORY, None, False, "")
    assert (recorder.waiting, recorder.dropped) == (KEPT, 5_000)
    assert not recorder.flush()
    assert recorder.waiting == KEPT
    monkeypatch.setattr("newsletter.engagement.recorder.STOP_RETRY_SECONDS", 0.0)
    recorder.stop()
    assert f"{KEPT} click(s) and open(s) were not recorded: the database could not be reached at shutdown" in caplog.text


def test_the_signature_and_reader_checks_compare_in_constant_time(monkeypatch) -> None:
    compared: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a, b):  # type: ignore[no-untyped-def]
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    keys = signing_keys("outbox")
    sig = link().split("/")[4]
    assert verify_link(ISSUE, "1", other_last(sig), STORY, keys) is None
    assert verify_reader(other_last(reader()), ISSUE, keys) is None
    assert len(compared) >= 2 and all(a != b for a, b in compared)  # each check went through compare_digest, never ==


def other_last(token: str) -> str:
    """`token` with its last character changed (whatever it was)."""
    return token[:-1] + ("B" if token.endswith("A") else "A")
