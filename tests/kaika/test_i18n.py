import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import get_template


@pytest.mark.django_db
def test_english_lives_under_en_and_japanese_at_the_root(client):
    assert "地域のお店を" in client.get("/").content.decode()
    english = client.get("/en/").content.decode()
    assert "Support local shops" in english and 'lang="en"' in english


@pytest.mark.django_db
def test_the_language_switch_links_to_the_same_page_in_the_other_language(client):
    switch = re.compile(r'<a href="([^"]*)" lang="(?:en|ja)" hreflang="(?:en|ja)">')
    pairs = [("/", "/en/"), ("/shops/", "/en/shops/"), ("/faq/", "/en/faq/")]
    for japanese, english in pairs:
        assert switch.findall(client.get(japanese).content.decode()) == [english]
        assert switch.findall(client.get(english).content.decode()) == [japanese]
    # The query string goes with it: a search, a list's page, an order being confirmed.
    query = "q=%E3%82%AB%E3%83%95%E3%82%A7&page=2"
    assert switch.findall(client.get(f"/shops/?{query}").content.decode()) == [
        f"/en/shops/?{query}".replace("&", "&amp;")
    ]


def test_every_template_compiles_with_djangos_own_tag_libraries():
    """The templates load Django's `i18n` (no fork of it): a template whose tags come from a
    library that is not loaded, or that does not exist, fails here rather than on its page."""
    root = Path(settings.BASE_DIR, "templates")
    paths = [p for p in root.rglob("*") if p.suffix in {".html", ".txt"}]
    assert len(paths) > 50, "the templates were not found"
    for path in paths:
        get_template(str(path.relative_to(root)))
