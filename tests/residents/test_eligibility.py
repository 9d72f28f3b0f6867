"""Who may back a project is one rule (residents.services.eligibility_check): a first-come
order, on the 9:00 path (PostgreSQL) and the Python one, and a lottery application refuse the
same supporters with the same sentence, and take the same ones."""

import pytest
from django.utils import timezone

from lottery.services import LotteryError
from projects.models import Project
from purchases import services as purchases_services
from purchases.services import PurchaseError
from residents import services as residents_services
from residents.services import EligibilityError, resident_code_redeem
from tests.conftest import make_user
from tests.lottery.helpers import apply, make_lottery_offer
from tests.projects.factories import make_project
from tests.purchases.helpers import buy, make_offer
from tests.residents.helpers import import_codes, new_code

pytestmark = pytest.mark.django_db

REFUSED = EligibilityError("residents_only").message


def enter(user, project) -> object:
    code = new_code()
    import_codes(project, code)
    return resident_code_redeem(
        supporter=user, typed=code, client_ip="192.0.2.1", now=timezone.now()
    )


def no_code(user, project):
    pass


def own_code(user, project):
    enter(user, project)


def another_projects_code(user, project):
    enter(user, make_project(residents_only=True))


def revoked_code(user, project):
    code = enter(user, project)
    code.revoked_at = timezone.now()
    code.save()


def open_to_all(user, project):
    Project.objects.filter(pk=project.pk).update(residents_only=False)


def outcomes(case, monkeypatch) -> dict[str, str]:
    """Each path's answer for a new supporter in `case`: "taken", or the sentence refused."""
    first_come, lottery = make_offer(residents_only=True), make_lottery_offer(residents_only=True)
    answers = {}
    for path in ("database", "python", "lottery"):
        supporter = make_user()
        offer = lottery if path == "lottery" else first_come
        case(supporter, offer.project)
        offer.project.refresh_from_db()
        if path == "python":
            monkeypatch.setattr(
                purchases_services,
                "_order_create_in_database",
                purchases_services._order_create_in_python,
            )
        try:
            if path == "lottery":
                apply(offer, supporter, {offer.standard: 1})
            else:
                buy(offer, supporter)
        except (PurchaseError, LotteryError) as refusal:
            answers[path] = refusal.message
        else:
            answers[path] = "taken"
    return answers


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (no_code, REFUSED),
        (another_projects_code, REFUSED),
        (revoked_code, REFUSED),
        (own_code, "taken"),
        (open_to_all, "taken"),
    ],
)
def test_orders_and_lottery_applications_refuse_the_same_supporters_with_one_sentence(
    case, expected, monkeypatch
):
    assert outcomes(case, monkeypatch) == dict.fromkeys(("database", "python", "lottery"), expected)


def test_negative_control_without_the_rule_every_path_takes_the_outsider(monkeypatch):
    # Proves the refusals above come from the one rule: switched off there, no path refuses.
    monkeypatch.setattr(
        residents_services, "projects_closed_to", lambda supporter: Project.objects.none()
    )
    assert outcomes(no_code, monkeypatch) == dict.fromkeys(
        ("database", "python", "lottery"), "taken"
    )
