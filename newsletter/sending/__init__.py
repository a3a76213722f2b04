"""Sending an issue: the send core (core.py), its loop (loop.py) and scheduling rules (schedules.py)."""

from .core import (
    Cancelled,
    DryRun,
    DueResult,
    Ended,
    IssueStatus,
    SendRefused,
    SendReport,
    cancel_schedule,
    cancel_send,
    dry_run,
    issue_status,
    letters_for,
    send_due,
    send_issue,
    send_test_copy,
)
from .loop import Progress
from .schedules import ScheduleError, parse_time

__all__ = [
    "Cancelled",
    "DryRun",
    "DueResult",
    "Ended",
    "IssueStatus",
    "Progress",
    "ScheduleError",
    "SendRefused",
    "SendReport",
    "cancel_schedule",
    "cancel_send",
    "dry_run",
    "issue_status",
    "letters_for",
    "parse_time",
    "send_due",
    "send_issue",
    "send_test_copy",
]
