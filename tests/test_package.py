"""The wheel a user installs: built from this checkout as `pip install .` builds it, then read as a zip.
It must carry what an installed tool needs (templates, label catalogues), what a packager checks
(the licence, py.typed) and the distribution name and version users see."""

from __future__ import annotations

import email.parser
import os
import re
import shutil
import stat
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
SAMPLE_ISSUE = "issues/2026-11-24.yaml"

pytest.importorskip("hatchling", reason="building the wheel offline needs the build backend: pip install -e '.[all,test]'")


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


# What each optional part installs, by distribution name, as a user reads the extras.
PARTS = {
    "web": {"flask", "flask-wtf", "flask-limiter", "flask-cors", "standardwebhooks", "gunicorn"},
    "postgres": {"psycopg", "psycopg-pool"},
    "stories": {"trafilatura", "lxml-html-clean", "pysbd", "text2num", "feedparser"},
    "report": {"matplotlib"},
    "redis": {"redis"},
    "ses": {"boto3", "cryptography"},
    "mailgun": {"mailgun"},
    "postmark": {"urllib3"},
    "resend": {"resend"},
    "shots": {"playwright"},
}


def requirements_by_extra(wheel: Path) -> dict[str | None, set[str]]:
    """The distributions the wheel's metadata requires, per extra (None: the core install)."""
    metadata = email.parser.Parser().parsestr(read_from(wheel, f"{dist_info(wheel)}/METADATA"))
    found: dict[str | None, set[str]] = {extra: set() for extra in [None, *metadata.get_all("Provides-Extra", [])]}
    for requirement in metadata.get_all("Requires-Dist", []):
        name = re.match(r"[A-Za-z0-9._-]+", requirement).group().lower()  # type: ignore[union-attr]
        extra = re.search(r"extra == ['\"]([a-z0-9-]+)['\"]", requirement)
        found[extra.group(1) if extra else None].add(name)
    return found


def test_the_wheel_offers_each_optional_part_as_an_extra_and_all_of_them_as_all(wheel: Path) -> None:
    required = requirements_by_extra(wheel)
    assert sorted(name for name in required if name) == ["all", "mailgun", "postgres", "postmark", "redis", "report", "resend", "ses", "shots", "stories", "test", "web"]
    assert {part: required[part] for part in PARTS} == PARTS
    assert required["all"] == set().union(*PARTS.values())


def test_the_core_install_requires_none_of_the_optional_parts(wheel: Path) -> None:
    core = requirements_by_extra(wheel)[None]
    assert {"jinja2", "mjml-python", "premailer", "click", "watchfiles", "sendgrid"} <= core
    assert core & set().union(*PARTS.values()) == set()


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


def test_the_wheels_templates_are_copies_of_the_top_level_ones_not_a_link(wheel: Path) -> None:
    """newsletter/templates is a link in the checkout; the wheel must hold the files themselves."""
    with zipfile.ZipFile(wheel) as archive:
        packaged = {info.filename.removeprefix("newsletter/templates/"): info for info in archive.infolist() if info.filename.startswith("newsletter/templates/")}
        assert sorted(packaged) == sorted(path.name for path in (ROOT / "templates").iterdir())
        for name, info in packaged.items():
            assert stat.S_ISREG(info.external_attr >> 16), name
            assert archive.read(info) == (ROOT / "templates" / name).read_bytes(), name


def test_a_checkout_finds_the_default_templates_where_the_wheel_has_them() -> None:
    """One way to find them, no fallback: the package's templates/, which in a checkout is the top-level templates/."""
    from newsletter.render.pipeline import default_template_dir

    assert (ROOT / "newsletter" / "templates").resolve() == (ROOT / "templates").resolve() == default_template_dir()
    assert os.readlink(ROOT / "newsletter" / "templates") == "../templates"  # relative: it holds in any clone


def test_the_installed_wheel_builds_the_sample_issue_with_its_own_templates(wheel: Path, tmp_path: Path) -> None:
    """Unpacked as pip installs it, away from the checkout, the tool builds the sample issue in a workspace
    with no templates of its own: from the templates in the wheel, to the same bytes as the checkout's build."""
    unpacked = tmp_path / "installed"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)
    built = {}
    for name, code in {"installed": unpacked, "checkout": ROOT}.items():
        workspace = tmp_path / name / "letter"
        (workspace / "issues").mkdir(parents=True)
        shutil.copy(ROOT / "newsletter.toml", workspace)
        shutil.copy(ROOT / SAMPLE_ISSUE, workspace / "issues")
        show_where = "import newsletter.render.pipeline as p, sys; print(p.default_template_dir(), file=sys.stderr); import newsletter.cli.main as m; m.main()"
        env = {**os.environ, "PYTHONPATH": str(code)}
        run = subprocess.run([sys.executable, "-c", show_where, "build", SAMPLE_ISSUE], cwd=workspace, env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert run.stderr.splitlines()[0] == str((code / "newsletter" / "templates").resolve())
        built[name] = (workspace / "build" / "2026-11-24" / "email.html").read_bytes()
    assert not (unpacked / "newsletter" / "templates").is_symlink()
    assert built["installed"] == built["checkout"]


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
