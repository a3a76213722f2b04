"""Webhooks out: the events of the outbox (db/event_outbox.py) POSTed to each `[[webhooks]]`
receiver that wants them, signed the Standard Webhooks way, retried with back-off for 3 days.

schedule.py: when a failed delivery is tried again; signing.py: the body and its headers;
client.py: one POST with a deadline, no redirects and a capped answer; delivery.py: fan-out,
claim, send and settle, shared by `newsletter webhooks deliver` and the web app's background sender."""
