"""`newsletter publish`: write the static web archive (read and render everything, then write)."""

from __future__ import annotations

from pathlib import Path

import click

from ..main import display_path


@click.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder to write the site to: robots.txt at its top, the archive under archive_url's path.  [default: site/ in the workspace, which `newsletter serve` serves]",
)
def publish(out: Path | None) -> None:
    """Write the web archive: a page per issue at least one reader received (and per issue marked
    `publish: true`), index.html, feed.xml (Atom), sitemap.xml and robots.txt. Only changed files
    are written; the page of an issue nobody received (its send failed or was cancelled) is removed."""
    from ...publish import publish as publish_site
    from ...workspace.config import load_workspace

    workspace = load_workspace(Path.cwd())
    outcome = publish_site(workspace, out)
    for path in outcome.written:
        click.echo(f"wrote {display_path(path)}")
    for path, reason in outcome.removed:
        click.echo(f"removed {display_path(path)}: issue {path.stem.removeprefix('issue-')} is no longer published: {reason}")
    if not outcome.written and not outcome.removed:
        click.echo("nothing changed")
    for number, reason in outcome.withheld:
        click.echo(f"issue {number}: not published: {reason}")
    for path in outcome.leftover:
        click.secho(f"note: {display_path(path)} is no longer part of the archive; it was left in place (delete it if it should go)", fg="yellow", err=True)
