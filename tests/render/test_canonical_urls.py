"""Two links name the same page when their canonical forms are equal: tracking parameters, fragments,
default ports, `www.`, the scheme and a trailing slash make no difference; the rest of the query does."""

from __future__ import annotations

import pytest

from newsletter.models.canonical import canonical_url


@pytest.mark.parametrize(
    ("link", "canonical"),
    [
        ("https://www.Example.com/a/?utm_source=x&id=7#top", "https://example.com/a?id=7"),
        ("http://example.com:80/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com/a?b=2&a=1&fbclid=xyz&mc_cid=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com//a//b/", "https://example.com/a/b"),
        ("  https://EXAMPLE.com./News  ", "https://example.com/News"),
        ("mailto:ada@example.com", "mailto:ada@example.com"),
        ("not a url", "not a url"),
        ("https://[::1/", "https://[::1/"),
    ],
)
def test_the_canonical_form_of_a_link(link: str, canonical: str) -> None:
    assert canonical_url(link) == canonical


def test_a_different_query_is_a_different_page() -> None:
    assert canonical_url("https://example.com/story?id=1") != canonical_url("https://example.com/story?id=2")
