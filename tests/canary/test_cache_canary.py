"""The canary through the project's nginx (must pass) and a KAIKA-style nginx (must fail)."""

import io

import pytest
from django.core.management import CommandError, call_command

from canary.services import CanaryError, port_of
from supporters.models import User
from tests.front.stack import fronts


def test_the_canary_only_talks_to_a_front_on_this_host():
    assert port_of("http://127.0.0.1:8080/") == 8080
    with pytest.raises(CanaryError):
        port_of("https://kaika.example.jp/")


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.nginx
@pytest.mark.django_db(transaction=True)
def test_the_canary_passes_the_projects_nginx_and_fails_the_2021_one(tmp_path):
    with fronts(tmp_path) as stack:
        good_port, bad_port = stack.port, stack.kaika_2021_port
        out = io.StringIO()
        call_command("cache_canary", "--base-url", f"http://127.0.0.1:{good_port}", stdout=out)
        assert "PASS" in out.getvalue()
        assert "Public pages are served from the shared cache." in out.getvalue()
        with pytest.raises(CommandError, match="FAIL") as failure:
            call_command("cache_canary", "--base-url", f"http://127.0.0.1:{bad_port}")
    message = str(failure.value)
    # Failed for the 2021 reasons, named in the report. (That front caches even the login
    # POST, so no canary gets a session through it, foreign or not.)
    for kind in ("foreign data", "from cache"):
        assert f"'{kind}'" in message, message
    # Between runs no canary can sign in, and what their signups created is gone.
    canaries = User.objects.filter(email__startswith="leak")
    assert canaries.count() == 10
    assert not any(user.has_usable_password() for user in canaries)
