"""The publish cache is keyed by everything in the tool a page depends on: a change to any module
(wherever it lives in the package), to a label catalogue or to a rendering library's version must
make every cached page unusable, or an upgrade would keep publishing pages of the old tool."""

from __future__ import annotations

import importlib.metadata
import shutil
from pathlib import Path

import pytest

from newsletter.publish.cache import PACKAGE, code_fingerprint


@pytest.fixture
def package(tmp_path: Path) -> Path:
    copy = tmp_path / "newsletter"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def edit(path: Path) -> None:
    path.write_bytes(path.read_bytes() + b"\n# edited\n")


def test_the_copy_of_the_package_fingerprints_as_the_package(package: Path) -> None:
    assert code_fingerprint(package) == code_fingerprint()


@pytest.mark.parametrize("module", ["models/__init__.py", "render/markdown.py", "publish/site.py", "db/ledger.py"])
def test_a_change_to_any_module_at_any_depth_changes_the_fingerprint(package: Path, module: str) -> None:
    before = code_fingerprint(package)
    edit(package / module)
    assert code_fingerprint(package) != before


def test_a_module_moved_into_a_package_changes_the_fingerprint(package: Path) -> None:
    before = code_fingerprint(package)
    shutil.move(package / "render" / "theme.py", package / "mail" / "theme.py")
    assert code_fingerprint(package) != before


def test_a_change_to_a_label_catalogue_changes_the_fingerprint(package: Path) -> None:
    before = code_fingerprint(package)
    catalogue = package / "i18n" / "locale" / "fr" / "LC_MESSAGES" / "newsletter.po"
    catalogue.write_text(catalogue.read_text(encoding="utf-8").replace("Se désabonner", "Se désinscrire"), encoding="utf-8")
    assert code_fingerprint(package) != before


def test_a_new_babel_release_changes_the_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    before = code_fingerprint()
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "99.0" if name == "babel" else real(name))
    assert code_fingerprint() != before
