"""Import benchmark: `newsletter subscribers import` of a CSV into a new database, as a whole process.

100,000 rows (+10,000 repeats to merge), median of 3 runs; then 1,000,000 rows (+100,000 repeats),
once, with the peak memory (RSS) of that process alone (from wait4 on that one child).
Targets on a 2-core machine: 100,000 rows in <= 2 s; 1,000,000 rows in <= 25 s and <= 300 MB peak RSS.
`--small` skips the 1,000,000-row run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_csv(path: Path, rows: int) -> None:
    with path.open("w") as out:
        out.write("email,name,plan,city\n")
        out.writelines(f"Reader.{n}@Example{n % 97}.org,Reader {n},{'paid' if n % 7 == 0 else 'free'},City {n % 50}\n" for n in range(rows))
        out.writelines(f"reader.{n}@example{n % 97}.org,,,\n" for n in range(0, rows, 10))  # repeats to merge


def run_import(csv: Path, workspace: Path, database_url: str | None = None) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MB, stdout) of one import into a new workspace (or PostgreSQL database)."""
    workspace.mkdir()
    shutil.copy(ROOT / "newsletter.toml", workspace)
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    if database_url:
        env["DATABASE_URL"] = database_url
    command = [str(Path(sys.executable).with_name("newsletter")), "subscribers", "import", str(csv)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=workspace, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS, not the max over all children
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        if child.returncode:
            sys.exit(f"{' '.join(command)} failed ({child.returncode}):\n{err.read().decode()}")
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.read().decode().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="skip the 1,000,000-row run")
    parser.add_argument("--postgres", action="store_true", help="import into a throw-away PostgreSQL server instead (1,000,000 rows: target <= 20 s)")
    args = parser.parse_args()
    if args.postgres:
        return postgres(args.small)
    small = args.small
    with tempfile.TemporaryDirectory() as folder:  # every run imports into a new folder; all removed at the end
        root = Path(folder)
        write_csv(root / "100k.csv", 100_000)
        runs = [run_import(root / "100k.csv", root / f"100k-{n}") for n in range(3)]
        print(runs[-1][3])
        wall, cpu = statistics.median(run[0] for run in runs), statistics.median(run[1] for run in runs)
        peak = max(run[2] for run in runs)
        print(f"  100,000 rows (+10,000 repeats), median of 3: {wall:5.2f} s (target <= 2 s), CPU {cpu:.1f} s, peak RSS {peak:.0f} MB")
        if small:
            return
        write_csv(root / "1m.csv", 1_000_000)
        wall, cpu, peak, stdout = run_import(root / "1m.csv", root / "1m")
        print(stdout)
        print(f"1,000,000 rows (+100,000 repeats), one run:  {wall:5.2f} s (target <= 25 s), CPU {cpu:.1f} s, peak RSS {peak:.0f} MB (target <= 300 MB)")


def postgres(small: bool) -> None:
    """The same imports into PostgreSQL (COPY into a staging table, then one merge)."""
    sys.path.insert(0, str(ROOT))  # the repository: the tests' throw-away PostgreSQL server
    from tests.helpers.postgres_server import start_server

    server = start_server()
    try:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            for rows in (100_000,) if small else (100_000, 1_000_000):
                write_csv(root / f"{rows}.csv", rows)
                wall, cpu, peak, stdout = run_import(root / f"{rows}.csv", root / f"{rows}", server.new_database())
                print(stdout)
                target = " (target <= 20 s)" if rows == 1_000_000 else ""
                print(f"PostgreSQL: {rows:,} rows (+{rows // 10:,} repeats): {wall:5.2f} s{target}, CPU of the import {cpu:.1f} s, peak RSS {peak:.0f} MB")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
