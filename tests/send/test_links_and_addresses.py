"""Signed links (opaque, scoped, rotatable) and the address validator's fast path."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.errors import ConfigError
from newsletter.mail.links import Purpose, make_token, new_public_id, verify_token
from newsletter.models.addresses import _full_check, ascii_form, normalize
from newsletter.workspace.credentials import SigningKeys, signing_keys

OLD = "the-old-secret-Kq3vN8xTz1bR7mW2pL9sYc4d"
NEW = "the-new-secret-Zp5Gw2Lc8Vr1Nt7Qy4Hb6Jd0M"


def test_a_token_names_no_address_and_works_for_its_purpose_only() -> None:
    public_id = new_public_id()
    keys = SigningKeys(NEW.encode())
    token = make_token(public_id, Purpose.UNSUBSCRIBE, keys.current)
    assert token.startswith(public_id + ".") and "@" not in token
    assert verify_token(token, Purpose.UNSUBSCRIBE, keys) == public_id
    assert verify_token(token, Purpose.CONFIRM, keys) is None
    assert verify_token(token, Purpose.PREFERENCES, keys) is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
        lambda t: "x" + t,  # id changed
        lambda t: t.replace(".", ""),  # no separator
        lambda t: t + "====",  # padding games
        lambda t: "../../etc/passwd." + t.split(".")[1],  # not an id at all
        lambda t: t.split(".")[0] + ".%%%",  # not base64
        lambda t: "",
    ],
)
def test_a_damaged_or_forged_token_is_refused(damage) -> None:
    keys = SigningKeys(NEW.encode())
    token = make_token(new_public_id(), Purpose.UNSUBSCRIBE, keys.current)
    assert verify_token(damage(token), Purpose.UNSUBSCRIBE, keys) is None


def test_rotating_the_secret_keeps_links_already_sent_working_for_the_set_time(monkeypatch) -> None:
    public_id = new_public_id()
    old_link = make_token(public_id, Purpose.UNSUBSCRIBE, OLD.encode())

    monkeypatch.setenv("NEWSLETTER_SECRET", NEW)
    monkeypatch.setenv("NEWSLETTER_PREVIOUS_SECRET", OLD)
    monkeypatch.setenv("NEWSLETTER_PREVIOUS_SECRET_UNTIL", "2027-01-31")
    during = signing_keys("sendgrid", today=dt.date(2027, 1, 31))
    assert during.current == NEW.encode()  # new links use the new secret
    assert verify_token(old_link, Purpose.UNSUBSCRIBE, during) == public_id
    assert verify_token(make_token(public_id, Purpose.UNSUBSCRIBE, during.current), Purpose.UNSUBSCRIBE, during) == public_id

    after = signing_keys("sendgrid", today=dt.date(2027, 2, 1))
    assert verify_token(old_link, Purpose.UNSUBSCRIBE, after) is None

    monkeypatch.delenv("NEWSLETTER_PREVIOUS_SECRET")
    assert verify_token(old_link, Purpose.UNSUBSCRIBE, signing_keys("sendgrid", today=dt.date(2027, 1, 1))) is None


def test_secret_settings_are_checked(monkeypatch) -> None:
    monkeypatch.delenv("NEWSLETTER_SECRET", raising=False)
    with pytest.raises(ConfigError, match="NEWSLETTER_SECRET is not set"):
        signing_keys("smtp")
    assert signing_keys("outbox").development
    monkeypatch.setenv("NEWSLETTER_SECRET", "short")
    with pytest.raises(ConfigError, match="too weak"):
        signing_keys("sendgrid")
    monkeypatch.setenv("NEWSLETTER_SECRET", NEW)
    monkeypatch.setenv("NEWSLETTER_PREVIOUS_SECRET", OLD)
    monkeypatch.setenv("NEWSLETTER_PREVIOUS_SECRET_UNTIL", "next month")
    with pytest.raises(ConfigError, match="NEWSLETTER_PREVIOUS_SECRET_UNTIL='next month'"):
        signing_keys("sendgrid")


# --- addresses ---------------------------------------------------------------------------------------

ATEXT = "abcxyzABCXYZ0189!#$%&'*+/=?^_`{|}~-"
local_parts = st.one_of(
    st.text(alphabet=ATEXT + ".", min_size=0, max_size=70),
    st.text(alphabet=ATEXT + '." @\\()<>,;:[]äßé用', min_size=1, max_size=20),
    st.sampled_from(['"quoted"', '"a@b"', "postmaster", "Abuse", "a" * 64, "a" * 65, ".a", "a.", "a..b"]),
)
labels = st.one_of(
    st.text(alphabet="abcXYZ019-", min_size=1, max_size=20),
    st.sampled_from(["例え", "bücher", "xn--r8jz45g", "xn--bcher-kva", "-bad", "bad-", "a" * 63, "a" * 64, "localhost", "123"]),
)
domains = st.one_of(
    st.lists(labels, min_size=1, max_size=4).map(".".join),
    st.sampled_from(["example.com", "EXAMPLE.COM", "example.com.", "[127.0.0.1]", "example.test", "x.invalid", "a.b.c.d.e.f.g.h.i.com", ("a" * 60 + ".") * 5 + "com"]),
)


@settings(max_examples=3000, deadline=None)
@given(local_parts, domains)
@pytest.mark.slow
def test_the_fast_path_agrees_with_email_validator(local: str, domain: str) -> None:
    """normalize() remembers each domain's verdict; it must say exactly what email-validator says."""
    address = f"{local}@{domain}"
    try:
        expected: str | None = _full_check(address.strip())  # normalize() trims, as the CSV reader does
        expected_error = None
    except ValueError as exc:
        expected, expected_error = None, str(exc)
    try:
        assert normalize(address) == expected
    except ValueError as exc:
        assert str(exc) == expected_error


def test_addresses_are_stored_in_one_form_and_sent_in_ascii_where_needed() -> None:
    assert normalize("  Hana@例え.JP ") == "hana@例え.jp"
    assert normalize("hana@xn--r8jz45g.jp") == "hana@例え.jp"  # the same mailbox, one row
    assert ascii_form("hana@例え.jp") == "hana@xn--r8jz45g.jp"
    assert ascii_form("用户@例え.jp") is None  # only SMTPUTF8 reaches it
    assert ascii_form("a@example.com") == "a@example.com"
