"""The core install (`pip install .`) writes, checks, builds, previews and sends an issue and keeps the
subscribers, with none of the optional parts (pyproject.toml's extras). A command that needs a part that
is not installed says which to install, with status 1 and no traceback.

The commands run in a subprocess whose imports of the parts' modules fail, as they do where the part was
never installed (a meta-path finder refuses them before Python looks for them)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from newsletter.cli.main import EXTRAS

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = "issues/2026-11-24.yaml"
PARTS_MODULES = sorted(module for _, modules in EXTRAS.values() for module in modules)

# Runs `newsletter ARGS...` with every module of the optional parts missing.
WITHOUT_THE_PARTS = f"""
import importlib.abc, sys

MISSING = {PARTS_MODULES!r}

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in MISSING:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
sys.argv[0] = "newsletter"
from newsletter.cli.main import main
main()
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of the repository's sample workspace: settings, the sample issue, the sample subscribers."""
    (tmp_path / "issues").mkdir()
    shutil.copy(ROOT / "newsletter.toml", tmp_path)
    shutil.copy(ROOT / SAMPLE, tmp_path / "issues")
    shutil.copy(ROOT / "sample-subscribers.csv", tmp_path)
    return tmp_path


def environment(**changes: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
    return {**env, "PYTHONPATH": str(ROOT), **changes}


def without_the_parts(workspace: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", WITHOUT_THE_PARTS, *args]
    return subprocess.run(command, cwd=workspace, env=environment(**env), capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_the_core_commands_need_none_of_the_optional_parts(workspace: Path) -> None:
    for args in [
        ["check", SAMPLE],
        ["build", SAMPLE],
        ["subscribers", "import", "sample-subscribers.csv"],
        ["subscribers", "list"],
        ["send", "--provider", "outbox", SAMPLE],
        ["status", SAMPLE],
        ["report", SAMPLE],
        ["publish"],
    ]:
        done = without_the_parts(workspace, *args)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    assert (workspace / "build" / "2026-11-24" / "email.html").is_file()
    assert len(list((workspace / "outbox" / "new").iterdir())) == 20  # the sample's subscribers, one letter each


@pytest.mark.slow
def test_the_preview_needs_none_of_the_optional_parts(workspace: Path) -> None:
    command = [sys.executable, "-c", WITHOUT_THE_PARTS, "preview", SAMPLE, "--port", "0"]
    process = subprocess.Popen(command, cwd=workspace, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first_line = process.stdout.readline() if process.stdout else ""
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    assert re.match(rf"Previewing {re.escape(SAMPLE)} at http://127\.0\.0\.1:\d+/", first_line), first_line + rest


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "part", "purpose"),
    [
        (["serve", "--dev"], "web", "for the web app and webhooks"),
        (["story", "show", str(ROOT / "tests" / "stories" / "fixtures" / "solar-coop.html")], "stories", "to draft stories from articles and feeds"),
        (["report", "--html", "report.html", SAMPLE], "report", "for the charts of report --html"),
        (["diff", SAMPLE, SAMPLE, "--shots", "shots"], "shots", "for the screenshots of diff --shots (Chromium itself: apt-get install chromium)"),
    ],
    ids=["serve", "story show", "report --html", "diff --shots"],
)
def test_a_command_that_needs_a_missing_part_says_which_to_install(workspace: Path, args: list[str], part: str, purpose: str) -> None:
    if part == "report":  # a report with charts: an issue that went out to someone
        assert without_the_parts(workspace, "subscribers", "import", "sample-subscribers.csv").returncode == 0
        assert without_the_parts(workspace, "send", "--provider", "outbox", SAMPLE).returncode == 0
    done = without_the_parts(workspace, *args)
    assert done.returncode == 1, done.stderr
    install = f"pip install 'newsletter-desk[{part}]'"
    assert done.stderr.splitlines()[-1] == f"Error: newsletter {args[0]} needs the {part} part {purpose}, which is not installed: {install}"
    assert "Traceback" not in done.stderr
    assert done.stdout == ""  # said before any work: no text report first
    assert not (workspace / "report.html").exists()


@pytest.mark.slow
def test_a_postgresql_database_without_its_part_says_which_to_install(workspace: Path) -> None:
    done = without_the_parts(workspace, "subscribers", "list", DATABASE_URL="postgresql://news@127.0.0.1:1/news")
    assert done.returncode == 1, done.stderr
    assert done.stderr == "Error: newsletter subscribers needs the postgres part for a PostgreSQL database, which is not installed: pip install 'newsletter-desk[postgres]'\n"


def test_every_optional_part_of_the_package_names_its_modules() -> None:
    """The table the message comes from covers each extra in pyproject.toml, and each package the extra installs."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    parts = {name: requirements for name, requirements in extras.items() if name not in {"all", "test"}}
    assert sorted(EXTRAS) == sorted(parts)
    assert extras["all"] == [f"newsletter-desk[{','.join(parts)}]"]
    modules_of = {}
    for module, distributions in packages_distributions().items():
        for distribution in distributions:
            modules_of.setdefault(normalized(distribution), set()).add(module)
    for part, requirements in parts.items():
        for requirement in requirements:
            name = normalized(re.match(r"[A-Za-z0-9._-]+", requirement).group())  # type: ignore[union-attr]
            assert modules_of[name] & EXTRAS[part][1], f"[{part}] {requirement}: none of its modules {sorted(modules_of[name])} is in EXTRAS"


def normalized(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()
