import io

from django.core.management import call_command
from django.utils import timezone

from projects.demo import seed_catalog
from projects.models import Category, Listing, Municipality, Project, Round, Shop, ShopStatus
from supporters.models import User


def test_seed_demo_builds_a_catalog_like_the_real_programme_and_is_idempotent(
    db, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=io.StringIO())
        first = (Shop.objects.count(), Listing.objects.count(), Round.objects.count())
        call_command("seed_demo", stdout=io.StringIO())
    assert (Shop.objects.count(), Listing.objects.count(), Round.objects.count()) == first

    project = Project.objects.get()
    assert project.total_budget == 2_000_000_000 and project.unit_price == 1000
    assert project.premium_rate == 50
    now = timezone.now()
    assert [r.number for r in project.rounds.all()] == [1, 2, 3, 4]
    assert list(Round.objects.open_at(now).values_list("number", flat=True)) == [2]
    assert timezone.localtime(Round.objects.open_at(now).get().opens_at).hour == 9  # JST

    listed = Shop.objects.listed()
    assert listed.count() >= 60
    assert Shop.objects.filter(status=ShopStatus.APPLIED).exists()  # something to review
    assert set(listed.values_list("category", flat=True)) == set(Category) - {Category.OTHER}
    assert len(set(listed.values_list("municipality", flat=True))) >= 10
    assert set(listed.values_list("municipality", flat=True)) <= set(Municipality)
    assert all(shop.photo and shop.photo.storage.exists(shop.photo.name) for shop in listed)
    assert not Listing.objects.filter(is_standard=True).exclude(shop__in=listed).exists()
    assert listed.filter(listings__is_standard=True).count() == listed.count()

    operator = User.objects.get(email="shop@example.jp")
    operated = Shop.objects.operated_by(operator).get()
    assert operated.status == ShopStatus.APPROVED and operated.applicant == operator
    limited = operated.listings.get(is_standard=False)
    assert limited.stock_limit == 50
    assert operated.rounds.filter(number=2).exists()
    # Seeding is quiet: no approval emails to anyone (only the demo supporter's payment
    # confirmations, sent the normal way: tests/purchases/test_seed_demo.py).
    assert {tuple(m.to) for m in mailoutbox} == {("supporter@example.jp",)}


def test_seed_catalog_can_be_called_without_an_operator(db):
    out = io.StringIO()
    seed_catalog(now=timezone.now(), stdout=out)
    assert "1 open now" in out.getvalue()
