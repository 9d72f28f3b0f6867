import pytest

from tests.purchases.helpers import make_offer


@pytest.fixture
def offer(db):
    return make_offer()
