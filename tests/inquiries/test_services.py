import re

import pytest
from django.db import transaction
from django.utils import timezone

from inquiries import services
from inquiries.models import Inquiry, Status
from inquiries.services import InquiryError, inquiry_reply
from tests.inquiries.test_mypage import make_inquiry


def test_references_are_random_base32_and_unique():
    references = {services.new_reference() for _ in range(500)}
    assert len(references) == 500
    assert all(re.fullmatch(r"Q-[A-Z2-7]{8}", ref) for ref in references)


def test_a_reference_collision_draws_another_reference(db, monkeypatch):
    first = make_inquiry(None)
    drawn = iter([first.reference, first.reference, "Q-ZZZZ2222"])
    monkeypatch.setattr(services, "new_reference", lambda: next(drawn))
    second = make_inquiry(None)
    assert second.reference == "Q-ZZZZ2222"
    assert Inquiry.objects.count() == 2


def test_reference_exhaustion_is_a_domain_error_with_a_japanese_message(db, monkeypatch):
    first = make_inquiry(None)
    monkeypatch.setattr(services, "new_reference", lambda: first.reference)
    with pytest.raises(InquiryError) as error:
        make_inquiry(None)
    assert error.value.code == "reference_exhausted"
    assert "受付番号を発行できませんでした" in error.value.message
    assert Inquiry.objects.count() == 1


def test_emails_wait_for_the_commit(db, settings, mailoutbox, django_capture_on_commit_callbacks):
    settings.KAIKA_STAFF_EMAILS = ["office@kaika.example.jp"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        inquiry = make_inquiry(None)
    assert mailoutbox == []
    assert len(callbacks) == 2  # confirmation and staff notification
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        inquiry_reply(inquiry=inquiry, author=None, body="回答", now=timezone.now())
    assert mailoutbox == []
    assert len(callbacks) == 1


def test_a_rolled_back_inquiry_sends_nothing(db, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            make_inquiry(None)
            raise RuntimeError("the surrounding work failed")
    assert Inquiry.objects.count() == 0
    assert mailoutbox == []


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (Status.NEW, Status.ANSWERED),
        (Status.IN_PROGRESS, Status.ANSWERED),
        (Status.ANSWERED, Status.ANSWERED),
        (Status.CLOSED, Status.CLOSED),
    ],
)
def test_a_reply_marks_the_inquiry_answered_unless_it_is_closed(
    db, staff_user, mailoutbox, django_capture_on_commit_callbacks, before, after
):
    inquiry = make_inquiry(None)
    Inquiry.objects.filter(pk=inquiry.pk).update(status=before)
    inquiry.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        reply = inquiry_reply(
            inquiry=inquiry, author=staff_user, body="回答です", now=timezone.now()
        )
    inquiry.refresh_from_db()
    assert inquiry.status == after
    assert reply.author == staff_user
    assert mailoutbox[-1].to == [inquiry.email]
