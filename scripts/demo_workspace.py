"""Make the settings of `make demo`'s scratch workspace: a copy of newsletter.toml that sends only to
a local outbox and keeps its subscribers in a file of its own, whatever the original says.

    python scripts/demo_workspace.py newsletter.toml build/demo/newsletter.toml

The copy keeps every line of the original except the forced keys, which are written under their
table's header (the table is added if the original has none). The copy is read back as TOML and
checked to hold the forced values before it is written; the templates folder the settings name is
copied beside it, so the demo renders as the repository does. Exits 1 with one line if the copy
cannot be made so; nothing is written then."""

from __future__ import annotations

import re
import shutil
import sys
import tomllib
from pathlib import Path
from typing import Any

# table -> key -> TOML value written into the copy
FORCED = {"send": {"provider": '"outbox"', "outbox": '"outbox"'}, "subscribers": {"database": '"subscribers.db"'}}
MARK = "# forced by make demo"
TABLE_HEADER = re.compile(r"\s*\[([A-Za-z0-9_.-]+)\]\s*(#.*)?$")
KEY = re.compile(r"\s*([A-Za-z0-9_-]+)\s*=")


class CannotForce(Exception):
    """The copy would not hold the forced settings; the message says which."""


def forced_lines(table: str) -> list[str]:
    return [f"{key} = {value}   {MARK}" for key, value in FORCED[table].items()]


def forced_copy(text: str) -> str:
    """`text` (a newsletter.toml) with the forced keys under their tables' headers, in place of
    any the original sets there, and the tables it lacks added at the end."""
    lines: list[str] = []
    table: str | None = None
    seen: set[str] = set()
    for line in text.splitlines():
        header = TABLE_HEADER.match(line)
        if header:
            table = header.group(1).strip()
            lines.append(line)
            if table in FORCED:
                seen.add(table)
                lines += forced_lines(table)
            continue
        key = KEY.match(line)
        if table in FORCED and key and key.group(1) in FORCED[table]:
            continue  # the original's value, replaced by the forced one under the header
        lines.append(line)
    for table in FORCED:
        if table not in seen:
            lines += ["", f"[{table}]", *forced_lines(table)]
    return "\n".join(lines) + "\n"


def checked(copy: str) -> dict[str, Any]:
    """The copy as TOML, once it is known to hold every forced value (a header the lines above
    misread, e.g. inside a multi-line string, would leave one out)."""
    try:
        data = tomllib.loads(copy)
    except tomllib.TOMLDecodeError as exc:
        raise CannotForce(f"the copy of newsletter.toml with the forced settings does not read as TOML ({exc})") from None
    for table, keys in FORCED.items():
        for key, value in keys.items():
            if data.get(table, {}).get(key) != value.strip('"'):
                raise CannotForce(f"cannot force [{table}] {key} = {value} in a copy of newsletter.toml")
    return data


def copy_templates(settings: dict[str, Any], source_folder: Path, target_folder: Path) -> None:
    """The templates folder the settings name (relative ones only), copied beside the copy."""
    template_dir = settings.get("newsletter", {}).get("template_dir") or "templates"
    if not Path(template_dir).is_absolute() and (source_folder / template_dir).is_dir():
        shutil.copytree(source_folder / template_dir, target_folder / template_dir, dirs_exist_ok=True)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: demo_workspace.py SOURCE_TOML TARGET_TOML", file=sys.stderr)
        return 2
    source, target = Path(argv[0]), Path(argv[1])
    copy = forced_copy(source.read_text(encoding="utf-8-sig"))
    try:
        settings = checked(copy)
    except CannotForce as exc:
        print(f"make demo: {exc}; the demo did not run", file=sys.stderr)
        return 1
    copy_templates(settings, source.parent, target.parent)
    target.write_text(copy, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
