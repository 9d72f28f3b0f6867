import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from supporters.models import User
from tests.conftest import PASSWORD, login_staff, make_user
from tests.kaika.test_private_by_default import assert_private
from tests.url_catalogue import PROFILE_POST

pytestmark = pytest.mark.django_db

SIGNUP = {
    "email": "Hanako.Yamada@Example.jp",
    "password1": "sakura-saku-2026",
    "password2": "sakura-saku-2026",
    # As people type them: full-width digits, half-width kana, hiragana in a kana field.
    "family_name": "山田",
    "given_name": "花子",
    "family_name_kana": "やまだ",
    "given_name_kana": "ﾊﾅｺ",
    "birth_date": "1990-05-17",
    "gender": "female",
    "occupation": "employee",
    "company_name": "",
    "postal_code": "〒７５３－０００１",
    "prefecture": "35",
    "city": "山口市",
    "street_address": "亀山町１－１",
    "building": "",
    "phone": "０９０－１２３４－５６７８",
    "terms_agreed": "on",
}


def confirmation_link(mail) -> str:
    match = re.search(r"https?://[^/\s]+(/[^\s]*confirm-email/[^\s]+/)", mail.body)
    assert match, mail.body
    return match.group(1)


def test_signup_with_japanese_input_verification_and_login(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_signup"), SIGNUP)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == reverse("account_email_verification_sent")
    assert_private(response, "signup POST")

    user = User.objects.get(email__iexact="hanako.yamada@example.jp")
    assert (user.family_name_kana, user.given_name_kana) == ("ヤマダ", "ハナコ")
    assert user.postal_code == "7530001"
    assert user.phone == "09012345678"
    assert user.street_address == "亀山町1-1"
    assert user.has_complete_profile
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert not EmailAddress.objects.get(user=user).verified

    # Mandatory verification: no login until the emailed link is followed.
    assert client.get(reverse("supporters:mypage")).status_code == 302
    assert len(mailoutbox) == 1
    link = confirmation_link(mailoutbox[0])
    page = client.get(link)
    assert page.status_code == 200
    assert_private(page, "confirm email page")
    confirmed = client.post(link)
    assert confirmed.status_code == 302
    assert_private(confirmed, "confirm email POST")
    assert EmailAddress.objects.get(user=user).verified

    mypage = client.get(reverse("supporters:mypage"))
    assert mypage.status_code == 200
    assert_private(mypage, "my page")
    body = mypage.content.decode()
    assert "山田 花子" in body and "ヤマダ ハナコ" in body and "〒753-0001" in body


def test_signup_with_invalid_input_keeps_what_was_typed_and_says_why(client):
    data = {**SIGNUP, "family_name_kana": "山田", "postal_code": "75300", "phone": "12"}
    response = client.post(reverse("account_signup"), data)
    assert response.status_code == 200
    assert_private(response, "invalid signup")
    body = response.content.decode()
    assert "カタカナで入力してください" in body
    assert "郵便番号は7桁" in body
    assert "電話番号は0から始まる" in body
    assert 'value="山口市"' in body and 'value="亀山町１－１"' in body
    # The password is never sent back into the page.
    assert "sakura-saku-2026" not in body
    assert not User.objects.exists()


def test_login_redirects_to_my_page_and_is_private(client):
    user = make_user()
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("supporters:mypage")
    assert_private(response, "login POST")


def test_login_email_is_case_insensitive(client):
    user = make_user(email="case@example.jp")
    response = client.post(
        reverse("account_login"), {"login": "CASE@Example.JP", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == user.pk


def test_failed_login_echoes_the_typed_email_only_in_a_private_response(client):
    make_user(email="real@example.jp")
    response = client.post(
        reverse("account_login"), {"login": "typed-by-me@example.jp", "password": "wrong-password"}
    )
    assert response.status_code == 200
    assert_private(response, "failed login")
    body = response.content.decode()
    assert "typed-by-me@example.jp" in body
    assert "wrong-password" not in body
    assert "メールアドレスまたはパスワードが正しくありません" in body or "正しくありません" in body


def test_unverified_account_cannot_log_in_until_verified(client, mailoutbox):
    user = make_user(verified=False)
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert client.get(reverse("supporters:mypage")).status_code == 302


def test_profile_update_normalises_and_is_private(user_client, user):
    data = {**PROFILE_POST, "family_name": "佐藤", "family_name_kana": "さとう"}
    response = user_client.post(reverse("supporters:profile_edit"), data)
    assert response.status_code == 302
    assert_private(response, "profile update")
    user.refresh_from_db()
    assert (user.family_name, user.family_name_kana) == ("佐藤", "サトウ")
    follow = user_client.get(response["Location"])
    assert "会員情報を更新しました" in follow.content.decode()


def test_profile_update_with_errors_keeps_input_and_changes_nothing(user_client, user):
    data = {**PROFILE_POST, "family_name": "佐藤", "birth_date": "2999-01-01"}
    response = user_client.post(reverse("supporters:profile_edit"), data)
    assert response.status_code == 200
    assert "未来の日付" in response.content.decode()
    assert 'value="佐藤"' in response.content.decode()
    user.refresh_from_db()
    assert user.family_name == "山田"


def test_profile_edit_returns_to_a_safe_next_url_only(user_client):
    ok = user_client.post(reverse("supporters:profile_edit") + "?next=/mypage/", PROFILE_POST)
    assert ok["Location"] == "/mypage/"
    evil = user_client.post(
        reverse("supporters:profile_edit"), {**PROFILE_POST, "next": "https://evil.example/"}
    )
    assert evil["Location"] == reverse("supporters:mypage")


def test_password_change_keeps_the_session_and_rehashes(user_client, user):
    response = user_client.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "new-password-9876",
            "password2": "new-password-9876",
        },
    )
    assert response.status_code == 302
    assert_private(response, "password change")
    user.refresh_from_db()
    assert user.check_password("new-password-9876")


def test_old_pbkdf2_hashes_still_work_and_are_upgraded_to_argon2(client):
    user = make_user()
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save()
    assert (
        client.post(
            reverse("account_login"), {"login": user.email, "password": PASSWORD}
        ).status_code
        == 302
    )
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")


def test_password_reset_sends_a_link_and_the_page_is_private(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    user = make_user()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_reset_password"), {"email": user.email})
    assert response.status_code == 302
    assert_private(response, "password reset POST")
    assert len(mailoutbox) == 1
    link = re.search(r"https?://[^/\s]+(/[^\s]*password/reset/key/[^\s]+/)", mailoutbox[0].body)
    page = client.get(link.group(1), follow=True)
    assert page.status_code == 200
    assert_private(page, "password reset from key")
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else link.group(1)
    done = client.post(
        form_url, {"password1": "reset-password-5555", "password2": "reset-password-5555"}
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("reset-password-5555")


def test_my_page_needs_login(client):
    response = client.get(reverse("supporters:mypage"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_password_hash_is_not_shown_in_admin(client, staff_user):
    login_staff(client, staff_user)
    user = make_user()
    page = client.get(reverse("admin:supporters_user_change", args=[user.pk])).content.decode()
    assert user.password not in page
    assert user.password.split("$")[-1] not in page


def test_my_page_shows_only_my_own_data(client):
    me = make_user(family_name="自分")
    other = make_user(family_name="他人", phone="09099998888")
    client.force_login(me)
    body = client.get(reverse("supporters:mypage")).content.decode()
    assert "自分" in body and me.email in body
    assert "他人" not in body and other.email not in body and "09099998888" not in body


def test_my_page_offers_two_factor_login_to_staff_and_not_to_other_supporters(client):
    two_factor = reverse("mfa_index")
    client.force_login(make_user(is_staff=True, totp=False))
    assert two_factor in client.get(reverse("supporters:mypage")).content.decode()
    client.force_login(make_user())
    assert two_factor not in client.get(reverse("supporters:mypage")).content.decode()


@pytest.mark.redis
@override_settings(ACCOUNT_RATE_LIMITS={"login_failed": "3/m/ip"})
def test_failed_login_rate_limit_is_counted_in_the_shared_redis_cache(client):
    import redis
    from django.conf import settings

    make_user(email="victim@example.jp")
    for _ in range(3):
        response = client.post(
            reverse("account_login"), {"login": "victim@example.jp", "password": "nope"}
        )
        assert response.status_code == 200
    # Blocked now, even with the right password: allauth answers with a form error.
    blocked = client.post(
        reverse("account_login"), {"login": "victim@example.jp", "password": PASSWORD}
    )
    assert blocked.status_code == 200
    assert "ログイン失敗が連続しています" in blocked.content.decode()
    assert "_auth_user_id" not in client.session
    assert_private(blocked, "rate-limited login")

    # The counter lives in Redis, where every app process sees it: read it with a new client.
    raw = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    keys = [k.decode() for k in raw.scan_iter(f"{prefix}:*")]
    assert any("login_failed" in k for k in keys), keys
    # Negative control: clearing the shared cache lifts the limit, so it was the one in force.
    cache.clear()
    response = client.post(
        reverse("account_login"), {"login": "victim@example.jp", "password": PASSWORD}
    )
    assert response.status_code == 302


def test_email_change_takes_effect_only_after_the_new_address_is_verified(
    user_client, user, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post(
            reverse("account_email"), {"email": "new-address@example.jp", "action_add": ""}
        )
    assert response.status_code == 302
    assert_private(response, "email change")
    user.refresh_from_db()
    assert user.email != "new-address@example.jp"
    assert mailoutbox[-1].to == ["new-address@example.jp"]
    link = confirmation_link(mailoutbox[-1])
    with django_capture_on_commit_callbacks(execute=True):
        user_client.post(link)
    user.refresh_from_db()
    assert user.email == "new-address@example.jp"


def test_logout_ends_the_session(user_client):
    response = user_client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert_private(response, "logout")
    assert user_client.get(reverse("supporters:mypage")).status_code == 302


def test_verification_email_names_the_site_and_is_readable(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_signup"), SIGNUP)
    mail = mailoutbox[0]
    assert mail.to == ["hanako.yamada@example.jp"]
    assert "kaika 頑張るお店応援プロジェクト" in mail.body
    assert "/accounts/confirm-email/" in mail.body


def test_reauthentication_asks_for_the_password_never_for_a_mailed_code(user_client, mailoutbox):
    # allauth 65.22 offers a code sent by email by default; the mailbox alone must not be
    # enough to change the address the code goes to.
    assert user_client.get(reverse("account_request_reauthentication_code")).status_code == 403
    response = user_client.post(reverse("account_request_reauthentication_code"), {})
    assert response.status_code == 403
    assert_private(response, "refused reauthentication by code")
    assert not mailoutbox
    page = user_client.get(reverse("account_reauthenticate")).content.decode()
    assert reverse("account_request_reauthentication_code") not in page
