"""Email -> one copy per reader: the MIME message and its headers, the per-reader placeholders,
addresses as the list stores them, and the signed links (unsubscribe, confirm, preferences)."""
