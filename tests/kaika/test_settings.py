import os
import subprocess
import sys
from pathlib import Path

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
