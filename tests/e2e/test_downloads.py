"""The personal-data download in real Chromium, behind the KAIKA-style front
(tests/front/nginx_kaika_2021.conf.template): each click of the button posts under a nonce the
page's script draws (static/js/download.js), so two people clicking one after the other each
get their own file; the same two clicking the old download link (a GET of one URL) leak, the
negative control. tests/front/test_live_downloads.py has more controls."""

import json
import re
import time

import pytest

from tests.front.stack import PASSWORD, create_people, fronts
from tests.front.test_live_downloads import CACHE_SECONDS, OLD_DOWNLOADS_SETTINGS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.nginx,
    pytest.mark.django_db(transaction=True),
]

NONCE_URL_RE = re.compile(r"/mypage/data/export/([0-9a-f]{32})/$")


def signed_in_page(page_for, port: int, person):
    page = page_for("desktop")
    # Through the project's front: the KAIKA-style one stores login answers too. Cookies do
    # not depend on the port, so the browser is then signed in at both fronts.
    page.goto(f"http://127.0.0.1:{port}/accounts/login/")
    page.fill("input[name=login]", person.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/mypage/")
    return page


def click_download(page, selector="form.download-form button") -> tuple[str, dict]:
    with page.expect_download() as info:
        page.click(selector)
    download = info.value
    return download.suggested_filename, json.loads(open(download.path(), encoding="utf-8").read())


def click_old_link(page) -> dict:
    """The download as it was: a link, a GET of one URL for everyone (served for this test by
    tests/front/old_downloads.py)."""
    page.evaluate(
        """() => {
        const a = document.createElement("a");
        a.href = "/old/data/export.json"; a.id = "old-download"; a.textContent = "old";
        document.querySelector("main").append(a);
    }"""
    )
    return click_download(page, "#old-download")[1]


def test_two_people_clicking_at_once_behind_the_2021_cache_each_get_their_own_file(
    tmp_path, page_for
):
    a, b = create_people(2)
    # The browser sends no X-Forwarded-For of its own: nginx's is the only hop.
    with fronts(
        tmp_path, settings_module=OLD_DOWNLOADS_SETTINGS, app_env={"TRUSTED_PROXY_COUNT": "1"}
    ) as stack:
        pages = [signed_in_page(page_for, stack.port, person) for person in (a, b)]
        posts = []
        for page in pages:
            page.on(
                "request",
                lambda r: posts.append((r.method, r.url)) if "/data/export/" in r.url else None,
            )
        # Each loads the data page from the KAIKA-style front, far enough apart that B's is
        # B's own (what that front does to pages is the tripwire's business).
        for page in pages:
            time.sleep(CACHE_SECONDS)
            page.goto(f"http://127.0.0.1:{stack.kaika_2021_port}/mypage/data/")
            assert not page.evaluate("document.documentElement.hidden")

        (name_a, file_a), (name_b, file_b) = (click_download(page) for page in pages)
        _, again_a = click_download(pages[0])

        # Negative control: the same two browsers, the same front, the download as it was.
        time.sleep(CACHE_SECONDS)
        old_a, old_b = (click_old_link(page) for page in pages)

    assert old_a["account"]["email"] == a.email
    assert old_b["account"]["email"] == a.email, "the old download did not leak: test is blind"

    assert name_a == name_b == "kaika-my-data.json"
    for data, person in ((file_a, a), (file_b, b), (again_a, a)):
        assert data["account"]["email"] == person.email
        assert data["profile"]["given_name_kana"] == person.markers["kana"]
    assert a.email not in json.dumps(file_b, ensure_ascii=False)

    # Three clicks, three POSTs, three nonces: no URL was ever asked for twice.
    assert [method for method, _ in posts] == ["POST"] * 3, posts
    nonces = [NONCE_URL_RE.search(url).group(1) for _, url in posts]
    assert len(set(nonces)) == 3 and "0" * 32 not in nonces
