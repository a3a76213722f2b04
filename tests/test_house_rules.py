"""Rules of the codebase's layout, checked on its source (docs/architecture.md says why)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "newsletter"
ENVIRONMENT = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}
# Where the environment may be touched: the module that reads every secret and setting from it, and
# speedups, whose disable_pydantic_plugins() sets PYDANTIC_DISABLE_PLUGINS, a library's start-up
# setting, for the entry points to call before pydantic defines its first model.
MAY_READ_THE_ENVIRONMENT = {"credentials.py", "speedups.py"}


def environment_uses(source: str) -> list[int]:
    """The lines of `source` that reach os.environ, os.getenv and the like, however os was imported."""
    tree = ast.parse(source)
    names_of_os = {"os"}
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names_of_os |= {alias.asname or alias.name for alias in node.names if alias.name == "os"}
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and any(alias.name in ENVIRONMENT for alias in node.names):
            lines.append(node.lineno)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ENVIRONMENT and isinstance(node.value, ast.Name) and node.value.id in names_of_os:
            lines.append(node.lineno)
    return sorted(lines)


def test_the_environment_is_read_in_credentials_only() -> None:
    found = {
        f"{path.relative_to(PACKAGE)}:{line}"
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).as_posix() not in MAY_READ_THE_ENVIRONMENT
        for line in environment_uses(path.read_text(encoding="utf-8"))
    }
    assert found == set()


def test_the_rule_sees_every_way_of_reaching_the_environment() -> None:
    source = "import os\nimport os as system\nfrom os import environ\nos.environ.get('A')\nsystem.getenv('B')\nx = os.path.join('a')\n"
    assert environment_uses(source) == [3, 4, 5]
