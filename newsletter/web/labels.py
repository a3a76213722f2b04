"""The words on the web app's pages, per language ([newsletter] language). A language without a
table here gets English; add a table to translate the pages."""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "subscribe_title": "Subscribe",
        "subscribe_intro": "Get each issue of {name} by email.",
        "email": "Email address",
        "name": "Name (optional)",
        "subscribe_button": "Subscribe",
        "honeypot": "Leave this field empty",
        "check_inbox_title": "Check your inbox",
        "check_inbox": "If {email} can be subscribed, a confirmation email is on its way. Open it and confirm to start receiving {name}.",
        "bad_address": "That does not look like an email address. Please check it and try again.",
        "confirm_title": "Confirm your subscription",
        "confirm_intro": "Confirm that {email} should receive {name}.",
        "confirm_button": "Confirm my subscription",
        "confirmed_title": "You are subscribed",
        "confirmed": "Thank you: {email} will receive the next issue of {name}.",
        "stale_title": "This link is out of date",
        "stale": "The subscription of {email} changed after this link was sent, so it no longer confirms anything. Subscribe again to get a new link.",
        "expired_title": "This link has expired",
        "expired": "Confirmation links work for {days} days. We can send a new one to {email}.",
        "resend_button": "Send a new confirmation email",
        "resent_title": "A new link is on its way",
        "resent": "Check the inbox of {email} for a new confirmation email.",
        "unsubscribe_title": "Unsubscribe",
        "unsubscribe_intro": "Stop sending {name} to {email}?",
        "unsubscribe_button": "Unsubscribe",
        "unsubscribed_title": "You are unsubscribed",
        "unsubscribed": "{email} will not receive {name} any more.",
        "test_copy_title": "This was a test copy",
        "test_copy": "This link came in a test copy of {name}, sent to check the issue. It is not a subscription, so there is nothing to unsubscribe.",
        "preferences_link": "Changed your mind? Manage your subscription",
        "preferences_title": "Your subscription",
        "preferences_intro": "{email} is {status}.",
        "status_active": "subscribed",
        "status_pending": "waiting for confirmation",
        "status_unsubscribed": "unsubscribed",
        "status_bounced": "not receiving mail (messages to it bounced)",
        "status_complained": "unsubscribed (it reported a message as spam)",
        "resubscribe_button": "Subscribe again",
        "resubscribe_sent": "A confirmation email is on its way to {email}: confirm it to subscribe again.",
        "not_found_title": "Link not recognised",
        "not_found": "This link is not valid. It may have been copied incompletely; try the link in the email again.",
        "too_many_title": "Too many requests",
        "too_many": "Please wait a little and try again.",
        "too_large_title": "Request too large",
        "too_large": "That request was too large.",
        "error_title": "Something went wrong",
        "error": "Sorry, this did not work. Please try again in a few minutes.",
        "bad_form_title": "Please try again",
        "bad_form": "The form expired or came from another page. Please reload it and submit again.",
        "no_script": "Press the button to continue.",
        "unavailable_title": "Please try again",
        "unavailable": "We could not record that just now. Please try again in a minute.",
    },
}


def labels(language: str) -> dict[str, str]:
    return LABELS.get(language.split("-")[0].lower(), LABELS["en"])
