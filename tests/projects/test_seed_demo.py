import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.test import override_settings

from projects.management.commands.seed_demo import DEMO_PASSWORD
from supporters.models import User

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_accounts_can_log_in(client):
    call_command("seed_demo")
    call_command("seed_demo")
    assert (
        User.objects.filter(
            email__in=["staff@example.jp", "shop@example.jp", "supporter@example.jp"]
        ).count()
        == 3
    )
    assert EmailAddress.objects.filter(verified=True, email="supporter@example.jp").count() == 1
    response = client.post(
        "/accounts/login/", {"login": "supporter@example.jp", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/mypage/"
    assert User.objects.get(email="staff@example.jp").is_staff


@override_settings(KAIKA_ALLOW_DEMO_DATA=False)
def test_seed_demo_refuses_to_run_where_demo_data_is_off():
    with pytest.raises(CommandError):
        call_command("seed_demo")
    assert not User.objects.exists()
