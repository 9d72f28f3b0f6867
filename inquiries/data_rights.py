from inquiries.models import Inquiry
from kaika.data_rights import iso


def export(user) -> dict:
    inquiries = Inquiry.objects.filter(user=user).prefetch_related("replies").order_by("pk")
    return {
        "inquiries": [
            {
                "reference": i.reference,
                "created_at": iso(i.created_at),
                "name": i.name,
                "email": i.email,
                "category": i.category,
                "subject": i.subject,
                "body": i.body,
                "status": i.status,
                "replies": [
                    {"sent_at": iso(r.created_at), "body": r.body} for r in i.replies.all()
                ],
            }
            for i in inquiries
        ]
    }


def erase(user) -> None:
    # The contact history is theirs alone: erased with them.
    Inquiry.objects.filter(user=user).delete()
