"""What the URL-walking tests need to know about the site's URLs. Extend it with every new view.

- PUBLIC_URL_NAMES: the only views a shared cache may keep (marked with kaika.cache.public_page).
- URL_KWARGS: a sample value for each URL parameter name, from the `objects` fixture.
- VALID_POSTS: for every form, a function(objects) returning valid POST data; the walk
  posts it and checks the response (usually a redirect) is private.
- NO_FORM_DATA_NEEDED: forms deliberately left out of VALID_POSTS, each with the reason.
"""

from tests.conftest import PASSWORD

PUBLIC_URL_NAMES = {
    "home",
    "postal_lookup",
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

VALID_POSTS = {
    "account_login": lambda objects: {"login": objects["user"].email, "password": PASSWORD},
    "account_signup": lambda objects: {
        "email": "walker-signup@example.jp",
        "password1": "a-long-enough-password-1",
        "password2": "a-long-enough-password-1",
        **PROFILE_POST,
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
    "inquiries:contact": lambda objects: {
        "name": "山田 花子",
        "email": "walker-contact@example.jp",
        "category": "tickets",
        "subject": "チケットが届きません",
        "body": "8月31日に支援しましたが、チケットのメールが届いていません。",
        "order_number": "",
        "website": "",
    },
}

NO_FORM_DATA_NEEDED = {
    # Staff-only; never cached (private by default); the empty POST walks every admin form.
    "admin:*": "admin forms: staff only, covered by the empty-POST walk",
    "account_set_password": "only for accounts without a usable password (none here)",
    "account_confirm_login_code": "login by code is off",
    "account_confirm_email": "needs a real key; covered in tests/supporters/test_accounts.py",
    "account_reset_password_from_key": "needs a real key; covered in test_accounts.py",
}
