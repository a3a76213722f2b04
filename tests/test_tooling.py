"""The checks a contributor's commit goes through (.pre-commit-config.yaml) are the ones `make test`
runs: the ruff pinned in constraints.txt and the project's own mypy settings. pre-commit itself is
not needed to run these tests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent


def repo(url: str) -> dict[str, Any]:
    """The entry of .pre-commit-config.yaml for `url` ("local" for the project's own hooks)."""
    config = YAML(typ="safe").load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    [found] = [entry for entry in config["repos"] if entry["repo"] == url]
    return dict(found)


def test_pre_commit_runs_the_ruff_that_constraints_pins() -> None:
    [pinned] = re.findall(r"(?m)^ruff==(\S+)$", (ROOT / "constraints.txt").read_text(encoding="utf-8"))
    ruff = repo("https://github.com/astral-sh/ruff-pre-commit")
    assert ruff["rev"] == f"v{pinned}"
    assert [hook["id"] for hook in ruff["hooks"]] == ["ruff-check"]


def test_pre_commit_runs_the_projects_mypy_on_the_whole_package() -> None:
    [mypy] = repo("local")["hooks"]
    # Not the files of the commit: mypy then checks what [tool.mypy] names, as `make test` does.
    assert (mypy["entry"], mypy["language"], mypy["pass_filenames"]) == ("mypy", "system", False)
