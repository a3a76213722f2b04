"""`newsletter form`: print the signup form to paste into a page of the publication's own site."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--no-script", is_flag=True, help="A plain form without JavaScript: the reader lands on the web app's own answer page.")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Set this tag on every signup made with the form (repeatable; each must be in [web] allowed_tags).")
def form(no_script: bool, tags: tuple[str, ...]) -> None:
    """Print an HTML signup form for another site, posting to the web app's /subscribe, with the
    workspace's topics. Add that site's origin to [web] allowed_origins, or the app refuses it."""
    from ...publish.signup_form import UnknownTag, embed_form
    from ...workspace.config import load_workspace

    config = load_workspace(Path.cwd()).config
    try:
        html = embed_form(config, list(tags), script=not no_script)
    except UnknownTag as exc:
        raise click.BadParameter(str(exc), param_hint="--tag") from None
    click.echo(html, nl=False)
    if not config.web.allowed_origins:
        click.echo("Note: [web] allowed_origins is empty, so the web app refuses this form on any other site; add the origin of the page that holds it.", err=True)
