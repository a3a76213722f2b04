"""`newsletter automations check | status | run`: welcome sequences and other automations (newsletter/automations/)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def automations() -> None:
    """Emails that go out by themselves when a reader confirms or is tagged (automations/<name>.yaml)."""


@automations.command("check")
def check() -> None:
    """Check every automation file and the emails it sends; exit 1 if anything is wrong."""
    from ...automations.checks import check_automations
    from ...workspace.config import load_workspace

    checked = check_automations(load_workspace(Path.cwd()))
    for problem in checked.problems:
        click.echo(f"error: {problem}")
    for warning in checked.warnings:
        click.echo(f"warning: {warning}")
    if checked.problems:
        click.echo(f"{len(checked.problems)} problem(s) in {checked.files} automation file(s); nothing is sent until they are fixed.", err=True)
        raise SystemExit(1)
    click.echo(f"{checked.files} automation file(s) and {len(checked.emails)} email(s): no problems.")


@automations.command("status")
def status() -> None:
    """How many readers are at each step of each automation, and how many are done or left."""
    from ...automations.status import automation_status
    from ...workspace.config import load_workspace

    found = automation_status(load_workspace(Path.cwd()))
    if not found:
        click.echo("No automations: write automations/<name>.yaml (see the README's Automations section).")
    for entry in found:
        click.echo(f"{entry.name} ({entry.trigger})" if entry.trigger else entry.name)
        if entry.problem:
            click.echo(f"  {entry.problem}")
        for step in entry.steps:
            unknown = f" ({step.unknown} unknown: see `newsletter automations run --retry-unknown`)" if step.unknown else ""
            click.echo(f"  step {step.step:<5} {step.what:<40} {step.readers}{unknown}")
        left = ", ".join(f"{count} {why}" for why, count in sorted(entry.left.items()))
        click.echo(f"  at a step: {entry.active}   done: {entry.done}   left: {sum(entry.left.values())}" + (f" ({left})" if left else ""))


@automations.command("run")
@click.option("--retry-unknown", is_flag=True, help="Send again the copies whose outcome is unknown (after checking with the provider that they did not arrive).")
def run(retry_unknown: bool) -> None:
    """Enroll readers from new events and move every reader whose step is due, sending what is due.
    Run it from cron every minute: one run at a time, and nobody gets a step twice."""
    from ...automations.runner import run_automations
    from ...models import State
    from ...workspace.config import load_workspace

    report = run_automations(load_workspace(Path.cwd()), retry_unknown=retry_unknown)
    entered = ", ".join(f"{count} into {name}" for name, count in sorted(report.enrolled.items()) if count)
    sent = sum(counts.get(State.SENT, 0) for counts in report.sends.values())
    click.echo(f"Entered: {entered or 'nobody'}. Steps taken: {report.steps}. Finished: {report.finished}. Left: {report.left}.")
    if report.sends:
        click.echo(f"Emails: {sent} sent so far over {len(report.sends)} step(s)" + (f", {report.unknown} unknown" if report.unknown else "") + ".")
    if report.retried_unknown:
        click.echo(f"Retried {report.retried_unknown} unknown copies.")
    for why in report.stopped:
        click.echo(f"stopped: {why}", err=True)
    if report.stopped:
        raise SystemExit(1)

