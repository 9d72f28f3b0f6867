from django.utils import timezone

from kaika.data_rights import iso
from lottery.models import Application


def export(user) -> dict:
    applications = (
        Application.objects.filter(supporter=user)
        .select_related("lottery__round__project")
        .prefetch_related("lines__listing__shop")
    )
    return {
        "lottery_applications": [
            {
                "round": str(a.lottery.round),
                "public_id": a.public_id,
                "created_at": iso(a.created_at),
                "updated_at": iso(a.updated_at),
                "lines": [
                    {
                        "shop": line.listing.shop.name,
                        "listing": line.listing.title,
                        "units": line.units,
                    }
                    for line in a.lines.all()
                ],
            }
            for a in applications
        ]
    }


def erase(user) -> None:
    # An application still in its window goes with the person (nobody to win it for). Once
    # the window has closed it stays, under its pseudonymous id only: it is part of the
    # published list that makes the draw verifiable (its orders are purchases', kept too).
    Application.objects.filter(
        supporter=user, lottery__round__closes_at__gt=timezone.now()
    ).delete()
