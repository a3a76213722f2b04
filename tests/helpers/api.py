"""Helpers of the REST API's tests: a token made by the command line, and a client that checks
every answer against the OpenAPI document the app serves (its status documented for that route,
its body valid against the schema documented for it) and records which routes it reached."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from tests.helpers.cli import run
from tests.helpers.web import Answer, Client

ALL_SCOPES = "subscribers:read,subscribers:write,issues:read,issues:send"


def make_token(workspace: Path, name: str, scopes: str = ALL_SCOPES, env: Mapping[str, str] | None = None) -> str:
    """`newsletter api-token create NAME --scopes SCOPES` in the workspace: the token it printed."""
    result = run("api-token", "create", name, "--scopes", scopes, cwd=workspace, env=env, ok=True)
    return result.stdout.strip().splitlines()[-1]


@dataclass
class ApiClient:
    """A client of /api/v1/ with one token, checking each answer against the served document."""

    client: Client
    token: str | None = None
    document: dict[str, Any] = field(default_factory=dict)
    reached: set[tuple[str, str]] = field(default_factory=set)  # (method, documented path) answered as documented

    def __post_init__(self) -> None:
        if not self.document:
            answer = self.client.get("/api/v1/openapi.json")
            assert answer.status == 200, answer.body
            self.document = json.loads(answer.body)

    def call(self, method: str, path: str, body: Any = None, token: str | None = None, raw: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any, Answer]:
        """(status, the JSON answer, the whole answer), after checking it against the document."""
        sent = dict(headers or {})
        bearer = token if token is not None else self.token
        if bearer:
            sent.setdefault("Authorization", f"Bearer {bearer}")
        payload = raw
        if body is not None:
            payload = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        answer = self.client.request(method.upper(), path, payload, sent)
        found = json.loads(answer.body) if answer.body else None
        self.check(method, path, answer, found)
        return answer.status, found, answer

    def check(self, method: str, path: str, answer: Answer, found: Any) -> None:
        assert "Traceback" not in answer.body
        route = self.route(method, path)
        kind = answer.headers.get("Content-Type", "")
        if answer.status >= 400:
            assert kind == "application/problem+json", (answer.status, kind, answer.body)
            assert found["status"] == answer.status and found["title"] and found["detail"] and found["type"]
        if route is None:
            assert answer.status in (404, 405), (method, path, answer.status)
            return
        documented, operation = route
        responses = operation["responses"]
        assert str(answer.status) in responses, f"{method.upper()} {documented} answered {answer.status}, which its document does not list: {answer.body}"
        content = responses[str(answer.status)]["content"]
        media = kind.split(";")[0]
        assert media in content, (media, list(content))
        schema = {**content[media]["schema"], "components": self.document["components"]}
        jsonschema.validate(found, schema, cls=jsonschema.Draft202012Validator)
        self.reached.add((method.lower(), documented))

    def route(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        bare = path.split("?", 1)[0]
        for documented, operations in self.document["paths"].items():
            pattern = re.sub(r"\{[^}]+\}", "[^/]+", re.escape(documented).replace(r"\{", "{").replace(r"\}", "}"))
            if re.fullmatch(pattern, bare) and method.lower() in operations:
                return documented, operations[method.lower()]
        return None

    def documented(self) -> set[tuple[str, str]]:
        return {(method, path) for path, operations in self.document["paths"].items() for method in operations}
