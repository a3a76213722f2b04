"""Engagement the tool measures itself: the web app's recorder of clicks and opens (recorder.py)
and how a mail scanner's click is told from a person's (scanners.py)."""
