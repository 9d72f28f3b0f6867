"""Staff handle inquiries in Django admin: filters, search, notes and replies by email."""

import re

from django.utils import timezone

from inquiries.models import Category, Inquiry, InquiryNote, InquiryReply, Status
from inquiries.services import inquiry_reply
from tests.conftest import make_user
from tests.inquiries.test_mypage import make_inquiry


def change_url(inquiry) -> str:
    return f"/admin/inquiries/inquiry/{inquiry.pk}/change/"


def change_form_data(inquiry, *, reply="", note="", **fields) -> dict:
    """What the admin change form posts: the editable fields and both inline formsets."""
    data = {
        "status": inquiry.status,
        "assignee": inquiry.assignee_id or "",
        "category": inquiry.category,
        "_save": "保存",
        **fields,
    }
    for prefix, body, existing in (
        ("replies", reply, list(inquiry.replies.all())),
        ("notes", note, list(inquiry.notes.all())),
    ):
        data |= {
            f"{prefix}-TOTAL_FORMS": str(len(existing) + 1),
            f"{prefix}-INITIAL_FORMS": str(len(existing)),
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
        for i, row in enumerate(existing):
            data |= {f"{prefix}-{i}-id": str(row.pk), f"{prefix}-{i}-inquiry": str(inquiry.pk)}
        new = len(existing)
        data |= {
            f"{prefix}-{new}-id": "",
            f"{prefix}-{new}-inquiry": str(inquiry.pk),
            f"{prefix}-{new}-body": body,
        }
    return data


def test_staff_reply_from_admin_is_emailed_and_kept_with_who_and_when(
    staff_client, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    inquiry = make_inquiry(None, email="hanako@example.jp")
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            change_url(inquiry), change_form_data(inquiry, reply="チケットを再送しました。")
        )

    assert response.status_code == 302, response.content.decode()[:2000]
    reply = InquiryReply.objects.get()
    assert (reply.inquiry, reply.author, reply.sent_to) == (
        inquiry,
        staff_user,
        "hanako@example.jp",
    )
    assert reply.body == "チケットを再送しました。"
    assert (timezone.now() - reply.created_at).total_seconds() < 60
    inquiry.refresh_from_db()
    assert inquiry.status == Status.ANSWERED

    (email,) = mailoutbox
    assert email.to == ["hanako@example.jp"]
    assert inquiry.reference in email.subject
    assert "チケットを再送しました。" in email.body

    # The reply stays on the inquiry's page, read-only, with who sent it.
    page = staff_client.get(change_url(inquiry)).content.decode()
    assert "チケットを再送しました。" in page
    assert staff_user.email in page
    assert 'name="replies-0-body"' not in page


def test_saving_without_a_reply_sends_nothing(staff_client, mailoutbox):
    inquiry = make_inquiry(None)
    mailoutbox.clear()
    response = staff_client.post(
        change_url(inquiry), change_form_data(inquiry, status=Status.IN_PROGRESS)
    )
    assert response.status_code == 302
    assert InquiryReply.objects.count() == 0
    assert mailoutbox == []
    inquiry.refresh_from_db()
    assert inquiry.status == Status.IN_PROGRESS


def test_a_sent_reply_cannot_be_changed_from_admin(
    staff_client, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    inquiry = make_inquiry(None)
    inquiry_reply(inquiry=inquiry, author=staff_user, body="元の回答", now=timezone.now())
    data = change_form_data(inquiry)
    data["replies-0-body"] = "書き換えた回答"
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(change_url(inquiry), data)
    assert InquiryReply.objects.get().body == "元の回答"


def test_internal_note_is_recorded_with_its_author_and_never_emailed(
    staff_client, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    inquiry = make_inquiry(None)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            change_url(inquiry), change_form_data(inquiry, note="決済会社に確認中")
        )
    assert response.status_code == 302
    note = InquiryNote.objects.get()
    assert (note.inquiry, note.author, note.body) == (inquiry, staff_user, "決済会社に確認中")
    assert mailoutbox == []


def test_assignee_can_only_be_a_staff_user(staff_client):
    inquiry = make_inquiry(None)
    supporter = make_user(email="supporter@example.jp")
    response = staff_client.post(
        change_url(inquiry), change_form_data(inquiry, assignee=supporter.pk)
    )
    assert response.status_code == 200  # the form is shown again with an error
    inquiry.refresh_from_db()
    assert inquiry.assignee is None


def references_listed(response) -> set[str]:
    return set(re.findall(r"Q-[A-Z2-7]{8}", response.content.decode()))


def test_change_list_filters_by_status_category_and_assignee_and_searches(staff_client, staff_user):
    colleague = make_user(email="colleague@example.jp", is_staff=True)
    make_user(email="not-staff@example.jp")
    ticket = make_inquiry(None, category=Category.TICKETS, subject="チケット")
    shop = make_inquiry(None, category=Category.SHOPS, subject="店舗", email="shop@example.jp")
    Inquiry.objects.filter(pk=shop.pk).update(status=Status.IN_PROGRESS, assignee=colleague)

    url = "/admin/inquiries/inquiry/"
    assert references_listed(staff_client.get(url)) == {ticket.reference, shop.reference}
    assert references_listed(staff_client.get(url, {"status__exact": "new"})) == {ticket.reference}
    assert references_listed(staff_client.get(url, {"category__exact": "shops"})) == {
        shop.reference
    }
    assert references_listed(staff_client.get(url, {"assignee__id__exact": colleague.pk})) == {
        shop.reference
    }
    assert references_listed(staff_client.get(url, {"q": "shop@example.jp"})) == {shop.reference}
    assert references_listed(staff_client.get(url, {"q": ticket.reference})) == {ticket.reference}

    # The assignee filter offers staff users only.
    page = staff_client.get(url).content.decode()
    assert "colleague@example.jp" in page
    assert "not-staff@example.jp" not in page


def test_inquiries_cannot_be_added_from_admin(staff_client):
    assert staff_client.get("/admin/inquiries/inquiry/add/").status_code == 403
