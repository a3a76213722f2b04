"""The welcome sequence `newsletter init` writes as a starting point: an automation and its two emails.

Each email is written like an issue file (the same fields, rendered by the same pipeline), so an
editor changes its words the way they change an issue's. Nothing goes out until `newsletter
automations run` runs (from cron, see the README).
"""

from __future__ import annotations

import datetime as dt
import json

from ..workspace.config import Config

WELCOME = """\
# A welcome sequence: each reader who confirms gets the first email, and two days later the second
# one unless they clicked a link of the first. Check it with: newsletter automations check
# Send it from cron every minute: newsletter automations run
trigger: subscriber.confirmed
steps:
  - send: emails/welcome-1.yaml
  - wait: 2d
  - if: not clicked
    then:
      - send: emails/welcome-2.yaml
  - tag: welcomed
"""

FIRST = """\
# The first welcome email (automations/welcome.yaml), written like an issue file. Preview it with:
# newsletter preview emails/welcome-1.yaml
number: 1
date: {date}
subject: {subject_1}
preheader: "Thank you for confirming: here is what to expect, and where to start."
intro: |
  Thank you for subscribing to {name}. Every issue comes with a handful of stories,
  each with a short summary, so you can read what matters in a few minutes.
sections:
  - title: Where to start
    stories:
      - title: The latest issues
        url: {archive}
        source: {source}
        summary: |
          Every issue so far, in the archive. Reply to this email any time: it reaches the editor.
"""

SECOND = """\
# The second welcome email, for readers who have not clicked the first one. Written like an issue file.
number: 2
date: {date}
subject: {subject_2}
preheader: "In case you missed the first email: where to start reading."
intro: |
  Two days ago you joined {name}. If you have not had the time yet, the archive is the best
  place to start.
sections:
  - title: Start here
    stories:
      - title: {title_2}
        url: {archive}
        source: {source}
        summary: |
          Every issue so far, newest first. Reply to this email to tell the editor what you would like to read.
"""


def welcome_files(config: Config, today: dt.date) -> dict[str, dict[str, bytes]]:
    """The files of the welcome sequence, by the folder (in the workspace) they go in."""
    name = config.newsletter.name
    values = {
        "name": name, "archive": config.newsletter.archive_url, "date": today.isoformat(), "source": json.dumps(name),
        "subject_1": json.dumps(f"Welcome to {name}"), "subject_2": json.dumps(f"Where to start reading {name}"), "title_2": json.dumps(f"The archive of {name}"),
    }  # fmt: skip
    return {
        "automations": {"welcome.yaml": WELCOME.encode("utf-8")},
        "emails": {"welcome-1.yaml": FIRST.format(**values).encode("utf-8"), "welcome-2.yaml": SECOND.format(**values).encode("utf-8")},
    }

