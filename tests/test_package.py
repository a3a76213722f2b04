"""The wheel a user installs: built from this checkout as `pip install .` builds it, then read as a zip.
It must carry what an installed tool needs (templates, label catalogues), what a packager checks
(the licence, py.typed) and the distribution name and version users see."""

from __future__ import annotations

import email.parser
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import click
import pytest

import newsletter

pytestmark = pytest.mark.slow  # builds and unpacks the wheel

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "newsletter-desk"  # "newsletter" is someone else's on PyPI

pytest.importorskip("hatchling", reason="building the wheel offline needs the build backend: pip install -e '.[test]'")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built offline with the environment's hatchling (no isolated build environment to download)."""
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "--quiet", "--disable-pip-version-check", "-w", str(out)]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)
    [built] = out.glob("*.whl")
    return built


def files_in(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def read_from(wheel: Path, name: str) -> str:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(name).decode("utf-8")


def dist_info(wheel: Path) -> str:
    [folder] = {name.split("/")[0] for name in files_in(wheel) if name.split("/")[0].endswith(".dist-info")}
    return folder


def test_the_wheel_is_named_for_the_distribution_and_carries_the_packages_version(wheel: Path) -> None:
    metadata = email.parser.Parser().parsestr(read_from(wheel, f"{dist_info(wheel)}/METADATA"))
    assert metadata["Name"] == DISTRIBUTION
    assert metadata["Version"] == newsletter.__version__
    assert wheel.name.startswith(f"newsletter_desk-{newsletter.__version__}-")
    assert metadata["License-Expression"] == "MIT"


def test_the_wheel_installs_the_newsletter_command(wheel: Path) -> None:
    entry_points = read_from(wheel, f"{dist_info(wheel)}/entry_points.txt")
    assert "newsletter = newsletter.cli.main:main" in entry_points


def test_the_wheel_ships_the_licence_and_the_type_marker(wheel: Path) -> None:
    licence = read_from(wheel, f"{dist_info(wheel)}/licenses/LICENSE")
    assert licence.startswith("MIT License") and "the newsletter contributors" in licence
    assert "newsletter/py.typed" in files_in(wheel)


def test_the_wheel_ships_the_default_templates_and_every_label_catalogue(wheel: Path) -> None:
    names = files_in(wheel)
    templates = sorted(f"newsletter/templates/{path.relative_to(ROOT / 'templates').as_posix()}" for path in (ROOT / "templates").rglob("*") if path.is_file())
    catalogues = sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / "newsletter" / "i18n" / "locale").rglob("*.po"))
    assert "newsletter/templates/email.mjml.j2" in templates and catalogues
    assert [name for name in templates if name not in names] == []
    assert [name for name in catalogues if name not in names] == []


def test_the_installed_command_reports_its_own_version_beside_another_newsletter_distribution(wheel: Path, tmp_path: Path) -> None:
    """Run from the unpacked wheel with click and nothing else (python -S: no site-packages), next to the
    metadata of another distribution called "newsletter" (PyPI's project of that name, or this tool installed
    under its old name and never uninstalled): --version is the code's own, not that distribution's."""
    unpacked, libraries = tmp_path / "wheel", tmp_path / "libraries"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)
    (libraries / "newsletter-0.1.22rc0.dist-info").mkdir(parents=True)
    (libraries / "newsletter-0.1.22rc0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: newsletter\nVersion: 0.1.22rc0\n")
    (libraries / "click").symlink_to(Path(click.__file__).parent, target_is_directory=True)
    env = {"PYTHONPATH": os.pathsep.join([str(unpacked), str(libraries)]), "PATH": os.defpath}
    run = [sys.executable, "-S", "-c", "import newsletter.cli.main, sys; print(newsletter.cli.main.__file__, file=sys.stderr); newsletter.cli.main.main()", "--version"]
    shown = subprocess.run(run, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)  # cwd: not the checkout
    assert shown.stderr.startswith(str(unpacked)), shown.stderr
    assert (shown.returncode, shown.stdout.strip()) == (0, f"newsletter, version {newsletter.__version__}")
