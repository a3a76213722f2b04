"""Bounces of SMTP mail: the delivery reports that come back to the VERP return path, read from a
Maildir or an IMAP mailbox (`newsletter bounces fetch`). dsn.py reads a report, mailboxes.py holds
the two kinds of mailbox, fetch.py applies the reports (the token itself is mail/verp.py)."""
