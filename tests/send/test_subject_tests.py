"""Subject tests: `send ISSUE --test-subjects 20% --decide-after 4h` sends each of the issue's
`subjects:` to an equal part of the test group, holds the rest, and `send --due` after the window
sends them the winner (the first subject when the test cannot tell them apart). Real outbox sends,
on SQLite and PostgreSQL; killed and re-run in each phase, nobody gets two copies."""

from __future__ import annotations

import datetime as dt
import email.policy
import mailbox
import os
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import pytest
import time_machine

from newsletter.db import Database, Event
from newsletter.db.clicks import Click
from newsletter.db.subject_tests import SubjectTests, VariantFigures
from newsletter.issue.prepare import prepare_issue
from newsletter.models import BatchResult, Email, Letter, Outcome, RecipientStatus, State, Status, Subscriber
from newsletter.providers.base import Ambiguous, Batch, Edition
from newsletter.sending.subjects import VariantSender, decide, p_value, placement, variant_at, variant_email
from tests.helpers.both_databases import BOTH, database, database_env
from tests.helpers.cli import run
from tests.helpers.exactly_once import kill_and_resume, ledger_states, reconcile
from tests.helpers.workspace import SECRET, add_config, add_subscribers

A = "Robots learn to fold laundry, and a quieter data centre"
B = "A robot folds your towels in nine seconds"
C = "Quiet data centres, tidy robots"
MONDAY = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)
AFTER_THE_WINDOW = MONDAY + dt.timedelta(hours=4, minutes=1)


def with_subjects(issue_path: Path, *subjects: str, keep_subject: bool = False) -> None:
    """The issue file with `subjects:` in place of (or beside) its `subject:` line."""
    text = issue_path.read_text(encoding="utf-8")
    listed = "subjects:\n" + "".join(f'  - "{subject}"\n' for subject in subjects)
    line = f'subject: "{A}"\n'
    issue_path.write_text(text.replace(line, (line if keep_subject else "") + listed), encoding="utf-8")


def outbox(workspace: Path) -> list[email.message.EmailMessage]:
    folder = workspace / "outbox"
    if not folder.exists():
        return []
    return list(mailbox.Maildir(folder, factory=lambda f: email.message_from_binary_file(f, policy=email.policy.default), create=False))


def subjects_by_reader(workspace: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for message in outbox(workspace):
        found.setdefault(message["To"].addresses[0].addr_spec, []).append(str(message["Subject"]))
    return found


@pytest.fixture(params=BOTH)
def env(request, in_workspace: Path) -> Mapping[str, str]:
    """The workspace's SQLite file, or a fresh PostgreSQL database (DATABASE_URL)."""
    return database_env(request)


def add_readers(db: Database, count: int) -> list[str]:
    emails = [f"reader{n:05d}@example.com" for n in range(count)]
    db.subscribers.upsert(Subscriber(address, f"Reader {n}") for n, address in enumerate(emails))
    return emails


def variants(db: Database, issue: str = "7") -> dict[str, int | None]:
    return dict(db.connection.db.execute("SELECT email, variant FROM deliveries WHERE issue = ?", (issue,)).fetchall())


def clicks_for(db: Database, readers: list[str], variant: int, each: int = 1) -> None:
    """`each` clicks by people (and one by a scanner, which never counts) from each of `readers`."""
    stamp = (MONDAY + dt.timedelta(hours=1)).isoformat()
    people = [Click("7", "1", "https://example.org/robots/towels", stamp, None, variant) for _ in readers for _ in range(each)]
    machines = [Click("7", "1", "https://example.org/robots/towels", stamp, None, variant, "agent") for _ in readers]
    db.clicks.record(people + machines)


# --- the issue's `subjects:` ---------------------------------------------------------------------


@pytest.mark.slow
def test_subjects_may_replace_subject_and_check_reports_each_mistake_by_line(in_workspace: Path, issue_path: Path) -> None:
    original = issue_path.read_text(encoding="utf-8")
    with_subjects(issue_path, A, B)  # `subject:` left out: it is the first
    assert run("check", str(issue_path)).exit_code == 0

    issue_path.write_text(original, encoding="utf-8")
    with_subjects(issue_path, B, A, keep_subject=True)
    shown = run("check", str(issue_path)).output
    assert "issues/2026-12-01.yaml:6: subjects[0]: must be the issue's subject" in shown and "or leave out `subject:`" in shown

    issue_path.write_text(original, encoding="utf-8")
    with_subjects(issue_path, A, B, B)
    assert "issues/2026-12-01.yaml:7: subjects[2]: is the same as subjects[1]" in run("check", str(issue_path)).output

    issue_path.write_text(original, encoding="utf-8")
    with_subjects(issue_path, A, B, C, "Four", "Five")
    shown = run("check", str(issue_path)).output
    assert "issues/2026-12-01.yaml:4: subjects: has 5 items; at most 4" in shown

    issue_path.write_text(original, encoding="utf-8")
    with_subjects(issue_path, A, "Two\\nlines")
    assert "subjects[1]: must fit on one line" in run("check", str(issue_path)).output


# --- the split -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_split_is_keyed_repeatable_and_even() -> None:
    secret = SECRET.encode()
    ids = [f"public-id-{n:06d}" for n in range(20_000)]

    def split(key: bytes, issue: str) -> list[int | None]:
        return [variant_at(placement(key, issue, public_id), 20, 4) for public_id in ids]

    first = split(secret, "7")
    assert split(secret, "7") == first  # a re-run places everyone where they were
    counts = Counter(first)
    assert abs(sum(counts[n] for n in range(4)) - 4000) < 4 * 63  # 20% of them, within 4 standard deviations
    for n in range(4):
        assert abs(counts[n] - 1000) < 4 * 31  # 5% each
    assert split(secret, "8") != first  # another issue, another draw
    assert split(b"another-secret-of-enough-length-to-use", "7") != first  # nobody without the key can predict it


# --- the decision --------------------------------------------------------------------------------


def test_the_z_test_and_the_rule_for_a_winner() -> None:
    assert p_value(VariantFigures(100, 30), VariantFigures(100, 50)) == pytest.approx(0.00389, abs=1e-4)
    assert p_value(VariantFigures(100, 0), VariantFigures(100, 0)) == 1.0  # nothing measured: nothing told apart
    clear = decide((VariantFigures(1000, 20), VariantFigures(1000, 60)), "clicks", "t")
    assert (clear.winner, clear.clear) == (1, True)
    close = decide((VariantFigures(1000, 50), VariantFigures(1000, 58)), "clicks", "t")
    assert (close.winner, close.clear) == (0, False)  # B ahead, but within chance: the first subject is kept
    first = decide((VariantFigures(1000, 90), VariantFigures(1000, 40), VariantFigures(1000, 45)), "clicks", "t")
    assert (first.winner, first.clear) == (0, True)
    third = decide((VariantFigures(1000, 10), VariantFigures(1000, 40), VariantFigures(1000, 41)), "clicks", "t")
    assert (third.winner, third.clear) == (2, True)  # the best, told apart from the first
    tie = decide((VariantFigures(500, 25), VariantFigures(500, 25)), "clicks", "t")
    assert (tie.winner, tie.clear) == (0, False)


# --- one rendering, one subject each --------------------------------------------------------------


@pytest.mark.slow
def test_each_variant_is_the_same_rendering_under_its_own_subject(issue_path: Path) -> None:
    email = prepare_issue(issue_path).email
    other = variant_email(email, A, B)
    assert other.subject == B and other.text is email.text and other.web_html is email.web_html  # rendered once
    assert f"<title>{B}</title>" in other.html and A not in other.html
    assert other.html.replace(B, A) == email.html  # the subject is the only difference
    assert variant_email(email, A, A) is email


class Recording:
    """A provider that takes every part of a batch but one: the letters of that part may have left."""

    name, max_batch = "recording", 10

    def __init__(self, failing_subject: str) -> None:
        self.failing_subject = failing_subject
        self.parts: list[tuple[str, list[str]]] = []

    def send(self, batch: Batch, report) -> None:
        self.parts.append((batch.edition.subject, [letter.email for letter in batch.letters]))
        if batch.edition.subject == self.failing_subject:
            raise Ambiguous("no answer", self.name)
        for letter in batch.letters:
            report(letter.email, RecipientStatus(Outcome.ACCEPTED))

    def check(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_batch_goes_out_in_one_part_per_subject_and_a_failed_part_leaves_the_later_ones_unsent(issue_path: Path) -> None:
    email = Email(subject=A, preheader="p", html="<p>x</p>", text="x", web_html="<p>x</p>")
    editions = [Edition("7", variant_email(email, A, subject)) for subject in (A, B, C)]
    provider = Recording(failing_subject=B)
    sender = VariantSender(provider, editions)
    letters = [Letter(f"r{n}@example.com", None, "https://u") for n in range(6)]
    sender.note({"r0@example.com": 2, "r1@example.com": 0, "r2@example.com": 1, "r3@example.com": 0, "r4@example.com": 2, "r5@example.com": 1})
    result = BatchResult()
    with pytest.raises(Ambiguous):
        sender.send(Batch(editions[0], "send-1", letters), result.report)
    assert provider.parts == [(A, ["r1@example.com", "r3@example.com"]), (B, ["r2@example.com", "r5@example.com"])]
    assert {email for email, status in result.statuses.items() if status.outcome == Outcome.ACCEPTED} == {"r1@example.com", "r3@example.com"}
    assert {email for email, status in result.statuses.items() if status.outcome == Outcome.DEFERRED} == {"r0@example.com", "r4@example.com"}  # C never left
    assert "r2@example.com" not in result.statuses  # B's part may have left: the loop makes it unknown


# --- the whole test, on both databases -----------------------------------------------------------


@pytest.mark.slow
def test_variants_go_to_the_test_group_then_the_winner_to_the_rest_once_each(in_workspace: Path, issue_path: Path, env: Mapping[str, str]) -> None:
    with_subjects(issue_path, A, B)
    with database(in_workspace, env) as db:
        everyone = add_readers(db, 200)
    with time_machine.travel(MONDAY, tick=False):
        started = run("send", issue_path, "--test-subjects", "20%", "--decide-after", "4h", env=env, ok=True).output
        assert "Subject test: 2 subjects, each to an equal part of 20% of the readers" in started
        assert "at 2026-11-30T11:00:00+00:00" in started
        tested = subjects_by_reader(in_workspace)
        with database(in_workspace, env) as db:
            placed = variants(db)
            counts = db.ledger.counts("7")
        group = {address for address, variant in placed.items() if variant is not None}
        assert 20 <= len(group) <= 60 and set(tested) == group  # about 20% of 200, and nobody else
        assert counts[State.SENT] == len(group) and counts[State.SCHEDULED] == 200 - len(group)
        for address, subjects in tested.items():
            assert subjects == [(A, B)[placed[address]]]  # one copy, with its row's subject
        assert {A, B} == {subjects[0] for subjects in tested.values()}

        again = run("send", issue_path, "--test-subjects", "20%", "--decide-after", "4h", env=env, ok=True)
        assert "held here until then" in again.output
        assert subjects_by_reader(in_workspace) == tested  # the same split, nothing sent twice
        refused = run("send", issue_path, env=env)
        assert refused.exit_code == 1 and "is in a subject test until 2026-11-30T11:00:00+00:00" in refused.output
        assert "No scheduled send is due" in run("send", "--due", env=env, ok=True).output

        status = run("status", issue_path, env=env, ok=True).output
        assert "held until the decision" in status and "so far no clicks yet" in status
        assert f"A: {A!r}: {sum(1 for a in group if placed[a] == 0)} sent, 0 clicks (0.0%)" in status and f"B: {B!r}: " in status

    held = sorted(set(everyone) - group)
    with database(in_workspace, env) as db:  # B's readers click far more than A's
        clicks_for(db, [a for a in group if placed[a] == 0][:1], 0)
        clicks_for(db, [a for a in group if placed[a] == 1], 1, each=2)
        db.subscribers.set_status([held[0]], Status.UNSUBSCRIBED)  # leaves while held: never mailed
        db.subscribers.upsert([Subscriber("late@example.com", "Late")])  # joins during the test: gets the winner
    everyone = [address for address in everyone if address != held[0]] + ["late@example.com"]
    with time_machine.travel(AFTER_THE_WINDOW, tick=False):
        due = run("send", "--due", env=env, ok=True).output
        assert "B won (clicks rate A " in due and "a difference at 95% confidence" in due
        assert "No scheduled send is due" in run("send", "--due", env=env, ok=True).output
        status = run("status", issue_path, env=env, ok=True).output
        assert "decided at 2026-11-30T11:01:00+00:00: B won" in status and "the rest: sent B" in status

    got = subjects_by_reader(in_workspace)
    assert sorted(got) == sorted(everyone) and all(len(subjects) == 1 for subjects in got.values())  # each reader once
    assert all(got[address] == [B] for address in everyone if address not in group)
    with database(in_workspace, env) as db:
        after = variants(db)
        counts = db.ledger.counts("7")
        assert (counts[State.SENT], counts[State.SKIPPED]) == (200, 1) and db.ledger.schedule("7") is None
    assert all(after[address] == 1 for address in everyone if address not in group)  # the rest's copies were B
    assert all(after[address] == placed[address] for address in group)


@pytest.mark.slow
def test_with_clicks_off_opens_decide_and_without_a_clear_winner_the_first_subject_is_kept(in_workspace: Path, issue_path: Path) -> None:
    add_config(in_workspace, '[tracking]\nclicks = "off"\n')
    with_subjects(issue_path, A, B, C)
    everyone = add_subscribers(in_workspace, 120)
    with time_machine.travel(MONDAY, tick=False):
        run("send", issue_path, "--test-subjects", "50%", "--decide-after", "30m", ok=True)
    with Database(in_workspace / "subscribers.db") as db:
        placed = variants(db)
        by_variant = [[address for address, variant in placed.items() if variant == n] for n in range(3)]
        opened = by_variant[0][:2] + by_variant[1][:3] + by_variant[2][:2]  # people: B a little ahead
        machine = by_variant[0]  # counted, A would win by far
        opens = [Event(f"open-{n}", "open", address, "7", None, MONDAY.isoformat()) for n, address in enumerate(opened)]
        opens += [Event(f"machine-{n}", "open", address, "7", None, MONDAY.isoformat(), detail="machine") for n, address in enumerate(machine)]
        db.events.record(opens, "sendgrid")
    with time_machine.travel(MONDAY + dt.timedelta(minutes=31), tick=False):
        due = run("send", "--due", ok=True).output
    assert "no clear winner: A kept (opens rate A " in due
    assert "opens by machines were left out, but an open is no proof of reading" in due
    got = subjects_by_reader(in_workspace)
    assert sorted(got) == everyone and all(got[address] == [A] for address, variant in placed.items() if variant is None)
    assert "no clear winner: A kept" in run("status", issue_path, ok=True).output


def test_what_each_setting_counts_per_variant(in_workspace: Path, env: Mapping[str, str]) -> None:
    stamp = MONDAY.isoformat()
    with database(in_workspace, env) as db:
        click = Click("7", "1", "https://example.org/robots/towels", stamp)
        db.clicks.record([
            click._replace(email="ada@example.com", variant=0), click._replace(email="ada@example.com", variant=0),  # one reader, twice
            click._replace(email="bo@example.com", variant=0), click._replace(email="cy@example.com", variant=1),
            click._replace(email="di@example.com", variant=1, machine="early"),  # a scanner: never counted
            click._replace(variant=1), click._replace(variant=None),  # aggregate: nobody's; and a copy outside the test
        ])  # fmt: skip
        tests = SubjectTests(db.connection)
        assert tests.clicks_by_variant("7", readers=True) == {0: 2, 1: 1}
        assert tests.clicks_by_variant("7", readers=False) == {0: 3, 1: 2}


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_what_a_subject_test_refuses_changes_nothing(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 10)
    original = issue_path.read_text(encoding="utf-8")
    no_subjects = run("send", issue_path, "--test-subjects", "20%", "--decide-after", "4h")
    assert no_subjects.exit_code == 1 and "--test-subjects needs `subjects:` in the issue file" in no_subjects.output
    with_subjects(issue_path, A, B)
    for options, words in [
        (["--test-subjects", "0%", "--decide-after", "4h"], "a whole percentage from 1% to 50%"),
        (["--test-subjects", "51%", "--decide-after", "4h"], "a whole percentage from 1% to 50%"),
        (["--test-subjects", "a fifth", "--decide-after", "4h"], "a whole percentage from 1% to 50%"),
        (["--test-subjects", "20%"], "--test-subjects needs --decide-after"),
        (["--test-subjects", "20%", "--decide-after", "29m"], "give from 30m to 7d"),
        (["--test-subjects", "20%", "--decide-after", "7d1h"], "give from 30m to 7d"),
        (["--test-subjects", "20%", "--decide-after", "soon"], "expected a duration such as 30m, 4h"),
        (["--decide-after", "4h"], "--decide-after goes with --test-subjects"),
        (["--test-subjects", "20%", "--decide-after", "4h", "--at", "2026-12-24T08:00+00:00"], "cannot be scheduled with --at"),
        (["--test-subjects", "20%", "--decide-after", "4h", "--segment", "tag:vip"], "--segment cannot be used with a subject test"),
        (["--test-subjects", "20%", "--decide-after", "4h", "--dry-run"], "it takes no --test, --test-list or --dry-run"),
    ]:
        refused = run("send", issue_path, *options)
        assert refused.exit_code != 0 and words in refused.output, (options, refused.output)
        assert "Traceback" not in refused.output
    assert outbox(in_workspace) == []
    with Database(in_workspace / "subscribers.db") as db:
        assert sum(db.ledger.counts("7").values()) == 0 and SubjectTests(db.connection).plan("7") is None

    with time_machine.travel(MONDAY, tick=False):
        run("send", issue_path, "--test-subjects", "30%", "--decide-after", "2h", ok=True)
        sent = len(outbox(in_workspace))
        other = run("send", issue_path, "--test-subjects", "20%", "--decide-after", "2h")
        assert other.exit_code == 1 and "was started with --test-subjects 30% --decide-after 2h" in other.output
        issue_path.write_text(original, encoding="utf-8")
        with_subjects(issue_path, A, C)  # the file's subjects edited mid-test
        changed = run("send", issue_path, "--test-subjects", "30%", "--decide-after", "2h")
        assert changed.exit_code == 1 and "`subjects:` changed since issue 7's subject test began" in changed.output
    assert len(outbox(in_workspace)) == sent


@pytest.mark.slow
def test_a_test_starts_before_the_first_copy_and_cancel_ends_it(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 30)
    with_subjects(issue_path, A, B)
    with time_machine.travel(MONDAY, tick=False):
        run("send", issue_path, "--test-subjects", "20%", "--decide-after", "1h", ok=True)
        cancelled = run("cancel", issue_path, ok=True).output
        assert "recipient(s) are pending again" in cancelled
        assert "Subject test" not in run("status", issue_path, ok=True).output
        run("send", issue_path, ok=True)  # a plain send now: the first subject to everyone else
        late = run("send", issue_path, "--test-subjects", "20%", "--decide-after", "1h")
    assert late.exit_code == 1 and "has already gone to 30 reader(s)" in late.output
    got = subjects_by_reader(in_workspace)
    assert len(got) == 30 and all(len(subjects) == 1 for subjects in got.values())
    assert Counter(subjects[0] for subjects in got.values())[A] > 15


# --- killed and re-run ---------------------------------------------------------------------------


def delivered_from(workspace: Path):
    """Copies in the outbox by address, reading each message file once."""
    seen: dict[str, str] = {}
    folder = workspace / "outbox" / "new"

    def delivered() -> Counter[str]:
        for name in os.listdir(folder) if folder.exists() else []:
            if name not in seen:
                with open(folder / name, "rb") as handle:
                    message = email.message_from_binary_file(handle, policy=email.policy.default)
                seen[name] = message["To"].addresses[0].addr_spec
        return Counter(seen.values())

    return delivered


@pytest.mark.slow
def test_killed_in_the_test_and_in_the_rest_each_reader_gets_one_copy(workspace: Path, issue_path: Path) -> None:
    add_config(workspace, "[send]\nbatch_size = 10\nrate_per_second = 100\n")
    with_subjects(issue_path, A, B, C)
    everyone = add_subscribers(workspace, 200)
    env = dict(os.environ, NEWSLETTER_SECRET=SECRET, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    delivered = delivered_from(workspace)
    options = ["send", str(issue_path), "--test-subjects", "40%", "--decide-after", "30m"]

    tested = kill_and_resume(workspace, issue_path, env, delivered, kills=2, batch=10, pause=(0.0, 0.2), command=options, waiting=State.SCHEDULED)
    with Database(workspace / "subscribers.db") as db:
        placed = variants(db)
        held = db.ledger.counts("7")[State.SCHEDULED]
        db.connection.db.execute("UPDATE subject_tests SET decide_at = '2026-01-01T00:00:00+00:00'")  # the window has passed
        db.connection.db.execute("UPDATE schedules SET send_at = '2026-01-01T00:00:00+00:00'")
        db.connection.db.commit()
    group = {address for address, variant in placed.items() if variant is not None}
    assert set(delivered()) <= group  # nobody held got a copy
    assert all(tested[address] == State.UNKNOWN for address in group - set(delivered()))  # a batch in flight at a kill
    assert 70 < held < 170

    # batch=30: the bound on unknown rows also counts the two batches the test phase's kills left
    kill_and_resume(workspace, issue_path, env, delivered, kills=1, batch=30, pause=(0.0, 0.2), command=["send", "--due"])
    rows = ledger_states(workspace)
    reconcile(rows, delivered())
    assert sorted(rows) == everyone
    with Database(workspace / "subscribers.db") as db:
        final = variants(db)
    for address, subjects in subjects_by_reader(workspace).items():
        assert subjects == [(A, B, C)[final[address]]]  # the copy had its row's subject
