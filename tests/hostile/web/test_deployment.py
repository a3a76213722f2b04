"""The README's production deployment, run as written: gunicorn (its command and
newsletter/web/gunicorn_conf.py) behind Debian's nginx (its configuration, read from the README),
with Redis for the rate limits. Slow clients that took every gunicorn thread must not stop it
answering; nginx's X-Forwarded-For must be the client's address for the rate limits."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import deployment, nginx_server
from tests.helpers.deployment import SlowClients, health_check, health_checks
from tests.helpers.hostile import NEWSLETTER_SECRET, SECRETS
from tests.helpers.workspace import add_config

pytestmark = pytest.mark.slow  # nginx in front of gunicorn, with 100 slow clients


@pytest.fixture
def deployed(workspace: Path, redis_url: str) -> Iterator[deployment.Deployment]:
    """The README's deployment of the fixture workspace: its [web] proxy settings, Redis for the limits."""
    if nginx_server.binary() is None:
        pytest.skip("deployment tests need nginx (apt-get install nginx)")
    add_config(workspace, deployment.proxy_settings() + f'rate_limit_storage = "{redis_url}"\nsubscribe_rate = "2/minute"\n')
    running = deployment.start(workspace, {"NEWSLETTER_SECRET": NEWSLETTER_SECRET, "SENDGRID_API_KEY": os.environ["SENDGRID_API_KEY"]})
    yield running
    running.stop()
    logs = running.logs()
    assert "Traceback" not in logs
    for secret in SECRETS:
        assert secret not in logs


def test_behind_nginx_health_checks_are_answered_while_100_slow_clients_drip(deployed: deployment.Deployment) -> None:
    with SlowClients(deployed.nginx_port, 100, interval=0.5, tls=deployed.tls()) as slow:
        checks = health_checks(deployed.nginx_port, count=15, spacing=0.2, timeout=2, tls=deployed.tls())
        held = slow.still_open()
    assert None not in checks  # every health check was answered,
    assert max(c for c in checks if c is not None) < 1.0  # at once,
    assert held >= 95  # while nginx kept the slow clients waiting (the attack was on)

    # The same slow clients straight at gunicorn (what the README's nginx is for): every thread
    # is taken and nothing is answered.
    with SlowClients(deployed.gunicorn_port, 100, interval=0.5) as slow:
        checks = health_checks(deployed.gunicorn_port, count=2, spacing=0, timeout=1.5)
    assert checks == [None, None]
    assert health_check("127.0.0.1", deployed.gunicorn_port, timeout=5) is not None  # and back once they leave


def signup(deployed: deployment.Deployment, source: str, address: str, forwarded_for: str | None = None) -> int:
    import http.client
    import socket

    sock = socket.create_connection(("127.0.0.1", deployed.nginx_port), timeout=10, source_address=(source, 0))
    connection = http.client.HTTPSConnection("127.0.0.1", deployed.nginx_port, timeout=10, context=deployed.tls())
    connection.sock = deployed.tls().wrap_socket(sock, server_hostname="127.0.0.1")
    headers = {"Content-Type": "application/json", "Host": "localhost"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    try:
        connection.request("POST", "/subscribe", json.dumps({"email": address}).encode(), headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_behind_nginx_the_limits_count_each_client_address(deployed: deployment.Deployment) -> None:
    # The app's rate limit (subscribe_rate = "2/minute", counted in Redis across both workers) takes
    # nginx's X-Forwarded-For as the client; a client's own header changes nothing.
    assert signup(deployed, "127.0.0.2", "one@example.com") == 202
    assert signup(deployed, "127.0.0.2", "two@example.com", forwarded_for="198.51.100.7") == 202
    assert signup(deployed, "127.0.0.2", "three@example.com", forwarded_for="198.51.100.8") == 429
    assert signup(deployed, "127.0.0.3", "four@example.com") == 202  # another client has its own count

    # nginx's limit_conn: one address holds at most 20 connections with a request under way.
    with SlowClients(deployed.nginx_port, 30, interval=0.3, tls=deployed.tls(), one_source=True, stall="bodies") as slow:
        checks = health_checks(deployed.nginx_port, count=4, spacing=0.3, timeout=3, tls=deployed.tls())
        held = slow.still_open()
    assert held == 20  # the 10 beyond were answered 429 and closed at once
    assert None not in checks
