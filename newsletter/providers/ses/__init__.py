"""Amazon SES, in both directions: send.py hands each letter to SES's API v2 (SendEmail with the
whole MIME message), answers.py reads what SES says about it, and events.py reads SES's events as
SNS posts them (signature checked) into our events."""

from .send import SesProvider

__all__ = ["SesProvider"]
