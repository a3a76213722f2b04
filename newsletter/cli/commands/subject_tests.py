"""How `send` and `status` show a subject test: its plan, each variant's figures, and the decision."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ...db.subject_tests import VariantFigures
    from ...sending.subjects import SubjectTestStatus


def print_subject_test(found: SubjectTestStatus | None) -> None:
    """The issue's subject test, when it has one."""
    from ...sending.subjects import LETTERS, format_window

    if found is None:
        return
    plan, decision = found.plan, found.plan.decision
    variants = len(plan.subjects)
    click.echo(
        f"Subject test: {variants} subjects, each to an equal part of {plan.share}% of the readers; "
        f"the rest get the winner after {format_window(plan.decide_after)}, at {plan.decide_at.isoformat()}."
    )
    for n, (subject, figures) in enumerate(zip(plan.subjects, found.figures, strict=True)):
        click.echo(f"  {LETTERS[n]}: {subject!r}: {_figures(figures, found.measure)}")
    if decision is None:
        due = plan.decide_at <= dt.datetime.now(dt.UTC)
        when = "due now: `newsletter send --due` decides it" if due else "`newsletter send --due` decides it then"
        click.echo(f"  the rest: {found.held} held until the decision ({when}); so far {_leader(found)}")
    else:
        click.echo(f"  decided at {decision.decided_at}: {_verdict(found)}")
        click.echo(f"  the rest: {found.pending} still to be sent {LETTERS[decision.winner]}" if found.pending else f"  the rest: sent {LETTERS[decision.winner]}")
    if found.caveat:
        click.secho(f"  ({found.caveat})", fg="yellow")


def _figures(figures: VariantFigures, measure: str) -> str:
    return f"{figures.sent} sent, {figures.measured} {measure} ({figures.rate:.1%})"


def _verdict(found: SubjectTestStatus) -> str:
    """The decision in words: the winner and the rates, or that the first subject was kept."""
    from ...sending.subjects import LETTERS

    decision = found.plan.decision
    assert decision is not None
    rates = ", ".join(f"{LETTERS[n]} {f.rate:.1%}" for n, f in enumerate(decision.figures))
    if not decision.clear:
        return f"no clear winner: A kept ({found.measure} rate {rates}; no difference shown at 95% confidence)"
    return f"{LETTERS[decision.winner]} won ({found.measure} rate {rates}; a difference at 95% confidence)"


def _leader(found: SubjectTestStatus) -> str:
    from ...sending.subjects import LETTERS

    if not any(figures.sent for figures in found.figures):
        return "nothing sent yet"
    if not any(figures.measured for figures in found.figures):
        return f"no {found.measure} yet"
    best = max(range(len(found.figures)), key=lambda n: (found.figures[n].rate, -n))
    return f"{LETTERS[best]} leads"
