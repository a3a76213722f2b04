"""The REST API's tokens: a name, the SHA-256 of the token (the token itself is shown once and
never stored), its scopes, when it was made and when it was last used."""

from __future__ import annotations

from dataclasses import dataclass

from .connection import Store, now


@dataclass(frozen=True)
class ApiToken:
    name: str
    token_hash: str
    scopes: tuple[str, ...]
    created_at: str
    last_used_at: str | None


class ApiTokens:
    def __init__(self, connection: Store) -> None:
        self.connection = connection
        self.db = connection.db

    def create(self, name: str, token_hash: str, scopes: tuple[str, ...]) -> bool:
        """Store a new token; False (nothing stored) when a token of that name exists."""
        with self.connection.transaction():
            added = self.db.execute(
                "INSERT INTO api_tokens (name, token_hash, scopes, created_at, last_used_at) VALUES (?, ?, ?, ?, NULL) ON CONFLICT (name) DO NOTHING",
                (name, token_hash, " ".join(scopes), now()),
            ).rowcount
        return bool(added)

    def by_hash(self, token_hash: str) -> ApiToken | None:
        row = self.db.execute(f"SELECT {COLUMNS} FROM api_tokens WHERE token_hash = ?", (token_hash,)).fetchone()
        return _token(row) if row else None

    def all(self) -> list[ApiToken]:
        return [_token(row) for row in self.db.execute(f"SELECT {COLUMNS} FROM api_tokens ORDER BY name")]

    def revoke(self, name: str) -> bool:
        """Delete the token: a request carrying it is refused from now on. Whether there was one."""
        with self.connection.transaction():
            return self.db.execute("DELETE FROM api_tokens WHERE name = ?", (name,)).rowcount > 0

    def used(self, token: ApiToken, stamp: str | None = None) -> None:
        """Note that `token` was used now (at most once a minute)."""
        stamp = stamp or now()
        if token.last_used_at is not None and token.last_used_at[:16] == stamp[:16]:
            return  # once a minute is enough: a busy client must not turn every read into a write
        with self.connection.transaction():
            self.db.execute("UPDATE api_tokens SET last_used_at = ? WHERE name = ?", (stamp, token.name))


COLUMNS = "name, token_hash, scopes, created_at, last_used_at"


def _token(row: tuple[str, str, str, str, str | None]) -> ApiToken:
    name, token_hash, scopes, created_at, last_used_at = row
    return ApiToken(name, token_hash, tuple(scopes.split()), created_at, last_used_at)
