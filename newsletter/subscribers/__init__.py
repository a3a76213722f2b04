"""Subscribers beyond storing them: the CSV formats read and written by import and export, the rules of
signing up, confirming, adding, unsubscribing and importing (rules.py), and SendGrid's suppression
lists applied (sync.py)."""
