"""Items 4, 5, 8, 14: secrets go only where TLS protects them, are checked before use and never
printed; newsletter.toml cannot smuggle control characters or markup into headers."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.models import Subscriber
from tests.helpers.hostile import SMTP_PASSWORD, run
from tests.helpers.workspace import add_config


def one_subscriber(workspace: Path) -> None:
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber("a@example.com")])


@pytest.mark.parametrize(
    "setting",
    ['[sendgrid]\nhost = "http://capture.example.net:8599"\n', '[sendgrid]\nhost = "http://10.0.0.5"\n'],
)
def test_the_api_key_never_goes_to_a_plain_http_host(setting: str, in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("SENDGRID_API_HOST", raising=False)
    one_subscriber(in_workspace)
    add_config(in_workspace, setting)
    result = run("send", str(issue_path), "--provider", "sendgrid")
    assert result.exit_code == 1
    assert "[sendgrid] host = http://" in result.output and "without TLS" in result.output and "https://" in result.output


def test_an_http_override_elsewhere_is_refused_and_loopback_is_warned(in_workspace: Path, issue_path: Path, sendgrid, monkeypatch) -> None:
    one_subscriber(in_workspace)
    monkeypatch.setenv("SENDGRID_API_HOST", "http://capture.example.net")
    refused = run("send", str(issue_path), "--provider", "sendgrid")
    assert refused.exit_code == 1 and "SENDGRID_API_HOST = http://capture.example.net" in refused.output
    monkeypatch.setenv("SENDGRID_API_HOST", sendgrid.url)  # http://127.0.0.1:port, the local test server
    allowed = run("send", str(issue_path), "--provider", "sendgrid")
    assert allowed.exit_code == 0 and "warning: SENDGRID_API_HOST" in allowed.output and "without TLS" in allowed.output


def test_an_smtp_password_never_goes_out_in_clear(in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    one_subscriber(in_workspace)
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)
    add_config(in_workspace, '[smtp]\nhost = "mail.example.net"\nsecurity = "none"\nusername = "mara"\n')
    result = run("send", str(issue_path), "--provider", "smtp")
    assert result.exit_code == 1
    assert '[smtp] security = "none" with a username would send the password to mail.example.net without TLS' in result.output


@pytest.mark.parametrize("key", ["SG.a\nSG.b", "SG.abc def", "SG.key\r\nX-Injected: 1", "SG.k\u00e9y-with-accents"])
def test_an_api_key_of_the_wrong_shape_is_refused_and_not_printed(key: str, in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    one_subscriber(in_workspace)
    monkeypatch.setenv("SENDGRID_API_KEY", key)
    result = run("send", str(issue_path), "--provider", "sendgrid")
    assert result.exit_code == 1 and "does not look like an API key" in result.output
    for part in key.split():
        assert part not in result.output or part in ("SG.a",)  # nothing of the key but a common prefix
    assert key not in result.output


@pytest.mark.parametrize("secret", ["a" * 40, " " * 40, "0123456789" * 2, "abababababababababababababababab"])
def test_a_weak_newsletter_secret_is_refused(secret: str, in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    one_subscriber(in_workspace)
    monkeypatch.setenv("NEWSLETTER_SECRET", secret)
    result = run("send", str(issue_path), "--provider", "smtp")
    assert result.exit_code == 1 and "NEWSLETTER_SECRET is too weak" in result.output and "secrets.token_urlsafe(32)" in result.output
    if secret.strip():
        assert secret not in result.output


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('name = "Fixture Editor"', 'name = "Fixture\\u0000Editor"'),
        ('name = "Fixture Editor"', 'name = "Fixture\\nBcc: all@example.com"'),
    ],
)
def test_control_characters_in_the_sender_are_refused(line: str, field: str, in_workspace: Path, issue_path: Path) -> None:
    config = in_workspace / "newsletter.toml"
    config.write_text(config.read_text().replace(line, field))
    result = run("build", str(issue_path))
    assert result.exit_code == 1 and "sender.name" in result.output and "one line" in result.output


@pytest.mark.parametrize("url", ['https://x.example/u?t={token}">', "https://x.example/u?t={token}<script>", "https://x.example/u?t={token}'"])
def test_markup_in_the_unsubscribe_url_is_refused(url: str, in_workspace: Path, issue_path: Path) -> None:
    config = in_workspace / "newsletter.toml"
    text = config.read_text()
    start = text.index("unsubscribe_url = ")
    end = text.index("\n", start)
    quoted = url.replace("\\", "\\\\").replace('"', '\\"')
    config.write_text(text[:start] + f'unsubscribe_url = "{quoted}"' + text[end:])
    result = run("build", str(issue_path))
    assert result.exit_code == 1 and "newsletter.unsubscribe_url" in result.output and "must not contain" in result.output


def test_newsletter_toml_saved_with_a_bom_is_read(in_workspace: Path, issue_path: Path) -> None:
    config = in_workspace / "newsletter.toml"
    config.write_bytes(b"\xef\xbb\xbf" + config.read_bytes())
    assert run("build", str(issue_path)).exit_code == 0


def test_newsletter_toml_in_latin_1_is_a_clear_error(in_workspace: Path, issue_path: Path) -> None:
    config = in_workspace / "newsletter.toml"
    config.write_bytes(config.read_text().replace("Fixture Editor", "Frédéric Éditeur").encode("latin-1"))
    result = run("build", str(issue_path))
    assert result.exit_code == 1 and "newsletter.toml: not UTF-8 text" in result.output and "save it as UTF-8" in result.output


def test_a_sender_address_that_needs_smtputf8_is_refused(in_workspace: Path, issue_path: Path) -> None:
    config = in_workspace / "newsletter.toml"
    config.write_text(config.read_text().replace('address = "editor@fixture.example.org"', 'address = "editör@bücher.example"'))
    result = run("build", str(issue_path))
    assert result.exit_code == 1 and "sender.address" in result.output and "must be ASCII" in result.output
    config.write_text(config.read_text().replace('address = "editör@bücher.example"', 'address = "editor@bücher.example"'))
    assert run("build", str(issue_path)).exit_code == 0  # an internationalized domain is fine


@pytest.mark.parametrize("url", ["http://example.com/a b", "https://example.com/x\nHost: evil", "https://"])
def test_story_show_refuses_a_url_with_a_space_or_a_line_break(url: str, in_workspace: Path) -> None:
    result = run("story", "show", url)
    assert result.exit_code == 1 and "is not a usable URL" in result.output


# Every API provider's key goes only where TLS protects it, and a key of the wrong shape is refused
# without being printed (the variables are the ones the provider issue fixed).
API_PROVIDERS = {
    "mailgun": ("MAILGUN_API_KEY", '[mailgun]\ndomain = "mg.fixture.example.org"\nhost = "http://capture.example.net"\n'),
    "postmark": ("POSTMARK_SERVER_TOKEN", '[postmark]\nhost = "http://capture.example.net"\n'),
    "resend": ("RESEND_API_KEY", '[resend]\nhost = "http://capture.example.net"\n'),
    "ses": (None, '[ses]\nhost = "http://capture.example.net"\nmax_rate = 1\n'),
}


@pytest.mark.parametrize("provider", sorted(API_PROVIDERS))
def test_no_providers_key_goes_to_a_plain_http_host(provider: str, in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    variable, setting = API_PROVIDERS[provider]
    if variable:
        monkeypatch.setenv(variable, "a-well-formed-key-0123456789")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFIXTUREFIXTURE01")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fixture-secret-access-key-0123456789abcdef")
    one_subscriber(in_workspace)
    add_config(in_workspace, setting)
    result = run("send", str(issue_path), "--provider", provider)
    assert result.exit_code == 1
    assert f"[{provider}] host = http://capture.example.net" in result.output and "without TLS" in result.output
    assert "Traceback" not in result.output and "fixture-secret-access-key" not in result.output


@pytest.mark.slow
@pytest.mark.parametrize("provider", [name for name, (variable, _) in sorted(API_PROVIDERS.items()) if variable])
@pytest.mark.parametrize("key", ["zq7-first\nzq7-second", "zq7 with spaces zq8", "zq7-0123\r\nX-Injected: 1"])
def test_a_providers_key_of_the_wrong_shape_is_refused_and_not_printed(provider: str, key: str, in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    variable, setting = API_PROVIDERS[provider]
    monkeypatch.setenv(variable, key)
    one_subscriber(in_workspace)
    add_config(in_workspace, setting.replace("http://capture.example.net", "https://api.example.net"))
    result = run("send", str(issue_path), "--provider", provider)
    assert result.exit_code == 1 and f"{variable} does not look like an API key" in result.output
    assert "Traceback" not in result.output and "zq7" not in result.output and "X-Injected" not in result.output
