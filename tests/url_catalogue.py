"""What the URL-walking tests need to know about the site's URLs. Extend it with every new view.

- PUBLIC_URL_NAMES: the only views a shared cache may keep (marked with kaika.cache.public_page).
- URL_KWARGS: a sample value for each URL parameter name, from the `objects` fixture.
- VALID_POSTS: for every form, a function(objects) returning valid POST data; the walk
  posts it and checks the response (usually a redirect) is private.
- NO_FORM_DATA_NEEDED: forms deliberately left out of VALID_POSTS, each with the reason.
"""

import secrets

from tests.conftest import PASSWORD

PUBLIC_URL_NAMES = {
    "home",
    "postal_lookup",
    "projects:shop_list",
    "projects:shop_detail",
    "projects:project_detail",
    "projects:round_detail",
    "projects:faq",
    "projects:terms",
    "projects:privacy",
    "projects:legal",
    # A lottery round's page (the seed's hash, later the seed) and its published list.
    "lottery:detail",
    "lottery:applications",
    # A first-come waiting room's public line and its drawn order by place name (no cookie
    # reaches them through the front; they name nobody).
    "waitingroom:line",
    "waitingroom:places",
}


def _user_pk(objects):
    return str(objects["user"].pk)


# Parameter name -> function(objects) -> value.
URL_KWARGS = {
    "object_id": _user_pk,
    "id": _user_pk,
    "content_type_id": lambda objects: "1",
    "app_label": lambda objects: "supporters",
    "key": lambda objects: "not-a-real-key",
    "uidb36": lambda objects: "1",
    "url": lambda objects: "does-not-exist/",
    "postal_code": lambda objects: "7530001",
    # An inquiry sent by objects["user"]: 200 for them, 404 for staff on My page.
    "reference": lambda objects: objects["inquiry"].reference,
    # The catalog: a shop and a limited listing operated by objects["user"].
    "shop_id": lambda objects: str(objects["shop"].pk),
    "listing_id": lambda objects: str(objects["listing"].pk),
    "slug": lambda objects: objects["project"].slug,
    "number": lambda objects: str(objects["round"].number),
    # The lottery round of objects["project"] (its window closed: its list is published).
    "round_number": lambda objects: str(objects["lottery"].round.number),
    # The waiting room of a round (it has none here: the page sends on to the confirmation).
    "round_id": lambda objects: str(objects["round"].pk),
    # A part of a waiting room's drawn order (none drawn here: a 404).
    "part": lambda objects: "0a",
    # Purchases: a pending order and a paid order's ticket of objects["user"] (404 for staff),
    # and the sandbox provider's signed payment session for that pending order.
    "order_code": lambda objects: objects["order"].code,
    "ticket_code": lambda objects: objects["ticket"].code,
    "token": lambda objects: objects["sandbox_token"],
    # The shop's own: a use at its till (the undo) and an approved statement.
    "redemption_id": lambda objects: str(objects["redemption"].pk),
    "statement_id": lambda objects: str(objects["statement"].pk),
    # The bank file's format (settlements admin: a settlement run's download).
    "file_format": lambda objects: "zengin",
    # The programme's books' file (settlements admin: the books' download).
    "books_format": lambda objects: "csv",
    # A personal download's nonce (kaika/downloads.py): a fresh one, as the browser draws.
    "nonce": lambda objects: secrets.token_hex(16),
}

PROFILE_POST = {
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
    "street_address": "亀山町1-1",
    "building": "",
    "phone": "090-1234-5678",
}

SHOP_APPLICATION_POST = {
    "name": "ウォーカー食堂",
    "name_kana": "うぉーかーしょくどう",
    "category": "restaurant",
    "municipality": "yamaguchi",
    "address": "山口県山口市亀山町1-1",
    "phone": "083-000-0000",
    "opening_hours": "11:00-21:00",
    "description": "",
    "website": "",
    "representative_name": "山田 太郎",
}

LISTING_POST = {
    "title": "2名様ディナーコース",
    "description": "季節のコース料理",
    "unit_price": "10000",
    "premium_applies": "on",
    "stock_limit": "50",
    "per_person_limit": "2",
    "is_active": "on",
}

PAYEE_POST = {
    "bank_code": "0001",
    "branch_code": "001",
    "account_type": "1",
    "account_number": "1234567",
    "holder_name": "やまだ たろう",
}

VALID_POSTS = {
    "account_login": lambda objects: {"login": objects["user"].email, "password": PASSWORD},
    "account_signup": lambda objects: {
        "email": "walker-signup@example.jp",
        "password1": "a-long-enough-password-1",
        "password2": "a-long-enough-password-1",
        **PROFILE_POST,
        "terms_agreed": "on",
    },
    "account_logout": lambda objects: {},
    "account_email": lambda objects: {"email": "walker-new@example.jp", "action_add": ""},
    "account_change_password": lambda objects: {
        "oldpassword": PASSWORD,
        "password1": "another-long-password-2",
        "password2": "another-long-password-2",
    },
    "account_reset_password": lambda objects: {"email": objects["user"].email},
    "account_reauthenticate": lambda objects: {"password": PASSWORD},
    "supporters:profile_edit": lambda objects: PROFILE_POST,
    # Deletes the walker's account: the last request of its walk.
    "supporters:data_rights": lambda objects: {"password": PASSWORD, "confirm": "on"},
    "inquiries:contact": lambda objects: {
        "name": "山田 花子",
        "email": "walker-contact@example.jp",
        "category": "tickets",
        "subject": "チケットが届きません",
        "body": "8月31日に支援しましたが、チケットのメールが届いていません。",
        "website": "",
    },
    "projects:shop_apply": lambda objects: SHOP_APPLICATION_POST,
    "projects:manage_shop_edit": lambda objects: {
        "description": "地元の食材を使った定食のお店です。",
        "opening_hours": "11:00-21:00",
        "address": "山口県山口市亀山町1-1",
        "phone": "083-000-0000",
        "website": "",
    },
    "projects:manage_listing_create": lambda objects: LISTING_POST,
    "projects:manage_listing_edit": lambda objects: LISTING_POST,
    "projects:manage_listing_withdraw": lambda objects: {"confirm": "1"},
    "settlements:payee_edit": lambda objects: PAYEE_POST,
    "purchases:order_confirm": lambda objects: {
        "listing": str(objects["listing"].pk),
        "round": str(objects["round"].pk),
        "units": "1",
        "idempotency_key": "walker-idempotency-key-0001",
    },
    "purchases:order_cancel": lambda objects: {"confirm": "1"},
    # The round comes as a parameter (as on the order confirmation); its window has closed, so
    # the valid POST is answered with the form and its error (200).
    "lottery:application_edit": lambda objects: {
        "round": str(objects["lottery"].round_id),
        "listing": str(objects["listing"].pk),
        f"units_{objects['listing'].pk}": "1",
    },
    "purchases:manage_redeem": lambda objects: {"code": objects["ticket"].code, "amount": "100"},
    "purchases:manage_redeem_undo": lambda objects: {"reason": "金額の打ち間違い"},
    "sandbox_pay:checkout": lambda objects: {
        "card_number": "4242 4242 4242 4242",
        "expiry": "12/30",
        "cvc": "123",
    },
    "tripwire_report": lambda objects: {"path": "/mypage/", "seen": "a" * 32, "own": "b" * 32},
    # A fresh code of objects["project"] each time (the second walk's is refused on the field:
    # the walker already holds one for the project).
    "residents:code_enter": lambda objects: {"code": _resident_code(objects)},
}


def _resident_code(objects) -> str:
    from tests.residents.helpers import import_codes, new_code

    code = new_code()
    import_codes(objects["project"], code)
    return code


NO_FORM_DATA_NEEDED = {
    # Staff-only; never cached (private by default); the empty POST walks every admin form.
    "admin:*": "admin forms: staff only, covered by the empty-POST walk",
    "mfa_*": "allauth MFA (TOTP): reauthentication or a login stage first; covered in "
    "tests/ops/test_accountability.py",
    "account_set_password": "only for accounts without a usable password (none here)",
    "account_confirm_login_code": "login by code is off",
    "account_confirm_email": "needs a real key; covered in tests/supporters/test_accounts.py",
    "account_reset_password_from_key": "needs a real key; covered in test_accounts.py",
}
