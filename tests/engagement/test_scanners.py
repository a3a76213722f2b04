"""Telling a mail scanner's click from a person's (engagement/scanners.py), on what requests really
send: the agents below are as scanners and browsers send them."""

from __future__ import annotations

import pytest

from newsletter.engagement.scanners import in_bursts, machine_open, request_reason, scanner_agent, too_soon

BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",  # "bot" in a phone's name
]
SCANNERS = [
    "Mozilla/5.0 (compatible; BingPreview/1.0b)",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
    "ppe-h/1.0",
    "Barracuda Sentinel (EE)",
    "Mimecast URL Protect",
    "python-requests/2.32.3",
    "curl/8.5.0",
    "Go-http-client/1.1",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
    "",
]


@pytest.mark.parametrize("agent", BROWSERS)
def test_a_browser_is_a_person(agent: str) -> None:
    assert not scanner_agent(agent)
    assert request_reason(False, agent) is None
    assert not machine_open(agent)


@pytest.mark.parametrize("agent", SCANNERS)
def test_a_scanner_or_an_http_library_is_a_machine(agent: str) -> None:
    assert scanner_agent(agent)
    assert request_reason(False, agent) == "agent"
    assert machine_open(agent)


def test_head_is_a_machine_whatever_its_agent_says() -> None:
    assert request_reason(True, BROWSERS[0]) == "head"
    assert machine_open(BROWSERS[0], head=True)


def test_apples_proxy_opens_are_machine_opens_but_its_clicks_are_not_judged_by_that_agent() -> None:
    assert machine_open("Mozilla/5.0")
    assert request_reason(False, "Mozilla/5.0") is None  # a click through a bare-agent client proves nothing


def test_a_click_within_ten_seconds_of_delivery_is_early() -> None:
    sent = "2026-12-01T09:00:00+00:00"
    at = 1_796_115_600.0  # 2026-12-01T09:00:00Z
    assert too_soon(at + 0.5, sent)
    assert too_soon(at + 10.5, sent)  # the ledger keeps whole seconds: the click may be one second nearer
    assert not too_soon(at + 11.5, sent)
    assert not too_soon(at + 3600, sent)
    assert not too_soon(at, None)  # no `sent` row: nothing to judge by


def test_three_distinct_links_within_two_seconds_are_a_burst_and_every_click_of_it_is_marked() -> None:
    clicks = [(100.0, "a"), (100.4, "b"), (100.9, "a"), (101.5, "c"), (200.0, "d")]
    assert in_bursts(clicks) == {0, 1, 2, 3}


def test_two_links_at_once_or_three_spread_out_are_a_persons() -> None:
    assert in_bursts([(100.0, "a"), (100.3, "b"), (100.6, "a")]) == set()  # two stories opened in new tabs
    assert in_bursts([(100.0, "a"), (102.5, "b"), (105.0, "c")]) == set()
    assert in_bursts([(100.0, "a"), (100.1, "a"), (100.2, "a")]) == set()  # one link, pressed thrice


def test_a_burst_is_found_whatever_order_the_clicks_come_in() -> None:
    assert in_bursts([(101.5, "c"), (100.0, "a"), (300.0, "z"), (100.4, "b")]) == {0, 1, 3}
