"""The one way tests run the command line in this process."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from click.testing import CliRunner, Result

from newsletter.cli.main import cli


def run(
    *args: str | Path,
    env: Mapping[str, str | None] | None = None,
    input: str | None = None,
    cwd: Path | None = None,
    catch_exceptions: bool = False,
    ok: bool = False,
    never_shows: Iterable[str] = (),
) -> Result:
    """Run `newsletter ARGS` in this process; its result (exit_code, output, stdout, stderr).

    env: variables to set (None unsets) while it runs. input: what is typed at its prompts.
    cwd: the folder it runs in (the current one otherwise). catch_exceptions: an exception the
    command lets out becomes the result's, instead of failing the test (it never should).
    ok: fail the test unless it exits 0. never_shows: fail the test if any of these words, or a
    traceback, is in the output (the hostile suite's secrets)."""
    before = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, [str(arg) for arg in args], env=env, input=input, catch_exceptions=catch_exceptions)
    finally:
        os.chdir(before)
    if ok:
        assert result.exit_code == 0, result.output
    hidden = list(never_shows)
    if hidden:
        for word in hidden:
            assert word not in result.output, "a secret reached the output"
        assert "Traceback" not in result.output
    return result
