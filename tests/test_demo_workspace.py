"""scripts/demo_workspace.py, which `make demo` runs: the demo's copy of newsletter.toml sends only to
the local outbox and keeps its own subscribers file, whatever the original says. Run as make runs it,
on copies in a temporary folder."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "demo_workspace.py"
FORCED = {"send": {"provider": "outbox", "outbox": "outbox"}, "subscribers": {"database": "subscribers.db"}}

SETTINGS = """\
[newsletter]
name = "Tide Tables"
template_dir = "my-templates"

[send]
provider = "sendgrid"   # the real list
outbox = "/var/mail/tide"
batch_size = 500

[subscribers]
database = "postgresql://news@db.example.org/tide"
"""


def make_copy(tmp_path: Path, settings: str) -> subprocess.CompletedProcess[str]:
    source = tmp_path / "repo" / "newsletter.toml"
    source.parent.mkdir(exist_ok=True)
    source.write_text(settings, encoding="utf-8")
    (tmp_path / "demo").mkdir(exist_ok=True)
    command = [sys.executable, str(SCRIPT), "newsletter.toml", str(tmp_path / "demo" / "newsletter.toml")]
    return subprocess.run(command, cwd=source.parent, capture_output=True, text=True, timeout=60)


def read_copy(tmp_path: Path) -> dict:
    return tomllib.loads((tmp_path / "demo" / "newsletter.toml").read_text(encoding="utf-8"))


def test_the_forced_settings_win_and_the_rest_is_kept(tmp_path: Path) -> None:
    assert make_copy(tmp_path, SETTINGS).returncode == 0
    copy = read_copy(tmp_path)
    assert copy["send"] == {**FORCED["send"], "batch_size": 500}
    assert copy["subscribers"] == FORCED["subscribers"]
    assert copy["newsletter"] == {"name": "Tide Tables", "template_dir": "my-templates"}


def test_a_table_the_original_lacks_is_added(tmp_path: Path) -> None:
    assert make_copy(tmp_path, '[newsletter]\nname = "Tide Tables"\n').returncode == 0
    assert read_copy(tmp_path) == {"newsletter": {"name": "Tide Tables"}, **FORCED}


def test_the_templates_the_settings_name_are_copied_beside_the_copy(tmp_path: Path) -> None:
    (tmp_path / "repo" / "my-templates").mkdir(parents=True)
    (tmp_path / "repo" / "my-templates" / "email.txt.j2").write_text("{{ issue.subject }}\n", encoding="utf-8")
    assert make_copy(tmp_path, SETTINGS).returncode == 0
    assert (tmp_path / "demo" / "my-templates" / "email.txt.j2").read_text(encoding="utf-8") == "{{ issue.subject }}\n"


def test_the_repositorys_own_settings_make_a_demo_copy(tmp_path: Path) -> None:
    done = make_copy(tmp_path, (ROOT / "newsletter.toml").read_text(encoding="utf-8-sig"))
    assert done.returncode == 0, done.stderr
    copy, original = read_copy(tmp_path), tomllib.loads((ROOT / "newsletter.toml").read_text(encoding="utf-8-sig"))
    assert {table: copy[table] for table in original if table not in FORCED} == {table: value for table, value in original.items() if table not in FORCED}
    assert {table: {key: copy[table][key] for key in FORCED[table]} for table in FORCED} == FORCED


def test_a_header_it_cannot_see_stops_the_demo_with_a_message_and_writes_nothing(tmp_path: Path) -> None:
    """A "[send]" line inside a multi-line string looks like a header to the copier: the forced keys
    would land in the string and the copy would have no [send] table: it is refused."""
    settings = '[newsletter]\nfooter = """\n[send]\n"""\n'
    done = make_copy(tmp_path, settings)
    assert done.returncode == 1
    assert done.stderr == 'make demo: cannot force [send] provider = "outbox" in a copy of newsletter.toml; the demo did not run\n'
    assert list((tmp_path / "demo").iterdir()) == []


def test_settings_that_do_not_read_as_toml_stop_the_demo_with_a_message(tmp_path: Path) -> None:
    done = make_copy(tmp_path, '[newsletter]\nname = "Tide Tables\n')
    assert done.returncode == 1
    assert done.stderr.startswith("make demo: the copy of newsletter.toml with the forced settings does not read as TOML (")
    assert "Traceback" not in done.stderr
    assert list((tmp_path / "demo").iterdir()) == []
