"""A throw-away git repository for the tests of `diff` and of the commit `send` records: git itself,
run with a test identity and no signing, whatever the machine's own git settings say."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

IDENTITY = ["-c", "user.name=Test Editor", "-c", "user.email=editor@example.org", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]


def git(root: Path, *args: str) -> str:
    """Run git in `root`; its standard output, stripped. Fails the test if git fails."""
    result = subprocess.run(["git", *IDENTITY, *args], cwd=root, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


def init_repository(root: Path) -> str:
    """`root` as a git repository with everything in it committed; the commit's id."""
    git(root, "init", "-q")
    return commit_all(root, "the workspace")


def commit_all(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


def edit_issue(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Rewrite the issue file at `path` with `change` applied to its fields, in its own style."""
    yaml = YAML()
    yaml.width = 4096
    data = yaml.load(path.read_text(encoding="utf-8"))
    change(data)
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(data, out)
