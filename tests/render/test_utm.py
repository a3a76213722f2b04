"""Tagged links: UTM parameters on story links when [links] utm is on, and nothing else changed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from newsletter.issue.loading import load_issue
from newsletter.render.pipeline import Renderer
from newsletter.render.tagging import default_source, tag_url, utm_params
from newsletter.workspace.config import load_workspace
from tests.helpers.cli import run
from tests.helpers.workspace import add_config

PARAMS = {"utm_source": "fixture-weekly", "utm_medium": "email", "utm_campaign": "issue-7", "utm_content": "story-1"}
TAGS = "utm_source=fixture-weekly&utm_medium=email&utm_campaign=issue-7&utm_content=story-1"
STORY_URLS = ["https://example.org/robots/towels", "https://example.org/robots/map-format", "https://example.org/infra/quiet-cooling"]


def turn_on(workspace: Path, extra: str = "") -> None:
    add_config(workspace, f"[links]\nutm = true\n{extra}")


# --- tag_url ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://example.org/a", f"https://example.org/a?{TAGS}"),
        ("https://example.org/a?a=1&b=2", f"https://example.org/a?a=1&b=2&{TAGS}"),
        ("https://example.org/a#top", f"https://example.org/a?{TAGS}#top"),
        ("https://example.org/a?a=1#top", f"https://example.org/a?a=1&{TAGS}#top"),
        ("https://example.org/a?", f"https://example.org/a?{TAGS}"),
        ("https://example.org/a?a=1&", f"https://example.org/a?a=1&{TAGS}"),
        ("HTTP://EXAMPLE.ORG/A", f"HTTP://EXAMPLE.ORG/A?{TAGS}"),
        # encoded bytes and a + keep their exact spelling (no decoding, no re-encoding)
        ("https://example.org/a%2Fb?q=c%2Fd+e&x=%E2%82%AC", f"https://example.org/a%2Fb?q=c%2Fd+e&x=%E2%82%AC&{TAGS}"),
        # an IRI: its non-ASCII characters stay as they are
        ("https://例え.jp/記事?q=日本", f"https://例え.jp/記事?q=日本&{TAGS}"),
        ("https://例え.jp/記事#見出し", f"https://例え.jp/記事?{TAGS}#見出し"),
        # a ? or & inside the fragment belongs to the fragment
        ("https://example.org/app#/route?x=1&y=2", f"https://example.org/app?{TAGS}#/route?x=1&y=2"),
    ],
)
def test_tags_are_appended_and_the_rest_is_unchanged(url: str, expected: str) -> None:
    assert tag_url(url, PARAMS) == expected


def test_an_existing_utm_parameter_is_kept_and_only_missing_keys_are_added() -> None:
    tagged = tag_url("https://example.org/a?utm_source=x&b=2", PARAMS)

    assert tagged == "https://example.org/a?utm_source=x&b=2&utm_medium=email&utm_campaign=issue-7&utm_content=story-1"
    assert tagged.count("utm_source") == 1


def test_a_url_with_every_utm_parameter_is_unchanged() -> None:
    url = "https://example.org/a?utm_source=s&utm_medium=m&utm_campaign=c&utm_content=k"
    assert tag_url(url, PARAMS) == url


@pytest.mark.parametrize("url", ["https://example.org/a?ref=abc", "https://example.org/a?x=1&ref=abc#top", "https://example.org/a?ref"])
def test_a_ref_parameter_means_no_tags_at_all(url: str) -> None:
    assert tag_url(url, PARAMS) == url


@pytest.mark.parametrize(
    "url",
    ["mailto:editor@example.org", "mailto:editor@example.org?subject=Hi", "tel:+441234567", "/relative/path", "ftp://example.org/file", "javascript:alert(1)", "http://[::1"],
)
def test_other_urls_are_untouched(url: str) -> None:
    assert tag_url(url, PARAMS) == url


def test_added_values_are_percent_encoded() -> None:
    tagged = tag_url("https://example.org/a", {"utm_campaign": "Winter sale & more/2026", "utm_content": "日本~x"})

    assert tagged == "https://example.org/a?utm_campaign=Winter%20sale%20%26%20more%2F2026&utm_content=%E6%97%A5%E6%9C%AC~x"


def test_default_source_is_the_newsletters_slug() -> None:
    assert default_source("The Weekly Model") == "the-weekly-model"
    assert default_source("AI & Robots: Weekly!") == "ai-robots-weekly"
    assert default_source("日本") == "newsletter"


def test_settings_format_number_and_slot(workspace: Path) -> None:
    turn_on(workspace, 'utm_source = "partner"\nutm_medium = "newsletter"\nutm_campaign = "winter-{number}"\nutm_content = "slot{slot}"\n')
    config = load_workspace(workspace).config

    assert utm_params(config, 12, 3) == {"utm_source": "partner", "utm_medium": "newsletter", "utm_campaign": "winter-12", "utm_content": "slot3"}
    assert utm_params(config, 12, "sponsor")["utm_content"] == "sponsor"


def test_unknown_links_setting_is_a_config_error(workspace: Path, issue_path: Path) -> None:
    turn_on(workspace, 'utm_term = "x"\n')
    result = run("check", str(issue_path))

    assert result.exit_code != 0
    assert "links.utm_term: is not a known setting" in result.output


# --- rendering -------------------------------------------------------------------------------------


def rendered(workspace: Path, issue_path: Path):
    return Renderer(load_workspace(workspace)).render(load_issue(issue_path))


def hrefs(html: str) -> list[str]:
    return [href.replace("&amp;", "&") for href in re.findall(r'href="([^"]*)"', html)]


def test_utm_off_renders_exactly_as_without_the_setting(workspace: Path, issue_path: Path) -> None:
    before = rendered(workspace, issue_path)
    add_config(workspace, '[links]\nutm = false\nutm_source = "ignored"\n')
    after = rendered(workspace, issue_path)

    assert (after.html, after.text, after.web_html) == (before.html, before.text, before.web_html)
    assert "utm_" not in before.html + before.text + before.web_html


def test_utm_on_tags_story_links_in_all_three_parts(workspace: Path, issue_path: Path) -> None:
    turn_on(workspace)
    email = rendered(workspace, issue_path)

    for k, url in enumerate(STORY_URLS, start=1):
        tagged = f"{url}?utm_source=fixture-weekly&utm_medium=email&utm_campaign=issue-7&utm_content=story-{k}"
        assert tagged in hrefs(email.html)
        assert tagged in hrefs(email.web_html)
        assert f"\n{tagged}\n" in email.text
        assert url + '"' not in email.html and url + '"' not in email.web_html  # no untagged copy left


def test_utm_on_leaves_unsubscribe_view_and_sponsor_with_ref_alone(workspace: Path, issue_path: Path) -> None:
    turn_on(workspace)
    email = rendered(workspace, issue_path)
    view = "https://fixture.example.org/archive/issue-7.html"

    links = hrefs(email.html)
    assert "%%unsubscribe_url%%" in links
    assert view in links
    assert "https://sponsor.example.org/?ref=fixture" in links  # the sponsor's own ref= wins
    assert "https://example.org/chart" in links  # links inside markdown are the editor's own
    for line in email.text.splitlines():
        if "%%unsubscribe_url%%" in line or view in line or "sponsor.example.org" in line:
            assert "utm_" not in line
    for href in hrefs(email.html) + hrefs(email.web_html):
        if "utm_" in href:
            assert href.startswith(tuple(STORY_URLS)), href


def test_the_sponsor_link_is_tagged_as_sponsor(workspace: Path, issue_path: Path) -> None:
    issue_path.write_text(issue_path.read_text(encoding="utf-8").replace("https://sponsor.example.org/?ref=fixture", "https://sponsor.example.org/offer"), encoding="utf-8")
    turn_on(workspace)
    email = rendered(workspace, issue_path)
    sponsor = "https://sponsor.example.org/offer?utm_source=fixture-weekly&utm_medium=email&utm_campaign=issue-7&utm_content=sponsor"

    assert sponsor in hrefs(email.html)
    assert sponsor in email.text.splitlines()


def test_build_writes_tagged_links(workspace: Path, issue_path: Path, tmp_path: Path) -> None:
    turn_on(workspace)
    out = tmp_path / "out"
    result = run("build", str(issue_path), "--out", str(out))

    assert result.exit_code == 0, result.output
    tagged = "https://example.org/robots/towels?utm_source=fixture-weekly&utm_medium=email&utm_campaign=issue-7&utm_content=story-1"
    assert tagged in hrefs((out / "email.html").read_text(encoding="utf-8"))
    assert tagged in (out / "email.txt").read_text(encoding="utf-8")
    assert tagged in hrefs((out / "web.html").read_text(encoding="utf-8"))
    assert 'href="%%unsubscribe_url%%"' in (out / "email.html").read_text(encoding="utf-8")


# --- check -----------------------------------------------------------------------------------------


def test_check_shows_a_tagged_example(workspace: Path, issue_path: Path) -> None:
    turn_on(workspace)
    result = run("check", str(issue_path))

    assert result.exit_code == 0, result.output
    assert (
        "note: newsletter.toml: links.utm: story links are tagged, e.g. "
        "https://example.org/robots/towels?utm_source=fixture-weekly&utm_medium=email&utm_campaign=issue-7&utm_content=story-1"
    ) in result.output


def test_check_says_nothing_about_tags_when_off(workspace: Path, issue_path: Path) -> None:
    result = run("check", str(issue_path))

    assert result.exit_code == 0, result.output
    assert "links.utm" not in result.output
