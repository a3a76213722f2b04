"""The words a reader sees, per language: one catalogue for the email, the web pages and the notices
(gettext .po files in locale/, read as they are), [labels] overrides, quotation marks and spacing."""
