"""No secret of the integrations is kept or shown where a stranger or a log reader could find it: an
API token, an admin sign-in link and an admin session are in no file of the workspace (the database
included), in no log line and in no answer other than the one that hands them out."""

from __future__ import annotations

import logging
import urllib.parse
from pathlib import Path

import pytest

from tests.helpers.api import ApiClient, make_token
from tests.helpers.cli import run
from tests.helpers.web import link_in, outbox

pytestmark = pytest.mark.slow

EDITOR = "ana@example.com"
SETTINGS = f'[admin]\neditors = ["{EDITOR}"]\n'
SIGN_IN_LINK = r"https?://\S+/admin/login\?token=\S+"


def test_tokens_links_and_sessions_leave_no_copy_in_files_logs_or_answers(serve, workspace: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client = serve(SETTINGS)
    token = make_token(workspace, "zapier")
    api = ApiClient(client, token)
    answers = [api.call("put", "/api/v1/subscribers/ada@example.com", {"name": "Ada"})[2].body]
    answers.append(api.call("get", "/api/v1/subscribers/nobody@example.com")[2].body)  # a 404 problem
    answers.append(api.call("get", "/api/v1/issues", token=token + "x")[2].body)  # a near miss: 401
    listed = run("api-token", "list", cwd=workspace, ok=True).output

    form = client.get("/admin/login")
    csrf = form.body.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    client.post_form("/admin/login", {"csrf_token": csrf, "email": EDITOR})
    link = link_in(outbox(workspace)[-1], SIGN_IN_LINK)
    link_token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["token"][0]
    page = client.get(link)
    csrf = page.body.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    signed = client.post_form("/admin/login/confirm", {"csrf_token": csrf, "token": link_token, "next": ""})
    assert signed.status == 302
    session = next(value for name, value in client.cookies.items() if "admin" in name)
    answers.append(client.get("/admin").body)

    secrets = {"API token": token, "sign-in link": link_token, "admin session": session}
    stored = {path: path.read_bytes() for path in workspace.rglob("*") if path.is_file() and "outbox" not in path.parts}
    for what, secret in secrets.items():
        assert secret not in caplog.text, f"the {what} is in a log line"
        assert secret not in listed
        for path, data in stored.items():
            assert secret.encode() not in data, f"the {what} is in {path.relative_to(workspace)}"
        assert all(secret not in body for body in answers), f"the {what} is in an answer"
