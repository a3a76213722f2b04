"""`report --stories` benchmark: click-through by source, section, position and format over a
500-issue archive (SQLite).

The archive: 500 issues of 10 stories and a sponsor each, sent to a list growing from 2,000 to
6,000 readers (2,000,000 ledger rows); 25 sources of different appeal, 4 sections, an image on 40%
of the stories, a quote on 30% and key facts on 70%; clicks through the redirect (about 2,000,000
rows, 5% of them a mail scanner's), more for the first positions and for stories with an image,
the last 100 issues with [tracking] clicks = "reader" (the clicker's address), the others
"aggregate"; the last 50 sent through SendGrid, with delivered events for 95% of their copies.

Timed: the whole command, `python -m newsletter report --stories` in a fresh process, against a
baseline measured in the same run: `SELECT count(*) FROM clicks` through sqlite3 in a fresh process
(one pass over the table's smallest index), and `python -m newsletter --version` (the start-up
every command pays). Best of 3 each. `--issues N` builds N issues instead; `--keep FOLDER` keeps
the workspace to run again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsletter.db import Database  # noqa: E402 (after the path: the checkout's copy, not an installed one)

CONFIG = """\
[newsletter]
name = "Bench Weekly"
postal_address = "Bench Weekly, 1 Test Street, Testville 12345"
archive_url = "https://bench.example.org/archive"
unsubscribe_url = "https://bench.example.org/unsubscribe?token={token}"

[sender]
name = "Bench Editor"
address = "editor@bench.example.org"
"""
STORIES = 10
SOURCES = [(f"Source {n:02d}", 0.4 + 1.2 * random.Random(n).random()) for n in range(25)]  # (name, appeal)
SECTIONS = ["News", "Research", "Tools", "Opinion"]
BASE_RATE = 0.12  # a story's clicks per copy at appeal 1, first position, no image: a very engaged list, for 2M clicks
FIRST = dt.datetime(2017, 1, 2, 9, tzinfo=dt.UTC)
READER_FROM, SENDGRID_FROM = 400, 450  # issues from these numbers on: reader mode; sent through SendGrid


def stamp(issue: int) -> str:
    """Issue n goes out on a Monday, n weeks after the first."""
    return (FIRST + dt.timedelta(weeks=issue)).isoformat(timespec="seconds")


def list_size(issue: int, issues: int) -> int:
    return 2_000 + 4_000 * issue // max(issues, 1)


def build(folder: Path, issues: int) -> tuple[int, int]:
    """The workspace and its archive; (ledger rows, clicks rows)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "newsletter.toml").write_text(CONFIG, encoding="utf-8")
    chance = random.Random(27)
    ledger = clicks = 0
    with Database(folder / "subscribers.db") as db:
        dialect, session = db.connection.dialect, db.connection.db
        with db.connection.transaction():
            for number in range(1, issues + 1):
                issue, at, size = str(number), stamp(number), list_size(number, issues)
                provider = "sendgrid" if number >= SENDGRID_FROM else "outbox"
                mode = "reader" if number >= READER_FROM else "aggregate"
                session.execute(
                    """INSERT INTO issues (issue, file, subject, fingerprint, first_fingerprint, updated_at, provider, tracking_clicks, tracking_opens, provider_clicks)
                       VALUES (?, ?, ?, 'f', 'f', ?, ?, ?, 0, 0)""",
                    (issue, f"issues/{number}.yaml", f"Issue {number}", at, provider, mode),
                )
                ledger += dialect.load_rows(session, "deliveries", "issue, email, state, attempts, updated_at", ((issue, _reader(n), "sent", 1, at) for n in range(size)))
                if provider == "sendgrid":
                    dialect.load_rows(
                        session, "events", "event_id, provider, event, email, issue, happened_at, received_at",
                        ((f"d-{issue}-{n}", "sendgrid", "delivered", _reader(n), issue, at, at) for n in range(size) if n % 20),
                    )  # fmt: skip
                stories = list(_stories(chance, issue))
                session.executemany(
                    "INSERT INTO issue_stories (issue, slot, position, title, source, section, url, has_image, has_quote, has_facts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    stories,
                )
                clicks += dialect.load_rows(session, "clicks", "issue, slot, url, email, clicked_at, machine", _clicks(chance, stories, size, at, mode == "reader"))
        session.execute("ANALYZE")
    return ledger, clicks


def _reader(n: int) -> str:
    return f"reader{n:06d}@example.org"


def _stories(chance: random.Random, issue: str) -> Iterator[tuple[object, ...]]:
    for position in range(1, STORIES + 1):
        source, _ = chance.choice(SOURCES)
        image, quote, facts = chance.random() < 0.4, chance.random() < 0.3, chance.random() < 0.7
        yield (issue, str(position), position, f"Story {issue}.{position}", source, chance.choice(SECTIONS), f"https://example.org/{issue}/{position}", image, quote, facts)
    yield (issue, "sponsor", None, "Sponsor", None, None, f"https://sponsor.example.org/{issue}", False, False, False)


def _clicks(chance: random.Random, stories: list[tuple[object, ...]], size: int, at: str, by_reader: bool) -> Iterator[tuple[object, ...]]:
    appeal = dict(SOURCES)
    for issue, slot, position, _, source, _, url, image, _, _ in stories:
        rate = BASE_RATE * (appeal[source] if isinstance(source, str) else 0.5) / (1 + 0.12 * ((position if isinstance(position, int) else 11) - 1)) * (1.4 if image else 1.0)
        for n in range(int(size * rate * chance.uniform(0.7, 1.3))):
            machine = "agent" if n % 20 == 19 else None  # one in twenty: a mail scanner's
            yield (issue, slot, url, _reader(chance.randrange(size)) if by_reader else None, at, machine)


def best_of(command: list[str], cwd: Path, runs: int = 3) -> tuple[float, str]:
    """The fastest of `runs` runs of `command` in a fresh process, and its output."""
    times, output = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
        times.append(time.perf_counter() - start)
        output = done.stdout
    return min(times), output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--keep", type=Path, metavar="FOLDER", help="build the workspace into FOLDER once, and reuse it on later runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or Path(temporary) / "workspace"
        if not (folder / "subscribers.db").exists():
            start = time.perf_counter()
            ledger, clicks = build(folder, args.issues)
            print(f"{args.issues:,} issues built in {time.perf_counter() - start:.1f} s: {ledger:,} ledger rows, {clicks:,} clicks rows")
        database = folder / "subscribers.db"
        count = f"import sqlite3; print(sqlite3.connect({str(database)!r}).execute('SELECT count(*) FROM clicks').fetchone()[0])"
        counted, rows = best_of([sys.executable, "-c", count], folder)
        started, _ = best_of([sys.executable, "-m", "newsletter", "--version"], folder)
        reported, output = best_of([sys.executable, "-m", "newsletter", "report", "--stories"], folder)
        print(f"baseline: SELECT count(*) FROM clicks ({int(rows):,} rows) in a fresh process {counted:.3f} s; `newsletter --version` {started:.3f} s")
        print(f"`newsletter report --stories`: {reported:.3f} s = {reported / counted:.1f}x the count, {reported / started:.1f}x `--version`")
        print("\n" + "\n".join(output.splitlines()[:12]))


if __name__ == "__main__":
    main()
