"""A supporter sees their own inquiries and the office's replies, and nobody else's."""

import secrets

import pytest
from django.test import Client
from django.utils import timezone

from inquiries.models import Category
from inquiries.services import inquiry_create, inquiry_note_add, inquiry_reply
from tests.conftest import make_user
from tests.kaika.test_private_by_default import assert_private

LIST = "/mypage/inquiries/"


def make_inquiry(user=None, *, email="hanako@example.jp", subject="チケットについて", **extra):
    fields = {
        "name": "山田 花子",
        "email": email,
        "category": Category.TICKETS,
        "subject": subject,
        "body": "チケットが届きません。",
        "user": user,
        "client_ip": "192.0.2.1",
        "idempotency_key": secrets.token_urlsafe(24),
        "now": timezone.now(),
        **extra,
    }
    return inquiry_create(**fields)


def detail_url(inquiry) -> str:
    return f"/mypage/inquiries/{inquiry.reference}/"


@pytest.fixture
def two_supporters(db):
    alice = make_user(email="alice@example.jp")
    bob = make_user(email="bob@example.jp")
    return alice, bob


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_supporter_sees_their_inquiries_and_replies_but_never_internal_notes(db, two_supporters):
    alice, _ = two_supporters
    staff = make_user(email="office@example.jp", is_staff=True)
    inquiry = make_inquiry(alice, email=alice.email, subject="アリスの質問")
    inquiry_reply(inquiry=inquiry, author=staff, body="再送いたしました。", now=timezone.now())
    inquiry_note_add(
        inquiry=inquiry, author=staff, body="内部メモ: 決済会社に確認済み", now=timezone.now()
    )
    client = logged_in(alice)

    listing = client.get(LIST)
    assert listing.status_code == 200
    assert "アリスの質問" in listing.content.decode()
    assert detail_url(inquiry) in listing.content.decode()

    detail = client.get(detail_url(inquiry))
    assert detail.status_code == 200
    page = detail.content.decode()
    assert "チケットが届きません。" in page
    assert "再送いたしました。" in page
    assert "回答済み" in page
    assert "決済会社に確認済み" not in page
    # Staff names stay inside the office.
    assert staff.email not in page


def test_one_supporter_cannot_read_another_supporters_inquiry(db, two_supporters):
    alice, bob = two_supporters
    inquiry = make_inquiry(alice, email=alice.email, subject="アリスの質問")
    bob_client = logged_in(bob)

    assert bob_client.get(detail_url(inquiry)).status_code == 404
    assert "アリスの質問" not in bob_client.get(LIST).content.decode()
    # Negative control: the same URL works for its owner, so the 404 above is about ownership.
    assert logged_in(alice).get(detail_url(inquiry)).status_code == 200


def test_staff_cannot_read_a_supporters_inquiry_through_my_page(db, two_supporters):
    alice, _ = two_supporters
    inquiry = make_inquiry(alice, email=alice.email)
    staff = make_user(email="office@example.jp", is_staff=True, is_superuser=True)
    assert logged_in(staff).get(detail_url(inquiry)).status_code == 404


def test_inquiry_sent_anonymously_with_a_members_address_is_not_on_their_page(db, two_supporters):
    # Anyone can type alice's address; that does not make it alice's inquiry.
    alice, _ = two_supporters
    inquiry = make_inquiry(None, email=alice.email, subject="誰かが送った")
    client = logged_in(alice)
    assert "誰かが送った" not in client.get(LIST).content.decode()
    assert client.get(detail_url(inquiry)).status_code == 404


def test_anonymous_visitors_are_sent_to_login(db, two_supporters):
    inquiry = make_inquiry(two_supporters[0])
    for url in (LIST, detail_url(inquiry)):
        response = Client().get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_unknown_or_malformed_references_are_not_found(db, two_supporters):
    client = logged_in(two_supporters[0])
    for url in (
        "/mypage/inquiries/Q-AAAAAAAA/",
        "/mypage/inquiries/q-aaaaaaaa/",
        "/mypage/inquiries/1/",
        "/mypage/inquiries/Q-AAAAAAAA/x.css",
    ):
        assert client.get(url).status_code == 404, url


def test_my_inquiry_pages_are_never_cached(db, two_supporters):
    alice, _ = two_supporters
    inquiry = make_inquiry(alice, email=alice.email)
    client = logged_in(alice)
    assert_private(client.get(LIST), "inquiry list")
    assert_private(client.get(detail_url(inquiry)), "inquiry detail")


def test_my_page_links_to_the_inquiry_history(db, two_supporters):
    page = logged_in(two_supporters[0]).get("/mypage/").content.decode()
    assert f'href="{LIST}"' in page
