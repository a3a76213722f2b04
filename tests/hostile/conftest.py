"""The hostile suite: every input the tool takes, attacked. Each test is one item of the review
(issue "Hardening"); its inputs are generated here, never checked in.

Every secret the suite uses is in attack.SECRETS, and no output may ever contain one of them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # attack.py, the suite's helpers
# webtools, the web tests' helpers; appended, so that `from conftest import` in other folders
# never finds tests/web/conftest.py first
sys.path.append(str(Path(__file__).resolve().parent.parent / "web"))

from attack import API_KEY, NEWSLETTER_SECRET
from sendgrid_server import SendGridServer


@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    monkeypatch.setenv("NEWSLETTER_SECRET", NEWSLETTER_SECRET)
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)


@pytest.fixture
def sendgrid(workspace: Path, monkeypatch):
    with SendGridServer() as server:
        monkeypatch.setenv("SENDGRID_API_HOST", server.url)
        yield server
