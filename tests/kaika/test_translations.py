"""English is complete: every translatable string in the code has a reviewed English translation,
and the main pages render in English under /en/ with no Japanese left in their own text."""

import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.conftest import IN_CI
from tests.projects.factories import make_listing, make_project, make_round, make_shop

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"
# Paths makemessages must not read: tests, generated or collected files, local environments.
IGNORE = ["tests", "test-artifacts", "staticfiles", "media", ".serve", ".venv"]


def read_po(path: Path) -> list[dict]:
    """Entries of a .po file: msgctxt, msgid, msgstr (list, for plurals), fuzzy. Small on purpose:
    enough for gettext's own output, so the test needs no extra dependency."""
    entries, current, field = [], None, None

    def unquote(text: str) -> str:
        return text.encode("latin-1", "backslashreplace").decode("unicode_escape")

    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            if current and "msgid" in current:
                entries.append(current)
            current, field = None, None
            continue
        current = current if current is not None else {"msgstr": {}, "fuzzy": False}
        if line.startswith("#,") and "fuzzy" in line:
            current["fuzzy"] = True
        elif line.startswith("#"):
            continue
        elif match := re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[(\d+)\])?) "(.*)"$', line):
            key, index, text = match.groups()
            field = ("msgstr", int(index or 0)) if key.startswith("msgstr") else (key, None)
            if field[0] == "msgstr":
                current["msgstr"][field[1]] = unquote(text)
            else:
                current[key] = unquote(text)
        elif line.startswith('"') and field:
            if field[0] == "msgstr":
                current["msgstr"][field[1]] += unquote(line[1:-1])
            else:
                current[field[0]] += unquote(line[1:-1])
    return entries


def missing_translations(entries: list[dict]) -> list[str]:
    return [
        (f"[{e['msgctxt']}] " if e.get("msgctxt") else "") + e["msgid"][:80]
        for e in entries
        if e["msgid"] and (e["fuzzy"] or not all(e["msgstr"].values()))
    ]


def test_the_reader_sees_an_untranslated_and_a_fuzzy_entry(tmp_path):
    # Negative control for the parser: if it could not see these, the test below proves nothing.
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "翻訳済み"\nmsgstr "Done"\n\n'
        'msgid "未翻訳"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "あいまい"\nmsgstr "Vague"\n\n'
        'msgid "%(n)s件"\nmsgid_plural "%(n)s件"\nmsgstr[0] "%(n)s item"\nmsgstr[1] ""\n\n'
        'msgid ""\n"長い"\n"文"\nmsgstr ""\n"Long "\n"sentence"\n',
        encoding="utf-8",
    )
    assert missing_translations(read_po(po)) == ["未翻訳", "あいまい", "%(n)s件"]


def test_the_english_catalogue_in_the_repository_has_no_untranslated_or_fuzzy_entry():
    assert missing_translations(read_po(CATALOGUE)) == []


def test_every_string_in_the_code_has_an_english_translation(tmp_path, settings, monkeypatch):
    """Extracts the strings afresh (into a copy of the catalogue), so a new {% translate %} or
    gettext() without English fails here, not in front of an English-speaking supporter.
    To fix: run makemessages as the README says and translate the new entries."""
    if not shutil.which("xgettext"):
        if IN_CI:
            pytest.fail("CI needs gettext (xgettext) to check the English catalogue")
        pytest.skip("no xgettext (apt-get install gettext)")
    # makemessages writes into the "locale" folder beside the sources it reads, so it reads a
    # copy of the sources: the repository's catalogue is never rewritten by a test.
    tree = tmp_path / "src"
    shutil.copytree(
        settings.BASE_DIR,
        tree,
        ignore=shutil.ignore_patterns(".*", "__pycache__", "*.mo", *IGNORE),
    )
    copy = tree / "locale" / "en" / "LC_MESSAGES"
    settings.LOCALE_PATHS = [tree / "locale"]
    monkeypatch.chdir(tree)
    call_command(
        "makemessages", locale=["en"], ignore_patterns=IGNORE, no_obsolete=True, verbosity=0
    )
    missing = missing_translations(read_po(copy / "django.po"))
    assert missing == [], f"{len(missing)} strings lack English in locale/en: {missing[:20]}"


# --- Pages in English -------------------------------------------------------------------------

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def visible_text(html: str) -> str:
    """The page's own words: tags, scripts and the language switch's 日本語 link removed."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r'<a [^>]*hreflang="ja"[^>]*>.*?</a>', " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def japanese_in(html: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """Runs of Japanese left in an English page, apart from data (shop names, addresses)."""
    text = visible_text(html)
    for word in allowed:
        text = text.replace(word, " ")
    return sorted(set(re.findall(r"\S*[\u3040-\u30ff\u4e00-\u9fff]+\S*", text)))


@pytest.fixture
def catalog(db):
    project = make_project(name="Genki Yamaguchi", slug="genki")
    round_ = make_round(project, number=2)
    shop = make_shop(project, name="Cafe Kameyama", name_kana="カフェカメヤマ", address="Yamaguchi")
    make_listing(shop, title="Dinner for two")
    return project, round_, shop


def test_public_pages_render_in_english_under_en(client, catalog):
    _project, _round, shop = catalog
    pages = {
        "/en/": "Support local shops",
        "/en/shops/": "Shops",
        "/en/shops/?q=zzz": "No shop matches your search.",
        f"/en/shops/{shop.pk}/": "Backing",
        "/en/projects/genki/": "How it works",
        "/en/projects/genki/rounds/2/": "Ticket usage period",
        "/en/faq/": "How does it work?",
        "/en/terms/": "Article 1. Definitions",
        "/en/legal/": "Notice under the Act on Specified Commercial Transactions",
        "/en/privacy/": "What we collect",
        "/en/contact/": "Contact us",
        "/en/no-such-page/": "Page not found",
    }
    for path, expected in pages.items():
        response = client.get(path)
        html = response.content.decode()
        assert expected in html, path
        assert 'lang="en"' in html, path
        assert japanese_in(html, allowed=("カフェカメヤマ",)) == [], path


def test_amounts_and_dates_read_naturally_in_english(client, catalog):
    _project, round_, _shop = catalog
    html = client.get("/en/projects/genki/").content.decode()
    assert "¥1,000" in html and "円" not in visible_text(html)
    assert round_.opens_at.strftime("%Y") in html and "年" not in visible_text(html)
    japanese = client.get("/projects/genki/").content.decode()
    assert "1,000円" in japanese and "年" in japanese


def test_private_pages_render_in_english_under_en(user_client, user):
    pages = {
        "/en/mypage/": "Member details",
        "/en/mypage/profile/": "Edit member details",
        "/en/mypage/inquiries/": "Your messages",
        "/en/shops/manage/": "Shop management",
        "/en/accounts/email/": "Email",
        "/en/accounts/password/change/": "Change Password",
    }
    # The supporter's own data is Japanese; everything else on the page must be English.
    own = (user.full_name, user.full_name_kana, user.city, user.street_address, user.building)
    for path, expected in pages.items():
        html = user_client.get(path).content.decode()
        assert expected in html, path
        assert japanese_in(html, allowed=tuple(w for w in own if w)) == [], path


def test_allauth_pages_render_in_english_under_en(client, db):
    for path, expected in {
        "/en/accounts/login/": "Sign In",
        "/en/accounts/signup/": "Sign Up",
        "/en/accounts/password/reset/": "Password Reset",
    }.items():
        html = client.get(path).content.decode()
        assert expected in html, path
        assert japanese_in(html) == [], path
