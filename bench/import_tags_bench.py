"""Tags benchmark: the same 100,000-row list imported with and without a `tags` column (2 or 3 tags
a row), as whole `newsletter subscribers import` processes into new databases, the two kinds
interleaved in one run so that a busy machine slows both alike. Prints the medians and their ratio.
Target: with tags <= 1.2 x without.

`--rows N` for another size (above 120,000 rows SQLite stages the import, as PostgreSQL always
does); `--postgres` imports into a throw-away PostgreSQL server instead; `--runs N` per kind (default 5).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: import_bench's one import run
from import_bench import ROOT, run_import

TAGS = ("paid", "free", "early reader", "2024 fair", "press", "partner", "student", "teacher", "Leith", "Bergen", "podcast", "vip")


def tags_of(n: int) -> str:
    """Two tags for each row, a third for every other one: a few dozen combinations, as real lists have."""
    chosen = [TAGS[n % 12], TAGS[(n * 7 + 3) % 11]] + ([TAGS[(n // 2) % 12]] if n % 2 else [])
    return ";".join(dict.fromkeys(chosen))


def write_csv(path: Path, rows: int, tags: bool) -> None:
    with path.open("w") as out:
        out.write("email,name,plan,city" + (",tags" if tags else "") + "\n")
        out.writelines(
            f"reader.{n}@example{n % 97}.org,Reader {n},{'paid' if n % 7 == 0 else 'free'},City {n % 50}" + (f",{tags_of(n)}" if tags else "") + "\n"
            for n in range(rows)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5, help="imports of each kind")
    parser.add_argument("--postgres", action="store_true", help="import into a throw-away PostgreSQL server")
    args = parser.parse_args()
    server = None
    if args.postgres:
        sys.path.insert(0, str(ROOT))  # the repository: the tests' throw-away PostgreSQL server
        from tests.helpers.postgres_server import start_server

        server = start_server()
    try:
        with tempfile.TemporaryDirectory() as folder:  # every run imports into a new folder; all removed at the end
            root = Path(folder)
            plain, tagged = root / "plain.csv", root / "tagged.csv"
            write_csv(plain, args.rows, tags=False)
            write_csv(tagged, args.rows, tags=True)
            walls: dict[str, list[float]] = {"without": [], "with": []}
            cpus: dict[str, list[float]] = {"without": [], "with": []}
            for n in range(args.runs):
                for kind, csv in (("without", plain), ("with", tagged)) if n % 2 == 0 else (("with", tagged), ("without", plain)):
                    url = server.new_database() if server else None
                    wall, cpu, _, stdout = run_import(csv, root / f"{kind}-{n}", url)
                    walls[kind].append(wall)
                    cpus[kind].append(cpu)
            print(stdout)
            without, with_tags = statistics.median(walls["without"]), statistics.median(walls["with"])
            where = "PostgreSQL" if server else "SQLite"
            print(f"{where}, {args.rows:,} rows, median of {args.runs} each (interleaved):")
            print(f"  without tags: {without:5.2f} s   ({', '.join(f'{w:.2f}' for w in walls['without'])})")
            print(f"  with tags:    {with_tags:5.2f} s   ({', '.join(f'{w:.2f}' for w in walls['with'])})")
            print(f"  ratio: {with_tags / without:.2f} (target <= 1.2)")
            cpu_ratio = statistics.median(cpus["with"]) / statistics.median(cpus["without"])
            print(f"  CPU of the import process: {statistics.median(cpus['without']):.2f} s without, {statistics.median(cpus['with']):.2f} s with: ratio {cpu_ratio:.2f}")
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    main()
