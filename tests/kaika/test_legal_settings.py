"""The seller's details (特定商取引法) and the invoice registration number come from settings: a
site that takes real money refuses to start without the seller; a demo shows marked values."""

import pytest

from tests.kaika.test_settings import STRIPE, run

OFFICE = ["OFFICE_NAME", "OFFICE_REPRESENTATIVE", "OFFICE_ADDRESS", "OFFICE_PHONE", "OFFICE_EMAIL"]
SHOW = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(repr(s.KAIKA_INVOICE_REGISTRATION_NUMBER), s.KAIKA_OFFICE_IS_DEMO, "
    "s.KAIKA_OFFICE['name'])"
)


@pytest.mark.parametrize("missing", [*OFFICE, "OFFICE_HOURS"])
def test_a_site_taking_real_payments_refuses_to_start_without_its_seller(missing):
    result = run(["manage.py", "check"], **{**STRIPE, missing: ""})
    assert result.returncode != 0
    assert f"Set {missing}" in result.stderr and "seller" in result.stderr


def test_a_site_taking_real_payments_shows_the_seller_it_was_given():
    result = run(["-c", SHOW], **STRIPE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["''", "False", "山口市プレミアム商品券事務局"]


def test_the_sandbox_in_production_shows_demo_values_marked_as_such():
    # `make serve` and the benchmark: DEBUG off, but no money taken.
    result = run(
        ["-c", SHOW],
        SECRET_KEY="x" * 60,
        ALLOWED_HOSTS="kaika.example.jp",
        SMTP_HOST="smtp.example.jp",
        PAYMENT_GATEWAY="purchases.payments.SandboxGateway",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["''", "True"]


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("T1234567890123", "T1234567890123"),
        ("t-1234-5678-9012-3", "T1234567890123"),  # as printed on the office's notice
        ("Ｔ１２３４５６７８９０１２３", "T1234567890123"),  # full width
    ],
)
def test_the_invoice_registration_number_is_stored_in_its_one_form(given, stored):
    result = run(["-c", SHOW], **STRIPE, INVOICE_REGISTRATION_NUMBER=given)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == repr(stored)


@pytest.mark.parametrize("given", ["1234567890123", "T123456789012", "T12345678901234", "TX"])
def test_a_malformed_invoice_registration_number_stops_the_site(given):
    result = run(["manage.py", "check"], **STRIPE, INVOICE_REGISTRATION_NUMBER=given)
    assert result.returncode != 0
    assert "INVOICE_REGISTRATION_NUMBER must be T followed by 13 digits" in result.stderr
