"""One contact form sent twice (a double click, a resent POST) is one inquiry and one set of
emails, as the order form and the till already are."""

import re

import pytest
from django.test import Client, override_settings

from inquiries.models import Category, Inquiry
from inquiries.views import SENT_SESSION_KEY
from tests.conftest import make_user

CONTACT = "/contact/"
KEY_RE = re.compile(r'name="idempotency_key" value="([^"]+)"')

FIELDS = {
    "name": "山田 花子",
    "email": "hanako@example.jp",
    "category": Category.TICKETS,
    "subject": "チケットが届きません",
    "body": "チケットのメールがまだ届いていません。",
    "website": "",
}


def form_key(client) -> str:
    page = client.get(CONTACT).content.decode()
    match = KEY_RE.search(page)
    assert match, "the contact form carries its idempotency key"
    return match.group(1)


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@override_settings(KAIKA_STAFF_EMAILS=["office@kaika.example.jp"])
@pytest.mark.parametrize("signed_in", [True, False], ids=["member", "signed-out"])
def test_a_double_click_makes_one_inquiry_and_sends_its_emails_once(
    client, db, mailoutbox, committing, signed_in
):
    if signed_in:
        member = make_user(email="hanako@example.jp")
        client.force_login(member)
    data = {**FIELDS, "idempotency_key": form_key(client)}

    with committing():
        first = client.post(CONTACT, data)
    with committing():
        second = client.post(CONTACT, data)

    assert first.status_code == second.status_code == 302
    assert second["Location"] == "/contact/sent/"
    inquiry = Inquiry.objects.get()
    assert inquiry.user == (member if signed_in else None)
    assert [m.to for m in mailoutbox] == [["hanako@example.jp"], ["office@kaika.example.jp"]]
    # The second answer is the first inquiry's completion page.
    assert client.session[SENT_SESSION_KEY] == inquiry.reference
    assert inquiry.reference in client.get("/contact/sent/").content.decode()


def test_each_form_shown_has_its_own_key_and_sends_its_own_inquiry(client, db, mailoutbox):
    first, second = form_key(client), form_key(client)
    assert first != second
    client.post(CONTACT, {**FIELDS, "idempotency_key": first})
    client.post(CONTACT, {**FIELDS, "idempotency_key": second, "subject": "もう一件"})
    assert Inquiry.objects.count() == 2


def test_a_form_re_shown_after_an_error_keeps_its_key(client, db):
    key = form_key(client)
    page = client.post(CONTACT, {**FIELDS, "category": "", "idempotency_key": key})
    assert KEY_RE.search(page.content.decode()).group(1) == key


def test_the_key_is_per_sender_never_a_way_into_another_persons_inquiry(client, db):
    """Another member, or a signed-out sender with another address, sending the same key gets
    an inquiry of their own, never the first one's reference."""
    key = form_key(client)
    client.post(CONTACT, {**FIELDS, "idempotency_key": key})
    mine = Inquiry.objects.get()

    other = Client()
    other.post(CONTACT, {**FIELDS, "email": "someone@example.jp", "idempotency_key": key})
    member = Client()
    member.force_login(make_user(email="member@example.jp"))
    member.post(CONTACT, {**FIELDS, "idempotency_key": key})

    assert Inquiry.objects.count() == 3
    for stranger in (other, member):
        assert stranger.session[SENT_SESSION_KEY] != mine.reference


@override_settings(KAIKA_INQUIRY_RATE_LIMITS={"ip": (1, 600), "email": (100, 3600)})
def test_a_resent_form_does_not_use_up_the_rate_limit(client, db):
    data = {**FIELDS, "idempotency_key": form_key(client)}
    assert client.post(CONTACT, data).status_code == 302
    assert client.post(CONTACT, data).status_code == 302
    refused = client.post(CONTACT, {**FIELDS, "idempotency_key": form_key(client)})
    assert refused.status_code == 429
    assert Inquiry.objects.count() == 1


def test_a_post_without_a_key_is_still_sent_once(client, db, mailoutbox, committing):
    # A script or a page opened before the keys: sent as it is, never refused.
    with committing():
        assert client.post(CONTACT, FIELDS).status_code == 302
    assert Inquiry.objects.count() == 1
    assert len(mailoutbox) >= 1
