import pytest
from django.test import Client
from django.urls import reverse

from settlements.models import PayeeAccount, PayeeAccountChange
from settlements.services import payee_account_save
from tests.conftest import make_user
from tests.settlements.conftest import details
from tests.url_catalogue import PAYEE_POST

PRIVATE = {"max-age=0", "no-cache", "no-store", "must-revalidate", "private"}


def detail_url(shop):
    return reverse("settlements:payee_detail", kwargs={"shop_id": shop.pk})


def edit_url(shop):
    return reverse("settlements:payee_edit", kwargs={"shop_id": shop.pk})


def assert_never_cached(response):
    assert PRIVATE <= {v.strip() for v in response["Cache-Control"].split(",")}


def test_the_shop_s_page_links_to_its_payee_account(operator_client, shop):
    page = operator_client.get(reverse("projects:manage_shop", kwargs={"shop_id": shop.pk}))
    assert detail_url(shop) in page.content.decode()


def test_an_operator_registers_the_account_and_sees_it_masked_and_held(
    operator_client, shop, operator
):
    page = operator_client.get(detail_url(shop))
    assert "振込先口座が登録されていません" in page.content.decode()
    response = operator_client.post(edit_url(shop), PAYEE_POST, follow=True)
    assert response.redirect_chain == [(detail_url(shop), 302)]
    body = response.content.decode()
    assert "振込先口座を登録しました。" in body
    assert "＊＊＊4567" in body and "1234567" not in body
    assert "みずほ(0001)" in body and "東京営業部(001)" in body and "ﾔﾏﾀﾞ ﾀﾛｳ" in body
    assert "お支払いを保留しています" in body
    assert "口座が登録され、事務局の確認を待っています" in body
    account = PayeeAccount.objects.get(shop=shop)
    assert (account.account_number, account.updated_by) == ("1234567", operator)


def test_full_width_digits_are_accepted_from_the_form(operator_client, shop):
    data = {**PAYEE_POST, "bank_code": "０００１", "account_number": "１２３４５"}
    operator_client.post(edit_url(shop), data)
    assert PayeeAccount.objects.get(shop=shop).account_number == "0012345"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("bank_code", "9999", "金融機関コード「9999」の金融機関は見つかりません。"),
        ("branch_code", "999", "支店コード「999」の支店はみずほに見つかりません。"),
        ("account_number", "12345678", "口座番号は7桁までの数字で入力してください。"),
        ("holder_name", "山田 太郎", "「山」は銀行の口座名義に使えない文字です。"),
        ("holder_name", "ア" * 31, "口座名義は銀行の形式(半角カナ)で30文字までです"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_saved(
    operator_client, shop, mailoutbox, django_capture_on_commit_callbacks, field, value, message
):
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(edit_url(shop), {**PAYEE_POST, field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["form"].errors[field]
    assert not PayeeAccount.objects.exists() and not PayeeAccountChange.objects.exists()
    assert mailoutbox == []


def test_bad_input_on_a_change_keeps_the_account_as_it_was(operator_client, shop, operator):
    payee_account_save(shop=shop, details=details(), by=operator, now=shop.applied_at)
    operator_client.post(edit_url(shop), {**PAYEE_POST, "bank_code": "9999"})
    account = PayeeAccount.objects.get(shop=shop)
    assert (account.bank_code, account.version) == ("0001", 1)
    assert PayeeAccountChange.objects.count() == 1


def test_the_change_form_never_shows_the_account_number(operator_client, shop, operator):
    payee_account_save(shop=shop, details=details(), by=operator, now=shop.applied_at)
    body = operator_client.get(edit_url(shop)).content.decode()
    assert "1234567" not in body
    assert 'value="0001"' in body and "ﾔﾏﾀﾞ ﾀﾛｳ" in body  # the rest is filled in
    # A refused change does not echo the number typed either.
    response = operator_client.post(
        edit_url(shop), {**PAYEE_POST, "account_number": "7654321", "bank_code": "9999"}
    )
    assert response.status_code == 200
    assert "7654321" not in response.content.decode()


def test_a_change_is_announced_on_the_page_and_resaving_the_same_changes_nothing(
    operator_client, shop, operator
):
    payee_account_save(shop=shop, details=details(), by=operator, now=shop.applied_at)
    response = operator_client.post(
        edit_url(shop), {**PAYEE_POST, "account_number": "7654321"}, follow=True
    )
    body = response.content.decode()
    assert "振込先口座を変更しました。" in body
    assert "口座が変更され、事務局の確認を待っています" in body and "＊＊＊4321" in body
    response = operator_client.post(
        edit_url(shop), {**PAYEE_POST, "account_number": "7654321"}, follow=True
    )
    assert "登録済みの口座と同じ内容です。変更はありません。" in response.content.decode()
    assert PayeeAccountChange.objects.count() == 2


def test_both_pages_are_never_cached(operator_client, shop):
    for url in (detail_url(shop), edit_url(shop)):
        assert_never_cached(operator_client.get(url))
    assert_never_cached(operator_client.post(edit_url(shop), {**PAYEE_POST, "bank_code": "x"}))


def test_an_anonymous_visitor_is_sent_to_log_in(shop):
    for url in (detail_url(shop), edit_url(shop)):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    Client().post(edit_url(shop), PAYEE_POST)
    assert not PayeeAccount.objects.exists()


def test_another_shop_s_operator_gets_404_and_changes_nothing(shop, operator):
    payee_account_save(shop=shop, details=details(), by=operator, now=shop.applied_at)
    other = Client()
    other.force_login(make_user(email="payee-other-operator@example.jp"))
    assert other.get(detail_url(shop)).status_code == 404
    assert other.get(edit_url(shop)).status_code == 404
    response = other.post(edit_url(shop), {**PAYEE_POST, "account_number": "7654321"})
    assert response.status_code == 404
    assert PayeeAccount.objects.get(shop=shop).account_number == "1234567"


def test_staff_are_not_operators_of_the_shop(shop, operator):
    from tests.conftest import login_staff

    payee_account_save(shop=shop, details=details(), by=operator, now=shop.applied_at)
    client = Client()
    login_staff(client, make_user(email="payee-staff-view@example.jp", is_staff=True))
    assert client.get(detail_url(shop)).status_code == 404


def test_the_access_sweep_and_the_private_walk_cover_the_payee_pages():
    from tests.kaika.test_access_control import OWNED
    from tests.url_catalogue import VALID_POSTS

    names = {"settlements:payee_detail", "settlements:payee_edit"}
    assert names <= {name for name, _ in OWNED}
    assert "settlements:payee_edit" in VALID_POSTS
