"""Personal downloads behind the KAIKA-style front (tests/front/nginx_kaika_2021.conf.template:
every answer, POST included, kept a second under the URL alone, every header ignored).

Person A downloads their data, person B asks right after through the same front: B never
receives A's data. The same two people through the same front with the constructions that
front defeats (a GET of one URL, as the download was; a POST to one URL; a one-time link
minted by the server and bound to the session) must leak: the negative controls, served by a
test-only URLconf beside the site's (tests/front/old_downloads.py).
"""

import secrets
import time

import pytest

from canary.walk import Person, Response, Walk, request
from kaika.downloads import NONCE_PLACEHOLDER
from tests.front.stack import PASSWORD, create_people, fronts, sign_in_everyone

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.nginx]

OLD_DOWNLOADS_SETTINGS = "tests.front.settings_old_downloads"
ROUNDS = 5
# The front keeps a copy "1 s", counted in whole seconds of its clock: up to 2 s. A control
# round starts after the last one's copies expired.
CACHE_SECONDS = 2.1


def post(port: int, person: Person, path: str) -> Response:
    # The CSRF token of this browser's own cookie (Django accepts the unmasked secret).
    data = {"csrfmiddlewaretoken": person.member["csrftoken"]}
    return request(port, "POST", path, person.member, data, client=person.address)


def get(port: int, person: Person, path: str) -> Response:
    return request(port, "GET", path, person.member, client=person.address)


def shows(response: Response, person: Person) -> list[str]:
    """Which of this person's markers (name, kana, email, address, phone) the body holds."""
    return [kind for kind, marker in person.markers.items() if marker in response.body]


def download(port: int, person: Person) -> Response:
    """What static/js/download.js makes a click send: a POST under a nonce of its own."""
    return post(port, person, f"/mypage/data/export/{secrets.token_hex(16)}/")


# The negative controls: each is what A's browser sends, then B's, for the same download.


def old_get(port: int, person: Person) -> Response:
    return get(port, person, "/old/data/export.json")


def post_to_one_url(port: int, person: Person) -> Response:
    return post(port, person, "/old/data/export/")


def server_minted_link(port: int, person: Person) -> Response:
    minted = post(port, person, "/old/data/link/")
    assert minted.status == 302, minted.status
    return get(port, person, minted.header("Location"))


def leaks(port: int, a: Person, b: Person, construction) -> list[str]:
    """Whether B, asking right after A through this front, is handed A's data."""
    for _ in range(ROUNDS):
        time.sleep(CACHE_SECONDS)
        own = construction(port, a)
        assert own.status == 200, (construction.__name__, own.status)
        assert shows(own, a) == list(a.markers), construction.__name__
        found = shows(construction(port, b), a)
        if found:
            return found
    return []


@pytest.mark.django_db(transaction=True)
def test_the_next_person_behind_the_2021_cache_never_gets_a_download_the_old_ones_leak(tmp_path):
    a, b = create_people(2)
    with fronts(tmp_path, settings_module=OLD_DOWNLOADS_SETTINGS) as stack:
        # Signed in through the project's front (the KAIKA-style one stores login answers
        # too); the cookies then go through the KAIKA-style front, as in test_live_leak.py.
        sign_in_everyone(Walk(stack.port, [a, b], password=PASSWORD))
        front = stack.kaika_2021_port

        # The negative controls first: if the old constructions do not leak here, the test
        # cannot see a leak at all.
        controls = {
            c.__name__: leaks(front, a, b, c)
            for c in (old_get, post_to_one_url, server_minted_link)
        }

        time.sleep(CACHE_SECONDS)
        rounds = []
        for _ in range(ROUNDS):
            a_file, b_file = download(front, a), download(front, b)
            # Whatever else B's browser might ask for at that moment: the old address, and the
            # form's action as it stands without the script (after A's browser sent it too).
            post(front, a, f"/mypage/data/export/{NONCE_PLACEHOLDER}/")
            b_others = [
                get(front, b, "/mypage/data/export.json"),
                post(front, b, f"/mypage/data/export/{NONCE_PLACEHOLDER}/"),
            ]
            rounds.append((a_file, b_file, b_others))

    for name, found in controls.items():
        assert found, f"{name}: B was never handed A's data; the test is blind to the leak"

    for a_file, b_file, b_others in rounds:
        assert shows(b_file, a) == [], "B was handed A's download"
        assert shows(a_file, b) == []
        for file, person in ((a_file, a), (b_file, b)):
            assert file.status == 200, file.status
            assert file.header("Content-Disposition").startswith("attachment")
            assert shows(file, person) == list(person.markers), "own data missing"
            # Made by the app for this request, never a stored copy.
            assert file.header("X-Cache-Status") == "MISS", file.header("X-Cache-Status")
        for other in b_others:
            assert shows(other, a) == [], other.status
