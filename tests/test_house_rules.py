"""Rules of the codebase's layout, checked on its source (docs/architecture.md says why)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "newsletter"
ENVIRONMENT = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}
# Where the environment may be touched: the module that reads every secret and setting from it, and
# speedups, whose disable_pydantic_plugins() sets PYDANTIC_DISABLE_PLUGINS, a library's start-up
# setting, for the entry points to call before pydantic defines its first model.
MAY_READ_THE_ENVIRONMENT = {"workspace/credentials.py", "speedups.py"}


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


# --- the layout -------------------------------------------------------------------------------------

# The modules at the package's root: the errors every layer raises, the start-up speed tricks
# (newsletter/speedups.py says why they live together), and Python's own. The shared vocabulary is
# the models/ package (with the placeholders and addresses every part speaks of).
# Everything else lives in a package named after its part of the data flow (docs/architecture.md).
ROOT_MODULES = {"__init__.py", "__main__.py", "errors.py", "speedups.py"}


def test_the_package_root_holds_only_the_shared_modules() -> None:
    assert {path.name for path in PACKAGE.glob("*.py")} - ROOT_MODULES == set()


def imported_packages(source: str, package: list[str]) -> set[str]:
    """The packages of ours (newsletter.X, by X) that a module of `package` (["newsletter", "mail"])
    imports, lazily or not; imports for the type checker only (under `if TYPE_CHECKING:`) do not count."""
    return {name[1] for name in imported_modules(source, package) if len(name) > 1 and name[0] == "newsletter"}


def package_imports() -> dict[str, set[str]]:
    """For each package of ours (and each root module, by its name), the other ones it imports."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        unit = parts[0].removesuffix(".py")
        relative = path.relative_to(PACKAGE.parent).with_suffix("").parts
        package = list(relative[:-1])  # a package's __init__ is in the package it starts
        graph.setdefault(unit, set()).update(imported_packages(path.read_text(encoding="utf-8"), package) - {unit, "__init__"})
    return graph


def cycles(graph: dict[str, set[str]]) -> set[tuple[str, ...]]:
    """Every cycle of `graph`, each once, starting at its smallest name."""
    found = set()

    def walk(start: str, node: str, path: list[str]) -> None:
        for nxt in graph.get(node, ()):
            if nxt == start:
                found.add(tuple(path))
            elif nxt > start and nxt not in path:
                walk(start, nxt, [*path, nxt])

    for start in graph:
        walk(start, start, [start])
    return found


def test_no_two_packages_import_each_other() -> None:
    assert cycles(package_imports()) == set()


def test_the_cycle_rule_sees_lazy_imports_and_leaves_type_checking_alone() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == {("a", "b", "c")}
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..workspace.config import Config\ndef f():\n    from ..db import Database\n    from .. import models\n"
    assert imported_packages(source, ["newsletter", "mail"]) == {"db", "models"}


def module_imports() -> dict[str, set[str]]:
    """For each module of ours (a package by its __init__), the modules of ours it imports, lazily or not."""
    graph: dict[str, set[str]] = {}
    root = PACKAGE.parent
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        imported = set()
        for target in imported_modules(path.read_text(encoding="utf-8"), list(parts[:-1])):
            dotted = ".".join(target)
            # `from . import ledger` names a module; `from .ledger import Ledger` a name in one
            is_module = (root / Path(*target)).with_suffix(".py").is_file() or (root / Path(*target)).is_dir()
            imported.add(dotted if is_module else ".".join(target[:-1]))
        graph[name] = {module for module in imported if module.startswith("newsletter")} - {name}
    return graph


def imported_modules(source: str, package: list[str]) -> list[list[str]]:
    """Every name a module of `package` imports, as a dotted path (a module, or a name in one);
    imports for the type checker only do not count."""
    tree = ast.parse(source)
    checking_only = {
        id(node)
        for branch in ast.walk(tree)
        if isinstance(branch, ast.If) and ast.unparse(branch.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        for statement in branch.body
        for node in ast.walk(statement)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in checking_only:
            continue
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = [*base, *(node.module.split(".") if node.module else [])]
            found += [[*target, alias.name] for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [alias.name.split(".") for alias in node.names]
    return found


def test_no_two_modules_import_each_other() -> None:
    """Inside a package too: a cycle between two modules works only as long as nobody reorders an import."""
    graph = module_imports()
    assert graph["newsletter.db.ledger"] >= {"newsletter.db.connection", "newsletter.models"}  # the rule sees the imports
    assert cycles(graph) == set()


def test_the_settings_do_not_pull_in_the_database_or_the_renderer() -> None:
    """Reading newsletter.toml (every command does it first) loads the vocabulary and the settings,
    not the SQL, the providers or the rendering libraries."""
    import subprocess
    import sys

    code = "import sys, newsletter.workspace.config; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE.parent).stdout.split())
    assert "newsletter.workspace.config" in loaded
    assert {name for name in loaded if name.split(".")[:2] in (["newsletter", "db"], ["newsletter", "providers"], ["newsletter", "render"])} == set()
    assert not loaded & {"sqlite3", "psycopg", "jinja2", "premailer", "mjml"}


# --- the shells parse, call and print ------------------------------------------------------------

SHELLS = ("cli", "web")
DATABASE_DRIVERS = {"sqlite3", "psycopg", "psycopg2", "psycopg_pool"}
SQL = re.compile(r"\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP)\s")
# SendGrid's wire format: its event fields (sg_event_id, sg_machine_open...), its webhook's
# signature headers and its API's paths. Reading or writing them is the provider's job.
SENDGRID_WORDS = re.compile(r"\bsg_[a-z_]+|X-Twilio-|/v3/")


def rules_in_a_shell(source: str) -> list[str]:
    """What in a module of cli/ or web/ belongs to a package below it: a database driver imported,
    SQL, or SendGrid's field names, headers and paths."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: imports {alias.name}" for alias in node.names if alias.name.split(".")[0] in DATABASE_DRIVERS]
        elif isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] in DATABASE_DRIVERS:
            found.append(f"{node.lineno}: imports {node.module}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if SQL.match(node.value):
                found.append(f"{node.lineno}: SQL {node.value[:40]!r}")
            found += [f"{node.lineno}: SendGrid's {word!r}" for word in SENDGRID_WORDS.findall(node.value)]
    return found


def test_the_shells_hold_no_sql_and_no_sendgrid_wire_format() -> None:
    found = {
        f"{path.relative_to(PACKAGE)}:{problem}"
        for shell in SHELLS
        for path in (PACKAGE / shell).rglob("*.py")
        for problem in rules_in_a_shell(path.read_text(encoding="utf-8"))
    }
    assert found == set()


def test_the_shell_rule_sees_drivers_sql_and_sendgrid_fields() -> None:
    source = (
        "import sqlite3\nfrom psycopg import sql\nq = 'SELECT email FROM subscribers'\n"
        "e = item.get('sg_event_id')\nh = 'X-Twilio-Email-Event-Webhook-Signature'\nok = 'Select a language'\n"
    )
    assert sorted(problem.split(":")[0] for problem in rules_in_a_shell(source)) == ["1", "2", "3", "4", "5"]
