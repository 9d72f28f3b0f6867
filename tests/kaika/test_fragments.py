"""The template fragments kept per process (CACHES["fragments"]): only text that is the same
for every visitor of a language, never anything about the visitor."""

import os
import pickle
import subprocess
import sys

import pytest
from django.core.cache import caches
from django.test import Client

from tests.conftest import make_user


def kept_fragments() -> list[str]:
    store = caches["fragments"]
    return [pickle.loads(value) for value in store._cache.values()]  # noqa: S301 (LocMemCache's own store)


@pytest.fixture
def fragments():
    caches["fragments"].clear()
    yield
    caches["fragments"].clear()


@pytest.mark.django_db
def test_fragments_hold_nothing_about_the_supporters_who_caused_them(fragments):
    people = [
        make_user(
            email=f"frag{n}@example.jp",
            family_name=f"断片{n}",
            given_name=f"花子{n}",
            phone=f"0901111000{n}",
            city=f"市{n}区",
            is_staff=(n == 1),
            totp=False,
        )
        for n in range(3)
    ]
    pages = []
    for person in people:
        client = Client()
        client.force_login(person)
        pages.append(client.get("/mypage/").content.decode())
    kept = kept_fragments()
    assert kept, "the fragments cache is not in use: this test would prove nothing"
    for person, page in zip(people, pages, strict=True):
        assert person.family_name in page and person.email in page  # each saw their own
        for fragment in kept:
            for value in (person.family_name, person.email, person.phone, person.city):
                assert value not in fragment
    for fragment in kept:  # nor anyone's CSRF token, which every form on the page needs
        assert "csrfmiddlewaretoken" not in fragment
    assert all(page.count('name="csrfmiddlewaretoken"') == 2 for page in pages)  # both forms
    # The one varying link is kept apart: staff are offered two-factor login, others not.
    assert ("/accounts/2fa/" in pages[1]) and ("/accounts/2fa/" not in pages[0] + pages[2])


@pytest.mark.django_db
def test_each_language_has_its_own_fragments(client, fragments):
    japanese = client.get("/").content.decode()
    english = client.get("/en/").content.decode()
    assert "よくある質問" in japanese and "よくある質問" not in english
    assert "/en/faq/" in english and 'href="/faq/"' in japanese
    assert client.get("/").content.decode().count("よくある質問") == japanese.count("よくある質問")


@pytest.mark.parametrize("debug, backend", [("true", "DummyCache"), ("false", "LocMemCache")])
def test_nothing_is_kept_while_developing(debug, backend):
    """With DEBUG on (make run) an edited template must show at once; in production the
    fragments stay in the process."""
    env = {
        **os.environ,
        "DEBUG": debug,
        "SECRET_KEY": "x" * 50,
        "DJANGO_SETTINGS_MODULE": "kaika.settings",
    }
    code = "from django.conf import settings; print(settings.CACHES['fragments']['BACKEND'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip().endswith(backend), out.stderr
