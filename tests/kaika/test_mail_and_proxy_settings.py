"""Production settings refuse to run without a mail server; `make serve` may print emails."""

import os
import subprocess
import sys
from pathlib import Path

from allauth.core.internal.httpkit import get_client_ip

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "kaika.settings",
    "DEBUG": "false",
    "SECRET_KEY": "settings-test-only-" + "k" * 50,
    "ALLOWED_HOSTS": "kaika.example.jp",
}


# What kaika/settings_test.py put into this process's environment is not production.
NOT_INHERITED = {"SMTP_HOST", "MAIL_BACKEND", "DEBUG", "HTTPS", "TASKS_BACKEND"}


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in NOT_INHERITED and not k.startswith(("DJANGO_", "KAIKA_"))
    }
    return subprocess.run(
        [sys.executable, *args],
        env={**base, **PRODUCTION, **env},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_to_start_without_a_mail_server():
    result = run(["-c", "import kaika.settings"])
    assert result.returncode != 0
    assert "Set SMTP_HOST when DEBUG is off" in result.stderr


def test_a_local_run_may_print_emails_but_the_deploy_check_refuses_it():
    for backend, check in (("console", "kaika.E001"), ("file", "mail.E001")):
        result = run(
            ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], MAIL_BACKEND=backend
        )
        assert result.returncode != 0
        assert check in result.stderr


def test_the_deploy_check_is_clean_with_a_mail_server():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], SMTP_HOST="smtp.example.jp"
    )
    assert result.returncode == 0, result.stderr


def test_rate_limits_count_the_client_that_nginx_saw_not_nginx(rf, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    # nginx appends the address it saw; whatever the client claimed before it is ignored.
    request = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7", REMOTE_ADDR="127.0.0.1")
    assert get_client_ip(request) == "198.51.100.7"
