"""`newsletter report` and `status` for every provider: events stored by any provider's receiver (in
the one vocabulary of providers/events.py), or posted to /webhooks/generic, are measured figures as
SendGrid's are; an issue that went out through the outbox with no event stored is still "not measured"."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from newsletter.db import Event
from newsletter.models import Status, Subscriber
from newsletter.providers import EVENT_SOURCES, NAMES, SHOWN
from newsletter.providers.events import BOUNCE, CLICK, COMPLAINT, DELIVERED, UNSUBSCRIBE, bounce_detail
from newsletter.report import text
from newsletter.report.figures import channel_group
from tests.helpers.cli import run

ISSUE_FILE = Path("issues") / "2026-12-01.yaml"  # issue 7 of the fixture workspace
AFTER_T1 = "2026-12-01T09:05:00+00:00"  # just after issue 7 went out (tests/report/conftest.py)
_ids = itertools.count(1)


def stored(data, provider: str, *events: tuple[str, str, dict[str, object]]) -> None:  # type: ignore[no-untyped-def]
    """Events as a provider's receiver makes them, recorded as the web route records them."""
    made = [
        Event(event_id=f"{provider}-{next(_ids)}", event=word, email=email, issue="7", send_id="s1", happened_at=AFTER_T1, **fields)  # type: ignore[arg-type]
        for word, email, fields in events
    ]
    data.db.events.record(made, provider)


def one_of_each(data, provider: str) -> None:  # type: ignore[no-untyped-def]
    """On issue 7's ten readers: 6 delivered, a hard and a soft bounce, a complaint, an unsubscribe, a click."""
    data.db.subscribers.upsert([Subscriber(f"r{i}@example.com") for i in range(10)])
    stored(
        data, provider,
        *[(DELIVERED, f"r{i}@example.com", {"delivered": True}) for i in range(6)],
        (BOUNCE, "r6@example.com", {"detail": bounce_detail(True, "550 5.1.1 no such user"), "status": Status.BOUNCED}),
        (BOUNCE, "r7@example.com", {"detail": bounce_detail(False, "452 mailbox full"), "soft_bounce": True}),
        (COMPLAINT, "r8@example.com", {"status": Status.COMPLAINED}),
        (UNSUBSCRIBE, "r9@example.com", {"status": Status.UNSUBSCRIBED}),
        (CLICK, "r0@example.com", {"detail": "https://example.org/a"}),
    )  # fmt: skip


def report(workspace: Path, *options: str) -> str:
    return run("report", workspace / ISSUE_FILE, *options, ok=True).output


@pytest.mark.parametrize("provider", ["mailgun", "generic"])
def test_another_providers_events_are_measured_figures(workspace: Path, data, provider: str) -> None:
    data.ledger("7", range(10), subject="S", provider="mailgun" if provider == "mailgun" else "smtp")  # generic: a relay reporting for an SMTP send
    one_of_each(data, provider)
    out = report(workspace)
    assert "not measured" not in out and "no delivery events yet" not in out
    assert re.search(r"^\s+delivered\s+6$", out, re.MULTILINE), out
    assert re.search(r"^\s+bounced\s+2\s+hard 1, soft 1$", out, re.MULTILINE), out
    assert re.search(r"^\s+complaints\s+1\s+16\.67% of delivered", out, re.MULTILINE), out
    assert re.search(r"^\s+clicks\s+1\s+by 1 address", out, re.MULTILINE), out

    found = json.loads(report(workspace, "--json"))
    assert found["events_measured"] is True
    assert (found["delivered"], found["bounced"]["hard"], found["bounced"]["soft"], found["complaints"]["count"], found["clicks"]["total"]) == (6, 1, 1, 1, 1)

    shown = run("status", workspace / ISSUE_FILE, ok=True).output
    assert "Reported by the provider (addresses):" in shown
    for word, count in (("delivered", 6), ("bounce", 2), ("spamreport", 1), ("unsubscribe", 1), ("click", 1)):
        assert re.search(rf"^\s+{word}\s+{count}$", shown, re.MULTILINE), shown


def test_an_unsubscribe_posted_to_the_generic_endpoint_counts_as_the_provider_channel(workspace: Path, data) -> None:
    data.ledger("7", range(10), subject="S", provider="smtp")
    one_of_each(data, "generic")
    found = json.loads(report(workspace, "--json"))
    assert found["unsubscribes"]["by_channel"] == {"one-click": 0, "page": 0, "preferences": 0, "provider": 1, "other": 0}
    assert re.search(r"^\s+provider\s+1$", report(workspace), re.MULTILINE)


@pytest.mark.parametrize("name", sorted({*NAMES, *EVENT_SOURCES}))
def test_every_registered_provider_and_the_generic_endpoint_is_the_provider_channel(name: str) -> None:
    assert channel_group(f"{name} unsubscribe") == "provider"
    assert channel_group(f"{name} spamreport") == "provider"


def test_an_outbox_issue_without_events_is_still_not_measured(workspace: Path, data) -> None:
    data.ledger("7", range(3), subject="S", provider="outbox")
    out = report(workspace)
    assert "not measured with the outbox" in out
    assert json.loads(report(workspace, "--json"))["events_measured"] is False
    assert "Reported by the provider" not in run("status", workspace / ISSUE_FILE, ok=True).output


@pytest.mark.parametrize("provider", sorted(set(NAMES) & set(EVENT_SOURCES)))
def test_no_event_yet_names_the_issues_provider_and_its_webhook(workspace: Path, data, provider: str) -> None:
    data.ledger("7", range(3), subject="S", provider=provider)
    out = report(workspace)
    assert f"(no delivery events yet: {SHOWN[provider]}'s come through `newsletter serve`'s webhook, /webhooks/{provider})" in out


def test_no_event_yet_from_a_provider_that_posts_none_points_to_the_generic_endpoint(workspace: Path, data) -> None:
    data.ledger("7", range(3), subject="S", provider="smtp")
    stored(data, "generic", (CLICK, "r0@example.com", {"detail": "https://example.org/a"}))  # measured: a relay posts its events
    out = report(workspace)
    assert "(no delivery events yet: they come through `newsletter serve`'s webhooks, /webhooks/<provider> or /webhooks/generic)" in out
    assert "SendGrid" not in out
    assert text.events_route(None) == text.events_route("smtp")  # an issue sent before its provider was recorded
