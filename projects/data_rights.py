from projects.models import Shop


def export(user) -> dict:
    shops = Shop.objects.operated_by(user)
    return {"shops_operated": [{"name": s.name, "status": s.status} for s in shops]}


def erase(user) -> None:
    # Shops stay listed (they are businesses, not this person); the person is taken off them.
    user.operated_shops.clear()
    Shop.objects.filter(applicant=user).update(applicant=None)
