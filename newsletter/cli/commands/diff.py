"""`newsletter diff A B`: what changed between two versions of an issue (files or git revisions)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("a")
@click.argument("b")
@click.option("--markdown", is_flag=True, help="Print the diff as a Markdown comment for a pull request.")
@click.option(
    "--shots",
    "shots_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Also write screenshots of both versions at 375 and 800 px into this folder (a-375.png, b-375.png, a-800.png, b-800.png).",
)
def diff(a: str, b: str, markdown: bool, shots_dir: Path | None) -> None:
    """Show what changed from A to B, each an issue file or a git revision of one
    (HEAD~1:issues/2026-12-07.yaml): the stories added, removed and moved, the links, the HTML
    size against Gmail's clip, and the plain text's diff."""
    from ...issue.diff import compare
    from ...issue.diff_report import as_markdown, as_text

    found = compare(a, b)
    shots = None
    if shots_dir is not None:
        from ...issue.shots import take_shots

        shots = take_shots(found, shots_dir)
    click.echo(as_markdown(found, shots) if markdown else as_text(found, shots), nl=not markdown)
