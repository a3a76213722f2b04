"""The hostile suite's secrets, and its way to run the command line: no output may ever carry one."""

from __future__ import annotations

import functools

from tests.helpers.cli import run as run_cli
from tests.helpers.sendgrid_server import API_KEY

NEWSLETTER_SECRET = "hostile-suite-secret-Tq8mZ2vL5xR9nB4wK7pJ3cY6"
SMTP_PASSWORD = "hostile-smtp-password-Vh3Qz8Lm"
LLM_API_KEY = "sk-Rw4Nc7Tb2Xq9Lm5Zp8KdHs3Jy6Vg1"  # `story --llm`'s key (OPENAI_API_KEY)
SECRETS = (NEWSLETTER_SECRET, SMTP_PASSWORD, API_KEY, LLM_API_KEY)

# The CLI runner (tests.helpers.cli.run) that fails the test if any output carries a secret or a traceback.
run = functools.partial(run_cli, never_shows=SECRETS)
