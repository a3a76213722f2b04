"""Import benchmark: `newsletter subscribers import` of a 100,000-row CSV, as a whole process.

Target on a 2-core machine: <= 3 s.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS = 100_000


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        workspace = Path(folder)
        shutil.copy(ROOT / "newsletter.toml", workspace)
        lines = ["email,name,plan,city"]
        lines += [f"Reader.{n}@Example{n % 97}.org,Reader {n},{'paid' if n % 7 == 0 else 'free'},City {n % 50}" for n in range(ROWS)]
        lines += [f"reader.{n}@example{n % 97}.org,,," for n in range(0, ROWS, 10)]  # repeats to merge
        (workspace / "list.csv").write_text("\n".join(lines) + "\n")
        env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
        command = [str(Path(sys.executable).with_name("newsletter")), "subscribers", "import", "list.csv"]
        times = []
        for _ in range(3):
            (workspace / "subscribers.db").unlink(missing_ok=True)
            start = time.perf_counter()
            done = subprocess.run(command, cwd=workspace, env=env, check=True, capture_output=True, text=True)
            times.append(time.perf_counter() - start)
        print(done.stdout.strip())
        print(f"import of {ROWS:,} rows (+{ROWS // 10:,} repeats), whole process, median of 3: {statistics.median(times):.2f} s")


if __name__ == "__main__":
    main()
