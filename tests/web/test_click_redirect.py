"""The tool's own click redirect and open pixel, from a real send: a tracked link read out of a
reader's message in the outbox, followed, answers 302 to the story at once, and the click is
written by the recorder with its slot and link (the reader's address only with clicks = "reader").
The answer never waits for the database: down, the redirect still works and the click is written
once it is back; a clean stop writes what was queued."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from newsletter.db import Server
from newsletter.engagement.recorder import Recorder
from newsletter.mail.clicks import NO_READER, reader_signer, tracked_url
from newsletter.workspace.credentials import signing_keys
from tests.helpers.clicks import (
    BROWSER,
    ISSUE,
    backdate_deliveries,
    clicks_in,
    location_of,
    opens_in,
    pixel_path,
    send_sample,
    set_variant,
    tracked_links,
)
from tests.helpers.deployment import listening_port
from tests.helpers.web import Apps, Client
from tests.helpers.workspace import add_config

STORY = "https://example.org/robots/towels"  # the sample issue's first story


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, monkeypatch) -> str:
    """Each test that asks runs on a fresh SQLite file, then on a fresh PostgreSQL database."""
    if request.param == "postgresql":
        monkeypatch.setenv("DATABASE_URL", request.getfixturevalue("pg_url"))
    return str(request.param)


@pytest.fixture
def apps(workspace: Path):
    found = Apps(workspace)
    yield found
    found.stop()


def recorder_of(apps: Apps) -> Recorder:
    found: Recorder = apps.running[-1].app.extensions["newsletter"].recorder
    return found


def follow(client: Client, path: str, method: str = "GET", agent: str = BROWSER) -> http.client.HTTPMessage:
    answer = client.request(method, path, headers={"User-Agent": agent})
    assert answer.status == 302, (answer.status, answer.body[:300])
    return answer.headers


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["aggregate", "reader"])
def test_a_link_of_a_sent_issue_goes_to_its_story_and_the_click_is_recorded(database, mode: str, apps: Apps, workspace: Path) -> None:
    messages = send_sample(workspace)
    location = location_of(workspace)
    backdate_deliveries(location)
    set_variant(location, "reader00001@example.com", 2)
    client = apps.serve(f'[tracking]\nclicks = "{mode}"\n')
    links = tracked_links(messages["reader00001@example.com"])
    assert set(links) == {"0", "1", "2", "3", "sponsor"}

    headers = follow(client, links["1"])
    assert headers["Location"] == STORY
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"  # the reader part stays here, not in the story site's logs
    assert follow(client, links["sponsor"])["Location"] == "https://sponsor.example.org/?ref=fixture"
    assert recorder_of(apps).flush()

    email = "reader00001@example.com" if mode == "reader" else None
    assert clicks_in(location) == [
        (ISSUE, "1", STORY, email, 2, None),
        (ISSUE, "sponsor", "https://sponsor.example.org/?ref=fixture", email, 2, None),
    ]


@pytest.mark.slow
def test_a_click_right_after_delivery_and_a_head_request_are_kept_apart_as_machines(apps: Apps, workspace: Path) -> None:
    messages = send_sample(workspace, readers=1)
    client = apps.serve()
    links = tracked_links(messages["reader00000@example.com"])
    follow(client, links["1"])  # seconds after the send: a gateway scanning the message on arrival
    follow(client, links["2"], method="HEAD")
    follow(client, links["3"], agent="Mozilla/5.0 (compatible; BingPreview/1.0b)")
    assert recorder_of(apps).flush()
    assert [(slot, machine) for _, slot, _, _, _, machine in clicks_in(location_of(workspace))] == [("1", "early"), ("2", "head"), ("3", "agent")]


@pytest.mark.slow
def test_several_links_of_one_copy_at_once_are_a_scanners_burst_even_across_batches(database, apps: Apps, workspace: Path) -> None:
    messages = send_sample(workspace)
    location = location_of(workspace)
    backdate_deliveries(location)
    client = apps.serve()
    scanned = tracked_links(messages["reader00000@example.com"])
    read = tracked_links(messages["reader00001@example.com"])
    recorder = recorder_of(apps)
    follow(client, scanned["1"])
    assert recorder.flush()  # written as a person's click, before the rest of the burst came
    for slot in ("2", "3", "sponsor"):
        follow(client, scanned[slot])
    follow(client, read["1"])
    follow(client, read["2"])  # two stories in new tabs: a person can do that
    assert recorder.flush()
    machines = [(slot, machine) for _, slot, _, _, _, machine in clicks_in(location)]
    assert machines == [("1", "burst"), ("2", "burst"), ("3", "burst"), ("sponsor", "burst"), ("1", None), ("2", None)]


@pytest.mark.slow
def test_a_proof_counts_for_nobody_and_a_forged_reader_part_for_an_anonymous_click(apps: Apps, workspace: Path) -> None:
    messages = send_sample(workspace, readers=1)
    location = location_of(workspace)
    backdate_deliveries(location)
    client = apps.serve('[tracking]\nclicks = "reader"\n')
    genuine = tracked_links(messages["reader00000@example.com"])["1"]
    reader = genuine.split("/")[5].partition("?")[0]
    public_id = reader.partition(".")[0]
    follow(client, genuine.replace(reader, NO_READER))
    follow(client, genuine.replace(reader, f"{public_id}.forgedforgedforgedforged"))
    assert recorder_of(apps).flush()
    assert clicks_in(location) == [(ISSUE, "1", STORY, None, None, None)]  # the forged one, credited to no one


@pytest.mark.slow
def test_with_clicks_off_a_link_sent_before_still_redirects_and_nothing_is_recorded(apps: Apps, workspace: Path) -> None:
    messages = send_sample(workspace, readers=1)
    client = apps.serve('[tracking]\nclicks = "off"\n')
    assert follow(client, tracked_links(messages["reader00000@example.com"])["1"])["Location"] == STORY
    assert recorder_of(apps).flush()
    assert clicks_in(location_of(workspace)) == []


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["aggregate", "reader"])
def test_the_open_pixel_records_an_open_and_apples_proxy_as_a_machine_open(mode: str, apps: Apps, workspace: Path) -> None:
    add_config(workspace, f'[tracking]\nclicks = "{mode}"\nopens = true\n')
    messages = send_sample(workspace, readers=1)
    client = apps.serve()
    pixel = pixel_path(messages["reader00000@example.com"])
    for agent in (BROWSER, "Mozilla/5.0"):  # Apple Mail Privacy Protection's proxy sends the bare agent
        answer = client.request("GET", pixel, headers={"User-Agent": agent})
        assert (answer.status, answer.headers["Content-Type"], answer.headers["Cache-Control"]) == (200, "image/gif", "no-store")
    assert recorder_of(apps).flush()
    email = "reader00000@example.com" if mode == "reader" else None
    assert sorted(opens_in(location_of(workspace)), key=str) == [("newsletter", ISSUE, email, "machine"), ("newsletter", ISSUE, email, None)]


@pytest.mark.slow
def test_opens_are_not_recorded_unless_turned_on(apps: Apps, workspace: Path) -> None:
    client = apps.serve()
    reader = reader_signer(signing_keys("outbox").current, ISSUE)("AbCdEfGhIjKlMnOp")
    assert client.request("GET", f"/o/{ISSUE}/{reader}", headers={"User-Agent": BROWSER}).status == 200
    assert recorder_of(apps).flush()
    assert opens_in(location_of(workspace)) == []


def links_for(count: int) -> list[str]:
    """The sample's first story's tracked link as `count` different readers got it."""
    secret = signing_keys("outbox").current
    reader = reader_signer(secret, ISSUE)
    template = tracked_url("", ISSUE, "1", STORY, secret, reader="{reader}")
    return [template.replace("{reader}", reader(f"reader{n:010d}")) for n in range(count)]


@pytest.mark.slow
def test_every_click_of_many_at_once_is_recorded_after_a_flush(database, apps: Apps, workspace: Path) -> None:
    client = apps.serve()
    paths = links_for(100)
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda path: client.request("GET", path, headers={"User-Agent": BROWSER}).status, paths))
    assert statuses == [302] * 100
    assert recorder_of(apps).flush()
    assert len(clicks_in(location_of(workspace))) == 100


@pytest.mark.slow
def test_the_redirect_answers_while_the_database_is_down_and_the_click_is_written_when_it_is_back(apps: Apps, workspace: Path) -> None:
    client = apps.serve()
    database = workspace / "subscribers.db"
    recorder = recorder_of(apps)
    recorder.every = 3600.0  # only this test's flushes write (the thread's open connection would outlive the move)
    follow(client, links_for(1)[0])  # the database exists: written
    assert recorder.flush()
    database.rename(workspace / "away.db")
    database.mkdir()  # a folder where the file was: every connection fails
    assert follow(client, links_for(2)[1])["Location"] == STORY
    assert not recorder.flush()
    assert recorder.waiting == 1  # kept in memory
    database.rmdir()
    (workspace / "away.db").rename(database)
    assert recorder.flush()
    assert len(clicks_in(database)) == 2


@pytest.mark.slow
def test_on_postgresql_a_database_that_cannot_be_reached_still_redirects_and_gets_the_click_later(postgres, apps: Apps, workspace: Path, monkeypatch) -> None:
    import psycopg

    name = f"later_{os.getpid()}_{time.monotonic_ns()}"
    monkeypatch.setenv("DATABASE_URL", postgres.url(name))  # no such database yet: every connection fails
    client = apps.serve()
    assert follow(client, links_for(1)[0])["Location"] == STORY
    recorder = recorder_of(apps)
    assert not recorder.flush()
    with psycopg.connect(postgres.url(), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    assert recorder.flush()
    assert len(clicks_in(Server(postgres.url(name)))) == 1


@pytest.mark.slow
def test_stopping_the_server_writes_the_clicks_still_queued(apps: Apps, workspace: Path) -> None:
    client = apps.serve()
    recorder = recorder_of(apps)
    recorder.every = 3600.0  # the thread would write them only in an hour
    for path in links_for(30):
        follow(client, path)
    assert recorder.waiting == 30
    apps.stop()
    assert len(clicks_in(workspace / "subscribers.db")) == 30


@pytest.mark.slow
def test_a_gunicorn_worker_that_is_stopped_writes_its_queued_clicks(workspace: Path) -> None:
    """gunicorn, as deployed: clicks answered, then SIGTERM at once; every one is in the database."""
    log = workspace / "gunicorn.log"
    command = [str(Path(sys.executable).with_name("gunicorn")), "-c", "python:newsletter.web.gunicorn_conf", "-w", "1", "-b", "127.0.0.1:0", "newsletter.web:create_app()"]
    env = {**os.environ, "NEWSLETTER_WORKSPACE": str(workspace), "XDG_RUNTIME_DIR": str(workspace)}
    with open(log, "wb") as out:
        server = subprocess.Popen(command, cwd=workspace, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        client = Client(f"http://127.0.0.1:{listening_port(log, server)}")
        paths = links_for(40)
        for path in paths:
            follow(client, path)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert len(clicks_in(workspace / "subscribers.db")) == len(paths), log.read_text()[-2000:]
