import pytest

from tests.projects.factories import make_project, make_round, make_shop
from tests.purchases.helpers import make_offer


@pytest.fixture
def offer(db):
    return make_offer()


@pytest.fixture
def live_offer(db):
    """A round open right now (the views use the real clock)."""
    project = make_project()
    round_ = make_round(project, number=1)
    shop = make_shop(project)
    return {"project": project, "round": round_, "shop": shop, "listing": shop.listings.get()}
