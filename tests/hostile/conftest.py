"""The hostile suite: every input the tool takes, attacked. Each test is one item of the review
(issue "Hardening"); its inputs are generated here, never checked in.

Every secret the suite uses is in tests.helpers.hostile.SECRETS, and no output may ever contain one of them:
its run() checks what the command line prints, and `logs_keep_no_secret` what every test's
servers and threads log (the web app's requests, the notice sender, the rate limits' storage).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.hostile import NEWSLETTER_SECRET, SECRETS
from tests.helpers.sendgrid_server import API_KEY, SendGridServer


@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    monkeypatch.setenv("NEWSLETTER_SECRET", NEWSLETTER_SECRET)
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)


@pytest.fixture(autouse=True)
def logs_keep_no_secret(caplog):
    """After each test: no secret and no traceback in anything logged while it ran, by any thread."""
    caplog.set_level("INFO")
    yield
    logged = caplog.text
    for secret in SECRETS:
        assert secret not in logged, "a secret reached the log"
    assert "Traceback" not in logged, logged[-3000:]


@pytest.fixture
def sendgrid(workspace: Path, monkeypatch):
    with SendGridServer() as server:
        monkeypatch.setenv("SENDGRID_API_HOST", server.url)
        yield server
