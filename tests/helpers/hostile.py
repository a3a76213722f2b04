"""Helpers of the hostile suite (imported by its tests as `attack`)."""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "send"))  # the SendGrid-compatible server

from sendgrid_server import API_KEY

from newsletter.cli.main import cli

NEWSLETTER_SECRET = "hostile-suite-secret-Tq8mZ2vL5xR9nB4wK7pJ3cY6"
SMTP_PASSWORD = "hostile-smtp-password-Vh3Qz8Lm"
LLM_API_KEY = "sk-Rw4Nc7Tb2Xq9Lm5Zp8KdHs3Jy6Vg1"  # `story --llm`'s key (OPENAI_API_KEY)
SECRETS = (NEWSLETTER_SECRET, SMTP_PASSWORD, API_KEY, LLM_API_KEY)


def run(*args: str):
    """Run the CLI; fail the test if any output carries a secret or a traceback."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    for secret in SECRETS:
        assert secret not in result.output, "a secret reached the output"
    assert "Traceback" not in result.output
    return result


def add_config(workspace: Path, text: str) -> None:
    config = workspace / "newsletter.toml"
    config.write_text(config.read_text() + "\n" + text)
