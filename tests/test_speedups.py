"""Each trick of newsletter/speedups.py, checked against the libraries installed: a release that
breaks what a trick assumes fails here, not in a reader's inbox. Tricks that change a process for
good (sys.modules, the environment, the umask, gc) are checked in a process of their own.
The SendGrid body's test needs the local SendGrid server: tests/send/test_send_sendgrid.py."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

import newsletter
from newsletter import speedups
from newsletter.issue.loading import load_issue
from newsletter.render.pipeline import Renderer
from newsletter.workspace.config import load_workspace

pytestmark = pytest.mark.slow  # subprocesses that import the tool afresh

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "issues" / "2026-11-24.yaml"


def python(code: str, *, extra_path: Path | None = None, **options) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter with this checkout first on the path and no pydantic setting."""
    env = {key: value for key, value in os.environ.items() if key != speedups.PYDANTIC_DISABLE_PLUGINS}
    env["PYTHONPATH"] = os.pathsep.join(str(path) for path in (extra_path, ROOT) if path)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, **options)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- pydantic's plugins ------------------------------------------------------------------------

PLUGIN = '''\
from pathlib import Path

Path(__file__).with_name("loaded").touch()


class Plugin:
    def new_schema_validator(self, *args, **kwargs):
        return None, None, None


plugin = Plugin()
'''


@pytest.fixture
def pydantic_plugin(tmp_path: Path) -> Path:
    """A folder holding an installed pydantic plugin that leaves a file named `loaded` when pydantic loads it."""
    (tmp_path / "marker_plugin.py").write_text(PLUGIN)
    info = tmp_path / "marker_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: marker-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[pydantic]\nmarker = marker_plugin:plugin\n")
    return tmp_path


DEFINE_A_MODEL = "from pydantic import BaseModel\nclass Model(BaseModel):\n    x: int\n"


def test_pydantic_looks_for_plugins_at_the_first_model_unless_the_variable_says_none(pydantic_plugin: Path) -> None:
    ok(python(DEFINE_A_MODEL, extra_path=pydantic_plugin))
    assert (pydantic_plugin / "loaded").exists(), "pydantic no longer loads plugins when a model is defined: the trick saves nothing"
    (pydantic_plugin / "loaded").unlink()
    # Set after pydantic is imported, before the first model: what cli.main() and newsletter.web do.
    ok(python("import pydantic\nfrom newsletter import speedups\nspeedups.disable_pydantic_plugins()\n" + DEFINE_A_MODEL, extra_path=pydantic_plugin))
    assert not (pydantic_plugin / "loaded").exists()


def test_the_commands_and_the_web_app_define_their_models_without_looking_for_plugins(pydantic_plugin: Path, tmp_path: Path) -> None:
    build = ["newsletter", "build", str(SAMPLE), "--out", str(tmp_path / "out")]
    ok(python(f"import sys\nfrom newsletter.cli.main import main\nsys.argv = {build!r}\nmain()", extra_path=pydantic_plugin, cwd=ROOT))
    assert (tmp_path / "out" / "email.html").exists()
    ok(python("import newsletter.web", extra_path=pydantic_plugin))
    assert not (pydantic_plugin / "loaded").exists()


def test_importing_newsletter_changes_no_environment() -> None:
    code = "import os\nbefore = dict(os.environ)\nimport newsletter, newsletter.cli.main\nprint(dict(os.environ) == before)"
    assert ok(python(code)).strip() == "True"


# --- premailer without requests ----------------------------------------------------------------

INLINE_WITH_A_REMOTE_STYLESHEET = """\
import sys
from newsletter.render.inlining import inline_css
html = '<html><head><link rel="stylesheet" href="https://example.invalid/remote.css"></head><body><p class="a">x</p></body></html>'
print(inline_css(html, ".a{color:red}"))
print("requests" in sys.modules)
import requests
print(callable(getattr(requests, "get", None)))
"""


def test_premailer_inlines_without_importing_requests_and_leaves_the_real_one_importable() -> None:
    inlined, requests_loaded, real_requests = ok(python(INLINE_WITH_A_REMOTE_STYLESHEET)).strip().rsplit("\n", 2)
    assert '<p class="a" style="color:red">x</p>' in inlined
    assert 'href="https://example.invalid/remote.css"' in inlined  # allow_network=False: left alone, never fetched
    assert (requests_loaded, real_requests) == ("False", "True")


# --- premailer remembering a stylesheet --------------------------------------------------------


@pytest.mark.parametrize("name", list(speedups.PREMAILER_OVERRIDES))
def test_the_private_methods_we_override_are_there_with_the_parameters_we_call(name: str) -> None:
    method = getattr(speedups.import_premailer().Premailer, name, None)
    assert method is not None, f"premailer.Premailer.{name} is gone"
    assert tuple(inspect.signature(method).parameters) == speedups.PREMAILER_OVERRIDES[name]


def test_premailer_still_goes_through_the_methods_we_override() -> None:
    calls: list[str] = []
    base = speedups.import_premailer().Premailer

    class Counting(base):  # type: ignore[misc, valid-type]
        def _parse_style_rules(self, *args):  # type: ignore[no-untyped-def]
            calls.append("_parse_style_rules")
            return super()._parse_style_rules(*args)

        def _css_rules_to_string(self, *args):  # type: ignore[no-untyped-def]
            calls.append("_css_rules_to_string")
            return super()._css_rules_to_string(*args)

    html = "<html><head><style>.a{color:red} @media (max-width:480px){.a{color:blue}}</style></head><body><p class=a>x</p></body></html>"
    Counting(html, allow_network=False).transform()
    assert set(calls) == set(speedups.PREMAILER_OVERRIDES)


def test_the_remembering_premailer_gives_plain_premailers_bytes(monkeypatch) -> None:
    issue = load_issue(SAMPLE)
    renderer = Renderer(load_workspace(ROOT), remember=False)
    remembered = [renderer.render(issue) for _ in range(2)]  # the second time, from what it remembers
    monkeypatch.setattr(speedups, "caching_premailer", lambda: speedups.import_premailer().Premailer)
    plain = Renderer(load_workspace(ROOT), remember=False).render(issue)
    for email in remembered:
        assert (email.html, email.web_html) == (plain.html, plain.web_html)


# --- cssutils' process-wide settings -----------------------------------------------------------

EMAIL_ONLY_CSS = """\
from newsletter.render.inlining import inline_css
print(inline_css('<html><head></head><body><p class="a">x</p></body></html>',
                 '.a{mso-line-height-rule:exactly;color:red;not-a-property:1} @media (max-width: 480px) { .a { color: blue } }'))
"""


def test_cssutils_says_nothing_about_email_only_css_and_writes_what_is_left_minified() -> None:
    result = python(EMAIL_ONLY_CSS)
    assert (result.returncode, result.stderr) == (0, "")
    assert "<style type=\"text/css\">@media (max-width:480px){.a{color:blue !important}}</style>" in result.stdout


# --- the umask ---------------------------------------------------------------------------------

WRITE_UNDER_A_UMASK = """\
import os, sys
from pathlib import Path
from newsletter.files.writing import write_files
folder = Path(sys.argv[1])
write_files(folder, {"ours.txt": b"x"})
open(folder / "plain.txt", "w").close()
print(oct(os.stat(folder / "ours.txt").st_mode & 0o777), oct(os.stat(folder / "plain.txt").st_mode & 0o777), oct(os.umask(0)))
"""


@pytest.mark.parametrize("umask", [0o027, 0o002, 0o077])
def test_the_one_writer_gives_new_files_the_mode_open_gives_them_and_leaves_the_umask_alone(tmp_path: Path, umask: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", WRITE_UNDER_A_UMASK, str(tmp_path)], env=env, capture_output=True, text=True, umask=umask, timeout=120)
    ours, plain, umask_after = ok(result).split()
    assert ours == plain == oct(0o666 & ~umask)
    assert umask_after == oct(umask)


# --- gc.freeze at exit -------------------------------------------------------------------------

EXIT_AFTER_A_COMMAND = """\
import atexit, sys, weakref
from newsletter.cli.main import main

class Node:
    pass

cycle = Node()
cycle.other = Node()
cycle.other.other = cycle  # alive until the end, so frozen with everything else
weakref.finalize(cycle, print, "the finalizer ran", flush=True)
atexit.register(print, "the atexit handler ran", flush=True)
unclosed = open(sys.argv[1], "w")
unclosed.write("written, never flushed nor closed")
sys.argv = ["newsletter", "--version"]
main()
"""


def test_after_freezing_everything_at_exit_handlers_finalizers_and_unclosed_files_still_finish(tmp_path: Path) -> None:
    unclosed = tmp_path / "unclosed.txt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", EXIT_AFTER_A_COMMAND, str(unclosed)], env=env, capture_output=True, text=True, timeout=120)
    assert ok(result).splitlines() == [f"newsletter, version {newsletter.__version__}", "the atexit handler ran", "the finalizer ran"]
    assert unclosed.read_text() == "written, never flushed nor closed"
