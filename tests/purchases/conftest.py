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


@pytest.fixture(
    autouse=True,
    params=[pytest.param("database", marks=pytest.mark.postgres), "python"],
)
def reservation_path(request, settings):
    """Every purchase test runs on both ways of reserving: on PostgreSQL the one statement
    kaika_order_reserve() (the 9:00 path), and the same rules in Python (what SQLite runs,
    and what the races' negative controls unlock), so the two cannot drift apart."""
    settings.KAIKA_ORDER_RESERVE_IN_DATABASE = request.param == "database"
    return request.param
