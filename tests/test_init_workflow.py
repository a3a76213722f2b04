"""An editor's first hour, from an empty folder: init, new, story add, check, build, subscribers, send.

Everything happens in a temporary workspace; nothing is written inside this repository."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from newsletter.render.pipeline import default_template_dir
from tests.helpers.cli import run

ROOT = Path(__file__).resolve().parent.parent

FLAGS = {
    "--name": "Harbour Notes",
    "--sender-name": "Ana at Harbour Notes",
    "--sender": "ana@harbournotes.example.org",
    "--postal-address": "Harbour Notes, 2 Quay Road, Portsmouth PO1 2AB",
    "--archive-url": "https://harbournotes.example.org/archive",
}

ARTICLE = (
    "Harbour city moves its busiest ferry route to battery power\n"
    "By Lena Okafor\n"
    "March 3, 2026 - The port city of Ostrava Bay will run its busiest commuter ferry route on battery power from next spring, "
    "the city's transit authority said on Monday. Two new vessels, each able to carry 300 passengers, will replace the diesel boats "
    "that have worked the crossing since the 1990s. Officials expect the change to cut the route's fuel bill by more than half.\n"
    "How the boats charge\n"
    "Each ferry tops up its batteries during the six-minute stop at either end of the crossing. "
    "Engineers tested the system for eight months on a smaller boat before the order was placed.\n"
    "Key facts\n"
    "- Two battery ferries, 300 passengers each\n"
    "- Service starts in April 2027\n"
    "- The order is worth 48 million euros\n"
)


def flags(**overrides: str | None) -> list[str]:
    args: list[str] = []
    for flag, value in FLAGS.items():
        value = overrides.get(flag.removeprefix("--").replace("-", "_"), value)
        if value is not None:
            args += [flag, value]
    return args


def repo_outputs() -> dict[str, int]:
    """What the repository's own workspace holds in the places commands write to (paths and mtimes).
    build/demo/ is left out: it belongs to `make demo`, which may run at the same time."""
    found: dict[str, int] = {}
    for folder in ["build", "outbox", "issues"]:
        base = ROOT / folder
        for path in base.rglob("*") if base.is_dir() else []:
            relative = path.relative_to(ROOT).as_posix()
            if not relative.startswith("build/demo/"):
                found[relative] = path.stat().st_mtime_ns
    for path in ROOT.glob("subscribers.db*"):
        found[path.name] = path.stat().st_mtime_ns
    return found


def tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def make_valid(scaffold: str) -> str:
    """The scaffold `new` wrote, with its TODOs filled and its placeholder story dropped, keeping the drafted one."""
    text = scaffold
    replacements = {
        'subject: "TODO: the subject line (keep it under about 60 characters)"': 'subject: "Battery ferries are coming to Ostrava Bay"',
        'preheader: "TODO: one sentence shown after the subject in the inbox (40 to 100 characters)"': (
            'preheader: "Two quiet boats, six-minute charges, and a smaller fuel bill for the city."'
        ),
        "  TODO: a few sentences to open the issue.": "  This week the harbour goes electric. One story, read slowly.",
        "  - title: TODO section title": "  - title: Transport",
    }
    for old, new in replacements.items():
        assert old in text, f"the scaffold changed: {old!r} is not in it"
        text = text.replace(old, new)
    # The placeholder story runs from its title to the draft that `story add` appended after it.
    text, count = re.subn(r"      - title: TODO story title\n.*?(?=      # DRAFT)", "", text, flags=re.DOTALL)
    assert count == 1, text
    # The draft's comment goes once the story is reviewed.
    text = re.sub(r"      # DRAFT .*\n(      # .*\n)*", "", text)
    assert not [line for line in text.splitlines() if "TODO" in line and not line.lstrip().startswith("#")], text
    return text


@pytest.mark.slow
def test_from_an_empty_folder_to_a_sent_issue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = repo_outputs()
    start = tmp_path / "start"
    start.mkdir()
    monkeypatch.chdir(start)
    monkeypatch.setenv("NEWSLETTER_SECRET", "a-test-secret-that-is-long-enough-for-signing-links")

    # init: settings, a first issue, a .gitignore; no templates unless asked for
    result = run("init", "harbour", *flags(), ok=True)
    ws = start / "harbour"
    settings = tomllib.loads((ws / "newsletter.toml").read_text(encoding="utf-8"))
    assert settings["newsletter"] == {
        "name": FLAGS["--name"],
        "postal_address": FLAGS["--postal-address"],
        "archive_url": FLAGS["--archive-url"],
        "language": "en",
    }
    assert settings["sender"] == {"name": FLAGS["--sender-name"], "address": FLAGS["--sender"]}
    first = sorted((ws / "issues").glob("*.yaml"))
    assert len(first) == 1
    assert "number: 1\n" in first[0].read_text(encoding="utf-8")
    ignored = (ws / ".gitignore").read_text(encoding="utf-8").splitlines()
    for pattern in ["build/", "outbox/", "site/", ".cache/", "subscribers.db*", ".env*"]:
        assert pattern in ignored
    assert not (ws / "templates").exists()
    assert "cd harbour" in result.output
    assert f"newsletter check issues/{first[0].name}" in result.output
    assert f"newsletter preview issues/{first[0].name}" in result.output

    # new, in the workspace: the next number
    monkeypatch.chdir(ws)
    run("new", "2026-12-03", ok=True)
    issue = ws / "issues" / "2026-12-03.yaml"
    assert "number: 2\n" in issue.read_text(encoding="utf-8")

    # story add from a local article
    article = tmp_path / "ferry.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    result = run("story", "add", "issues/2026-12-03.yaml", article, "--url", "https://news.example.org/ferry", "--site", "Harbour News", ok=True)
    assert "Harbour city moves its busiest ferry route to battery power" in issue.read_text(encoding="utf-8")

    # check names the TODOs `new` left
    result = run("check", "issues/2026-12-03.yaml")
    assert result.exit_code == 1
    todo_lines = [line for line in result.output.splitlines() if "TODO" in line]
    assert any("subject" in line for line in todo_lines), result.output
    assert any("summary" in line for line in todo_lines), result.output

    # filled in, it passes
    issue.write_text(make_valid(issue.read_text(encoding="utf-8")), encoding="utf-8")
    result = run("check", "issues/2026-12-03.yaml", ok=True)  # exit 0: nothing must be fixed
    assert "0 error(s)" in result.output

    # build, given the issue from outside the workspace: the issue's workspace is used
    monkeypatch.chdir(start)
    run("build", ws / "issues" / "2026-12-03.yaml", ok=True)
    assert (ws / "build" / "2026-12-03" / "email.html").is_file()
    assert (ws / "build" / "2026-12-03" / "email.eml").is_file()
    assert not (start / "build").exists()

    # subscribers use the current folder's workspace
    monkeypatch.chdir(ws)
    run("subscribers", "add", "reader@example.net", "--name", "Rea Der", ok=True)
    assert (ws / "subscribers.db").is_file()

    # send to the outbox (the default provider)
    result = run("send", "issues/2026-12-03.yaml", ok=True)
    delivered = list((ws / "outbox" / "new").iterdir())
    assert len(delivered) == 1
    message = delivered[0].read_bytes()
    assert b"reader@example.net" in message
    assert b"Battery ferries are coming to Ostrava Bay" in message
    assert "Nothing to send" in run("send", "issues/2026-12-03.yaml", ok=True).output
    assert len(list((ws / "outbox" / "new").iterdir())) == 1

    # nothing outside the temporary folder, and nothing in this repository
    assert sorted(p.name for p in start.iterdir()) == ["harbour"]
    assert repo_outputs() == before


def test_init_with_templates_copies_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run("init", "ws", "--templates", *flags(), ok=True)
    defaults = sorted(p.name for p in default_template_dir().iterdir() if p.is_file() and not p.name.startswith("."))
    assert defaults
    assert sorted(p.name for p in (tmp_path / "ws" / "templates").iterdir()) == defaults
    for name in defaults:
        assert (tmp_path / "ws" / "templates" / name).read_bytes() == (default_template_dir() / name).read_bytes()


def test_init_with_templates_copies_each_email_as_a_pair_that_check_accepts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A copied welcome.txt.j2 without its welcome.mjml.j2 looked like a welcome email nobody got."""
    monkeypatch.chdir(tmp_path)
    run("init", "ws", "--templates", *flags(), ok=True)
    copied = {p.name for p in (tmp_path / "ws" / "templates").iterdir()}
    for kind in ["email", "confirm", "welcome"]:
        assert {f"{kind}.mjml.j2", f"{kind}.txt.j2"} <= copied, copied
    issue = next((tmp_path / "ws" / "issues").glob("*.yaml"))
    assert "has no" not in run("check", issue).output


def test_init_refuses_an_existing_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run("init", "ws", *flags(), ok=True)
    before = {path: path.read_bytes() for path in (tmp_path / "ws").rglob("*") if path.is_file()}
    result = run("init", "ws", "--templates", *flags(name="Another Name"))
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert "nothing was changed" in result.output
    after = {path: path.read_bytes() for path in (tmp_path / "ws").rglob("*") if path.is_file()}
    assert after == before


def test_init_with_a_bad_sender_address_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("init", "ws", "--templates", *flags(sender="ana@@harbournotes"))
    assert result.exit_code == 1
    assert "--sender (sender.address)" in result.output
    assert "nothing was written" in result.output
    assert list(tmp_path.iterdir()) == []

    # an existing folder is left as it was, too
    existing = tmp_path / "mine"
    existing.mkdir()
    (existing / "notes.txt").write_text("keep me\n", encoding="utf-8")
    result = run("init", "mine", *flags(archive_url="not a url"))
    assert "--archive-url (newsletter.archive_url)" in result.output
    assert tree(existing) == ["notes.txt"]


def test_init_without_flags_off_a_terminal_lists_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("init", "ws", "--name", "Harbour Notes")
    assert result.exit_code == 2
    for flag in ["--sender-name", "--sender", "--postal-address", "--archive-url"]:
        assert flag in result.output
    assert "--name," not in result.output
    assert list(tmp_path.iterdir()) == []


def test_init_asks_for_missing_settings_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from newsletter.cli.commands import init as init_module

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(init_module, "_is_terminal", lambda: True)
    answers = "\n".join([FLAGS["--postal-address"], FLAGS["--archive-url"], FLAGS["--sender-name"], FLAGS["--sender"], ""]) + "\n"  # "": the default language
    run("init", "ws", "--name", FLAGS["--name"], input=answers, ok=True)
    settings = tomllib.loads((tmp_path / "ws" / "newsletter.toml").read_text(encoding="utf-8"))
    assert settings["sender"]["address"] == FLAGS["--sender"]
    assert settings["newsletter"]["postal_address"] == FLAGS["--postal-address"]
    assert settings["newsletter"]["language"] == "en"


def test_init_checks_each_answer_as_it_is_typed_and_asks_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A mistyped address used to be found only after every question was answered, and then
    nothing was written: all of it to be typed again."""
    from newsletter.cli.commands import init as init_module

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(init_module, "_is_terminal", lambda: True)
    answers = [
        FLAGS["--name"],
        "",  # an empty postal address...
        FLAGS["--postal-address"],
        "harbournotes.example.org/archive",  # ...a URL without https://...
        FLAGS["--archive-url"],
        FLAGS["--sender-name"],
        "ana@@harbournotes",  # ...an address with two @...
        FLAGS["--sender"],
        "klingon",  # ...and a language nobody knows: each asked again at once
        "de",
    ]
    result = run("init", "ws", input="\n".join(answers) + "\n", ok=True)
    reasons = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(reasons) == 3, result.output  # the empty answer is simply asked again by click
    assert reasons[0].startswith("Error: expected an http(s) URL") and reasons[0].endswith("; try again")
    assert reasons[1].startswith("Error: expected an email address, got 'ana@@harbournotes'")
    assert reasons[2].startswith("Error: expected a language code") and "'klingon'" in reasons[2]
    assert result.output.count("Sender address (the From address):") == 2
    assert result.output.index("ana@@harbournotes") < result.output.index("Language of the email")  # asked again before the next question
    settings = tomllib.loads((tmp_path / "ws" / "newsletter.toml").read_text(encoding="utf-8"))
    assert settings["newsletter"]["archive_url"] == FLAGS["--archive-url"]
    assert settings["sender"]["address"] == FLAGS["--sender"]
    assert settings["newsletter"]["language"] == "de"


def test_init_keeps_an_existing_gitignore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / ".gitignore").write_text("*.pyc\nbuild/\n", encoding="utf-8")
    run("init", "ws", *flags(), ok=True)
    lines = (tmp_path / "ws" / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert lines[:2] == ["*.pyc", "build/"]
    assert lines.count("build/") == 1
    for pattern in ["outbox/", "subscribers.db*", ".env*"]:
        assert pattern in lines


def test_settings_with_quotes_and_backslashes_survive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    name = 'The "Quay" Letter \\ Édition'
    run("init", "ws", *flags(name=name), ok=True)
    assert tomllib.loads((tmp_path / "ws" / "newsletter.toml").read_text(encoding="utf-8"))["newsletter"]["name"] == name


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import newsletter.files.writing
    from newsletter.errors import OutputError

    real = newsletter.files.writing.write_files

    def failing(folder: Path, files: dict[str, bytes]) -> list[Path]:
        if "newsletter.toml" in files:
            raise OutputError(f"cannot write to {folder}: No space left on device")
        return real(folder, files)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(newsletter.files.writing, "write_files", failing)
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / ".gitignore").write_text("*.pyc\n", encoding="utf-8")
    for folder in ["new-one", "kept"]:
        result = run("init", folder, "--templates", *flags())
        assert "No space left on device" in result.output
    assert tree(tmp_path) == ["kept", "kept/.gitignore"]
    assert (tmp_path / "kept" / ".gitignore").read_text(encoding="utf-8") == "*.pyc\n"


# --- the workspace package, without the command ------------------------------------------------

SETTINGS = {
    "newsletter.name": FLAGS["--name"],
    "newsletter.postal_address": FLAGS["--postal-address"],
    "newsletter.archive_url": FLAGS["--archive-url"],
    "sender.name": FLAGS["--sender-name"],
    "sender.address": FLAGS["--sender"],
    "newsletter.language": "en",
}


def test_create_workspace_writes_settings_issue_gitignore_and_templates(tmp_path: Path) -> None:
    from newsletter.workspace.config import load_workspace
    from newsletter.workspace.create import checked_settings, create_workspace, settings_text

    text = settings_text(SETTINGS)
    assert checked_settings(text).sender.address == FLAGS["--sender"]
    root = tmp_path / "ws"
    made = create_workspace(root, text, root / "issues" / "2026-03-03.yaml", "number: 1\n", templates_from=default_template_dir())
    assert made.first_issue.read_text(encoding="utf-8") == "number: 1\n"
    assert "subscribers.db*" in made.gitignore.read_text(encoding="utf-8").splitlines()
    assert sorted(made.templates) == sorted(path.name for path in (root / "templates").iterdir())
    assert load_workspace(root).config.newsletter.name == FLAGS["--name"]


def test_create_workspace_refuses_to_replace_templates_and_writes_nothing(tmp_path: Path) -> None:
    from newsletter.workspace.create import TemplatesInTheWay, create_workspace, settings_text

    mine = tmp_path / "templates" / "email.mjml.j2"
    mine.parent.mkdir()
    mine.write_text("my own", encoding="utf-8")
    with pytest.raises(TemplatesInTheWay) as refused:
        create_workspace(tmp_path, settings_text(SETTINGS), tmp_path / "issues" / "x.yaml", "number: 1\n", templates_from=default_template_dir())
    assert refused.value.names == ["email.mjml.j2"]
    assert tree(tmp_path) == ["templates", "templates/email.mjml.j2"]
    assert mine.read_text(encoding="utf-8") == "my own"


def test_each_answer_and_the_whole_settings_are_checked_by_their_setting_names() -> None:
    from newsletter.workspace.create import InvalidSettings, answer_problem, checked_settings, merged_gitignore, settings_text

    assert answer_problem("sender.address", FLAGS["--sender"]) is None
    assert answer_problem("newsletter.postal_address", "") == "must not be empty"
    with pytest.raises(InvalidSettings) as invalid:
        checked_settings(settings_text({**SETTINGS, "sender.address": "ana@@harbournotes"}))
    assert [where for where, _ in invalid.value.found] == ["sender.address"]
    assert merged_gitignore(b"*.pyc") == b"*.pyc\n# Added by newsletter init\nbuild/\noutbox/\nsite/\n.cache/\nsubscribers.db*\n.env*\n"
