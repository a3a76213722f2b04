"""The README's picture of `newsletter report --html`: a demo workspace with eight weekly issues of
made-up figures (ledger rows, SendGrid events, status changes), its trend page written with the
report command, and a screenshot of that page taken by Debian's chromium through Playwright.

    .venv/bin/python bench/report_screenshot.py            # writes docs/report.png
    .venv/bin/python bench/report_screenshot.py --keep DIR # and keeps the workspace (DIR/report.html)

Never runs `playwright install`: the browser is /usr/bin/chromium (apt-get install chromium).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from newsletter.cli.main import cli  # noqa: E402
from newsletter.db import Database, Event  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CONFIG = """\
[newsletter]
name = "Demo Weekly"
postal_address = "Demo Weekly, 1 Main Street, Springfield"
archive_url = "https://demo.example.org/archive"
unsubscribe_url = "https://demo.example.org/unsubscribe?token={token}"

[sender]
name = "Demo Editor"
address = "editor@demo.example.org"
"""
ISSUES = 8
FIRST = dt.datetime(2026, 10, 6, 9, 0, tzinfo=dt.UTC)
SUBJECTS = [
    "Robots learn to fold laundry", "A quieter data centre", "The week in batteries", "Seeds of the next harvest",
    "Rivers that run backwards", "Small models, big results", "The cost of a cold chain", "Satellites in the attic",
]  # fmt: skip
LINKS = ["https://example.org/robots/towels", "https://example.org/cooling", "https://example.org/batteries", "https://example.org/sponsor", "https://example.org/archive"]
# complaints per 10,000 delivered, issue by issue: one bad week crosses Gmail's 0.1% line
COMPLAINTS = [4, 5, 3, 7, 16, 6, 4, 3]
CHANNELS = ["one-click"] * 6 + ["unsubscribe page"] * 2 + ["preferences"] * 2 + ["sendgrid unsubscribe", "sync"]


def stamp(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def build(root: Path) -> Path:
    """The demo workspace at `root`, its database filled with eight issues' worth of figures."""
    (root / "issues").mkdir(parents=True)
    (root / "newsletter.toml").write_text(CONFIG, encoding="utf-8")
    rng = random.Random(2026)
    ids = iter(range(1, 10**9))
    with Database(root / "subscribers.db") as db:
        sql = db.connection.db
        for number in range(1, ISSUES + 1):
            issue, sent_at = str(number), FIRST + dt.timedelta(weeks=number - 1)
            size = 1800 + 80 * number + rng.randint(-20, 20)
            emails = [f"reader{i:05d}@example.com" for i in range(size)]
            with db.transaction():
                sql.execute(
                    "INSERT INTO issues (issue, file, subject, fingerprint, first_fingerprint, updated_at) VALUES (?, ?, ?, 'demo', 'demo', ?)",
                    (issue, f"issues/{stamp(sent_at)[:10]}.yaml", SUBJECTS[number - 1], stamp(sent_at)),
                )
                states = ["failed" if rng.random() < 0.002 else "skipped" if rng.random() < 0.004 else "sent" for _ in emails]
                sql.executemany(
                    "INSERT INTO deliveries (issue, email, state, send_id, attempts, updated_at) VALUES (?, ?, ?, 'demo', 1, ?)",
                    [(issue, email, state, stamp(sent_at + dt.timedelta(seconds=i // 1000))) for i, (email, state) in enumerate(zip(emails, states, strict=True))],
                )
            events: list[Event] = []

            def event(
                kind: str, email: str, detail: str | None = None, minutes: float = 1.0, issue: str = issue, sent_at: dt.datetime = sent_at, events: list[Event] = events
            ) -> None:
                when = stamp(sent_at + dt.timedelta(minutes=minutes))
                events.append(Event(f"demo-{next(ids)}", kind, email, issue, "demo", when, detail))

            received = [email for email, state in zip(emails, states, strict=True) if state == "sent"]
            delivered = []
            for email in received:
                roll = rng.random()
                if roll < 0.004:
                    event("bounce", email, "hard: 550 5.1.1 user unknown")
                elif roll < 0.010:
                    event("bounce", email, "soft: 421 4.7.0 try again later")
                elif roll < 0.012:
                    event("dropped", email, "Bounced Address")
                else:
                    if roll < 0.03:
                        event("deferred", email, "421 greylisted", minutes=0.5)
                    event("delivered", email)
                    delivered.append(email)
            for email in rng.sample(delivered, round(len(delivered) * COMPLAINTS[number - 1] / 10_000)):
                event("spamreport", email, minutes=600)
            for email in rng.sample(delivered, int(len(delivered) * rng.uniform(0.38, 0.46))):
                event("open", email, "machine", minutes=3)  # Apple Mail Privacy Protection
            for email in rng.sample(delivered, int(len(delivered) * rng.uniform(0.18, 0.24))):
                event("open", email, minutes=rng.uniform(5, 2000))
            for email in rng.sample(delivered, int(len(delivered) * rng.uniform(0.05, 0.09))):
                for url in rng.sample(LINKS, rng.randint(1, 2)):
                    for _ in range(rng.choice((1, 1, 1, 2))):
                        event("click", email, url, minutes=rng.uniform(5, 3000))
            db.events.record(events, "sendgrid")
            leaving = rng.sample(received, int(len(received) * rng.uniform(0.002, 0.006)))
            with db.transaction():
                sql.executemany(
                    "INSERT INTO status_changes (email, status, channel, at) VALUES (?, 'unsubscribed', ?, ?)",
                    [(email, rng.choice(CHANNELS), stamp(sent_at + dt.timedelta(hours=rng.uniform(1, 150)))) for email in leaving],
                )
    return root


def screenshot(page_file: Path, png: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900}, device_scale_factor=1)
            page.goto(page_file.resolve().as_uri())
            png.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(png), full_page=True)
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build the workspace here (a new folder) and keep it")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report.png")
    options = parser.parse_args()
    scratch = None if options.keep else Path(tempfile.mkdtemp(prefix="report-demo-"))
    root = build(options.keep or scratch / "workspace")  # type: ignore[operator]
    try:
        page_file = root / "report.html"
        import os

        here = Path.cwd()
        os.chdir(root)
        try:
            result = CliRunner().invoke(cli, ["report", "--html", str(page_file)], catch_exceptions=False)
        finally:
            os.chdir(here)
        if result.exit_code:
            raise SystemExit(result.output)
        print(result.output, end="")
        screenshot(page_file, options.out)
        print(f"wrote {options.out}")
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
