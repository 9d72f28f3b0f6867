"""Every form, fed what people and bots really send: random Unicode, control characters, NUL
bytes, very long strings, wrong types, missing and duplicated fields. Never a 5xx, and nothing
stored with characters the validators refuse."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inquiries.models import Inquiry
from projects.models import Listing, Shop
from settlements.kana import ZENGIN_CHARACTERS
from settlements.models import PayeeAccount
from supporters.models import User
from tests.conftest import make_user
from tests.projects.factories import make_project, make_round, make_shop
from tests.url_catalogue import LISTING_POST, PAYEE_POST, PROFILE_POST, SHOP_APPLICATION_POST

pytestmark = pytest.mark.django_db

CONTACT_POST = {
    "name": "山田 花子",
    "email": "fuzz@example.jp",
    "category": "other",
    "subject": "件名",
    "body": "本文",
    "website": "",
}
SIGNUP_POST = {
    "email": "fuzz-signup@example.jp",
    "password1": "fuzzing-password-2026",
    "password2": "fuzzing-password-2026",
    **PROFILE_POST,
    "terms_agreed": "on",
}
RESIDENT_CODE_POST = {"code": "ABCD-1234-EF"}
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

control_text = st.text(
    alphabet=st.one_of(st.characters(categories=["Cc"]), st.sampled_from("山田ｶﾅ1- ")),
    min_size=1,
    max_size=20,
).filter(lambda s: CONTROL.search(s))
nasty_text = st.one_of(
    st.text(max_size=60),  # any Unicode, control characters and NUL included
    control_text,
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=30).map(lambda s: s * 400),
    st.sampled_from(
        ["\x00", "山田\x00", "\x1b[31m", "-1", "0", "1e309", "NaN", "9" * 40, " ", "<script>"]
    ),
)


@st.composite
def mutated(draw, valid: dict):
    data = {key: [value] for key, value in valid.items()}
    for key in draw(st.lists(st.sampled_from(sorted(valid)), unique=True)):
        action = draw(st.sampled_from(["replace", "drop", "duplicate"]))
        if action == "replace":
            data[key] = [draw(nasty_text)]
        elif action == "drop":
            del data[key]
        else:
            data[key] = [draw(nasty_text), draw(nasty_text)]
    return data


FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def post(client: Client, url: str, data: dict):
    response = client.post(url, data)
    assert response.status_code < 500, (url, data)
    return response


def assert_no_control_characters(rows, fields):
    for row in rows:
        for field in fields:
            value = getattr(row, field) or ""
            assert not CONTROL.search(str(value)), (row, field, value)


@pytest.fixture
def operator_setup(db):
    user = make_user(email="fuzz-operator@example.jp")
    project = make_project()
    make_round(project, number=1)
    shop = make_shop(project, operators=[user])
    client = Client()
    client.force_login(user)
    return user, shop, client


@FUZZ
@given(data=mutated(SIGNUP_POST))
def test_signup_survives_any_input(data):
    post(Client(), reverse("account_signup"), data)
    assert_no_control_characters(User.objects.all(), ("family_name", "given_name", "city", "phone"))


@FUZZ
@given(data=mutated(PROFILE_POST))
def test_profile_edit_survives_any_input(operator_setup, data):
    user, _, client = operator_setup
    post(client, reverse("supporters:profile_edit"), data)
    user.refresh_from_db()
    assert_no_control_characters([user], PROFILE_POST.keys() - {"birth_date"})
    assert user.has_complete_profile  # an invalid post never half-saves a profile


@FUZZ
@given(data=mutated(CONTACT_POST))
def test_contact_form_survives_any_input(data):
    post(Client(), reverse("inquiries:contact"), data)
    assert_no_control_characters(Inquiry.objects.all(), ("name", "subject", "email"))


@FUZZ
@given(data=mutated(SHOP_APPLICATION_POST))
def test_shop_application_survives_any_input(operator_setup, data):
    _, _, client = operator_setup
    post(client, reverse("projects:shop_apply"), data)
    assert_no_control_characters(Shop.objects.all(), ("name", "name_kana", "address", "phone"))


@FUZZ
@given(data=mutated(LISTING_POST))
def test_listing_form_survives_any_input(operator_setup, data):
    _, shop, client = operator_setup
    post(client, reverse("projects:manage_listing_create", args=[shop.pk]), data)
    assert_no_control_characters(Listing.objects.all(), ("title",))


@FUZZ
@given(data=mutated(PAYEE_POST))
def test_payee_account_form_survives_any_input(operator_setup, data):
    _, shop, client = operator_setup
    post(client, reverse("settlements:payee_edit", args=[shop.pk]), data)
    for account in PayeeAccount.objects.all():
        assert re.fullmatch(r"[0-9]{7}", account.account_number), account.account_number
        assert set(account.holder_name) <= ZENGIN_CHARACTERS, account.holder_name
        assert 0 < len(account.holder_name) <= 30


FORMS = {
    "signup": (lambda s: reverse("account_signup"), SIGNUP_POST, False),
    "profile": (lambda s: reverse("supporters:profile_edit"), PROFILE_POST, True),
    "contact": (lambda s: reverse("inquiries:contact"), CONTACT_POST, False),
    "shop application": (lambda s: reverse("projects:shop_apply"), SHOP_APPLICATION_POST, True),
    "listing": (
        lambda s: reverse("projects:manage_listing_create", args=[s.pk]),
        LISTING_POST,
        True,
    ),
    "payee account": (
        lambda s: reverse("settlements:payee_edit", args=[s.pk]),
        PAYEE_POST,
        True,
    ),
    "resident code": (lambda s: reverse("residents:code_enter"), RESIDENT_CODE_POST, True),
}
TEXT_FIELDS = [
    (form, field)
    for form, (_, valid, _) in FORMS.items()
    for field, value in valid.items()
    if value
    and not value.isdigit()
    and field
    not in {
        "category",
        "municipality",
        "gender",
        "occupation",
        "prefecture",
        "birth_date",
        "premium_applies",
        "is_active",
        "email",
        "password1",
        "password2",
        "terms_agreed",
    }
]


@pytest.mark.parametrize(("form", "field"), TEXT_FIELDS)
@pytest.mark.parametrize("bad", ["\x00", "\x01", "\x1b[2J", "\x7f"])
def test_every_text_field_refuses_control_characters_on_the_field(operator_setup, form, field, bad):
    _, shop, client = operator_setup
    url, valid, logged_in = FORMS[form]
    counts = (
        Shop.objects.count(),
        Listing.objects.count(),
        Inquiry.objects.count(),
        User.objects.count(),
        PayeeAccount.objects.count(),
    )
    browser = client if logged_in else Client()
    response = post(browser, url(shop), {**valid, field: f"正しい{bad}値"})
    assert response.status_code == 200, (form, field, response.status_code)
    assert response.context["form"].errors.get(field), (form, field)
    assert (
        Shop.objects.count(),
        Listing.objects.count(),
        Inquiry.objects.count(),
        User.objects.count(),
        PayeeAccount.objects.count(),
    ) == counts


@pytest.fixture
def purchase_setup(operator_setup):
    """A supporter who can back the operator's shop, and the operator's own browser."""
    _, shop, operator_client = operator_setup
    supporter = make_user(email="fuzz-supporter@example.jp")
    client = Client()
    client.force_login(supporter)
    return supporter, shop, client, operator_client


@FUZZ
@given(data=st.data())
def test_backing_a_shop_survives_any_input(purchase_setup, data):
    from purchases.models import Order

    supporter, shop, client, _ = purchase_setup
    listing = shop.listings.get(is_standard=True)
    valid = {
        "listing": str(listing.pk),
        "round": str(shop.rounds.first().pk),
        "units": "1",
        "idempotency_key": "fuzz-key-000000000001",
    }
    post(client, reverse("purchases:order_confirm"), data.draw(mutated(valid)))
    for order in Order.objects.filter(supporter=supporter):
        assert 1 <= order.units and order.amount == order.units * order.unit_price
        assert order.amount <= shop.project.max_per_application


@FUZZ
@given(data=mutated({"code": "T-" + "2" * 28, "amount": "100"}))
def test_redemption_survives_any_input(purchase_setup, data):
    from purchases.models import TicketUse

    _, shop, _, operator_client = purchase_setup
    post(operator_client, reverse("purchases:manage_redeem", args=[shop.pk]), data)
    assert not TicketUse.objects.exists()  # no such ticket: nothing is ever used


@FUZZ
@given(data=mutated(RESIDENT_CODE_POST))
def test_resident_code_entry_survives_any_input(operator_setup, data):
    from residents.models import ResidentCode
    from tests.residents.helpers import import_codes

    _, shop, client = operator_setup
    if not ResidentCode.objects.exists():
        import_codes(shop.project, "FUZZ-CODE-0001")
    post(client, reverse("residents:code_enter"), data)
    assert not ResidentCode.objects.filter(used_by__isnull=False).exists()


@FUZZ
@given(content=st.one_of(st.binary(max_size=300), nasty_text.map(str.encode)), note=nasty_text)
def test_admin_resident_code_import_survives_any_file(staff_client, content, note):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from residents.models import ResidentCode, ResidentImport

    project = make_project()
    data = {"project": str(project.pk), "file": SimpleUploadedFile("x.csv", content), "note": note}
    post(staff_client, reverse("admin:residents_residentimport_import"), data)
    assert_no_control_characters(ResidentImport.objects.all(), ("file_name", "note"))
    assert_no_control_characters(ResidentCode.objects.all(), ("hint",))
    for batch in ResidentImport.objects.all():
        assert batch.codes.count() == batch.codes_count > 0


@FUZZ
@given(
    reason=nasty_text,
    extra=st.dictionaries(st.sampled_from(["apply", "index", "x"]), nasty_text, max_size=2),
)
def test_admin_round_suspension_survives_any_reason(staff_client, reason, extra):
    from projects.models import Round

    round_ = Round.objects.first() or make_round(make_project(), number=1)
    data = {
        "action": "suspend_rounds",
        "_selected_action": [str(round_.pk)],
        "apply": "1",
        "reason": reason,
        **extra,
    }
    post(staff_client, reverse("admin:projects_round_changelist"), data)
    round_.refresh_from_db()
    assert not CONTROL.search(round_.suspension_reason or "")


@FUZZ
@given(start=nasty_text, end=nasty_text)
def test_admin_exposure_report_survives_any_window(staff_client, start, end):
    response = staff_client.get(
        reverse("admin:ops_exposurelog_report"), {"start": start, "end": end}
    )
    assert response.status_code < 500, (start, end)
