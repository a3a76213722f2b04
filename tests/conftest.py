"""The suite's shared fixtures live in tests/helpers/ and are registered here (pytest_plugins); tests
import the helpers themselves as `tests.helpers.…`. Tests that need the browser or PostgreSQL are
marked so from the fixtures they use (pytest_collection_modifyitems), so that `make test-fast` can
leave them out."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("tests.helpers")  # a helper's failed assert says what it saw, as a test's does

pytest_plugins = [
    "tests.helpers.workspace",  # workspace, in_workspace, issue_path
    "tests.helpers.browser",  # browser
    "tests.helpers.postgres_server",  # postgres, pg_url
    "tests.helpers.redis_server",  # redis, redis_url
    "tests.helpers.postfix_server",  # postfix
    "tests.helpers.dovecot_server",  # dovecot
    "tests.helpers.ports",  # refused_port
    "tests.helpers.articles",  # article_server, shared_example
    "tests.helpers.feeds",  # feed_server
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `browser` every test that uses the browser fixture, and `postgres` every test that uses the
    PostgreSQL server: directly (pg_url and the fixtures built on it) or through the "postgresql"
    parameter of a fixture that runs a test on both databases and asks for pg_url only then."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "browser" in fixtures:
            item.add_marker(pytest.mark.browser)
        callspec = getattr(item, "callspec", None)
        if "postgres" in fixtures or (callspec is not None and "postgresql" in callspec.params.values()):
            item.add_marker(pytest.mark.postgres)
