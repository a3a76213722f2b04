"""The preview outlives any edit: random saves, good and bad, to the issue, a template and newsletter.toml.

After each save the open page must show what the files now say: an error (with the last good email
still on screen) while any of them is wrong, the new email (and no error) once all are right again.
"""

from __future__ import annotations

import random
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from newsletter.preview import session as session_module
from newsletter.preview.app import start_preview
from newsletter.preview.session import PreviewSession
from newsletter.preview.watch import watch_in_background

SEED = 20261219  # with this seed the 50 saves try every way of breaking each file (asserted below)
EDITS = 50
TIMEOUT_S = 5.0
ORIGINAL_SUBJECT = "Robots learn to fold laundry, and a quieter data centre"
SUBJECT_LINE = f'subject: "{ORIGINAL_SUBJECT}"'
SENDER_LINE = 'name = "Fixture Editor"'
FRAME_TITLES = "['frame-desktop', 'frame-phone'].map(id => document.getElementById(id).contentDocument.title)"
WORDS = ["robots", "cooling", "café & crème", "maps", "towels", "quiet racks", "naïve sensors", "<b>not bold</b>", "50% faster"]


@dataclass
class Files:
    """What the three watched files hold now, and what the page must therefore show."""

    workspace: Path
    issue: Path
    subject: str = ORIGINAL_SUBJECT
    sender: str = "Fixture Editor"
    text_start: str = "FIXTURE WEEKLY"  # the default plain-text template's first line
    base_issue: str = ""  # the good issue and settings the edits start from
    base_config: str = ""
    broken: dict[str, tuple[str, ...]] = field(default_factory=dict)  # file -> fragments one of which its error shows
    decks: dict[str, list[str]] = field(default_factory=dict)  # per file, the ways of breaking it not used lately
    used: set[str] = field(default_factory=set)

    def draw(self, rng: random.Random, file: str, kinds: list[str]) -> str:
        """A way of breaking `file`: each kind once, in a random order, before any repeats."""
        deck = self.decks.setdefault(file, [])
        if not deck:
            deck.extend(rng.sample(sorted(kinds), len(kinds)))
        kind = deck.pop()
        self.used.add(f"{file}: {kind}")
        return kind

    @property
    def template(self) -> Path:
        return self.workspace / "templates" / "email.txt.j2"

    @property
    def config(self) -> Path:
        return self.workspace / "newsletter.toml"

    def good_issue(self, subject: str) -> str:
        return self.base_issue.replace(SUBJECT_LINE, f'subject: "{subject}"')

    def good_config(self, sender: str) -> str:
        return self.base_config.replace(SENDER_LINE, f'name = "{sender}"')


def replace_with(path: Path, content: str | bytes | None) -> None:
    """Save `content` at `path` as an editor would (None deletes it), whatever is there now."""
    if path.is_dir():
        path.rmdir()
    if content is None:
        path.unlink(missing_ok=True)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


# Each edit saves one file and says which files are then broken (and how the error reads) or what a good render shows.


def break_issue(files: Files, rng: random.Random, step: int) -> str:
    good = files.good_issue(files.subject)
    kinds: dict[str, tuple[Callable[[], None], tuple[str, ...]]] = {
        "unclosed quote": (lambda: replace_with(files.issue, good.replace(f'subject: "{files.subject}"', f'subject: "{files.subject}')), ("YAML syntax error",)),
        "bad indentation": (lambda: replace_with(files.issue, good.replace("number: 7\n", "number: 7\n   date: 2026-12-01\n")), ("YAML syntax error",)),
        "impossible date": (lambda: replace_with(files.issue, good.replace("date: 2026-12-01", "date: 2026-02-30")), ("not a date in the calendar",)),
        "unknown key": (lambda: replace_with(files.issue, good + "subtitle: a key no issue has\n"), ("unknown key",)),
        "not UTF-8": (lambda: replace_with(files.issue, good.encode().replace(b"Robot Report", b"Robot \xff Report")), ("not UTF-8",)),
        "half written (empty)": (lambda: replace_with(files.issue, ""), ("expected the issue's fields",)),
        "deleted": (lambda: replace_with(files.issue, None), ("no such issue file",)),
        # No message is written for this one: the preview shows the exception itself ("unexpected error: ...").
        "a folder in its place": (lambda: (replace_with(files.issue, None), files.issue.mkdir()), ("IsADirectoryError", files.issue.name)),
    }
    kind = files.draw(rng, "issue", list(kinds))
    save, fragments = kinds[kind]
    save()
    files.broken["issue"] = fragments
    return f"issue: {kind}"


def edit_subject(files: Files, rng: random.Random, step: int) -> str:
    files.subject = f"Edit {step}: {rng.choice(WORDS)}, {rng.choice(WORDS)}"
    replace_with(files.issue, files.good_issue(files.subject))
    files.broken.pop("issue", None)
    return f"issue: subject {files.subject!r}"


def break_template(files: Files, rng: random.Random, step: int) -> str:
    source = files.draw(rng, "template", ["{{ issue.number }\n", "{% if issue.number %}never closed\n", "{% for story in %}{% endfor %}\n"])
    replace_with(files.template, source)
    files.broken["template"] = ("email.txt.j2:1: template syntax error",)
    return f"template: syntax error {source.strip()!r}"


def edit_template(files: Files, rng: random.Random, step: int) -> str:
    files.text_start = f"Custom text {step} for issue 7"
    replace_with(files.template, f"Custom text {step} for issue {{{{ issue.number }}}}\n{{{{ issue.subject }}}}\n")
    files.broken.pop("template", None)
    return "template: valid override"


def delete_template(files: Files, rng: random.Random, step: int) -> str:
    files.text_start = "FIXTURE WEEKLY"
    replace_with(files.template, None)
    files.broken.pop("template", None)
    return "template: deleted (defaults again)"


def break_config(files: Files, rng: random.Random, step: int) -> str:
    good = files.good_config(files.sender)
    kinds = {
        "broken TOML": (good + "[sender\n", ("not valid TOML",)),
        "unknown key": (good.replace("[sender]\n", '[sender]\nnickname = "Fix"\n'), ("is not a known setting",)),
        "deleted": (None, ("no newsletter.toml found",)),
    }
    kind = files.draw(rng, "config", list(kinds))
    content, fragments = kinds[kind]
    replace_with(files.config, content)
    files.broken["config"] = fragments
    return f"newsletter.toml: {kind}"


def edit_config(files: Files, rng: random.Random, step: int) -> str:
    files.sender = f"Editor {step}"
    replace_with(files.config, files.good_config(files.sender))
    files.broken.pop("config", None)
    return f"newsletter.toml: sender {files.sender!r}"


def choose_edit(files: Files, rng: random.Random) -> Callable[[Files, random.Random, int], str]:
    """About half the saves break something; a broken file is usually fixed soon after, as when editing."""
    fixes = {"issue": edit_subject, "template": rng.choice([edit_template, delete_template]), "config": edit_config}
    if files.broken and rng.random() < 0.5:
        return fixes[rng.choice(sorted(files.broken))]
    edits: list[Callable[[Files, random.Random, int], str]] = [break_issue, break_issue, edit_subject, edit_subject, break_template, edit_template, break_config, edit_config]
    if files.template.exists():
        edits.append(delete_template)
    return rng.choice(edits)


def wait_until(condition: Callable[[], bool], describe: Callable[[], str], timeout: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(describe())
        time.sleep(0.01)


def frame_titles(page) -> list[str]:
    """The <title> of the email in each frame (it is the subject)."""
    return page.evaluate(FRAME_TITLES)


def test_fifty_random_edits_good_and_bad_keep_the_page_right(page, preview, workspace: Path, issue_path: Path) -> None:
    rng = random.Random(SEED)
    files = Files(workspace, issue_path, base_issue=issue_path.read_text(encoding="utf-8"), base_config=(workspace / "newsletter.toml").read_text(encoding="utf-8"))
    shown = Shown(ORIGINAL_SUBJECT, preview.session.snapshot.email_version)
    counts = {"good": 0, "error": 0}
    log: list[str] = []

    for step in range(1, EDITS + 1):
        before = preview.session.snapshot.version
        if step == EDITS:  # the last save mends every file: the page ends on a good render
            described = "; ".join(fix(files, rng, step) for fix in (edit_config, delete_template, edit_subject))
        else:
            described = choose_edit(files, rng)(files, rng, step)
        log.append(f"{step}: {described}")
        if files.broken:
            expect_error(page, preview.session, before, files, shown, log)
            counts["error"] += 1
        else:
            expect_render(page, preview.session, files, shown, log)
            counts["good"] += 1

    assert page.text_content("#subject") == files.subject and files.subject.startswith(f"Edit {EDITS}: ")
    assert counts["good"] >= 15 and counts["error"] >= 15, counts  # the seed mixes both, plenty of each
    assert len(files.used) == 8 + 3 + 3, sorted(files.used)  # and tries every way of breaking each file
    assert preview.watcher is not None and preview.watcher.is_alive()
    assert page.evaluate("document.body.dataset.connection") == "live"
    assert page.text_content("#status") == "live"


@dataclass
class Shown:
    """The last good email: what the page keeps showing while a file is broken."""

    subject: str
    email_version: int


def history(session: PreviewSession, log: list[str]) -> str:
    return "\n".join(log) + f"\nsession: version {session.snapshot.version}, error {session.snapshot.error!r}"


def expect_error(page, session: PreviewSession, before: int, files: Files, shown: Shown, log: list[str]) -> None:
    """The page shows an error from one of the broken files, and still the last good email."""
    fragments = [fragment for each in files.broken.values() for fragment in each]

    def shows_error() -> bool:
        snap = session.snapshot
        return snap.version > before and snap.error is not None and any(fragment in snap.error for fragment in fragments)

    wait_until(shows_error, lambda: f"no error among {fragments} after:\n{history(session, log)}")
    page.wait_for_function("v => Number(document.body.dataset.version) >= v", arg=session.snapshot.version, timeout=TIMEOUT_S * 1000)
    assert page.is_visible("#problem"), history(session, log)
    problem = page.text_content("#problem-text") or ""
    assert any(fragment in problem for fragment in fragments), f"{problem!r} names none of {fragments}\n{history(session, log)}"
    assert page.evaluate("document.body.dataset.emailVersion") == str(shown.email_version), history(session, log)
    assert page.text_content("#subject") == shown.subject, history(session, log)
    assert page.is_visible("#frame-desktop") and page.is_visible("#frame-phone")
    assert frame_titles(page) == [shown.subject] * 2, history(session, log)


def expect_render(page, session: PreviewSession, files: Files, shown: Shown, log: list[str]) -> None:
    """The page shows the new email, everywhere, and no error."""

    def shows_render() -> bool:
        snap = session.snapshot
        return (
            snap.error is None
            and snap.email is not None
            and snap.email.subject == files.subject
            and snap.sender.startswith(files.sender + " <")
            and snap.email.text.startswith(files.text_start)
        )

    wait_until(shows_render, lambda: f"no render of {files.subject!r} after:\n{history(session, log)}")
    snap = session.snapshot
    page.wait_for_function(
        "([v, e]) => Number(document.body.dataset.version) >= v && Number(document.body.dataset.emailVersion) >= e",
        arg=[snap.version, snap.email_version],
        timeout=TIMEOUT_S * 1000,
    )
    page.wait_for_function(f"subject => {FRAME_TITLES}.every(title => title === subject)", arg=files.subject, timeout=TIMEOUT_S * 1000)
    assert page.is_hidden("#problem"), history(session, log)
    assert page.text_content("#subject") == files.subject, history(session, log)
    assert page.text_content("#sender") == f"{files.sender} <editor@fixture.example.org>", history(session, log)
    assert (page.text_content("#text") or "").startswith(files.text_start), history(session, log)
    assert frame_titles(page) == [files.subject] * 2, history(session, log)
    shown.subject = files.subject
    shown.email_version = int(page.evaluate("document.body.dataset.emailVersion"))


def test_the_live_dot_goes_out_when_the_stream_drops_and_comes_back_on_reconnect(page, preview, issue_path: Path) -> None:
    assert page.evaluate("document.body.dataset.connection") == "live"
    port = urlsplit(preview.url).port
    preview.stop()  # like Ctrl-C in the terminal
    page.wait_for_function("document.body.dataset.connection === 'reconnecting'", timeout=TIMEOUT_S * 1000)
    assert "live" not in (page.get_attribute("#status", "class") or "").split()
    assert "reconnecting" in (page.text_content("#status") or "")

    issue_path.write_text(issue_path.read_text().replace(ORIGINAL_SUBJECT, "Back after a restart"))
    restarted = start_preview(issue_path, port=port)  # `newsletter preview` run again
    try:
        page.wait_for_function("document.body.dataset.connection === 'live'", timeout=2 * TIMEOUT_S * 1000)
        page.wait_for_function("document.getElementById('subject').textContent === 'Back after a restart'", timeout=TIMEOUT_S * 1000)
        page.wait_for_function("document.getElementById('frame-desktop').contentDocument.title === 'Back after a restart'", timeout=TIMEOUT_S * 1000)
        # The browser may drop and reopen the new stream once more; what matters is that it ends live.
        page.wait_for_function("document.getElementById('status').textContent === 'live'", timeout=TIMEOUT_S * 1000)
    finally:
        restarted.stop()


def test_the_page_says_so_when_files_are_no_longer_watched(page, preview) -> None:
    preview.stop_watching.set()
    preview.watcher.join(timeout=TIMEOUT_S)
    preview.session.refresh()  # any change of state makes the page ask again
    page.wait_for_function("document.body.dataset.connection === 'stale'", timeout=TIMEOUT_S * 1000)
    assert "not watching" in (page.text_content("#status") or "")


# Without a browser: the session and the watcher themselves.


@pytest.mark.parametrize(
    "error",
    [
        OSError(5, "Input/output error"),
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
        RuntimeError("a bug\nover two lines"),
        RecursionError("maximum recursion depth exceeded"),
    ],
    ids=["OSError", "UnicodeDecodeError", "bug", "RecursionError"],
)
def test_refresh_survives_any_exception_keeping_the_last_good_email(issue_path: Path, monkeypatch, error: Exception) -> None:
    session = PreviewSession(issue_path)
    good = session.refresh()
    assert good.error is None and good.email is not None

    def fail(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(session_module, "prepare_issue", fail)
    failed = session.refresh()
    assert failed.error is not None and failed.error.startswith(f"unexpected error: {type(error).__name__}: ")
    assert "\n" not in failed.error
    assert failed.email is good.email and failed.email_version == good.email_version and failed.version == good.version + 1

    monkeypatch.undo()
    recovered = session.refresh()
    assert recovered.error is None and recovered.email_version == good.email_version + 1


def test_a_deleted_or_broken_newsletter_toml_is_shown_and_recovers(workspace: Path, issue_path: Path) -> None:
    session = PreviewSession(issue_path)
    config = workspace / "newsletter.toml"
    good = config.read_text()
    assert session.refresh().error is None
    config.unlink()
    assert "no newsletter.toml found" in (session.refresh().error or "")
    config.write_text(good + "[sender\n")
    assert "not valid TOML" in (session.refresh().error or "")
    config.write_text(good.replace("Fixture Editor", "Mended Editor"))
    mended = session.refresh()
    assert mended.error is None and mended.sender.startswith("Mended Editor <")


@pytest.mark.slow
def test_the_watcher_outlives_a_failing_callback_and_says_so_once(tmp_path: Path, capfd) -> None:
    calls: list[set[Path]] = []
    stop = threading.Event()

    def on_change(paths: set[Path]) -> None:
        calls.append(paths)
        if len(calls) <= 2:
            raise ValueError("boom\nsecond line")

    watcher = watch_in_background([tmp_path], lambda path: path.suffix == ".yaml", on_change, stop)
    try:
        time.sleep(0.3)  # let watchfiles start watching before the first save
        for number in range(1, 4):
            (tmp_path / "issue.yaml").write_text(f"number: {number}\n")
            wait_until(lambda: len(calls) >= number, lambda: f"{len(calls)} calls, expected {number}")  # noqa: B023
            assert watcher.is_alive()
    finally:
        stop.set()
        watcher.join(timeout=TIMEOUT_S)
    assert not watcher.is_alive()
    lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("preview:")]
    assert lines == ["preview: could not re-render after a change: ValueError: boom second line"]


@pytest.mark.slow
def test_the_watcher_keeps_going_when_a_watched_folder_goes_away(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    calls: list[set[Path]] = []
    stop = threading.Event()
    watcher = watch_in_background([folder, tmp_path], lambda path: path.suffix == ".j2", calls.append, stop)
    try:
        time.sleep(0.3)
        shutil.rmtree(folder)
        time.sleep(0.3)
        assert watcher.is_alive()
        (tmp_path / "email.txt.j2").write_text("{{ issue.number }}\n")
        wait_until(lambda: any(path.name == "email.txt.j2" for batch in calls for path in batch), lambda: f"calls: {calls}", timeout=TIMEOUT_S)
        assert watcher.is_alive()
    finally:
        stop.set()
        watcher.join(timeout=TIMEOUT_S)
    assert not watcher.is_alive()


@pytest.mark.slow
def test_the_watcher_passes_over_a_symlink_loop_quietly(tmp_path: Path, capfd) -> None:
    # PreviewSession.is_relevant resolves each changed path; a symlink loop raises RuntimeError
    # there (Python 3.11), which must count as "not ours", not as the watcher failing.
    calls: list[set[Path]] = []
    stop = threading.Event()
    watcher = watch_in_background([tmp_path], lambda path: path.resolve().suffix == ".yaml", calls.append, stop)
    try:
        time.sleep(0.3)
        loop = tmp_path / "loop.yaml"
        loop.symlink_to(loop)
        (tmp_path / "issue.yaml").write_text("number: 8\n")
        wait_until(lambda: any(path.name == "issue.yaml" for batch in calls for path in batch), lambda: f"calls: {calls}")
        assert watcher.is_alive()
    finally:
        stop.set()
        watcher.join(timeout=TIMEOUT_S)
    assert not any(path.name == "loop.yaml" for batch in calls for path in batch)
    assert [line for line in capfd.readouterr().err.splitlines() if line.startswith("preview:")] == []


@pytest.mark.slow
def test_the_watcher_restarts_after_watching_itself_fails(tmp_path: Path, monkeypatch, capfd) -> None:
    import watchfiles

    from newsletter.preview import watch as watch_module

    real_watch = watchfiles.watch
    attempts: list[int] = []

    def flaky_watch(*args, **kwargs):
        attempts.append(1)
        if len(attempts) <= 2:
            raise OSError(28, "inotify watch limit reached")
        return real_watch(*args, **kwargs)

    monkeypatch.setattr(watchfiles, "watch", flaky_watch)
    monkeypatch.setattr(watch_module, "RESTART_SECONDS", 0.05)
    calls: list[set[Path]] = []
    stop = threading.Event()
    watcher = watch_in_background([tmp_path], lambda path: path.suffix == ".yaml", calls.append, stop)
    try:
        wait_until(lambda: len(attempts) >= 3, lambda: f"{len(attempts)} attempts")
        time.sleep(0.3)
        (tmp_path / "issue.yaml").write_text("number: 7\n")
        wait_until(lambda: bool(calls), lambda: "the change after the restart was not seen")
    finally:
        stop.set()
        watcher.join(timeout=TIMEOUT_S)
    assert not watcher.is_alive()
    lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("preview:")]
    assert lines == ["preview: watching files failed (OSError: [Errno 28] inotify watch limit reached); retrying every 0.05 s"]
