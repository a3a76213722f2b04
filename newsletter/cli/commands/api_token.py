"""`newsletter api-token create|list|revoke`: the REST API's tokens (parse, call, print)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ...db import Database


def _open(read_only: bool = False) -> Database:
    from ...db import Database
    from ...workspace.config import load_workspace

    return Database(load_workspace(Path.cwd()).database, read_only=read_only)


@click.group("api-token")
def api_token() -> None:
    """Tokens for the REST API at /api/v1/ of the web app (see the README, "The REST API")."""


@api_token.command()
@click.argument("name")
@click.option("--scopes", required=True, metavar="SCOPE,...", help="What the token may do: subscribers:read, subscribers:write, issues:read, issues:send (comma-separated).")
def create(name: str, scopes: str) -> None:
    """Make a token called NAME and print it, once: only its SHA-256 is kept."""
    from ...integrations.api_tokens import check_name, create_token, parse_scopes

    chosen = parse_scopes(scopes)
    check_name(name)
    with _open() as db:
        token = create_token(db, name, chosen)
    click.echo(f"Token {name!r} ({', '.join(chosen)}); it is shown this once, so keep it now:", err=True)
    click.echo(token)


@api_token.command("list")
def list_() -> None:
    """Every token: its name, scopes, when it was made and last used (never the token)."""
    with _open() as db:
        tokens = db.api_tokens.all()
    if not tokens:
        click.echo("No API tokens. `newsletter api-token create NAME --scopes ...` makes one.")
        return
    width = max(len(token.name) for token in tokens)
    for token in tokens:
        click.echo(f"{token.name:<{width}}  {','.join(token.scopes):<60}  created {token.created_at}  last used {token.last_used_at or 'never'}")


@api_token.command()
@click.argument("name")
def revoke(name: str) -> None:
    """Revoke the token called NAME: requests carrying it are refused from now on."""
    from ...integrations.api_tokens import revoke_token

    with _open() as db:
        revoke_token(db, name)
    click.echo(f"Token {name!r} revoked")
