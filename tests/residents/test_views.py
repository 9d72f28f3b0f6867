"""My page's code entry: what a supporter sees for each outcome, never cached."""

import pytest
from django.urls import reverse

from residents.models import ResidentCode
from tests.conftest import make_user
from tests.projects.factories import make_project
from tests.residents.helpers import import_codes

pytestmark = pytest.mark.django_db
URL = "/mypage/resident-code/"


def test_the_code_page_lives_under_my_page_and_is_never_cached(user_client):
    assert reverse("residents:code_enter") == URL
    page = user_client.get(URL)
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    assert "まだ登録していません" in page.content.decode()


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_my_page_links_to_the_code_page(user_client):
    assert URL in user_client.get(reverse("supporters:mypage")).content.decode()


def test_entering_a_code_says_so_and_lists_it(user_client, user):
    project = make_project(residents_only=True, name="中央区プロジェクト")
    import_codes(project, "QQQQ-1111")
    response = user_client.post(URL, {"code": "ｑｑｑｑ－１１１１"}, follow=True)
    body = response.content.decode()
    assert "参加コードを登録しました。「中央区プロジェクト」にお申し込みいただけます。" in body
    assert "末尾 111" in body
    assert ResidentCode.objects.get().used_by == user


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("", "参加コードを入力してください。"),
        ("12", "8〜32文字"),
        ("ZZZZ-0000", "この参加コードは見つかりません。"),
        ("RRRR-1111", "この参加コードは、すでに登録されています。"),
        ("x" * 65, "参加コードが長すぎます。"),
        ("RRRR\x1b-2222", "制御文字"),
    ],
)
def test_each_refusal_is_shown_on_the_field_and_nothing_is_saved(user_client, typed, expected):
    project = make_project(residents_only=True)
    import_codes(project, "RRRR-1111", "RRRR-2222")
    ResidentCode.objects.filter(hint="111").update(
        used_by=make_user(email="neighbour@example.jp"), used_at="2031-08-31T09:00:00+09:00"
    )
    response = user_client.post(URL, {"code": typed})
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors.get("code", []))
    assert expected in errors, errors
    assert "neighbour" not in response.content.decode()
    assert ResidentCode.objects.filter(used_by__email="neighbour@example.jp").count() == 1
    assert not ResidentCode.objects.filter(hint="222", used_by__isnull=False).exists()


def test_too_many_tries_answer_429_with_a_sentence(user_client, settings):
    settings.KAIKA_RESIDENT_CODE_RATE_LIMITS = {"account": (2, 3600), "ip": (100, 3600)}
    for _ in range(2):
        assert user_client.post(URL, {"code": "SSSS-0000"}).status_code == 200
    response = user_client.post(URL, {"code": "SSSS-0000"})
    assert response.status_code == 429
    assert "しばらく時間をおいてから" in response.content.decode()


def test_the_rate_limit_counts_the_address_behind_the_trusted_proxy(client, settings):
    settings.KAIKA_RESIDENT_CODE_RATE_LIMITS = {"account": (100, 3600), "ip": (2, 3600)}
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1

    def post(forwarded):
        client.force_login(make_user())
        return client.post(URL, {"code": "TTTT-0000"}, HTTP_X_FORWARDED_FOR=forwarded)

    # What a client writes in front of the real address is not trusted: one address here.
    assert post("203.0.113.1, 198.51.100.1").status_code == 200
    assert post("203.0.113.2, 198.51.100.1").status_code == 200
    assert post("203.0.113.3, 198.51.100.1").status_code == 429
    assert post("198.51.100.2").status_code == 200


def test_a_next_address_elsewhere_is_ignored(user_client):
    project = make_project(residents_only=True)
    import_codes(project, "UUUU-1111")
    response = user_client.post(URL, {"code": "UUUU1111", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == URL
