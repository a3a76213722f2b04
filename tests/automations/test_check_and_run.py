"""`automations check` names file:line and field; `run` refuses while another run goes, and
refuses to start on a broken automation, changing nothing."""

from __future__ import annotations

from pathlib import Path

from newsletter.db import Database
from tests.automations.conftest import Clock, confirm, write_automation
from tests.helpers.cli import run as cli
from tests.helpers.outbox import delivered

BROKEN = """\
trigger: subscriber.confrmed
steps:
  - send: emails/welcome-1.yaml
  - wait: 2 weeks
  - if: maybe
    then:
      - send: ../secrets.yaml
  - tga: welcomed
"""


def test_check_names_each_problem_with_its_file_line_and_field(welcome: Path) -> None:
    write_automation(welcome, "broken", BROKEN)
    result = cli("automations", "check", cwd=welcome)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "error: automations/broken.yaml:1: trigger: expected subscriber.confirmed, or subscriber.tagged: <tag>; got 'subscriber.confrmed'" in lines
    assert any(line.startswith("error: automations/broken.yaml:4: steps[1].wait: expected a span of time") for line in lines)
    assert any(line.startswith("error: automations/broken.yaml:5: steps[2].if: expected clicked, not clicked") for line in lines)
    assert any(line.startswith("error: automations/broken.yaml:7: steps[2].then[0].send: expected an email file in the workspace") for line in lines)
    assert any(line.startswith("error: automations/broken.yaml:8: steps[3]: each step is one of") for line in lines)
    assert "Traceback" not in result.output


def test_check_checks_the_emails_as_issue_files(welcome: Path) -> None:
    email = welcome / "emails" / "welcome-2.yaml"
    email.write_text(email.read_text().replace("preheader:", "preheadr:"), encoding="utf-8")
    write_automation(welcome, "other", "trigger: subscriber.confirmed\nsteps:\n  - send: emails/missing.yaml\n")
    result = cli("automations", "check", cwd=welcome)
    assert result.exit_code == 1
    assert "error: emails/welcome-2.yaml:5: preheadr: unknown key" in result.output
    assert "automations/other.yaml:3: send: no such email file emails/missing.yaml" in result.output


def test_yaml_errors_are_located(welcome: Path) -> None:
    write_automation(welcome, "bad", "trigger: subscriber.confirmed\nsteps:\n  - send: [emails/a.yaml\n")
    result = cli("automations", "check", cwd=welcome)
    assert result.exit_code == 1 and "automations/bad.yaml:" in result.output and "YAML syntax error" in result.output


def test_a_good_workspace_passes_check(welcome: Path) -> None:
    result = cli("automations", "check", cwd=welcome, ok=True)
    assert "1 automation file(s) and 2 email(s): no problems." in result.output


def test_run_on_a_broken_automation_sends_nothing_and_takes_no_event(welcome: Path, clock: Clock) -> None:
    with Database(welcome / "subscribers.db") as db:
        confirm(db, "ada@example.com")
    write_automation(welcome, "broken", BROKEN)
    result = cli("automations", "run", cwd=welcome)
    assert result.exit_code == 1 and "nothing was sent" in result.output
    assert delivered(welcome) == {}
    (welcome / "automations" / "broken.yaml").unlink()
    cli("automations", "run", cwd=welcome, ok=True)  # the event waited in the outbox
    assert delivered(welcome) == {"ada@example.com": 1}


def test_a_second_run_while_one_is_going_refuses_and_changes_nothing(welcome: Path) -> None:
    with Database(welcome / "subscribers.db") as db:
        confirm(db, "ada@example.com")
        with db.connection.lock("automations", "held by the test"):
            result = cli("automations", "run", cwd=welcome)
    assert result.exit_code != 0
    assert "another `newsletter automations run` is still running" in result.output
    assert delivered(welcome) == {}
    cli("automations", "run", cwd=welcome, ok=True)
    assert delivered(welcome) == {"ada@example.com": 1}


def test_init_offers_a_welcome_sequence_that_passes_check(tmp_path: Path) -> None:
    root = tmp_path / "new"
    cli(
        "init", root, "--name", 'Notes: "Weekly"', "--postal-address", "1 Test Street", "--archive-url", "https://example.org/archive",
        "--sender-name", "Ed", "--sender", "ed@example.org", "--language", "en", ok=True,
    )
    assert (root / "automations" / "welcome.yaml").is_file()
    assert sorted(path.name for path in (root / "emails").iterdir()) == ["welcome-1.yaml", "welcome-2.yaml"]
    result = cli("automations", "check", cwd=root, ok=True)
    assert "1 automation file(s) and 2 email(s): no problems." in result.output
