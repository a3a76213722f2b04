"""Segment benchmark: who an issue goes to, counted and prepared in SQL over 1,000,000 subscribers (SQLite).

The list: 1,000,000 active subscribers, 30% tagged ai (a tenth of those also paused), 5% tagged vip,
an attribute `country` (DE for one in five) and `plan`, signups spread over two years, a tenth who
left topic ai (default on) and a quarter who chose topic deals (default off).

For each typical segment: the time of its count (what `send --dry-run` runs: the count and the
first batch's addresses) and of `Ledger.prepare` (the INSERT of its pending rows, and fitting the
rows to it), as a ratio against a baseline measured in the same run (the subscribers counted by
status: one pass over the table), and in seconds. Target on a 2-core machine: each count <= 2 s.
`--rows N` uses N subscribers instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsletter.db import Database  # noqa: E402 (after the path: the checkout's copy, not an installed one)
from newsletter.db.segments import select  # noqa: E402
from newsletter.models.segments import parse_segment  # noqa: E402

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
TOPICS = {"ai": True, "deals": False}
SEGMENTS = [
    (None, None),  # the whole list: what a send did before segments, for scale
    (None, "tag:ai"),
    (None, 'attr.country = "DE"'),
    (None, "joined < 30d"),
    (None, 'tag:ai and not tag:paused and attr.plan in ("pro", "team")'),
    ("ai", None),
    ("ai", "tag:vip or joined < 30d"),
    ("deals", 'attr.country != "DE"'),
]


def subscribers(rows: int, chance: random.Random) -> Iterator[tuple[str, str, str, str, str, str, str]]:
    for n in range(rows):
        joined = (NOW - dt.timedelta(minutes=chance.randrange(2 * 365 * 24 * 60))).isoformat(timespec="seconds")
        attributes = json.dumps({"country": "DE" if n % 5 == 0 else chance.choice(["FR", "IT", "NL", "PL"]), "plan": chance.choice(["free", "pro", "team"])})
        yield (f"reader{n:07d}@example.org", f"Reader {n}", attributes, "active", joined, joined, f"{n:024x}")


def tags(rows: int) -> Iterator[tuple[str, str]]:
    for n in range(rows):
        email = f"reader{n:07d}@example.org"
        if n % 10 < 3:
            yield (email, "ai")
            if n % 100 < 3:
                yield (email, "paused")
        if n % 20 == 7:
            yield (email, "vip")


def choices(rows: int) -> Iterator[tuple[str, str, int, str]]:
    stamp = NOW.isoformat(timespec="seconds")
    for n in range(rows):
        email = f"reader{n:07d}@example.org"
        if n % 10 == 4:
            yield (email, "ai", 0, stamp)
        if n % 4 == 1:
            yield (email, "deals", 1, stamp)


def build(path: Path, rows: int) -> None:
    with Database(path) as db:
        dialect, session = db.connection.dialect, db.connection.db
        with db.connection.transaction():
            dialect.load_rows(session, "subscribers", "email, name, attributes, status, created_at, updated_at, public_id", subscribers(rows, random.Random(25)))
            dialect.load_rows(session, "tags", "email, tag", tags(rows))
            dialect.load_rows(session, "subscriptions", "email, topic, subscribed, changed_at", choices(rows))
        session.execute("ANALYZE")


def timed(action: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, metavar="FILE", help="build the list into FILE once, and reuse it on later runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.keep or Path(folder) / "subscribers.db"
        if not path.exists():
            seconds, _ = timed(lambda: build(path, args.rows))
            print(f"{args.rows:,} subscribers built in {seconds:.1f} s")
        with Database(path) as db:
            baseline = min(timed(db.subscribers.counts_by_status)[0] for _ in range(3))
            print(f"baseline (subscribers counted by status, one pass): {baseline:.3f} s\n")
            print(f"{'topic':<6} {'segment':<62} {'readers':>9} {'count':>14} {'prepare':>15}")
            run = time.time_ns()  # issue keys of this run: a kept list holds the rows of earlier runs
            for number, (topic, expression) in enumerate(SEGMENTS, 1):
                key = f"bench-{run}-{number}"
                segment = parse_segment(expression, {}, TOPICS) if expression else None
                selection = select(db.connection.dialect, topic, TOPICS, segment, NOW)
                counting, (count, _) = min((timed(functools.partial(db.ledger.would_send, key, 5, selection)) for _ in range(3)), key=lambda pair: pair[0])  # type: ignore[misc]
                preparing, _ = timed(functools.partial(db.ledger.prepare, key, selection=selection))
                print(
                    f"{topic or '-':<6} {expression or '(everyone)':<62} {count:>9,} "
                    f"{counting:6.3f} s {counting / baseline:4.1f}x {preparing:6.2f} s {preparing / baseline:5.1f}x"
                )
    print("\ncount: `send --dry-run`'s count and first addresses; prepare: the pending rows inserted and fitted. Target: each count <= 2 s.")


if __name__ == "__main__":
    main()
