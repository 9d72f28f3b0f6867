import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(args, **env):
    # What the test settings and conftests put into this process's environment (Playwright's
    # fixture sets DJANGO_ALLOW_ASYNC_UNSAFE) is not production.
    local = {"SECRET_KEY", "DEBUG", "HTTPS", "MAIL_BACKEND"}
    clean = {k: v for k, v in os.environ.items() if k not in local and not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "kaika.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = run(["manage.py", "check"])
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_pass_the_deploy_check_without_warnings():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        SECRET_KEY="x" * 20 + "-a-long-and-random-enough-production-secret-key-0123456789",
        ALLOWED_HOSTS="kaika.example.jp",
        SMTP_HOST="smtp.example.jp",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_the_embedded_default_is_sqlite_and_local_memory():
    result = run(
        [
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'])",
        ],
        DEBUG="true",
        DATABASE_URL="",
        REDIS_URL="",
    )
    assert result.returncode == 0, result.stderr
    assert "sqlite3" in result.stdout and "LocMemCache" in result.stdout


def test_production_cookies_are_secure_httponly_and_lax():
    result = run(
        [
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, "
            "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS >= 31536000, s.SECURE_SSL_REDIRECT)",
        ],
        SECRET_KEY="x" * 60,
        ALLOWED_HOSTS="kaika.example.jp",
        SMTP_HOST="smtp.example.jp",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "Lax", "True", "True", "True"]


def test_production_refuses_to_start_without_naming_the_payment_gateway():
    # The sandbox accepts test cards: in production that would mean free tickets.
    result = run(
        ["manage.py", "check"],
        SECRET_KEY="x" * 60,
        ALLOWED_HOSTS="kaika.example.jp",
        SMTP_HOST="smtp.example.jp",
        PAYMENT_GATEWAY="",
    )
    assert result.returncode != 0
    assert "Set PAYMENT_GATEWAY" in result.stderr


STRIPE = {
    "SECRET_KEY": "x" * 20 + "-a-long-and-random-enough-production-secret-key-0123456789",
    "ALLOWED_HOSTS": "kaika.example.jp",
    "SMTP_HOST": "smtp.example.jp",
    "PAYMENT_GATEWAY": "purchases.payments.StripeGateway",
    "STRIPE_SECRET_KEY": "sk_live_" + "a" * 24,
    "STRIPE_WEBHOOK_SECRET": "whsec_" + "b" * 32,
    # A site that takes real money names its seller (tests/kaika/test_legal_settings.py).
    "OFFICE_NAME": "山口市プレミアム商品券事務局",
    "OFFICE_REPRESENTATIVE": "事務局長 山口 花子",
    "OFFICE_ADDRESS": "〒753-8650 山口県山口市亀山町2-1",
    "OFFICE_PHONE": "083-000-0000",
    "OFFICE_EMAIL": "office@kaika.example.jp",
    "OFFICE_HOURS": "平日 9:00〜17:00",
}


@pytest.mark.parametrize(
    ("missing", "value"),
    [
        ("STRIPE_SECRET_KEY", ""),
        ("STRIPE_SECRET_KEY", "pk_live_" + "a" * 24),  # the publishable key, by mistake
        ("STRIPE_WEBHOOK_SECRET", ""),
    ],
)
def test_the_stripe_gateway_refuses_to_start_without_its_keys(missing, value):
    result = run(["manage.py", "check"], **{**STRIPE, missing: value})
    assert result.returncode != 0
    assert f"needs {missing}" in result.stderr


def test_the_stripe_gateway_passes_the_deploy_check_and_lets_forms_go_to_checkout():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **STRIPE)
    assert result.returncode == 0, result.stderr
    result = run(
        [
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.SECURE_CSP['form-action'][-1], s.STRIPE_API_BASE)",
        ],
        **STRIPE,
    )
    assert result.stdout.split() == ["https://checkout.stripe.com", "https://api.stripe.com"]


def test_the_deploy_check_refuses_a_stripe_api_reached_without_tls():
    result = run(
        ["manage.py", "check", "--deploy"], **STRIPE, STRIPE_API_BASE="http://stripe.example"
    )
    assert result.returncode != 0
    assert "purchases.E002" in result.stderr
