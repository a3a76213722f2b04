"""`send --dry-run` checks the provider as the real send does (connect, TLS, log in; nothing sent):
a dry run that passes does not hide a real send that fails, and one that fails says why, exits 1,
and sends and records nothing."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import pytest

from newsletter.db import Database
from tests.helpers.cli import run
from tests.helpers.sendgrid_server import API_KEY
from tests.helpers.smtp_server import Mailbox, serving, smtp_settings
from tests.helpers.workspace import add_config, add_subscribers


def self_signed(folder: Path) -> ssl.SSLContext:
    """A server TLS context with a certificate nobody trusts (made here, signed by itself)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


@pytest.fixture(params=["no STARTTLS offered", "untrusted certificate"])
def tls_trouble(request, workspace: Path, tmp_path: Path):
    """An SMTP server the workspace must reach with STARTTLS, which either does not offer it or
    offers it with a certificate nobody trusts. Yields (mailbox, the words the failure must say)."""
    mailbox = Mailbox()
    if request.param == "no STARTTLS offered":
        options, words = {}, "does not support STARTTLS"
    else:
        options, words = {"tls_context": self_signed(tmp_path)}, "its TLS certificate is not trusted"
    with serving(mailbox, **options) as port:
        add_config(workspace, smtp_settings(port, security="starttls", retries=0))
        yield mailbox, words


def ledger_rows(workspace: Path) -> int:
    with Database(workspace / "subscribers.db") as db:
        return sum(db.ledger.counts("7").values())


@pytest.mark.slow
def test_a_dry_run_fails_where_the_real_send_would_on_starttls(tls_trouble, in_workspace: Path, issue_path: Path) -> None:
    mailbox, words = tls_trouble
    add_subscribers(in_workspace, 3)
    dry = run("send", str(issue_path), "--dry-run")
    assert dry.exit_code == 1, dry.output
    assert words in dry.output and "SMTP would refuse the real send" in dry.output and "Nothing was sent" in dry.output
    assert "would be sent now: 3" in dry.output  # the plan is still shown
    assert "Traceback" not in dry.output
    assert mailbox.messages == [] and ledger_rows(in_workspace) == 0  # no DATA, no ledger row
    real = run("send", str(issue_path))  # and the real send fails the same way: the dry run told the truth
    assert real.exit_code == 1 and words in real.output


def test_a_dry_run_connects_and_quits_without_sending(smtp_server, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 2)
    dry = run("send", str(issue_path), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "SMTP: checked as the real send checks it" in dry.output
    assert smtp_server.sessions == 1  # it said EHLO...
    assert smtp_server.messages == [] and ledger_rows(in_workspace) == 0  # ...and handed nothing over


def test_an_unreachable_smtp_server_fails_the_dry_run(in_workspace: Path, issue_path: Path, refused_port: int) -> None:
    port = refused_port  # nothing listens here
    add_config(in_workspace, smtp_settings(port, timeout=None))
    add_subscribers(in_workspace, 2)
    dry = run("send", str(issue_path), "--dry-run")
    assert dry.exit_code == 1 and f"cannot connect to SMTP server 127.0.0.1:{port}" in dry.output


def test_a_dry_run_with_a_refused_sendgrid_key_fails_and_sends_nothing(sendgrid, in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    add_subscribers(in_workspace, 2)
    assert run("send", str(issue_path), "--dry-run").exit_code == 0
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.revoked-key")
    dry = run("send", str(issue_path), "--dry-run")
    assert dry.exit_code == 1 and "SendGrid refused the API key in SENDGRID_API_KEY (401)" in dry.output
    assert "SG.revoked-key" not in dry.output
    sendgrid.scopes.remove("mail.send")  # a key that may not send mail
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)
    dry = run("send", str(issue_path), "--dry-run")
    assert dry.exit_code == 1 and "lacks the mail.send permission" in dry.output
    assert sendgrid.requests == 0 and ledger_rows(in_workspace) == 0


def test_a_dry_run_refuses_an_outbox_that_cannot_be_one_and_creates_none(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 2)
    ok = run("send", str(issue_path), "--dry-run")
    assert ok.exit_code == 0 and "the outbox: checked as the real send checks it (its folder takes files)" in ok.output
    assert not (in_workspace / "outbox").exists()  # checked, not made
    (in_workspace / "outbox").write_text("notes, not mail\n")
    dry = run("send", str(issue_path), "--dry-run")
    assert dry.exit_code == 1 and "cannot use" in dry.output and "it is a file, not a folder" in dry.output
    assert ledger_rows(in_workspace) == 0


def test_the_first_request_is_built_by_the_provider_not_the_command(workspace: Path, issue_path: Path, sendgrid) -> None:
    import json

    from newsletter.errors import NewsletterWarning
    from newsletter.issue.prepare import prepare_issue
    from newsletter.sending import dry_run

    add_subscribers(workspace, 2)
    prepared = prepare_issue(issue_path)
    outbox = dry_run(prepared, "outbox").first_request
    assert outbox is not None and outbox.heading.startswith("First message (reader")
    assert f"  Subject: {prepared.email.subject}" in outbox.text.splitlines()
    with pytest.warns(NewsletterWarning, match="without TLS"):  # the local SendGrid is plain http
        plan = dry_run(prepared, "sendgrid")
    assert plan.provider_problem is None and plan.first_request is not None
    assert plan.first_request.heading == "First request body (POST /v3/mail/send), content shortened:"
    body = json.loads(plan.first_request.text)
    assert [len(part["value"]) for part in body["content"]] == [203, 203]  # 200 characters and "..."
    assert len(body["personalizations"]) == 2
