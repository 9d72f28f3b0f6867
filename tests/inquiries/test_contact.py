"""The contact form: sending, the completion page, spam defences, and privacy of every step.

In 2021 the page shown after sending the contact form was one of those served to other people.
"""

import html
import re

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from inquiries.models import Category, Inquiry, Status
from tests.conftest import make_user
from tests.kaika.test_private_by_default import assert_private

REFERENCE_RE = re.compile(r"^Q-[A-Z2-7]{8}$")
CONTACT = "/contact/"
SENT = "/contact/sent/"

VALID = {
    "name": "山田 花子",
    "email": "hanako@example.jp",
    "category": Category.TICKETS,
    "subject": "チケットが届きません",
    "body": "8月31日に支援しました。\nチケットのメールがまだ届いていません。",
    "website": "",
}


def send(client, **changes):
    return client.post(CONTACT, {**VALID, **changes})


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (the email tasks) as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@override_settings(KAIKA_STAFF_EMAILS=["office@kaika.example.jp"])
def test_anonymous_visitor_sends_an_inquiry_and_gets_a_reference_by_email(
    client, db, mailoutbox, committing
):
    with committing():
        response = send(client)

    assert response.status_code == 302
    assert response["Location"] == SENT
    inquiry = Inquiry.objects.get()
    assert REFERENCE_RE.match(inquiry.reference)
    assert inquiry.user is None
    assert inquiry.status == Status.NEW
    assert (inquiry.name, inquiry.email, inquiry.subject) == (
        VALID["name"],
        VALID["email"],
        VALID["subject"],
    )
    assert inquiry.body == VALID["body"]

    page = client.get(SENT)
    assert page.status_code == 200
    assert inquiry.reference in page.content.decode()

    confirmation, notification = mailoutbox
    assert confirmation.to == ["hanako@example.jp"]
    assert inquiry.reference in confirmation.subject
    assert inquiry.reference in confirmation.body
    assert notification.to == ["office@kaika.example.jp"]
    assert inquiry.reference in notification.subject


def test_confirmation_email_repeats_nothing_the_sender_typed(client, db, mailoutbox, committing):
    # Anyone can type anyone's address: the form must not relay their text to a stranger.
    with committing():
        send(
            client, name="今すぐ http://spam.example/ へ", subject="当選しました", body="怪しい本文"
        )
    confirmation = mailoutbox[0]
    for typed in ("spam.example", "当選しました", "怪しい本文"):
        assert typed not in confirmation.subject + confirmation.body


@override_settings(KAIKA_STAFF_EMAILS=[])
def test_staff_users_are_notified_when_no_office_address_is_configured(
    client, db, mailoutbox, committing
):
    make_user(email="staff-a@example.jp", is_staff=True)
    make_user(email="retired@example.jp", is_staff=True, is_active=False)
    make_user(email="supporter@example.jp")
    with committing():
        send(client)
    notification = mailoutbox[1]
    assert notification.to == ["staff-a@example.jp"]
    assert VALID["body"].splitlines()[0] not in notification.body


def test_logged_in_supporter_gets_a_prefilled_form_and_the_inquiry_on_their_account(
    client, db, mailoutbox, committing
):
    supporter = make_user(email="member@example.jp", family_name="佐藤", given_name="一郎")
    client.force_login(supporter)

    page = client.get(CONTACT).content.decode()
    assert 'value="佐藤 一郎"' in page
    assert 'value="member@example.jp"' in page

    with committing():
        response = send(client, name="佐藤 一郎", email="member@example.jp")
    assert response.status_code == 302
    inquiry = Inquiry.objects.get()
    assert inquiry.user == supporter
    assert mailoutbox[0].to == ["member@example.jp"]
    assert inquiry.reference in client.get(SENT).content.decode()


def test_english_contact_page_works_and_the_reply_language_is_kept(client, db):
    assert client.get("/en/contact/").status_code == 200
    response = client.post("/en/contact/", VALID)
    assert response.status_code == 302
    assert Inquiry.objects.get().language == "en"


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "supporter"])
def test_form_page_post_response_and_completion_page_are_private(client, db, logged_in):
    if logged_in:
        client.force_login(make_user())
    assert_private(client.get(CONTACT), "contact form")
    assert_private(send(client, category=""), "contact form with errors")
    response = send(client)
    assert response.status_code == 302
    assert_private(response, "contact POST redirect")
    completion = client.get(SENT)
    assert completion.status_code == 200
    assert_private(completion, "completion page")


def test_completion_page_is_not_reachable_from_another_session(client, db):
    send(client)
    reference = Inquiry.objects.get().reference
    assert reference in client.get(SENT).content.decode()

    stranger = Client()
    response = stranger.get(SENT)
    assert response.status_code == 302
    assert response["Location"] == CONTACT
    assert reference not in stranger.get(SENT, follow=True).content.decode()

    member = Client()
    member.force_login(make_user())
    response = member.get(SENT, follow=True)
    assert reference not in response.content.decode()
    assert VALID["email"] not in response.content.decode()


def test_completion_page_without_a_sent_inquiry_goes_back_to_the_form(client, db):
    response = client.get(SENT)
    assert response.status_code == 302
    assert response["Location"] == CONTACT


def assert_kept(page: str, data: dict) -> None:
    """Every visible value the visitor typed is in the re-rendered form."""
    for name in ("name", "email", "subject"):
        assert f'value="{html.escape(data[name])}"' in page, name
    # A textarea's content follows a newline; Django keeps the line breaks.
    assert html.escape(data["body"]) in page.replace("\r\n", "\n")


def test_nothing_typed_is_lost_on_a_validation_error(client, db, mailoutbox):
    long_subject = "長" * 101
    data = {
        **VALID,
        "category": "",
        "subject": long_subject,
        "email": "hanako@",
        "body": "<b>太字</b>\n2行目",
    }
    response = client.post(CONTACT, data)

    assert response.status_code == 200
    page = response.content.decode()
    assert_kept(page, data)
    assert "お問い合わせの種類を選択してください。" in page
    assert "メールアドレスの形式が正しくありません" in page
    assert "100 文字以下" in page  # Django's own Japanese message for max_length
    assert Inquiry.objects.count() == 0
    assert mailoutbox == []


def test_missing_fields_get_japanese_messages(client, db):
    page = client.post(CONTACT, {}).content.decode()
    for message in (
        "お名前を入力してください。",
        "メールアドレスを入力してください。",
        "お問い合わせの種類を選択してください。",
        "件名を入力してください。",
        "お問い合わせ内容を入力してください。",
    ):
        assert message in page


def test_body_over_the_limit_is_refused_with_the_text_kept(client, db):
    body = "あ" * 4001
    response = send(client, body=body)
    assert response.status_code == 200
    assert body in response.content.decode()
    assert "4000 文字以下" in response.content.decode()
    assert Inquiry.objects.count() == 0


def test_inputs_carry_no_maxlength_that_would_cut_a_paste(client, db):
    assert "maxlength" not in client.get(CONTACT).content.decode()


def test_honeypot_is_hidden_by_a_css_class_not_an_inline_style(client, db):
    page = client.get(CONTACT).content.decode()
    assert re.search(r'<div class="hp-field" aria-hidden="true">[^<]*<label for="id_website"', page)
    assert 'tabindex="-1"' in page
    assert "style=" not in page


def test_filled_honeypot_saves_and_sends_nothing_and_keeps_the_typed_text(
    client, db, mailoutbox, committing
):
    with committing():
        response = send(client, website="http://spam.example/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "送信できませんでした" in page
    assert_kept(page, VALID)
    # The trap's value is not sent back, so a person whose browser filled it can resend.
    assert "spam.example" not in page
    assert Inquiry.objects.count() == 0
    assert mailoutbox == []


@override_settings(KAIKA_INQUIRY_RATE_LIMITS={"ip": (2, 600), "email": (100, 3600)})
def test_rate_limit_per_ip_address(client, db, mailoutbox, committing):
    for n in range(2):
        assert send(client, email=f"sender{n}@example.jp").status_code == 302
    with committing():
        refused = send(client, email="sender9@example.jp", REMOTE_ADDR="127.0.0.1")
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "受け付けを一時的に停止しています" in page
    assert_kept(page, {**VALID, "email": "sender9@example.jp"})
    assert Inquiry.objects.count() == 2
    assert mailoutbox == []
    # Someone else, from another address, is not affected.
    other = Client(REMOTE_ADDR="203.0.113.7")
    assert send(other, email="sender9@example.jp").status_code == 302


@override_settings(KAIKA_INQUIRY_RATE_LIMITS={"ip": (100, 600), "email": (2, 3600)})
def test_rate_limit_per_email_address_whatever_the_ip_or_letter_case(client, db):
    assert Client(REMOTE_ADDR="203.0.113.1").post(CONTACT, VALID).status_code == 302
    assert (
        Client(REMOTE_ADDR="203.0.113.2")
        .post(CONTACT, {**VALID, "email": "Hanako@Example.JP"})
        .status_code
        == 302
    )
    refused = Client(REMOTE_ADDR="203.0.113.3").post(CONTACT, VALID)
    assert refused.status_code == 429
    assert "このメールアドレスから短時間に多くのお問い合わせ" in refused.content.decode()
    assert Inquiry.objects.count() == 2
    assert send(client, email="someone-else@example.jp").status_code == 302


@override_settings(KAIKA_INQUIRY_RATE_LIMITS={"ip": (1, 600), "email": (100, 3600)})
def test_invalid_posts_do_not_use_up_the_limit(client, db):
    for _ in range(3):
        assert send(client, category="").status_code == 200
    assert send(client).status_code == 302


def test_footer_links_to_the_contact_page_on_every_page(client, db):
    assert f'href="{CONTACT}"' in client.get(reverse("home")).content.decode()
    assert 'href="/en/contact/"' in client.get("/en/").content.decode()
